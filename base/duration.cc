#include "base/duration.h"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>

namespace mta {

Result<Clock::Duration> parse_duration(std::string_view text) {
  const auto bad = [](std::string detail) {
    return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(detail));
  };
  std::uint64_t number = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || rest == begin) {
    return bad("\"" + std::string(text) + "\" is not a duration (e.g. 250ms, 30s, 5m)");
  }
  const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  using namespace std::chrono;
  if (unit.empty() || unit == "s") return duration_cast<Clock::Duration>(seconds(number));
  if (unit == "ms") return duration_cast<Clock::Duration>(milliseconds(number));
  if (unit == "m") return duration_cast<Clock::Duration>(minutes(number));
  if (unit == "h") return duration_cast<Clock::Duration>(hours(number));
  if (unit == "d") return duration_cast<Clock::Duration>(hours(24 * number));
  return bad("unknown duration unit in \"" + std::string(text) + "\"");
}

}  // namespace mta
