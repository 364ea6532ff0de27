// `outpost queue ACTION`: the queue of the running daemon through its admin API, or, when no
// daemon answers, the spool read directly (read-only actions only).
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost queue`. Returns the process exit code.
int queue_command(std::span<const std::string_view> args);

}  // namespace mta::app
