// `outpost dkim keygen|sign|verify`: the DKIM tools of the command line (dkim/ does the work).
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost dkim`. Returns the process exit code.
int dkim_command(std::span<const std::string_view> args);

}  // namespace mta::app
