// ClientSession: the client half of one SMTP connection (RFC 5321) with PIPELINING (RFC 2920)
// and STARTTLS (RFC 3207), as a pure state machine. The caller moves bytes between it and a socket,
// and reads events; TLS, timeouts, DNS and retry policy are the caller's (delivery/ on engine/).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "proto/smtp/capabilities.h"
#include "proto/smtp/reply.h"

namespace mta::smtp {

// Bare addresses without "<>"; an empty mail_from is the null sender (bounces). Addresses with
// CR or LF are refused by begin_transaction (validating them is the injection path's job; the
// session only makes sure none can smuggle a command).
struct Envelope {
  std::string mail_from;
  std::vector<std::string> recipients;
};

struct ClientOptions {
  std::string helo_name = "localhost";
  ReplyLimits reply_limits;
  bool use_pipelining = true;  // when the server advertises it
  // Send STARTTLS when the server advertises it (the caller's TLS policy is not "none"). The
  // session then waits for tls_started() and says EHLO again over TLS.
  bool starttls = false;
  // Base64 of "\0user\0password": after EHLO (and STARTTLS, when used) the session says AUTH
  // PLAIN (RFC 4954, 4616) and is ready only after 235. Empty = no AUTH.
  std::string auth_plain;
  // A user and password (auth_plain empty): AUTH PLAIN when the server's EHLO offers it, else
  // AUTH LOGIN; neither offered fails the session. Only over TLS (STARTTLS or implicit) unless
  // auth_without_tls: in plaintext the session fails instead of sending the secret.
  std::string auth_user;
  std::string auth_password;
  bool auth_without_tls = false;
  // The connection is TLS from its first byte (SMTPS, RFC 8314 §3.3): tls() from the start,
  // STARTTLS never sent.
  bool implicit_tls = false;
};

// Events, in the order they happen.
struct SessionReady {  // greeting and EHLO (or the HELO fallback) done
  Capabilities capabilities;
  bool tls = false;  // the EHLO was said over TLS (after STARTTLS)
  // The server advertised STARTTLS but refused the command (e.g. 454): the session goes on in
  // plaintext and the caller's policy decides whether that will do.
  std::optional<Reply> starttls_refused;
};
// STARTTLS got 220: the caller writes what is still unsent, starts the TLS handshake on the
// connection and, once it is done, calls tls_started(). Server bytes that came after the 220
// (before TLS) are discarded, never read as replies (RFC 3207 §4.2, CVE-2011-0411 class).
struct StartTlsAccepted {};
struct RecipientResult {  // one per envelope recipient, in envelope order
  std::size_t index = 0;
  Reply reply;
};
struct TransactionResult {  // the end of one message
  bool delivered = false;   // final DATA reply 2xx for at least one accepted recipient
  // The reply that decided it: the final DATA reply, the DATA rejection, the MAIL rejection,
  // or, when every recipient was rejected, the first recipient's reply.
  Reply reply;
  std::vector<Reply> recipient_replies;  // envelope order; MAIL's reply if MAIL was rejected
};
// Greeting, EHLO or HELO rejected, a 421 at any point, unparsable replies or a protocol
// violation (a 2xx or 3xx where the command cannot have one: 250 to DATA, 354 to RCPT). The
// connection must be closed; a transaction in progress gets no TransactionResult (recipients not
// yet reported are undelivered, to be retried). The reply is empty (code 0) when no server reply
// caused the failure.
struct SessionFailed {
  Reply reply;
  std::string reason;
  bool auth = false;  // AUTH failed (rejected, not offered, or refused in plaintext)
};
struct SessionClosed {};  // QUIT answered
using SessionEvent = std::variant<SessionReady, RecipientResult, TransactionResult, SessionFailed,
                                  SessionClosed, StartTlsAccepted>;

namespace detail {

// The state of one message in flight. Outside ClientSession only so that its default member
// initializers are usable there (clang rejects them in a nested class of an incomplete one).
struct ClientTransaction {
  bool pipelined = false;
  std::vector<std::string> recipients;  // kept only when not pipelined, to send later
  std::size_t recipient_count = 0;
  std::string mail_command;  // kept only when not pipelined
  std::optional<Reply> mail_rejection;
  std::vector<Reply> recipient_replies;
  std::size_t accepted = 0;
  bool body_withheld = false;  // 354 with no recipient accepted: sent "." alone
  std::optional<Reply> data_reply;
};

}  // namespace detail

// Lifecycle: construct when the TCP (or TLS) connection is up, feed server bytes through
// on_bytes, write bytes_to_send() and report it with on_sent, drain next_event() after every
// on_bytes. After SessionReady, begin_transaction whenever ready_for_transaction(); finish
// with quit(). One session per connection, used by one thread.
//
// Events describe the past; the state is the present. One on_bytes may queue several events
// whose effects overlap: the 250 that ends a message and the 421 behind it in the same read
// queue TransactionResult then SessionFailed, and the session is failed by the time the
// caller sees the first. So a caller drains every event, then asks ready_for_transaction()
// before it begins the next transaction; begin_transaction refuses (Errc::not_ready) rather
// than trust it.
//
// Pipelining: with PIPELINING advertised (and enabled), [RSET,] MAIL, every RCPT and DATA go
// out in one write; replies are matched to commands in order; the body follows the 354. That
// costs one round trip for the envelope instead of 2 + recipients. Without PIPELINING, one
// command at a time, and DATA is not sent when every recipient was rejected.
class ClientSession {
 public:
  explicit ClientSession(ClientOptions options);

