// ClientSession state machine. Every command sent is pushed on pending_, and every reply pops
// the front: that is all RFC 2920 asks of a pipelining client, since the server answers in
// order. Command-specific handlers then decide what to send next and which events to emit.
#include "proto/smtp/client_session.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "base/assert.h"
#include "base/base64.h"
#include "proto/smtp/dot_stuffing.h"
#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

bool has_8bit(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// The header section: everything before the first empty line (CRLF or bare LF ends).
std::string_view header_section(std::string_view message) {
  std::size_t end = std::min(message.find("\n\n"), message.find("\n\r\n"));
  return end == std::string_view::npos ? message : message.substr(0, end);
}

// RFC 6531: a non-ASCII address or UTF-8 header field needs the SMTPUTF8 extension.
bool needs_smtputf8(const Envelope& envelope, std::string_view message) {
  if (has_8bit(envelope.mail_from)) return true;
  for (const std::string& rcpt : envelope.recipients) {
    if (has_8bit(rcpt)) return true;
  }
  return has_8bit(header_section(message));
}

}  // namespace

std::string_view ClientSession::command_name(Command command) {
  switch (command) {
    case Command::greeting:
      return "the greeting";
    case Command::ehlo:
      return "EHLO";
    case Command::helo:
      return "HELO";
    case Command::starttls:
      return "STARTTLS";
    case Command::auth:
      return "AUTH";
    case Command::rset:
      return "RSET";
    case Command::mail:
      return "MAIL";
    case Command::rcpt:
      return "RCPT";
    case Command::data:
      return "DATA";
    case Command::body:
      return "the message body";
    case Command::quit:
      return "QUIT";
  }
  return "a command";
}

// RFC 5321 §4.3.2: only DATA (354) and AUTH (334, unused here) have intermediate replies, and
// DATA has no positive completion of its own; the greeting, EHLO, HELO, STARTTLS and QUIT
// take whatever comes (their handlers treat anything not 2xx as a refusal).
bool ClientSession::can_answer(Command command, const Reply& reply) {
  switch (command) {
    case Command::rset:
    case Command::mail:
    case Command::rcpt:
    case Command::body:
      return !reply.intermediate();
    case Command::data:
      return !reply.positive();
    case Command::greeting:
    case Command::ehlo:
    case Command::helo:
    case Command::starttls:
    case Command::auth:
    case Command::quit:
      return true;
  }
  return true;
}

ClientSession::ClientSession(ClientOptions options)
    : options_(std::move(options)), parser_(options_.reply_limits), tls_(options_.implicit_tls) {
  MTA_ASSERT(!options_.helo_name.empty());
  MTA_ASSERT(!has_line_break(options_.helo_name));
  pending_.push_back({Command::greeting});
}

std::string_view ClientSession::bytes_to_send() const {
  return std::string_view(out_).substr(out_sent_);
}

