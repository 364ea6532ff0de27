// The IMAP listener of the mailbox shard: [imap] listen (STARTTLS offered, LOGINDISABLED
// before it) and tls_listen (implicit TLS, port 993 style). Every connection's imap::Session
// shares one StoreBackend over the MailStore; a change to the store (a new bounce, another
// session's STORE or EXPUNGE) makes every session look again at once, so an idling client
// hears EXISTS, EXPUNGE and FETCH as they happen.
#pragma once

#include <cstdint>
#include <memory>

#include "mailbox/imap_backend.h"
#include "mailbox/mail_listener.h"
#include "mailbox/store.h"

namespace mta::mailbox {

class ImapListener final : public MailListener {
 public:
  // `append_bytes_max`: the largest message APPEND takes.
  ImapListener(engine::Shard& shard, MailStore& store, const Logins& logins,
               MailListenerOptions options, std::size_t append_bytes_max);
  ~ImapListener() override;

 private:
  class Connection;
  std::unique_ptr<MailConnection> make_connection(std::uint64_t id, bool implicit_tls) override;

  MailStore& store_;
  StoreBackend backend_;
  std::size_t append_bytes_max_;
  std::uint64_t watch_ = 0;
  bool poll_scheduled_ = false;
};

}  // namespace mta::mailbox
