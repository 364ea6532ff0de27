// DKIM signing cost: the full sign (canonicalize + hash + build the field + the private-key
// operation) of a 4 KiB and a 100 KiB message with RSA-2048 and Ed25519, and separately
// everything except the private-key operation (prepare_signature), to show the part Outpost
// controls is small next to RSA. Keys are generated once, outside the timed loops.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "dkim/signer.h"
#include "dkim/verifier.h"

namespace {

using mta::dkim::Algorithm;

const mta::dkim::PrivateKey& key_for(Algorithm algorithm) {
  static const mta::dkim::PrivateKey rsa =
      mta::dkim::PrivateKey::generate(Algorithm::rsa_sha256, 2048).value();
  static const mta::dkim::PrivateKey ed =
      mta::dkim::PrivateKey::generate(Algorithm::ed25519_sha256, 0).value();
  return algorithm == Algorithm::rsa_sha256 ? rsa : ed;
}

// A typical bulk message: a dozen headers and a text body of 76-column lines.
std::string message_of(std::size_t bytes) {
  std::string message =
      "From: Newsletter <news@example.com>\r\n"
      "To: reader@example.net\r\n"
      "Subject: This week's news, with a subject long enough to be realistic\r\n"
      "Date: Mon, 13 Nov 2023 10:00:00 +0000\r\n"
      "Message-ID: <20231113100000.12345@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "List-Unsubscribe: <https://example.com/u/abcdef>, <mailto:u-abcdef@example.com>\r\n"
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      "Feedback-ID: campaign42:newsletter:example\r\n"
      "\r\n";
  const std::string line =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod te\r\n";
  while (message.size() < bytes) message += line;
  message.resize(bytes - 2);
  message += "\r\n";
  return message;
}

const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));

void sign_full(benchmark::State& state, Algorithm algorithm) {
  const std::string message = message_of(static_cast<std::size_t>(state.range(0)));
  const mta::dkim::SignerConfig config{"example.com", "s1", key_for(algorithm)};
  for (auto _ : state) {
    auto field = mta::dkim::sign(config, message, now);
    benchmark::DoNotOptimize(field);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void sign_prepare_only(benchmark::State& state, Algorithm algorithm) {
  const std::string message = message_of(static_cast<std::size_t>(state.range(0)));
  const mta::dkim::SignerConfig config{"example.com", "s1", key_for(algorithm)};
  for (auto _ : state) {
    auto prepared = mta::dkim::prepare_signature(config, message, now);
    benchmark::DoNotOptimize(prepared);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void verify_full(benchmark::State& state, Algorithm algorithm) {
  const std::string message = message_of(static_cast<std::size_t>(state.range(0)));
  const mta::dkim::SignerConfig config{"example.com", "s1", key_for(algorithm)};
  const std::string signed_message = mta::dkim::sign(config, message, now).value() + message;
  const auto lookup = mta::dkim::fixed_key(key_for(algorithm).public_record());
  for (auto _ : state) {
    auto results = mta::dkim::verify(signed_message, lookup, now);
    if (results.size() != 1 || !results[0].pass) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(results);
  }
}

BENCHMARK_CAPTURE(sign_full, rsa2048, Algorithm::rsa_sha256)->Arg(4 << 10)->Arg(100 << 10);
BENCHMARK_CAPTURE(sign_full, ed25519, Algorithm::ed25519_sha256)->Arg(4 << 10)->Arg(100 << 10);
BENCHMARK_CAPTURE(sign_prepare_only, rsa2048, Algorithm::rsa_sha256)->Arg(4 << 10)->Arg(100 << 10);
BENCHMARK_CAPTURE(sign_prepare_only, ed25519, Algorithm::ed25519_sha256)
    ->Arg(4 << 10)
    ->Arg(100 << 10);
BENCHMARK_CAPTURE(verify_full, rsa2048, Algorithm::rsa_sha256)->Arg(4 << 10);
BENCHMARK_CAPTURE(verify_full, ed25519, Algorithm::ed25519_sha256)->Arg(4 << 10);

}  // namespace

BENCHMARK_MAIN();
