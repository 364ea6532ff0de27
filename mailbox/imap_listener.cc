// ImapListener and its connections: bytes between a tls::Stream and an imap::Session, logins
// checked on the worker, the store's change notifications turned into Session::poll().
#include "mailbox/imap_listener.h"

#include <utility>
#include <variant>

#include "proto/imap/session.h"

namespace mta::mailbox {

class ImapListener::Connection final : public MailConnection {
 public:
  Connection(ImapListener& owner, std::uint64_t id, bool implicit_tls)
      : MailConnection(owner, id), imap_(session_options(owner, implicit_tls), owner.backend_) {}

  void on_store_changed() override {
    if (!open_) return;
    imap_.poll();
    drive();
  }

 private:
  static imap::SessionOptions session_options(const ImapListener& owner, bool implicit_tls) {
    imap::SessionOptions options{.hostname = owner.options_.hostname,
                                 .starttls = !implicit_tls && owner.options_.tls != nullptr,
                                 .tls = implicit_tls,
                                 .plaintext_login = owner.options_.login_without_tls};
    options.limits.command.append_bytes_max = owner.append_bytes_max_;
    return options;
  }

  void feed(std::string_view bytes) override { imap_.on_bytes(bytes); }
  std::string_view pending_output() const override { return imap_.bytes_to_send(); }
  void output_taken(std::size_t bytes) override { imap_.on_sent(bytes); }
  bool input_blocked() const override { return imap_.input_paused(); }
  void tls_started() override {
    if (!imap_.tls()) imap_.tls_started();
  }
  void answer_login(bool ok) override { imap_.complete_auth(ok); }
  void refuse_login() override { imap_.refuse_auth(); }

  void drive() override {
    while (auto event = imap_.next_event()) {
      if (auto* auth = std::get_if<imap::AuthRequested>(&*event)) {
        check_login(auth->user, auth->password);
      } else if (std::holds_alternative<imap::StartTlsRequested>(*event)) {
        flush();  // the OK goes out in plaintext
        begin_tls();
        return;  // on_tls_ready() resumes
      }          // SessionEnded: imap_.ended() says the same, checked below
    }
    flush();
    if (imap_.ended() && imap_.bytes_to_send().empty()) close();
  }

  imap::Session imap_;
};

ImapListener::ImapListener(engine::Shard& shard, MailStore& store, const Logins& logins,
                           MailListenerOptions options, std::size_t append_bytes_max)
    : MailListener(shard, logins, std::move(options), "imap", "* BYE "),
      store_(store),
      backend_(store),
      append_bytes_max_(append_bytes_max) {
  // The change may come from inside one of our sessions' commands (its STORE, its APPEND):
  // sessions look again after this loop turn, not from within that call, and once however
  // many changes the turn made.
  watch_ = store_.watch([this](const Folder& /*folder*/) {
    if (poll_scheduled_) return;
    poll_scheduled_ = true;
    shard_.defer([this] {
      poll_scheduled_ = false;
      for_each_connection([](MailConnection& connection) { connection.on_store_changed(); });
    });
  });
}

ImapListener::~ImapListener() { store_.unwatch(watch_); }

std::unique_ptr<MailConnection> ImapListener::make_connection(std::uint64_t id, bool implicit_tls) {
  return std::make_unique<Connection>(*this, id, implicit_tls);
}

}  // namespace mta::mailbox
