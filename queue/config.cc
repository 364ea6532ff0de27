#include "queue/config.h"

namespace mta::queue {

Result<void> parse_spool(config::Table& section, SpoolConfig& out) {
  CONFIG_TRY(section.string("path", out.path));
  std::string durability = "sync";
  CONFIG_TRY(section.string("durability", durability));
  if (durability != "sync" && durability != "none") {
    return section.error("durability", "must be \"sync\" or \"none\"");
  }
  out.sync = durability == "sync";
  CONFIG_TRY(section.boolean("sync_dispositions", out.sync_dispositions));
  CONFIG_TRY(section.duration("commit_window", out.commit_window));
  CONFIG_TRY(
      section.integer("commit_batch_messages_max", out.commit_batch_messages_max, 1, 100'000));
  return section.no_unknown_keys();
}

Result<void> parse_queue(config::Table& section, QueueConfig& out) {
  CONFIG_TRY(section.duration("retry_initial", out.retry.initial));
  CONFIG_TRY(section.number("retry_multiplier", out.retry.multiplier, 1.0, 100.0));
  CONFIG_TRY(section.duration("retry_max_delay", out.retry.max_delay));
  CONFIG_TRY(section.number("retry_jitter", out.retry.jitter, 0.0, 0.9));
  CONFIG_TRY(section.duration("max_age", out.retry.max_age));
  CONFIG_TRY(section.duration("history_retention", out.history_retention));
  CONFIG_TRY(section.no_unknown_keys());
  if (out.retry.max_delay < out.retry.initial) {
    return section.error("retry_max_delay", "must not be shorter than queue.retry_initial");
  }
  return {};
}

GroupCommitOptions group_commit_options(const SpoolConfig& spool) {
  return GroupCommitOptions{.window = spool.commit_window,
                            .batch_messages_max = spool.commit_batch_messages_max};
}

}  // namespace mta::queue
