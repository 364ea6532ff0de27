// Error codes of the engine: address parsing and runtime start-up. Failures of system calls
// (bind, listen, socket) are reported with std::system_category and the call in the detail,
// since errno is what an operator needs to read.
#pragma once

#include <system_error>
#include <type_traits>

namespace mta::engine {

enum class Errc {
  invalid_address = 1,  // not "a.b.c.d:port" or "[v6]:port"
  ring_setup_failed,    // io_uring_queue_init refused (kernel, limits, seccomp)
  already_started,      // Runtime::start called twice
};

const std::error_category& error_category();
std::error_code make_error_code(Errc code);

}  // namespace mta::engine

template <>
struct std::is_error_code_enum<mta::engine::Errc> : std::true_type {};
