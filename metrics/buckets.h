// Histogram bucket layouts (seconds) for the durations Outpost measures. Outpost's work is
// measured in milliseconds and below (a synced commit, a DKIM signature, a transaction to a
// nearby peer), while a message may sit in the queue for days: each layout puts its fine
// 1-2-5 steps (ratio at most 2.5, so histogram_quantile's interpolation stays within one step
// of the truth) where its duration usually lies, and a few coarse bounds above. 15 to 20
// bounds each: every bound is one series per label set.
#pragma once

#include <initializer_list>
#include <vector>

namespace mta::metrics {

// The bounds of the 1-2-5 series (..., 0.001, 0.002, 0.005, 0.01, ...) from `from` to `to`
// (both on the series, from < to), then `tail` (increasing, above `to`). Exact decimals: 0.002
// is the double the literal 0.002 is, so `le` renders as written.
std::vector<double> one_two_five_buckets(double from, double to,
                                         std::initializer_list<double> tail = {});

// Work on this machine that is often under a millisecond: a DKIM signature (Ed25519 in tens of
// microseconds, RSA-2048 about one millisecond), a synced queue commit. 10 µs to 5 s.
std::vector<double> local_work_buckets();
// A network exchange: an inbound SMTP session, from a one-message client on loopback (a few
// milliseconds) to a client that keeps its connection for an hour. 0.5 ms to 1 h.
std::vector<double> session_buckets();
// Time in the queue, acceptance to final disposition: milliseconds when the first attempt
// succeeds, up to queue.max_age (72 h by default) when it bounces. 0.5 ms to 3 d.
std::vector<double> queue_time_buckets();

}  // namespace mta::metrics
