// The POP3 listener of the mailbox shard: [pop3] listen (STLS offered) and tls_listen
// (implicit TLS, port 995 style), each connection a pop3::Session whose maildrop is the
// store's INBOX, locked against a second POP3 session (RFC 1939 §8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mailbox/mail_listener.h"
#include "mailbox/store.h"

namespace mta::mailbox {

class Pop3Listener final : public MailListener {
 public:
  Pop3Listener(engine::Shard& shard, MailStore& store, const Logins& logins,
               MailListenerOptions options);

 private:
  class Connection;
  std::unique_ptr<MailConnection> make_connection(std::uint64_t id, bool implicit_tls) override;

  MailStore& store_;
  std::uint64_t banner_counter_ = 0;
};

// hex(MD5(banner + secret)), the digest APOP compares (RFC 1939 §7).
std::string apop_digest(std::string_view banner, std::string_view secret);

}  // namespace mta::mailbox
