// OwnDsns: the DSNs delivery makes for one of our VERP return paths go straight into the bounce
// mailbox instead of the queue. Any shard's bouncer calls store(); the message is posted to
// the mailbox shard, stored there by its BounceIntake, and the result posted back.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"
#include "base/strong_id.h"
#include "engine/shard.h"
#include "mailbox/intake.h"

namespace mta::mailbox {

// Node-wide; outlives the shards.
class OwnDsns {
 public:
  explicit OwnDsns(ShardId mailbox_shard) : mailbox_shard_(mailbox_shard) {}

  // On the mailbox shard, as it starts; the intake stays until that shard has stopped.
  void attach(BounceIntake& intake) { intake_ = &intake; }

  // Stores `body`, a DSN to `recipient`, on the mailbox shard; `done` runs on `from` (an error
  // when nothing was stored: the bouncer keeps the part and bounces it again later).
  void store(engine::Shard& from, std::string recipient, std::string body,
             std::function<void(const Result<void>&)> done);
  // store() from `from`, as a function (what delivery's DSN routes take).
  std::function<void(std::string, std::string, std::function<void(const Result<void>&)>)>
  store_from(engine::Shard& from) {
    return [this, &from](std::string recipient, std::string body,
                         std::function<void(const Result<void>&)> done) {
      store(from, std::move(recipient), std::move(body), std::move(done));
    };
  }

 private:
  const ShardId mailbox_shard_;
  BounceIntake* intake_ = nullptr;  // read and written on the mailbox shard only
};

// The mailbox's quota and retention, now and every minute until the shard stops: appends
// expire what they need room for, this catches up with time (retention) and with a quota
// lowered while the daemon was down.
void expire_every_minute(engine::Shard& shard, MailStore& mail);

}  // namespace mta::mailbox
