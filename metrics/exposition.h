// Prometheus text exposition format 0.0.4: renders a Snapshot (or straight from the shards'
// registries) into the body of GET /metrics. Pure string building, no I/O and no locale; the
// HTTP route that serves it belongs to the daemon. process_* metrics are process.h.
//
//   # HELP outpost_messages_injected_total Messages accepted for delivery.
//   # TYPE outpost_messages_injected_total counter
//   outpost_messages_injected_total{listener="submission"} 1027
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "metrics/catalog.h"
#include "metrics/registry.h"
#include "metrics/snapshot.h"

namespace mta::metrics {

// The Content-Type of a rendered body.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Appends every family: # HELP, # TYPE, then its series in the snapshot's (sorted) order.
// Histograms expand to cumulative _bucket{le=...} series, _sum and _count.
void render(std::span<const FamilySnapshot> families, std::string& out);
// collect() then render(): the whole body of one scrape of these shards.
std::string render(const Catalog& catalog, std::span<const Registry* const> shards);

// Building blocks, shared with process.h and exposed for tests.
// A label value between its quotes: \ " and line feed escaped as \\ \" \n; ill-formed UTF-8
// bytes become U+FFFD so the body stays valid UTF-8.
void append_label_value(std::string_view value, std::string& out);
// HELP text: \ and line feed escaped as \\ and \n (quotes are not escaped in HELP).
void append_help(std::string_view text, std::string& out);
// A sample value as Prometheus (Go's ParseFloat) reads it: shortest round-trip decimal or
// exponent form, "+Inf", "-Inf", "NaN". Never depends on the C locale.
void append_number(double value, std::string& out);
void append_number(std::uint64_t value, std::string& out);

}  // namespace mta::metrics
