// Log lines: "2026-11-23T10:37:45.123Z outpost[warning]: text\n", written with one write(2) so
// lines of different threads never interleave.
#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

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

RepeatLimiter::RepeatLimiter(const Clock& clock, Options options, Sink sink)
    : clock_(clock), options_(options), sink_(std::move(sink)) {}

void RepeatLimiter::emit(Kind& kind, Clock::TimePoint now, std::string_view text) {
  if (kind.held == 0) {
    sink_(kind.level, text);
  } else {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - kind.written);
    std::string line(text);
    line.append(" (")
        .append(std::to_string(kind.held))
        .append(" more like this in the last ")
        .append(std::to_string(seconds.count()))
        .append("s)");
    sink_(kind.level, line);
  }
  kind.written = now;
  kind.ever_written = true;
  kind.held = 0;
  kind.last.clear();
}

RepeatLimiter::Kind& RepeatLimiter::find_or_add(std::string_view key, Clock::TimePoint now) {
  std::string name(key);
  if (auto found = kinds_.find(name); found != kinds_.end()) return found->second;
  if (kinds_.size() >= options_.keys_max) {
    // Forget the kinds whose interval is over and that held nothing back (a kind that comes
    // back after that is new again, rightly written at once).
    std::erase_if(kinds_, [&](const auto& entry) {
      return entry.second.held == 0 && now - entry.second.written >= options_.interval;
    });
    if (kinds_.size() >= options_.keys_max) return overflow_;
  }
  return kinds_.emplace(std::move(name), Kind{}).first->second;
}

void RepeatLimiter::write(Level at, std::string_view key, std::string_view text) {
  const Clock::TimePoint now = clock_.now();
  const std::lock_guard lock(mutex_);
  Kind& kind = find_or_add(key, now);
  kind.level = at;
  if (!kind.ever_written || now - kind.written >= options_.interval) {
    emit(kind, now, text);
    return;
  }
  ++kind.held;
  kind.last.assign(text.substr(0, options_.text_bytes_max));
}

void RepeatLimiter::flush() {
  const Clock::TimePoint now = clock_.now();
  const std::lock_guard lock(mutex_);
  const auto due = [&](const Kind& kind) { return now - kind.written >= options_.interval; };
  for (auto entry = kinds_.begin(); entry != kinds_.end();) {
    Kind& kind = entry->second;
    if (!due(kind)) {
      ++entry;
    } else if (kind.held == 0) {
      entry = kinds_.erase(entry);
    } else {
      const std::string last = std::move(kind.last);
      emit(kind, now, last);
      ++entry;
    }
  }
  if (overflow_.held > 0 && due(overflow_)) {
    const std::string last = std::move(overflow_.last);
    emit(overflow_, now, last);
  }
}

std::size_t RepeatLimiter::kinds_for_test() const {
  const std::lock_guard lock(mutex_);
  return kinds_.size();
}

namespace {

RepeatLimiter& process_limiter() {
  static const RealClock clock;
  static RepeatLimiter limiter(clock, RepeatLimiter::Options{},
                               [](Level at, std::string_view text) { write(at, text); });
  return limiter;
}

}  // namespace

void limited(Level at, std::string_view key, std::string_view text) {
  if (at < level()) return;
  process_limiter().write(at, key, text);
}

void flush_limited() { process_limiter().flush(); }

}  // namespace mta::log
