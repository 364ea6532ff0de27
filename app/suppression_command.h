// `outpost suppression ACTION`: the suppression list of the running daemon through its admin
// API, or, when no daemon answers, the mailbox database read and written directly.
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost suppression`. Returns the process exit code.
int suppression_command(std::span<const std::string_view> args);

}  // namespace mta::app
