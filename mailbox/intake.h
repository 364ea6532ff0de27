// BounceIntake: what happens to a message that reaches the bounce domain, whether a remote MTA
// sent it over SMTP ([bounce] listen) or delivery made the DSN itself for one of our VERP
// return paths. It is classified (parse_bounce), given X-Outpost-Bounce-* header fields so a
// plain IMAP client can filter on the result, stored in INBOX, and hard failures and
// complaints put their recipient on the suppression list.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "mailbox/bounce.h"
#include "mailbox/store.h"

namespace mta::mailbox {

struct IntakeOptions {
  std::string bounce_domain;
  std::string verp_prefix = "bounce";
  const Rules* rules = nullptr;  // nullptr = Rules::default_rules()
  std::string folder = "INBOX";
};

struct IntakeProbe {
  std::uint64_t received = 0;
  std::uint64_t stored = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t suppressions_added = 0;
  std::array<std::uint64_t, 5> by_kind{};                   // by BounceKind
  std::array<std::uint64_t, kCategoryCount> by_category{};  // recipients, by Category
};

// Used on the mailbox shard only (it writes the MailStore).
class BounceIntake {
 public:
  BounceIntake(MailStore& store, IntakeOptions options);

  // Classifies, annotates and stores one message (durable when this returns), then updates the
  // suppression list. An error means nothing was stored: the sender should try again.
  Result<BounceReport> receive(std::string_view mail_from,
                               const std::vector<std::string>& recipients, std::string_view body,
                               std::int64_t now_seconds);

  const IntakeProbe& probe() const { return probe_; }
  std::size_t suppressions_size() const { return store_.suppressions().size(); }

 private:
  MailStore& store_;
  IntakeOptions options_;
  IntakeProbe probe_;
};

// The header fields receive() puts in front of the stored message, each CRLF-terminated:
// X-Outpost-Bounce-Kind, -Category, -Type (hard/soft), -Recipient, -Status,
// X-Outpost-Original-Message-Id (our queue id, else the original's Message-ID) and, for
// more than one recipient, one X-Outpost-Bounce-Recipients line per extra recipient.
std::string annotation(const BounceReport& report);

// Appends `message` without the X-Outpost-Bounce-*, X-Outpost-Original-* and
// X-Outpost-Feedback-Type fields of its top-level header: only ours may say what a stored
// message is.
void append_without_our_fields(std::string& out, std::string_view message);

// The recipient a report is mainly about: the first hard failure, else the first failure, else
// the first recipient; nullptr when there is none.
const BounceRecipient* primary_recipient(const BounceReport& report);

}  // namespace mta::mailbox