void ClientSession::on_sent(std::size_t byte_count) {
  if (state_ == State::failed) return;  // out_ was dropped; a late write completion is fine
  MTA_ASSERT(byte_count <= out_.size() - out_sent_);
  out_sent_ += byte_count;
  sent_total_ += byte_count;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

std::optional<SessionEvent> ClientSession::next_event() {
  if (events_.empty()) return std::nullopt;
  SessionEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool ClientSession::ready_for_transaction() const {
  return state_ == State::ready && !quit_requested_;
}

void ClientSession::send(Command command, std::string_view line, std::size_t index) {
  out_.append(line);
  pending_.push_back({command, index});
}

Result<void> ClientSession::on_bytes(std::string_view from_server) {
  if (state_ == State::failed) return unexpected(Errc::session_failed);
  // After QUIT's reply the server closes; anything else it says no longer matters.
  if (state_ == State::closed) return {};
  if (state_ == State::tls_wait) {
    discarded_bytes_ += from_server.size();
    return {};
  }
  Result<void> fed = parser_.feed(from_server);
  // Replies completed before a parse error are still acted on, so the outcome does not
  // depend on how the bytes were split.
  while (std::optional<Reply> reply = parser_.next()) {
    Result<void> handled = dispatch(std::move(*reply));
    if (!handled) return handled;
    if (state_ == State::failed || state_ == State::closed) return {};
    if (state_ == State::tls_wait) {
      // Whatever followed the 220 in plaintext is not the server speaking over TLS: drop it
      // (what the parser holds, complete replies or a partial line) unread.
      parser_ = ReplyParser(options_.reply_limits);
      return {};
    }
  }
  if (!fed) {
    fail(Reply{}, fed.error().message());
    return fed;
  }
  return {};
}

Result<void> ClientSession::dispatch(Reply reply) {
  // 421 may answer any command; the server is closing the channel (RFC 5321 §3.8).
  if (reply.code == 421 && (pending_.empty() || pending_.front().command != Command::quit)) {
    fail(std::move(reply), "server is closing the connection");
    return {};
  }
  if (pending_.empty()) {
    std::string reason = "reply with no command outstanding: " + reply.to_string();
    fail(std::move(reply), reason);
    return unexpected(Errc::unexpected_reply, std::move(reason));
  }
  Pending pending = pending_.front();
  if (pending.command == Command::body && sent_total_ < body_end_) {
    // The final reply in the same read as the 354, before the caller could write the body: the
    // server cannot have read it. Taken at its word, the message would count as delivered and
    // its body, still unsent, be dropped with the session at the next surprise.
    std::string reason = "reply " + reply.to_string() + " to the message body before it was sent";
    fail(std::move(reply), reason);
    return unexpected(Errc::protocol_violation, std::move(reason));
  }
  if (!can_answer(pending.command, reply)) {
    // The server and the session no longer agree on which reply answers which command (a
    // line nobody asked for, or one lost): nothing after it can be trusted, least of all a
    // 250 where 354 was due, which would end a message whose body was never sent.
    std::string reason = "reply " + reply.to_string() + " cannot answer " +
                         std::string(command_name(pending.command));
    fail(std::move(reply), reason);
    return unexpected(Errc::protocol_violation, std::move(reason));
  }
  pending_.pop_front();
  switch (pending.command) {
    case Command::greeting:
      on_greeting(std::move(reply));
      break;
    case Command::ehlo:
      on_ehlo(std::move(reply));
      break;
    case Command::helo:
      on_helo(std::move(reply));
      break;
    case Command::starttls:
      on_starttls(std::move(reply));
      break;
    case Command::auth:
      on_auth(std::move(reply));
      break;
    case Command::rset:
      on_rset(reply);
      break;
    case Command::mail:
      on_mail(std::move(reply));
      break;
    case Command::rcpt:
      on_rcpt(pending.index, std::move(reply));
      break;
    case Command::data:
      on_data(std::move(reply));
      break;
    case Command::body:
      on_body(std::move(reply));
      break;
    case Command::quit:
      on_quit(reply);
      break;
  }
  return {};
}

void ClientSession::on_greeting(Reply reply) {
  if (!reply.positive()) {
    fail(std::move(reply), "greeting rejected");
    return;
  }
  state_ = State::ehlo;
  send(Command::ehlo, "EHLO " + options_.helo_name + "\r\n");
}

void ClientSession::on_ehlo(Reply reply) {
  if (reply.positive()) {
    capabilities_ = Capabilities::from_ehlo(reply);
    pipelining_ = options_.use_pipelining && capabilities_.pipelining;
    if (options_.starttls && capabilities_.starttls && !tls_) {
      state_ = State::starttls;
      send(Command::starttls, "STARTTLS\r\n");
      return;
    }
    authenticate_or_ready();
    return;
  }
  // 500/502 and friends: an RFC 821 server that does not know EHLO (RFC 5321 §4.1.4).
  if (reply.permanent()) {
    state_ = State::helo;
    send(Command::helo, "HELO " + options_.helo_name + "\r\n");
    return;
  }
  fail(std::move(reply), "EHLO rejected");
}

void ClientSession::on_helo(Reply reply) {
  if (!reply.positive()) {
    fail(std::move(reply), "HELO rejected");
    return;
  }
  capabilities_ = Capabilities{};
  pipelining_ = false;
  become_ready();
}

void ClientSession::on_starttls(Reply reply) {
  if (reply.code == 220) {
    state_ = State::tls_wait;
    events_.push_back(StartTlsAccepted{});
    return;
  }
  // 454 (TLS not available now), 501, 5xx...: the plaintext session is still usable.
  starttls_refused_ = std::move(reply);
  authenticate_or_ready();
}

void ClientSession::authenticate_or_ready() {
  const auto& offered = capabilities_.auth_mechanisms;
  const auto offers = [&offered](std::string_view mechanism) {
    return std::find(offered.begin(), offered.end(), mechanism) != offered.end();
  };
  if (!options_.auth_plain.empty()) {
    if (!offers("PLAIN")) return fail_auth(Reply{}, "AUTH PLAIN is not offered");
    state_ = State::auth;
    send(Command::auth, "AUTH PLAIN " + options_.auth_plain + "\r\n");
    return;
  }
  if (options_.auth_user.empty()) return become_ready();
  if (!tls_ && !options_.auth_without_tls) {
    return fail_auth(Reply{}, "AUTH not sent: the connection is not encrypted");
  }
  state_ = State::auth;
  if (offers("PLAIN")) {
    login_step_ = -1;
    const std::string credentials =
        std::string(1, '\0') + options_.auth_user + std::string(1, '\0') + options_.auth_password;
    send(Command::auth, "AUTH PLAIN " + base64_encode(credentials) + "\r\n");
  } else if (offers("LOGIN")) {
    login_step_ = 0;
    send(Command::auth, "AUTH LOGIN\r\n");
  } else {
    fail_auth(Reply{}, "the server offers neither AUTH PLAIN nor AUTH LOGIN");
  }
}

void ClientSession::on_auth(Reply reply) {
  // AUTH LOGIN: a 334 asks for the user name, then for the password (RFC 4954 §4).
  if (reply.code == 334 && login_step_ >= 0 && login_step_ < 2) {
    const std::string& answer = login_step_ == 0 ? options_.auth_user : options_.auth_password;
    ++login_step_;
    send(Command::auth, base64_encode(answer) + "\r\n");
    return;
  }
  if (reply.code != 235) {
    fail_auth(std::move(reply), "AUTH rejected");
    return;
  }
  become_ready();
}

void ClientSession::fail_auth(Reply reply, std::string reason) {
  fail(std::move(reply), std::move(reason));
  if (auto* failed = std::get_if<SessionFailed>(&events_.back())) failed->auth = true;
}

void ClientSession::tls_started() {
  MTA_ASSERT(state_ == State::tls_wait);
  tls_ = true;
  capabilities_ = Capabilities{};
  pipelining_ = false;
  starttls_refused_.reset();
  state_ = State::ehlo;
  send(Command::ehlo, "EHLO " + options_.helo_name + "\r\n");
}

void ClientSession::become_ready() {
  if (state_ == State::ehlo || state_ == State::helo || state_ == State::starttls ||
      state_ == State::auth) {
    events_.push_back(SessionReady{capabilities_, tls_, starttls_refused_});
  }
  state_ = State::ready;
  if (quit_requested_) {
    state_ = State::quitting;
    send(Command::quit, "QUIT\r\n");
  }
}

Result<void> ClientSession::begin_transaction(const Envelope& envelope, std::string_view message) {
  MTA_ASSERT(!envelope.recipients.empty());
  // What the server said decides the state, so a caller that acted on a stale event (a
  // TransactionResult with a 421 behind it) is told no here instead of failing an assert.
  if (!ready_for_transaction()) return unexpected(Errc::not_ready);
  const bool bad_address =
      has_line_break(envelope.mail_from) ||
      std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                  [](const std::string& rcpt) { return has_line_break(rcpt); });
  if (bad_address) return unexpected(Errc::bad_address);

  body_.clear();
  append_dot_stuffed(message, body_);

  std::string mail = "MAIL FROM:<" + envelope.mail_from + ">";
  if (capabilities_.size_max) {
    // RFC 1870 asks for an estimate; the stuffed size less ".\r\n" is a slight overestimate.
    mail += " SIZE=" + std::to_string(body_.size() - 3);
  }
  if (capabilities_.eight_bit_mime && has_8bit(message)) mail += " BODY=8BITMIME";
  if (capabilities_.smtputf8 && needs_smtputf8(envelope, message)) mail += " SMTPUTF8";
  mail += "\r\n";

  transaction_.emplace();
  detail::ClientTransaction& tx = *transaction_;
  tx.pipelined = pipelining_;
  tx.recipient_count = envelope.recipients.size();
  tx.recipient_replies.resize(tx.recipient_count);
  state_ = State::transaction;
  bool first = transactions_begun_++ == 0;

  if (tx.pipelined) {
    if (!first) send(Command::rset, "RSET\r\n");
    send(Command::mail, mail);
    for (std::size_t i = 0; i < tx.recipient_count; ++i) {
      out_ += "RCPT TO:<";
      out_ += envelope.recipients[i];
      out_ += ">\r\n";
      pending_.push_back({Command::rcpt, i});
    }
    send(Command::data, "DATA\r\n");
    return {};
  }
  tx.recipients = envelope.recipients;
  if (first) {
    send(Command::mail, mail);
  } else {
    tx.mail_command = std::move(mail);
    send(Command::rset, "RSET\r\n");
  }
  return {};
}

void ClientSession::send_rcpt(std::size_t index) {
  out_ += "RCPT TO:<";
  out_ += transaction_->recipients[index];
  out_ += ">\r\n";
  pending_.push_back({Command::rcpt, index});
}

void ClientSession::on_rset(const Reply& reply) {
  // A refused RSET changes nothing we can act on: MAIL's reply tells whether the server
  // will take a new transaction.
  (void)reply;
  if (!transaction_) return;  // RSET is only sent inside a transaction
  if (!transaction_->pipelined) {
    std::string mail = std::move(transaction_->mail_command);
    send(Command::mail, mail);
  }
}

void ClientSession::on_mail(Reply reply) {
  if (!transaction_) return;
  detail::ClientTransaction& tx = *transaction_;
  if (!reply.positive()) {
    tx.mail_rejection = reply;
    if (!tx.pipelined) {
      for (std::size_t i = 0; i < tx.recipient_count; ++i) {
        tx.recipient_replies[i] = reply;
        events_.push_back(RecipientResult{i, reply});
      }
      finish_transaction(false, std::move(reply));
    }
    return;  // pipelined: the RCPT and DATA replies (503s) are still to come
  }
  if (!tx.pipelined) send_rcpt(0);
}

void ClientSession::on_rcpt(std::size_t index, Reply reply) {
  if (!transaction_) return;
  detail::ClientTransaction& tx = *transaction_;
  MTA_ASSERT(index < tx.recipient_count);
  if (tx.mail_rejection) {
    reply = *tx.mail_rejection;
  } else if (reply.positive()) {
    ++tx.accepted;
  }
  tx.recipient_replies[index] = reply;
  events_.push_back(RecipientResult{index, std::move(reply)});
  if (tx.pipelined) return;
  if (index + 1 < tx.recipient_count) {
    send_rcpt(index + 1);
  } else if (tx.accepted > 0) {
    send(Command::data, "DATA\r\n");
  } else {
    finish_transaction(false, undelivered_reply());
  }
}

const Reply& ClientSession::undelivered_reply() const {
  const detail::ClientTransaction& tx = *transaction_;
  if (tx.mail_rejection) return *tx.mail_rejection;
  if (tx.accepted == 0) return tx.recipient_replies.front();
  MTA_ASSERT(tx.data_reply.has_value());
  return *tx.data_reply;
}

void ClientSession::on_data(Reply reply) {
  if (!transaction_) return;
  detail::ClientTransaction& tx = *transaction_;
  bool go_ahead = reply.intermediate();
  tx.data_reply = std::move(reply);
  if (!go_ahead) {
    finish_transaction(false, undelivered_reply());
    return;
  }
  if (tx.mail_rejection || tx.accepted == 0) {
    // A pipelining server said 354 with nobody to deliver to (RFC 2920 §3.1): end the empty
    // message at once and report the transaction as undelivered whatever the final reply.
    tx.body_withheld = true;
    body_.clear();
    send(Command::body, ".\r\n");
    body_end_ = sent_total_ + (out_.size() - out_sent_);
    return;
  }
  if (out_.size() == out_sent_) {
    out_.clear();
    out_sent_ = 0;
    out_.swap(body_);  // the common case: nothing unsent, hand the body over without a copy
  } else {
    out_.append(body_);
  }
  body_.clear();
  pending_.push_back({Command::body});
  body_end_ = sent_total_ + (out_.size() - out_sent_);
}

void ClientSession::on_body(Reply reply) {
  if (!transaction_) return;
  if (transaction_->body_withheld) {
    finish_transaction(false, undelivered_reply());
    return;
  }
  bool delivered = reply.positive();
  finish_transaction(delivered, std::move(reply));
}

void ClientSession::finish_transaction(bool delivered, Reply reply) {
  MTA_ASSERT(transaction_.has_value());
  TransactionResult result{delivered, std::move(reply), std::move(transaction_->recipient_replies)};
  transaction_.reset();
  events_.push_back(std::move(result));
  become_ready();
}

void ClientSession::quit() {
  if (state_ == State::failed || state_ == State::closed || state_ == State::quitting) return;
  quit_requested_ = true;
  if (state_ == State::ready) become_ready();
}

void ClientSession::on_quit(const Reply& reply) {
  (void)reply;  // 221 or not, the conversation is over
  state_ = State::closed;
  events_.push_back(SessionClosed{});
}

void ClientSession::fail(Reply reply, std::string reason) {
  state_ = State::failed;
  transaction_.reset();
  pending_.clear();
  out_.clear();
  out_sent_ = 0;
  body_.clear();
  events_.push_back(SessionFailed{std::move(reply), std::move(reason)});
}

}  // namespace mta::smtp
