// LineLog: per-channel pending strings, swapped out by whoever calls write_pending().
#include "metrics/line_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "base/log.h"

namespace mta::metrics {
namespace {

int open_for_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

Result<std::unique_ptr<LineLog>> LineLog::open(std::string path, std::size_t channels,
                                               LineLogOptions options) {
  const int fd = open_for_append(path);
  if (fd < 0) {
    return unexpected(std::error_code(errno, std::generic_category()), "cannot open " + path);
  }
  return std::make_unique<LineLog>(std::move(path), fd, channels, options);
}

LineLog::LineLog(std::string path, int fd, std::size_t channels, LineLogOptions options)
    : path_(std::move(path)), options_(options), fd_(fd) {
  for (std::size_t i = 0; i < channels; ++i) channels_.push_back(std::make_unique<Channel>());
}

LineLog::~LineLog() {
  write_pending();
  ::close(fd_);
}

bool LineLog::append(std::size_t channel, std::string_view line) {
  Channel& c = *channels_[channel];
  std::lock_guard lock(c.mutex);
  if (c.pending.size() + line.size() > options_.pending_bytes_max) {
    lines_dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  c.pending.append(line);
  ++c.lines;
  return true;
}

void LineLog::write_pending() {
  std::lock_guard write_lock(write_mutex_);
  if (reopen_.exchange(false, std::memory_order_relaxed)) reopen_now();
  std::uint64_t lines = 0;
  for (auto& channel : channels_) {
    std::lock_guard lock(channel->mutex);
    if (channel->pending.empty()) continue;
    if (batch_.empty()) {
      batch_.swap(channel->pending);  // the common case: no copy
    } else {
      batch_.append(channel->pending);
      channel->pending.clear();
    }
    lines += channel->lines;
    channel->lines = 0;
  }
  if (batch_.empty()) return;
  (write_all(batch_) ? lines_written_ : write_failures_)
      .fetch_add(lines, std::memory_order_relaxed);
  batch_.clear();
  // A burst far beyond the usual keeps its memory only until the next quiet write.
  if (batch_.capacity() > 4 * 1024 * 1024) std::string().swap(batch_);
}

bool LineLog::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!failing_) {
        log::error("delivery log " + path_ + ": write failed: " +
                   std::string(std::strerror(n < 0 ? errno : EIO)) + "; lines are being lost");
      }
      failing_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  if (failing_) log::info("delivery log " + path_ + ": writing again");
  failing_ = false;
  return true;
}

void LineLog::reopen_now() {
  const int fd = open_for_append(path_);
  if (fd < 0) {
    log::error("delivery log: cannot reopen " + path_ + ": " + std::strerror(errno) +
               "; still writing to the file already open");
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

}  // namespace mta::metrics
