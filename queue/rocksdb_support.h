// What every RocksDB database of Outpost sets up the same way (the queue's spool, the bounce
// mailbox): RocksDB's log lines go to ours, never to a LOG file on the spool's disk (when that
// disk fills, Debian's librocksdb asserts on a failed LOG write and aborts the process), and a
// background error (a full disk) is cleared by the next write instead of a recovery thread, so
// writes resume as soon as there is space again.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <atomic>

namespace mta::queue {

// Adds our logger and the manual-recovery listener to `options`.
void set_common_options(rocksdb::DBOptions& options);

// One per database, shared by every thread that writes it. Call before_write() before each
// write and after_write() with its status: after a failed write RocksDB refuses writes until
// DB::Resume() clears its background error, which before_write() tries. A status that
// follows a full disk stays NoSpace (452, not 451) even when a racing writer saw Busy.
class WriteResumer {
 public:
  rocksdb::Status before_write(rocksdb::DB& db);
  void after_write(const rocksdb::Status& status);

 private:
  std::atomic<bool> needs_resume_{false};
  std::atomic<bool> out_of_space_{false};
};

}  // namespace mta::queue
