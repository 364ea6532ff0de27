// Log lines: "2026-11-23T10:37:45.123Z outpost[warning]: text\n", written with one write(2) so
// lines of different threads never interleave.
#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace mta::log {
namespace {

std::atomic<Level> current_level{Level::info};

constexpr std::string_view name_of(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::notice:
      return "notice";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_level(Level level) { current_level.store(level, std::memory_order_relaxed); }
Level level() { return current_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  for (Level candidate : {Level::debug, Level::info, Level::notice, Level::warning, Level::error}) {
    if (text == name_of(candidate)) {
      out = candidate;
      return true;
    }
  }
  return false;
}

std::string quoted(std::string_view value, std::size_t bytes_max) {
  static constexpr char hex[] = "0123456789abcdef";
  const std::string_view shown = value.substr(0, bytes_max);
  std::string out;
  out.reserve(shown.size() + 2);
  out.push_back('"');
  for (const char c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out.append("\\x").push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 15]);
    }
  }
  out.push_back('"');
  if (shown.size() < value.size()) out.append("...");
  return out;
}

void write(Level at, std::string_view text) {
  if (at < level()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  std::string line;
  line.reserve(text.size() + 48);
  line.append(stamp).append(" outpost[").append(name_of(at)).append("]: ").append(text);
  line.push_back('\n');
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace mta::log
