// Error codes of the queue module: what a Store or the record decoder can fail with.
// Callers branch on the code (no_space: stop accepting; not_found: already delivered);
// Error::detail carries the RocksDB status string or the offending message id for logs.
#pragma once

#include <system_error>

namespace mta::queue {

enum class Errc {
  not_found = 1,     // no record with that id
  corrupt_record,    // stored bytes do not decode (or RocksDB reported corruption)
  record_too_large,  // an envelope exceeds the codec's bounds; refused before writing
  io_error,          // the disk or RocksDB failed; the write did not happen
  no_space,          // the disk is full; the write did not happen
  locked,            // the spool directory is held by another process
  invalid_argument,  // a query the caller wrote is malformed (e.g. a message id)
};

const std::error_category& queue_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), queue_category()};
}

}  // namespace mta::queue

template <>
struct std::is_error_code_enum<mta::queue::Errc> : std::true_type {};
