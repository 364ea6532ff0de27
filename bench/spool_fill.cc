// spool_fill: writes N queued 4 KiB messages straight into a spool, for measuring what the
// daemon costs with a large queue (RSS, restart time). Not a benchmark of its own.
//   spool_fill PATH COUNT [DESTINATION]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "queue/message_id.h"
#include "queue/rocksdb_store.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: spool_fill PATH COUNT [DESTINATION]\n");
    return 2;
  }
  const std::string path = argv[1];
  const long count = std::atol(argv[2]);
  const std::string destination = argc > 3 ? argv[3] : "relay";
  auto store = mta::queue::RocksDbStore::open(path, {.sync = false});
  if (!store) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), store.error().message().c_str());
    return 1;
  }
  mta::RealClock clock;
  mta::queue::MessageIdGenerator ids(mta::ShardId(1000), clock);
  std::mt19937_64 random(42);
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  constexpr long batch = 1000;
  const auto start = std::chrono::steady_clock::now();
  for (long done = 0; done < count; done += batch) {
    std::vector<std::vector<mta::queue::Envelope>> parts;
    std::vector<std::string> bodies;
    std::vector<mta::queue::MessageWrite> writes;
    const long n = std::min(batch, count - done);
    for (long i = 0; i < n; ++i) {
      mta::queue::Envelope envelope;
      envelope.id = ids.next();
      envelope.destination = destination;
      envelope.mail_from = "sender@example.com";
      envelope.recipients.push_back(
          {.address = "rcpt" + std::to_string(done + i) + "@example.net"});
      envelope.received_at = clock.wall_now();
      envelope.next_attempt_at = envelope.received_at;
      envelope.expires_at = envelope.received_at + std::chrono::hours(72);
      std::string body = "Subject: fill " + std::to_string(done + i) + "\r\nMessage-ID: <fill-" +
                         std::to_string(done + i) + "@outpost.test>\r\n\r\n";
      while (body.size() < 4096) {
        for (int k = 0; k < 76; ++k) body.push_back(alphabet[random() % 64]);
        body += "\r\n";
      }
      envelope.body_bytes = body.size();
      parts.push_back({std::move(envelope)});
      bodies.push_back(std::move(body));
    }
    for (long i = 0; i < n; ++i) {
      writes.push_back({.parts = parts[static_cast<std::size_t>(i)],
                        .body = bodies[static_cast<std::size_t>(i)]});
    }
    if (auto written = (*store)->write_batch(writes); !written) {
      std::fprintf(stderr, "write: %s\n", written.error().message().c_str());
      return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %ld messages in %.1f s\n", count, seconds);
  return 0;
}
