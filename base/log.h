// Minimal leveled logging to stderr, one line per call, safe from any thread (each line is
// one write). The structured JSON delivery log is metrics/'s job; this is for operators'
// eyes: start-up, failures, and (at debug) every delivery outcome.
#pragma once

#include <string_view>

namespace mta::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
void write(Level level, std::string_view text);

inline bool enabled(Level at) { return at >= level(); }
inline void debug(std::string_view text) {
  if (enabled(Level::debug)) write(Level::debug, text);
}
inline void info(std::string_view text) { write(Level::info, text); }
inline void warning(std::string_view text) { write(Level::warning, text); }
inline void error(std::string_view text) { write(Level::error, text); }

}  // namespace mta::log
