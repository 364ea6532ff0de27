// The JSON delivery log's line for one recipient outcome.
#include "delivery/outcome.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/rfc3339.h"
#include "base/strong_id.h"
#include "proto/http/json.h"
#include "proto/smtp/reply.h"
#include "queue/query.h"

namespace mta::delivery {
namespace {

std::string_view first_token(std::string_view text) { return text.substr(0, text.find(' ')); }

std::string_view skip_token(std::string_view text) {
  const std::size_t space = text.find(' ');
  return space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
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
  // RFC 3463 class.subject.detail, as the reply parser reads it.
  if (const std::string_view token = first_token(rest); smtp::EnhancedCode::parse(token)) {
    split.enhanced = token;
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
  json.member("event", queue::name_of(recipient.state));
  json.member("message_id", to_hex(envelope.id));
  json.member("part", envelope.part);
  json.member("sender", envelope.mail_from);
  json.member("recipient", recipient.address);
  json.member("destination", envelope.destination);
  // The tenant and campaign (null: none), for a platform's per-customer accounting.
  for (const auto& [name, value] :
       {std::pair{"tenant", &envelope.tenant}, std::pair{"campaign", &envelope.campaign}}) {
    json.key(name);
    if (value->empty()) {
      json.value(nullptr);
    } else {
      json.value(*value);
    }
  }
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
