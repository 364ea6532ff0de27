// Minimal leveled logging to stderr, one line per call, safe from any thread (each line is
// one write). The structured JSON delivery log is metrics/'s job; this is for operators'
// eyes: start-up, failures, and (at debug) every delivery outcome. Notice is for events an
// operator's tools act on (an authentication failure, which fail2ban reads): shown at the
// default level, and kept when the level is info or lower.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

}  // namespace mta::log
