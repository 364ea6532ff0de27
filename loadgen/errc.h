// Error codes of the load generator and sink: bad command-line values and files that cannot
// be written or read. Socket failures keep std::system_category, as the engine reports them.
#pragma once

#include <system_error>
#include <type_traits>

namespace mta::loadgen {

enum class Errc {
  invalid_argument = 1,  // a size, percentage, duration or mix the tools cannot read
  io_error,              // a CSV or SVG file could not be written or read
  malformed_csv,         // a per-second CSV whose rows do not parse
};

const std::error_category& error_category();
std::error_code make_error_code(Errc code);

}  // namespace mta::loadgen

template <>
struct std::is_error_code_enum<mta::loadgen::Errc> : std::true_type {};
