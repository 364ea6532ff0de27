// ConnectionDriver: events in, decisions out. Every event runs the session's events to the
// end and only then looks at the session's state; see drive().
#include "delivery/connection_driver.h"

#include <cstring>
#include <utility>
#include <variant>

#include "proto/smtp/errc.h"

namespace mta::delivery {

std::string_view to_string(TlsPolicy policy) {
  switch (policy) {
    case TlsPolicy::none:
      return "none";
    case TlsPolicy::opportunistic:
      return "opportunistic";
    case TlsPolicy::required:
      return "required";
    case TlsPolicy::verify:
      return "verify";
  }
  return "opportunistic";
}

std::optional<TlsPolicy> parse_tls_policy(std::string_view text) {
  for (TlsPolicy policy :
       {TlsPolicy::none, TlsPolicy::opportunistic, TlsPolicy::required, TlsPolicy::verify}) {
    if (text == to_string(policy)) return policy;
  }
  return std::nullopt;
}

ConnectionDriver::ConnectionDriver(ConnectionSettings settings, Transport& transport,
                                   ConnectionOwner& owner, Probe& probe)
    : settings_(std::move(settings)),
      transport_(transport),
      owner_(owner),
      probe_(probe),
      session_(settings_.session) {}

void ConnectionDriver::on_connected(int error) {
  if (error != 0) {
    failure_ = "4.4.1 connect to " + settings_.address +
               (settings_.source.empty() ? std::string() : " from " + settings_.source) +
               " failed: " + std::strerror(-error);
    return;
  }
  open_ = true;
  if (settings_.session.implicit_tls) {
    // SMTPS: the handshake comes first; the greeting is read over TLS.
    if (Result<void> started = transport_.start_tls(); !started) {
      failure_ = "4.7.5 TLS with " + settings_.address + ": " + started.error().message();
      close();
      return;
    }
    tls_requested_ = true;
  }
}

void ConnectionDriver::on_data(Buffer& input) {
  const std::string_view bytes = input.readable();
  if (!open_ || closing_) {
    input.consume(bytes.size());
    return;
  }
  (void)session_.on_bytes(bytes);  // a failure arrives as SessionFailed
  input.consume(bytes.size());
  drive();
}

void ConnectionDriver::on_tls_ready(const Result<void>& result) {
  if (!tls_requested_) return;  // once per start_tls()
  tls_requested_ = false;
  if (!result) {
    ++probe_.tls_failures;
    failure_ = "4.7.5 TLS with " + describe() + " failed: " + result.error().message();
    // Opportunistic: this address is tried again at once, in plaintext (as Postfix does);
    // never on a port that speaks only TLS.
    tls_fallback_ = settings_.tls == TlsPolicy::opportunistic && !settings_.session.implicit_tls;
    return;  // the stream closes; on_closed follows
  }
  const tls::Info* info = transport_.tls_info();
  ++probe_.tls_sessions;
  if (info != nullptr) {
    if (info->resumed) ++probe_.tls_resumed;
    if (info->verified) ++probe_.tls_verified;
  }
  if (!open_ || closing_) return;
  if (settings_.session.implicit_tls) {
    flush();  // nothing yet: the session waits for the greeting
    return;
  }
  session_.tls_started();
  drive();
}

void ConnectionDriver::on_idle_timeout() {
  if (idle()) quit();
}

void ConnectionDriver::on_closed(int error) {
  transport_.cancel_idle_timer();
  open_ = false;
  closing_ = true;
  if (failure_.empty()) {
    failure_ = error != 0 ? std::string("4.4.2 connection lost: ") + std::strerror(-error)
                          : std::string("4.4.2 connection closed");
  }
  if (busy_) {
    busy_ = false;
    owner_.on_failure(envelope_, tried_, failure_, hop(), false);
  }
  if (!ready_) owner_.on_connection_failed(settings_.address_index, failure_, hop(), tls_fallback_);
}

void ConnectionDriver::take_next() {
  if (!idle()) return;
  if (owner_.should_quit(sent_)) {
    quit();
    return;
  }
  if (!owner_.assign(*this)) transport_.arm_idle_timer(settings_.idle_timeout);
}

bool ConnectionDriver::start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried,
                             const std::string& body) {
  transport_.cancel_idle_timer();
  envelope_ = std::move(envelope);
  tried_ = std::move(tried);
  smtp::Envelope smtp_envelope{.mail_from = envelope_.mail_from, .recipients = {}};
  for (std::size_t index : tried_) {
    smtp_envelope.recipients.push_back(envelope_.recipients[index].address);
  }
  const Result<void> begun = session_.begin_transaction(smtp_envelope, body);
  if (!begun) {
    const bool bad_address = begun.error().code == smtp::Errc::bad_address;
    owner_.on_failure(envelope_, tried_,
                      bad_address ? "5.1.3 an address holds a line break: not sent"
                                  : "4.4.2 " + settings_.address + ": " + begun.error().message(),
                      hop(), bad_address);
    return false;
  }
  busy_ = true;
  flush();
  return true;
}

