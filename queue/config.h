// [spool] and [queue] of the configuration: where and how durably the queue is stored, how
// accepted messages are committed in groups, the retry schedule and how long history stays.
// Parsed here through base/config_reader.h; app/ composes the sections.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"
#include "queue/group_commit.h"
#include "queue/retry_schedule.h"

namespace mta::queue {

// [spool]
struct SpoolConfig {
  std::string path = "var/spool";
  bool sync = true;                // durability = "sync" | "none"
  bool sync_dispositions = false;  // fsync delivery outcomes too (see queue/store.h)
  Clock::Duration commit_window = Clock::Duration::zero();
  std::uint32_t commit_batch_messages_max = 256;
};

// [queue] retry schedule: initial * multiplier^(attempt-1), capped, with ± jitter, until
// max_age after acceptance; then the recipient bounces.
struct QueueConfig {
  RetryPolicy retry;  // retry_initial, retry_multiplier, retry_max_delay, retry_jitter, max_age
  // How long a delivered or bounced part's final state stays readable (GET /v1/messages/{id}).
  Clock::Duration history_retention = std::chrono::hours(24 * 7);
};

Result<void> parse_spool(config::Table& section, SpoolConfig& out);
Result<void> parse_queue(config::Table& section, QueueConfig& out);

// [spool] commit_window and commit_batch_messages_max as a shard's group commit takes them.
GroupCommitOptions group_commit_options(const SpoolConfig& spool);

}  // namespace mta::queue
