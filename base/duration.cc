#include "base/duration.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
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

Result<Clock::Duration> parse_duration_option(std::string_view text, Clock::Duration bare_unit) {
  const bool bare = !text.empty() && std::all_of(text.begin(), text.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; });
  if (!bare) return parse_duration(text);
  std::uint64_t number = 0;
  const auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  const auto most =
      static_cast<std::uint64_t>(std::numeric_limits<Clock::Duration::rep>::max() /
                                 std::max<Clock::Duration::rep>(1, bare_unit.count()));
  if (ec != std::errc() || number > most) {
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      "\"" + std::string(text) + "\" is too long a duration");
  }
  return bare_unit * static_cast<Clock::Duration::rep>(number);
}

}  // namespace mta
