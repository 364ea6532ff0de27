// Minimal leveled logging to stderr, one line per call, safe from any thread (each line is
// one write). The structured JSON delivery log is metrics/'s job; this is for operators'
// eyes: start-up, failures, and (at debug) every delivery outcome. Notice is for events an
// operator's tools act on (an authentication failure, which fail2ban reads): shown at the
// default level, and kept when the level is info or lower.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"

namespace mta::log {

enum class Level { debug = 0, info = 1, notice = 2, warning = 3, error = 4 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
void write(Level level, std::string_view text);

inline bool enabled(Level at) { return at >= level(); }
inline void debug(std::string_view text) {
  if (enabled(Level::debug)) write(Level::debug, text);
}
inline void info(std::string_view text) { write(Level::info, text); }
inline void notice(std::string_view text) { write(Level::notice, text); }
inline void warning(std::string_view text) { write(Level::warning, text); }
inline void error(std::string_view text) { write(Level::error, text); }

// `value` as a double-quoted log field a parser can trust: printable ASCII as it is, `"` and
// `\` escaped with a backslash, every other byte (control characters, DEL, UTF-8) as \xNN, so
// a peer's text can never end the field or the line early. At most `bytes_max` input bytes
// are shown; a longer value ends in "..." after the closing quote.
std::string quoted(std::string_view value, std::size_t bytes_max = 64);

// Repeated lines of one kind, rate-limited: a warning a failing peer causes on every attempt
// is written the first time, then at most once per `interval`, that line saying how many were
// held back: "... (412 more like this in the last 60s)". The kind is a key the caller gives,
// made of what is fixed about the line (its call site and what it is about: "connect
// example.net 4.4.1"), never its variable parts (addresses, error text), which the line
// itself carries. flush() writes the count of a kind that stopped happening once its
// interval is over. At most `keys_max` kinds are remembered: beyond, after the ones whose
// interval is over are forgotten, new kinds share one entry. Safe from any thread (one mutex;
// these lines are rare by construction).
class RepeatLimiter {
 public:
  using Sink = std::function<void(Level, std::string_view text)>;
  struct Options {
    Clock::Duration interval = std::chrono::seconds(60);
    std::size_t keys_max = 1024;
    std::size_t text_bytes_max = 1024;  // of the last line kept for flush()'s summary
  };

  // `sink` writes a line (write() for the process's limiter; tests collect them).
  RepeatLimiter(const Clock& clock, Options options, Sink sink);

  void write(Level level, std::string_view key, std::string_view text);
  // Every kind whose interval is over: its held-back count (if any) written after its last
  // line's text, and the kind forgotten when there was none.
  void flush();
  std::size_t kinds_for_test() const;

 private:
  struct Kind {
    Clock::TimePoint written{};  // when a line of this kind was last written
    bool ever_written = false;
    std::uint64_t held = 0;  // lines not written since
    Level level = Level::warning;
    std::string last;  // the last held-back line's text (for flush)
  };

  void emit(Kind& kind, Clock::TimePoint now, std::string_view text);
  // The kind of `key`, added when new; overflow_ when keys_max kinds are remembered.
  Kind& find_or_add(std::string_view key, Clock::TimePoint now);

  const Clock& clock_;
  const Options options_;
  const Sink sink_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Kind> kinds_;
  Kind overflow_;  // the kinds beyond keys_max
};

// The process's limiter (the real clock, 60 s, lines through write()): for warnings a peer
// can repeat at will. `level` below the log level writes and counts nothing.
void limited(Level level, std::string_view key, std::string_view text);
inline void warning_limited(std::string_view key, std::string_view text) {
  limited(Level::warning, key, text);
}
// The process's limiter's flush(); the daemon calls it every few seconds.
void flush_limited();

}  // namespace mta::log
