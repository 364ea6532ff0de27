// The JSON delivery log's line for one recipient outcome.
#include "delivery/outcome.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/rfc3339.h"
#include "base/strong_id.h"
#include "proto/http/json.h"

namespace mta::delivery {
namespace {

bool is_enhanced(std::string_view token) {
  // class.subject.detail: one digit, 1-3 digits, 1-3 digits (RFC 3463).
  if (token.size() < 5 || (token[0] != '2' && token[0] != '4' && token[0] != '5') ||
      token[1] != '.') {
    return false;
  }
  int dots = 0;
  std::size_t run = 0;
  for (std::size_t i = 2; i < token.size(); ++i) {
    if (token[i] == '.') {
      if (run == 0 || ++dots > 1) return false;
      run = 0;
    } else if (std::isdigit(static_cast<unsigned char>(token[i])) && ++run <= 3) {
      continue;
    } else {
      return false;
    }
  }
  return dots == 1 && run > 0;
}

std::string_view first_token(std::string_view text) { return text.substr(0, text.find(' ')); }

std::string_view skip_token(std::string_view text) {
  const std::size_t space = text.find(' ');
  return space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
}

std::string_view event_name(queue::RecipientState state) {
  switch (state) {
    case queue::RecipientState::delivered:
      return "delivered";
    case queue::RecipientState::deferred:
      return "deferred";
    case queue::RecipientState::bounced:
      return "bounced";
    case queue::RecipientState::suppressed:
      return "suppressed";
    case queue::RecipientState::pending:
      break;
  }
  return "pending";
}

}  // namespace

SplitReply split_reply(std::string_view reply) {
  SplitReply split;
  std::string_view rest = reply;
  const std::string_view first = first_token(rest);
  if (first.size() == 3 && std::isdigit(static_cast<unsigned char>(first[0])) &&
      std::isdigit(static_cast<unsigned char>(first[1])) &&
      std::isdigit(static_cast<unsigned char>(first[2]))) {
    split.code = (first[0] - '0') * 100 + (first[1] - '0') * 10 + (first[2] - '0');
    rest = skip_token(rest);
  }
  if (is_enhanced(first_token(rest))) {
    split.enhanced = first_token(rest);
    rest = skip_token(rest);
  }
  split.text = rest;
  return split;
}

std::string delivery_log_line(const RecipientOutcome& outcome) {
  const queue::Envelope& envelope = outcome.envelope;
  const queue::Recipient& recipient = outcome.recipient;
  const SplitReply reply = split_reply(recipient.last_reply);
  http::JsonWriter json;
  json.reserve(384 + recipient.last_reply.size());
  json.begin_object();
  json.member("time", rfc3339_millis(outcome.at));
  json.member("event", event_name(recipient.state));
  json.member("message_id", to_hex(envelope.id));
  json.member("part", envelope.part);
  json.member("sender", envelope.mail_from);
  json.member("recipient", recipient.address);
  json.member("destination", envelope.destination);
  json.key("mx_host");
  if (outcome.hop != nullptr && !outcome.hop->mx_host.empty()) {
    json.value(outcome.hop->mx_host);
  } else {
    json.value(nullptr);
  }
  json.key("address");
  if (outcome.hop != nullptr) {
    json.value(outcome.hop->address);
  } else {
    json.value(nullptr);
  }
  json.key("source");
  if (outcome.hop != nullptr && !outcome.hop->source.empty()) {
    json.value(outcome.hop->source);
  } else {
    json.value(nullptr);
  }
  json.key("tls");
  if (outcome.hop != nullptr && outcome.hop->tls != nullptr) {
    const tls::Info& tls = *outcome.hop->tls;
    json.begin_object();
    json.member("version", tls.protocol);
    json.member("cipher", tls.cipher);
    json.member("verified", tls.verified);
    json.member("resumed", tls.resumed);
    json.end_object();
  } else {
    json.value(nullptr);
  }
  json.key("code");
  if (reply.code != 0) {
    json.value(reply.code);
  } else {
    json.value(nullptr);
  }
  json.key("enhanced_code");
  if (!reply.enhanced.empty()) {
    json.value(reply.enhanced);
  } else {
    json.value(nullptr);
  }
  json.member("reply", reply.text);
  json.member("attempt", recipient.attempts);
  json.key("queue_seconds");
  const double queued = std::chrono::duration<double>(outcome.at - envelope.received_at).count();
  json.value(static_cast<double>(static_cast<std::int64_t>(queued * 1000)) / 1000);
  json.end_object();
  std::string line = json.take();
  line += '\n';
  return line;
}

}  // namespace mta::delivery