void ConnectionDriver::quit() {
  if (quitting_ || !open_ || closing_) return;
  quitting_ = true;
  transport_.cancel_idle_timer();
  session_.quit();
  flush();
}

// Acts on what the session reported, then on the state it is in. Events only tell what
// happened: the 250 ending a message and a 421 behind it in the same read come as
// TransactionResult then SessionFailed, and the next part may go only once every event of the
// read has been seen, and only if the session says it is ready for it (take_next).
void ConnectionDriver::drive() {
  while (auto event = session_.next_event()) {
    if (auto* ready = std::get_if<smtp::SessionReady>(&*event)) {
      if (!policy_met(*ready)) {
        quit();  // over the session we have; the failure is reported as we close
        return;
      }
      ready_ = true;
      owner_.on_ready(settings_.address_index);
    } else if (std::holds_alternative<smtp::StartTlsAccepted>(*event)) {
      flush();
      if (Result<void> started = transport_.start_tls(); !started) {
        failure_ = "4.7.5 TLS with " + settings_.address + ": " + started.error().message();
        close();
        return;
      }
      tls_requested_ = true;
      return;  // on_tls_ready() resumes
    } else if (auto* result = std::get_if<smtp::TransactionResult>(&*event)) {
      if (!busy_) continue;  // never: a result follows start()
      busy_ = false;
      ++sent_;
      react_to(*result);
      owner_.on_transaction(envelope_, tried_, *result, hop());
    } else if (auto* failed = std::get_if<smtp::SessionFailed>(&*event)) {
      if (failed->reply.code != 0 && !failed->auth) owner_.react(failed->reply);
      // Authentication is the sender's business, never the recipients': a 535 defers (4.7.8),
      // it does not bounce, and names the host that refused.
      failure_ = failed->auth
                     ? "4.7.8 authentication failed at " + describe() + ": " + failed->reason
                     : "4.4.2 " + settings_.address + ": " + failed->reason;
      if (failed->reply.code != 0) failure_ += " (" + failed->reply.to_string() + ")";
      close();
      return;
    } else if (std::holds_alternative<smtp::SessionClosed>(*event)) {
      close();
      return;
    }
  }
  take_next();
  flush();
}

void ConnectionDriver::flush() {
  if (!open_ || closing_) return;
  const std::string_view out = session_.bytes_to_send();
  if (out.empty()) return;
  transport_.write(out);
  session_.on_sent(out.size());
}

void ConnectionDriver::close() {
  if (!open_ || closing_) return;
  closing_ = true;
  transport_.cancel_idle_timer();
  transport_.close();
}

bool ConnectionDriver::policy_met(const smtp::SessionReady& ready) {
  const TlsPolicy policy = settings_.tls;
  if (ready.tls || (policy != TlsPolicy::required && policy != TlsPolicy::verify)) return true;
  ++probe_.tls_required_unmet;
  failure_ =
      "4.7.10 " + describe() + ": TLS " + std::string(to_string(policy)) + " but " +
      (ready.starttls_refused ? "STARTTLS was refused (" + ready.starttls_refused->to_string() + ")"
                              : std::string("STARTTLS is not offered"));
  return false;
}

// The first reply of a transaction that is not a success: the one a shaping rule may match.
void ConnectionDriver::react_to(const smtp::TransactionResult& result) {
  if (!result.reply.positive()) return owner_.react(result.reply);
  for (const auto& reply : result.recipient_replies) {
    if (reply.code >= 400) return owner_.react(reply);
  }
}

Hop ConnectionDriver::hop() const {
  return Hop{.mx_host = settings_.name,
             .address = settings_.address,
             .source = settings_.source,
             .tls = transport_.tls_info()};
}

std::string ConnectionDriver::describe() const {
  return settings_.name.empty() ? settings_.address
                                : settings_.name + " [" + settings_.address + "]";
}

}  // namespace mta::delivery
