// Pop3Listener, its per-connection Session, and StoreMaildrop: the pop3::Maildrop over the
// store's INBOX. Unique ids are "<uidvalidity>.<uid>", stable across sessions and restarts
// (a client that remembers them, as fetchmail does, never sees an id come back for another
// message). A RETR is streamed: the session hands out a chunk at a time and the next chunk is
// written when the socket has drained, so a large message never sits in memory twice.
#include "mailbox/pop3_listener.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/log.h"
#include "proto/pop3/errc.h"
#include "proto/pop3/session.h"

namespace mta::mailbox {
namespace {

constexpr std::string_view inbox = "INBOX";

class StoreMaildrop final : public pop3::Maildrop {
 public:
  explicit StoreMaildrop(MailStore& store) : store_(store) {}

  Result<std::vector<pop3::MessageInfo>> lock() override {
    if (!store_.lock_maildrop()) {
      return unexpected(pop3::Errc::in_use, "the maildrop is open in another POP3 session");
    }
    const Folder* folder = store_.find(inbox);
    std::vector<pop3::MessageInfo> list;
    if (folder != nullptr) {
      list.reserve(folder->messages.size());
      for (const auto& [uid, meta] : folder->messages) {
        uids_.push_back(uid);
        list.push_back(
            {.unique_id = std::to_string(folder->uidvalidity) + "." + std::to_string(uid),
             .size_octets = meta.size});
      }
    }
    return list;
  }

  Result<std::string_view> message(std::size_t index) override {
    auto body = store_.read(inbox, uids_.at(index));
    if (!body) return unexpected(pop3::Errc::storage_failed, body.error().message());
    body_ = std::move(body).value();
    return std::string_view(body_);
  }

  Result<void> commit_deletions(std::span<const std::size_t> indexes) override {
    std::vector<std::uint32_t> uids;
    uids.reserve(indexes.size());
    for (std::size_t index : indexes) uids.push_back(uids_.at(index));
    if (auto gone = store_.expunge(inbox, uids); !gone) {
      return unexpected(pop3::Errc::storage_failed, gone.error().message());
    }
    return {};
  }

  void unlock() override { store_.unlock_maildrop(); }

 private:
  MailStore& store_;
  std::vector<std::uint32_t> uids_;  // by message index, as lock() listed them
  std::string body_;                 // the view message() returned
};

}  // namespace

std::string apop_digest(std::string_view banner, std::string_view secret) {
  std::string input(banner);
  input += secret;
  // EVP, not MD5(): OpenSSL 3 deprecates the latter, and both libraries have the former.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    return {};  // never equal to a client's digest
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : std::span(digest, length)) {
    out += hex[byte >> 4];
    out += hex[byte & 15];
  }
  return out;
}

// One POP3 connection.
class Pop3Listener::Connection final : public MailConnection {
 public:
  Connection(Pop3Listener& owner, std::uint64_t id, bool implicit_tls, std::string banner)
      : MailConnection(owner, id),
        store_(owner.store_),
        logins_(owner.logins_),
        banner_(banner),
        pop3_(pop3::SessionOptions{.hostname = owner.options_.hostname,
                                   .apop_banner = std::move(banner),
                                   .stls = !implicit_tls && owner.options_.tls != nullptr,
                                   .tls = implicit_tls,
                                   .plaintext_auth_allowed = owner.options_.login_without_tls}) {}

 private:
  void feed(std::string_view bytes) override { pop3_.on_bytes(bytes); }
  std::string_view pending_output() const override { return pop3_.bytes_to_send(); }
  void output_taken(std::size_t bytes) override { pop3_.on_sent(bytes); }
  bool input_blocked() const override { return pop3_.awaiting_auth(); }
  void tls_started() override {
    if (!pop3_.tls()) pop3_.tls_started();
  }
  void answer_login(bool ok) override {
    pop3_.complete_auth(ok ? std::make_unique<StoreMaildrop>(store_) : nullptr);
  }
  void refuse_login() override { pop3_.refuse_auth(); }

  void drive() override {
    while (auto event = pop3_.next_event()) {
      if (auto* auth = std::get_if<pop3::AuthRequested>(&*event)) {
        if (!auth->authzid.empty() && auth->authzid != auth->user) {
          report_login(auth->user, false);
        } else if (auth->mechanism == pop3::AuthMechanism::apop) {
          const auto secret = logins_.apop_secret ? logins_.apop_secret(auth->user) : std::nullopt;
          report_login(auth->user, !has_control_character(auth->user) && secret &&
                                       apop_digest(banner_, *secret) == auth->secret);
        } else {
          check_login(auth->user, auth->secret);
        }
      } else if (std::holds_alternative<pop3::StartTlsRequested>(*event)) {
        flush();  // the +OK goes out in plaintext
        begin_tls();
        return;  // on_tls_ready() resumes
      }          // SessionEnded: pop3_.ended() says the same, checked below
    }
    flush();
    if (pop3_.ended()) close();
  }

  MailStore& store_;
  const Logins& logins_;
  const std::string banner_;
  pop3::Session pop3_;
};

Pop3Listener::Pop3Listener(engine::Shard& shard, MailStore& store, const Logins& logins,
                           MailListenerOptions options)
    : MailListener(shard, logins, std::move(options), "pop3", "-ERR [SYS/TEMP] "), store_(store) {}

std::unique_ptr<MailConnection> Pop3Listener::make_connection(std::uint64_t id, bool implicit_tls) {
  // RFC 1939 §7: a msg-id unique to this greeting; the APOP digest covers it.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       shard_.clock().wall_now().time_since_epoch())
                       .count();
  std::string banner = "<" + std::to_string(::getpid()) + "." + std::to_string(++banner_counter_) +
                       "." + std::to_string(now) + "@" + options_.hostname + ">";
  return std::make_unique<Connection>(*this, id, implicit_tls, std::move(banner));
}

}  // namespace mta::mailbox
