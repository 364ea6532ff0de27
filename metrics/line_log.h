// LineLog: an append-only file of text lines (the JSON delivery log) written off the hot path.
// Each shard appends whole lines to its own channel, which costs a copy into a string under a
// mutex no other shard takes; write_pending(), called on a blocking worker (app/ offloads it
// every flush interval), takes every channel's lines and writes them with one write(2) per
// batch to a file opened O_APPEND. reopen() (SIGHUP, after logrotate moved the file) makes the
// next write_pending() open the path again first. A disk slower than the lines coming in never
// blocks a shard: past pending_bytes_max a channel drops new lines and counts them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::metrics {

struct LineLogOptions {
  std::size_t pending_bytes_max = 64 * 1024 * 1024;  // per channel; beyond it lines are dropped
};

class LineLog {
 public:
  // Opens (creates, mode 0640) `path` for appending; `channels` is the number of writers (one
  // per shard). Fails with the open(2) error.
  static Result<std::unique_ptr<LineLog>> open(std::string path, std::size_t channels,
                                               LineLogOptions options = {});
  // Takes `fd`, open for appending to `path`; open() is the usual way in.
  LineLog(std::string path, int fd, std::size_t channels, LineLogOptions options);
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;
  ~LineLog();  // writes what is pending

  // On channel's one thread: queues `line` (which must end in '\n'). False when dropped.
  bool append(std::size_t channel, std::string_view line);
  // Any thread, typically a blocking worker: writes every line appended so far (reopening
  // first if asked). Calls are serialized; a second one waits for the first.
  void write_pending();
  // Any thread: the next write_pending() opens the path again before writing.
  void reopen() { reopen_.store(true, std::memory_order_relaxed); }

  const std::string& path() const { return path_; }
  std::uint64_t lines_written() const { return lines_written_.load(std::memory_order_relaxed); }
  std::uint64_t lines_dropped() const { return lines_dropped_.load(std::memory_order_relaxed); }
  std::uint64_t write_failures() const { return write_failures_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Channel {
    std::mutex mutex;
    std::string pending;
    std::uint64_t lines = 0;  // in pending
  };

  // Writes `bytes` to fd_, retrying short writes and EINTR. False on an error (logged once per
  // episode). Under write_mutex_.
  bool write_all(std::string_view bytes);
  void reopen_now();

  const std::string path_;
  const LineLogOptions options_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::mutex write_mutex_;  // guards what follows
  int fd_;
  std::string batch_;
  bool failing_ = false;  // an error was logged and writing has not recovered yet
  std::atomic<bool> reopen_{false};
  std::atomic<std::uint64_t> lines_written_{0};
  std::atomic<std::uint64_t> lines_dropped_{0};
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace mta::metrics
