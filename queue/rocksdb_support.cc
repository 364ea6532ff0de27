// set_common_options and WriteResumer, moved here from rocksdb_store.cc so the bounce
// mailbox's database gets the same full-disk behaviour as the spool.
#include "queue/rocksdb_support.h"

#include <rocksdb/listener.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "base/log.h"

namespace mta::queue {
namespace {

// After a recoverable background error (a full disk) RocksDB stops writes and, by default,
// recovers on its own: a thread polls free space every few seconds and Resume() answers Busy
// meanwhile. We switch that off and call Resume() before the next write instead, so the
// store takes writes again as soon as there is space. An unrecoverable error (a failed WAL
// append other than ENOSPC) still needs a reopen: Resume() returns that error.
class ResumeOnNextWrite final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

// RocksDB's warnings and errors go to our log, not to a LOG file in the spool: when the
// spool's disk fills, a LOG file there fails too, and the next line written to it trips an
// assertion in Debian's librocksdb (WritableFileWriter::AssertFalseAndGetStatusForPrevError,
// seen in store_test's full-tmpfs test), aborting the daemon.
class RocksDbToLog final : public rocksdb::Logger {
 public:
  RocksDbToLog() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list args) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, args);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list args) override {
    if (level < GetInfoLogLevel()) return;
    std::array<char, 1024> line{};
    const int n = std::vsnprintf(line.data(), line.size(), format, args);
    if (n < 0) return;
    const std::string text =
        "rocksdb: " + std::string(line.data(), std::min(line.size() - 1, std::size_t(n)));
    log::write(
        level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::error : log::Level::warning,
        text);
  }
};

}  // namespace

void set_common_options(rocksdb::DBOptions& options) {
  options.listeners.push_back(std::make_shared<ResumeOnNextWrite>());
  options.info_log = std::make_shared<RocksDbToLog>();
}

rocksdb::Status WriteResumer::before_write(rocksdb::DB& db) {
  if (!needs_resume_.load(std::memory_order_acquire)) return rocksdb::Status::OK();
  // Ok at once when there is no background error (another writer resumed already).
  rocksdb::Status resumed = db.Resume();
  // Busy: another writer's Resume() is flushing right now; it is usually done at once.
  for (int tries = 0; resumed.IsBusy() && tries < 5; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    resumed = db.Resume();
  }
  if (!resumed.ok()) {
    return resumed.IsNoSpace() || !out_of_space_.load(std::memory_order_acquire)
               ? resumed
               : rocksdb::Status::NoSpace("resuming after a full disk", resumed.ToString());
  }
  needs_resume_.store(false, std::memory_order_release);
  return resumed;
}

void WriteResumer::after_write(const rocksdb::Status& status) {
  if (status.ok()) return;
  out_of_space_.store(status.IsNoSpace(), std::memory_order_release);
  needs_resume_.store(true, std::memory_order_release);
}

}  // namespace mta::queue
