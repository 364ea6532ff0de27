// `outpost dns`: see `outpost dns --help`.
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost dns`. Returns the process exit code.
int dns_command(std::span<const std::string_view> args);

}  // namespace mta::app
