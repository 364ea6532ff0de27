// BounceIntake. The added fields come first (before the bounce's own Received fields), so a
// client reading only the first lines of the header, or searching with HEADER, finds them.
// Values are reduced to printable ASCII on one line: they quote what a remote MTA wrote.
#include "mailbox/intake.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "base/envelope_address.h"
#include "base/log.h"
#include "base/strong_id.h"
#include "mailbox/errc.h"
#include "proto/mime/header.h"
#include "proto/mime/structure.h"

namespace mta::mailbox {
namespace {

constexpr std::size_t field_value_bytes_max = 400;

std::string clean(std::string_view value) {
  std::string out;
  out.reserve(std::min(value.size(), field_value_bytes_max));
  for (char c : value) {
    if (out.size() >= field_value_bytes_max) break;
    const auto u = static_cast<unsigned char>(c);
    if (u == '\r' || u == '\n' || u == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += '?';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void field(std::string& out, std::string_view name, std::string_view value) {
  const std::string text = clean(value);
  if (text.empty()) return;
  mime::append_folded(out, std::string(name) + ": " + text);
}

bool suppresses(const BounceReport& report, const BounceRecipient& recipient) {
  if (report.kind == BounceKind::complaint) return recipient.hard;
  return recipient.hard && recipient.action == Action::failed;
}

}  // namespace

std::string_view to_string(Trust trust) {
  switch (trust) {
    case Trust::verp:
      return "verp";
    case Trust::reference:
      return "reference";
    case Trust::none:
      break;
  }
  return "none";
}

namespace {

// The recipient of the referenced message a report's recipient names (the final or the
// original recipient), or "" when neither is one.
std::string referenced_recipient(const BounceReport& report, const BounceRecipient& recipient,
                                 const IntakeOptions& options) {
  if (!report.reference || !options.recipient_of) return {};
  for (const std::string* address : {&recipient.address, &recipient.original_recipient}) {
    if (address->empty()) continue;
    if (auto queued = options.recipient_of(*report.reference, *address)) return *queued;
  }
  return {};
}

Trust trust_of(const BounceReport& report, const IntakeOptions& options) {
  if (report.verp_verified) return Trust::verp;
  if (!report.reference ||
      (report.kind != BounceKind::dsn && report.kind != BounceKind::complaint)) {
    return Trust::none;
  }
  // A copied reference (from a message its sender received) with someone else's address in
  // the report proves nothing about that address.
  for (const auto& recipient : report.recipients) {
    if (referenced_recipient(report, recipient, options).empty()) return Trust::none;
  }
  return report.recipients.empty() ? Trust::none : Trust::reference;
}

// The address a hard failure suppresses, or "" for none. A VERP return path whose tag
// verifies names exactly the recipient Outpost mailed, so that is the one, whatever the bounce
// calls it (a forward may fail at another address). A DSN or complaint with a verified
// reference suppresses the recipient of that message it names. Nothing else suppresses: a
// prose bounce's address comes from pattern matching, and anyone can write a DSN.
std::string suppression_address(const BounceReport& report, const BounceRecipient& recipient,
                                Trust trust, const IntakeOptions& options) {
  if (trust == Trust::verp) return report.verp_recipient;
  if (trust == Trust::reference) return referenced_recipient(report, recipient, options);
  return {};
}

// Ours: the fields annotation() writes. A sender could forge them to make a message look like
// a hard bounce to a client searching HEADER X-Outpost-Bounce-Type, so received ones go.
bool is_our_field(std::string_view name) {
  return istarts_with(name, "X-Outpost-Bounce-") || istarts_with(name, "X-Outpost-Original-") ||
         iequals(name, "X-Outpost-Feedback-Type");
}

}  // namespace

void append_without_our_fields(std::string& out, std::string_view message) {
  const std::string_view header = mime::header_block(message);
  std::size_t kept = 0;  // of `message`, copied up to here
  for (const auto& field : mime::parse_header_fields(header)) {
    if (!is_our_field(field.name)) continue;
    out.append(message.substr(kept, field.begin - kept));
    kept = field.end;
  }
  out.append(message.substr(kept));
}

const BounceRecipient* primary_recipient(const BounceReport& report) {
  const auto& all = report.recipients;
  auto hard = std::find_if(all.begin(), all.end(), [](const BounceRecipient& r) {
    return r.hard && r.action == Action::failed;
  });
  if (hard != all.end()) return &*hard;
  auto failed = std::find_if(all.begin(), all.end(),
                             [](const BounceRecipient& r) { return r.action == Action::failed; });
  if (failed != all.end()) return &*failed;
  return all.empty() ? nullptr : &all.front();
}

std::string annotation(const BounceReport& report, Trust trust) {
  std::string out;
  field(out, "X-Outpost-Bounce-Kind", to_string(report.kind));
  const BounceRecipient* primary = primary_recipient(report);
  if (primary != nullptr) {
    field(out, "X-Outpost-Bounce-Category", to_string(primary->category));
    field(out, "X-Outpost-Bounce-Type", primary->hard ? "hard" : "soft");
    field(out, "X-Outpost-Bounce-Recipient", primary->address);
    field(out, "X-Outpost-Bounce-Action", to_string(primary->action));
    field(out, "X-Outpost-Bounce-Status", primary->status);
    field(out, "X-Outpost-Bounce-Diagnostic", primary->diagnostic);
    field(out, "X-Outpost-Bounce-Remote-MTA", primary->remote_mta);
  } else {
    field(out, "X-Outpost-Bounce-Category", to_string(Category::unknown));
    field(out, "X-Outpost-Bounce-Type", "soft");
  }
  if (report.message_id) {
    field(out, "X-Outpost-Original-Message-Id", to_hex(*report.message_id));
    field(out, "X-Outpost-Original-Header-Message-Id", report.original_message_id);
  } else {
    field(out, "X-Outpost-Original-Message-Id", report.original_message_id);
  }
  if (report.complaint) field(out, "X-Outpost-Feedback-Type", report.complaint->feedback_type);
  for (const auto& recipient : report.recipients) {
    if (&recipient == primary) continue;
    field(out, "X-Outpost-Bounce-Recipients",
          recipient.address + "; " + std::string(to_string(recipient.category)) + "; " +
              (recipient.hard ? "hard" : "soft") +
              (recipient.status.empty() ? "" : "; " + recipient.status));
  }
  field(out, "X-Outpost-Bounce-Trusted", trust == Trust::none ? "no" : "yes");
  field(out, "X-Outpost-Bounce-Trust", to_string(trust));
  return out;
}

BounceIntake::BounceIntake(MailStore& store, IntakeOptions options)
    : store_(store), options_(std::move(options)) {}

std::function<std::optional<std::string>(MessageId id, std::string_view address)>
recipient_in_queue(queue::Store& store) {
  return [&store](MessageId id, std::string_view address) -> std::optional<std::string> {
    const std::string key = suppression_key(address);
    const auto find =
        [&key](const Result<std::vector<queue::Envelope>>& parts) -> std::optional<std::string> {
      if (!parts) return std::nullopt;
      for (const queue::Envelope& part : *parts) {
        for (const queue::Recipient& recipient : part.recipients) {
          if (suppression_key(recipient.address) == key) return recipient.address;
        }
      }
      return std::nullopt;
    };
    if (auto queued = find(store.read_message(id))) return queued;
    return find(store.read_history(id));
  };
}

StoreResult BounceIntake::store(std::string_view mail_from,
                                const std::vector<std::string>& recipients, std::string_view body,
                                std::int64_t now_seconds) {
  auto report = receive(mail_from, recipients, body, now_seconds);
  if (!report && report.error().code == Errc::over_quota) {
    return StoreResult{.status = StoreResult::Status::refused,
                       .detail = "message larger than the bounce mailbox"};
  }
  if (!report) {
    log::error("bounce mailbox: cannot store a bounce: " + report.error().message());
    return StoreResult{.status = report.error().code == Errc::no_space
                                     ? StoreResult::Status::no_space
                                     : StoreResult::Status::failed,
                       .detail = "mailbox write failed"};
  }
  const BounceRecipient* primary = primary_recipient(*report);
  std::string what(to_string(report->kind));
  if (primary != nullptr) {
    what += " " + std::string(to_string(primary->category)) +
            (primary->hard ? " hard " : " soft ") + primary->address;
  }
  if (log::enabled(log::Level::debug)) log::debug("bounce mailbox: stored " + what);
  return StoreResult{.status = StoreResult::Status::stored, .detail = "stored: " + what};
}

Result<BounceReport> BounceIntake::receive(std::string_view mail_from,
                                           const std::vector<std::string>& recipients,
                                           std::string_view body, std::int64_t now_seconds) {
  ++probe_.received;
  BounceContext context{.verp_prefix = options_.verp_prefix,
                        .bounce_domain = options_.bounce_domain,
                        .envelope_recipients = recipients,
                        .envelope_sender = std::string(mail_from)};
  if (const queue::BounceKeys* keys = options_.keys; keys != nullptr) {
    context.verp_valid = [keys](const mime::VerpAddress& verp) {
      return keys->verp_tag_valid(verp.id, verp.recipient, verp.tag);
    };
    context.reference_valid = [keys](std::string_view value) {
      return keys->reference_valid(value);
    };
  }
  const Rules& rules = options_.rules != nullptr ? *options_.rules : Rules::default_rules();
  BounceReport report = parse_bounce(body, context, rules);
  const Trust trust = trust_of(report, options_);

  std::string stored = annotation(report, trust);
  stored.reserve(stored.size() + body.size());
  append_without_our_fields(stored, body);
  auto appended = store_.append(options_.folder, stored, 0, {}, now_seconds);
  if (!appended) {
    ++probe_.store_failures;
    return unexpected(appended.error());
  }
  ++probe_.stored;
  ++probe_.by_kind[static_cast<std::size_t>(report.kind)];
  if (trust == Trust::none) ++probe_.untrusted;
  std::vector<std::string> suppressed;
  for (const auto& recipient : report.recipients) {
    ++probe_.by_category[static_cast<std::size_t>(recipient.category)];
    if (!suppresses(report, recipient)) continue;
    const std::string address = suppression_address(report, recipient, trust, options_);
    if (address.empty() ||
        std::find(suppressed.begin(), suppressed.end(), address) != suppressed.end()) {
      continue;
    }
    suppressed.push_back(address);
    // The bounce is stored either way; a failed suppression write is counted and the next
    // bounce for the same address tries again.
    if (auto added = store_.suppressions().add(Suppression{
            .address = address,
            .category = std::string(to_string(recipient.category)),
            .reason =
                clean(recipient.status.empty() ? recipient.diagnostic
                                               : recipient.status + " " + recipient.diagnostic),
            .added_at = now_seconds});
        added) {
      ++probe_.suppressions_added;
    } else {
      ++probe_.store_failures;
    }
  }
  return report;
}

}  // namespace mta::mailbox