  // An error means the session failed (SessionFailed is queued too): unparsable replies or a
  // reply nothing was waiting for. A server rejection that ends the session (greeting 554,
  // 421) is not an error of on_bytes; it is a SessionFailed event and failed() turns true.
  Result<void> on_bytes(std::string_view from_server);
  // What to write next. The view is invalidated by any non-const call, so the caller copies
  // it into the buffer its write operation owns, then reports completions with on_sent.
  std::string_view bytes_to_send() const;
  void on_sent(std::size_t byte_count);
  std::optional<SessionEvent> next_event();

  bool ready_for_transaction() const;
  // After StartTlsAccepted, once the handshake succeeded: EHLO again, over TLS. Everything
  // learnt before (capabilities) is forgotten, as RFC 3207 §4.2 asks.
  void tls_started();
  bool tls() const { return tls_; }
  // Server bytes dropped because they arrived between the 220 to STARTTLS and tls_started(),
  // in reads after the one that carried the 220 (the rest of that read is dropped uncounted).
  std::size_t discarded_bytes() const { return discarded_bytes_; }
  // Queues one message: the raw RFC 5322 message (headers and body, CRLF or LF line ends),
  // dot-stuffed here. Requires at least one recipient. Refused, changing nothing, when the
  // session is not ready_for_transaction() (Errc::not_ready) or an address holds CR or LF
  // (Errc::bad_address).
  Result<void> begin_transaction(const Envelope& envelope, std::string_view message);
  // Sends QUIT now if idle, else once the handshake or transaction in progress ends.
  // SessionClosed follows its reply. A no-op on a failed or closed session.
  void quit();
  bool failed() const { return state_ == State::failed; }
  bool closed() const { return state_ == State::closed; }
  const Capabilities& capabilities() const { return capabilities_; }

 private:
  enum class State {
    greeting,
    ehlo,
    helo,
    starttls,  // STARTTLS sent, waiting for its reply
    tls_wait,  // 220 received, waiting for tls_started()
    auth,      // AUTH sent (PLAIN, or a step of LOGIN)
    ready,
    transaction,
    quitting,
    closed,
    failed
  };
  enum class Command { greeting, ehlo, helo, starttls, auth, rset, mail, rcpt, data, body, quit };
  struct Pending {
    Command command;
    std::size_t index = 0;  // recipient index for rcpt
  };

  static std::string_view command_name(Command command);
  // Whether `reply` is of a class `command` can have (RFC 5321 §4.3.2).
  static bool can_answer(Command command, const Reply& reply);
  Result<void> dispatch(Reply reply);
  void on_greeting(Reply reply);
  void on_ehlo(Reply reply);
  void on_helo(Reply reply);
  void on_starttls(Reply reply);
  // AUTH when asked for (ClientOptions::auth_plain), else ready.
  void authenticate_or_ready();
  void on_auth(Reply reply);
  void fail_auth(Reply reply, std::string reason);
  void on_rset(const Reply& reply);
  void on_mail(Reply reply);
  void on_rcpt(std::size_t index, Reply reply);
  void on_data(Reply reply);
  void on_body(Reply reply);
  void on_quit(const Reply& reply);

  void send(Command command, std::string_view line, std::size_t index = 0);
  void send_rcpt(std::size_t index);
  void become_ready();
  void finish_transaction(bool delivered, Reply reply);
  const Reply& undelivered_reply() const;
  void fail(Reply reply, std::string reason);

  ClientOptions options_;
  ReplyParser parser_;
  State state_ = State::greeting;
  Capabilities capabilities_;
  bool tls_ = false;
  std::optional<Reply> starttls_refused_;
  std::size_t discarded_bytes_ = 0;
  bool pipelining_ = false;
  bool quit_requested_ = false;
  int login_step_ = -1;  // AUTH LOGIN: the 334s answered so far; -1 under PLAIN
  std::size_t transactions_begun_ = 0;
  std::optional<detail::ClientTransaction> transaction_;
  std::deque<Pending> pending_;  // commands sent (or queued to send) awaiting replies, in order
  std::string out_;              // bytes for the server; out_[out_sent_..] not yet written
  std::size_t out_sent_ = 0;
  std::size_t sent_total_ = 0;  // bytes reported by on_sent, ever
  std::size_t body_end_ = 0;    // sent_total_ once the body in flight has been written
  std::string body_;            // the stuffed message waiting for 354
  std::deque<SessionEvent> events_;
};

}  // namespace mta::smtp
