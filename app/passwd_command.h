// `outpost passwd`: see `outpost passwd --help`.
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost passwd`. Returns the process exit code.
int passwd_command(std::span<const std::string_view> args);

}  // namespace mta::app
