// `outpost bench`: see `outpost bench --help`.
#pragma once

#include <span>
#include <string_view>

namespace mta::app {

// args are the words after `outpost bench`. Returns the process exit code.
int bench_command(std::span<const std::string_view> args);

}  // namespace mta::app
