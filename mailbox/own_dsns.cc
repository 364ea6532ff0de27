#include "mailbox/own_dsns.h"

#include <chrono>
#include <memory>
#include <system_error>

#include "base/log.h"

namespace mta::mailbox {

void OwnDsns::store(engine::Shard& from, std::string recipient, std::string body,
                    std::function<void(const Result<void>&)> done) {
  struct Own {
    std::string recipient;
    std::string body;
    std::function<void(const Result<void>&)> done;
    StoreResult result;
  };
  auto own = std::make_shared<Own>(
      Own{.recipient = std::move(recipient), .body = std::move(body), .done = std::move(done)});
  const ShardId origin = from.id();
  from.post_until_taken(mailbox_shard_, [this, own, origin](engine::Shard& on) {
    if (intake_ != nullptr) {
      const auto now =
          std::chrono::duration_cast<std::chrono::seconds>(on.clock().wall_now().time_since_epoch())
              .count();
      own->result = intake_->store("", {own->recipient}, own->body, now);
    }
    on.post_until_taken(origin, [own](engine::Shard&) {
      if (own->result.status == StoreResult::Status::stored) return own->done({});
      own->done(unexpected(std::make_error_code(std::errc::io_error), own->result.detail));
    });
  });
}

void expire_every_minute(engine::Shard& shard, MailStore& mail) {
  if (auto expired = mail.expire(); !expired) {
    log::error("bounce mailbox: cannot expire old messages: " + expired.error().message());
  } else if (*expired > 0) {
    log::info("bounce mailbox: expired " + std::to_string(*expired) +
              " messages (quota or retention), " + std::to_string(mail.message_count()) +
              " left, " + std::to_string(mail.bytes()) + " octets");
  }
  if (shard.stopping()) return;
  shard.schedule(std::chrono::minutes(1), [&shard, &mail] { expire_every_minute(shard, mail); });
}

}  // namespace mta::mailbox
