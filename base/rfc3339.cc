#include "base/rfc3339.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mta {
namespace {

// Floor division, so times before 1970 keep their sub-second part positive.
std::pair<std::time_t, int> split_millis(Clock::WallTime when) {
  const auto millis =
      std::chrono::floor<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const auto seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  return {static_cast<std::time_t>(seconds), static_cast<int>(millis - seconds * 1000)};
}

std::size_t format_seconds(std::time_t seconds, char* text, std::size_t size) {
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return std::strftime(text, size, "%Y-%m-%dT%H:%M:%S", &utc);
}

}  // namespace

std::string rfc3339(Clock::WallTime when) {
  char text[40];
  const std::size_t n = format_seconds(split_millis(when).first, text, sizeof text);
  return std::string(text, n) + "Z";
}

std::string rfc3339_millis(Clock::WallTime when) {
  const auto [seconds, millis] = split_millis(when);
  char text[48];
  const std::size_t n = format_seconds(seconds, text, sizeof text);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", millis);
  return text;
}

}  // namespace mta
