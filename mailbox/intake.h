// BounceIntake: what happens to a message that reaches the bounce domain, whether a remote MTA
// sent it over SMTP ([bounce] listen) or delivery made the DSN itself for one of our VERP
// return paths. It is classified (parse_bounce), given X-Outpost-Bounce-* header fields so a
// plain IMAP client can filter on the result, stored in INBOX, and hard failures and
// complaints put their recipient on the suppression list, but only when the message proves it
// is about mail Outpost sent to that recipient (issue 21): it came to a VERP address whose tag
// verifies, or it returns a header whose X-Outpost-Ref verifies and names a message that went
// to that recipient. Anyone can send a DSN naming anyone; those are stored and classified,
// marked X-Outpost-Bounce-Trusted: no, and suppress nobody.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "mailbox/bounce.h"
#include "mailbox/store.h"
#include "queue/bounce_keys.h"
#include "queue/store.h"

namespace mta::mailbox {

struct IntakeOptions {
  std::string bounce_domain;
  std::string verp_prefix = "bounce";
  const Rules* rules = nullptr;  // nullptr = Rules::default_rules()
  std::string folder = "INBOX";
  // The keys that verify VERP tags and X-Outpost-Ref; nullptr: nothing verifies, so nothing is
  // suppressed.
  const queue::BounceKeys* keys = nullptr;
  // The recipient of message `id` that `address` names (compared by suppression_key), as it
  // was queued; nullopt when the message did not go to it or is no longer known (its queue
  // history expired). Unset: no message is known.
  std::function<std::optional<std::string>(MessageId id, std::string_view address)> recipient_of;
};

// IntakeOptions::recipient_of over the queue: the message's parts as queued, else its history.
std::function<std::optional<std::string>(MessageId id, std::string_view address)>
recipient_in_queue(queue::Store& store);

// Why a bounce may or may not suppress: it came to a VERP address whose tag verified, or its
// returned header carried a verified X-Outpost-Ref naming a message that went to every
// recipient it reports, or neither.
enum class Trust : std::uint8_t { none, verp, reference };
std::string_view to_string(Trust trust);

struct IntakeProbe {
  std::uint64_t received = 0;
  std::uint64_t stored = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t suppressions_added = 0;
  std::uint64_t untrusted = 0;             // stored with X-Outpost-Bounce-Trusted: no
  std::array<std::uint64_t, 5> by_kind{};  // by BounceKind
  std::array<std::uint64_t, kCategoryCount> by_category{};  // recipients, by Category
};

// What BounceIntake::store did, for whoever sent the message: stored (durable); refused (larger
// than the whole mailbox: do not try again); no_space or failed (nothing stored: try later).
struct StoreResult {
  enum class Status : std::uint8_t { stored, refused, no_space, failed };
  Status status = Status::failed;
  std::string detail;  // "stored: <kind> <category> hard|soft <address>", or why not
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

  // receive(), logged (a write failure as an error, what was stored at debug level), and
  // summed up for the sender: the answer of the bounce SMTP intake or of an own DSN.
  StoreResult store(std::string_view mail_from, const std::vector<std::string>& recipients,
                    std::string_view body, std::int64_t now_seconds);

  const IntakeProbe& probe() const { return probe_; }
  std::size_t suppressions_size() const { return store_.suppressions().size(); }

 private:
  MailStore& store_;
  IntakeOptions options_;
  IntakeProbe probe_;
};

// The header fields receive() puts in front of the stored message, each CRLF-terminated:
// X-Outpost-Bounce-Kind, -Category, -Type (hard/soft), -Recipient, -Status,
// X-Outpost-Original-Message-Id (our queue id, else the original's Message-ID), for more
// than one recipient one X-Outpost-Bounce-Recipients line per extra recipient, then
// X-Outpost-Bounce-Trusted (yes/no) and X-Outpost-Bounce-Trust (verp, reference or none).
std::string annotation(const BounceReport& report, Trust trust = Trust::none);

// Appends `message` without the X-Outpost-Bounce-*, X-Outpost-Original-* and
// X-Outpost-Feedback-Type fields of its top-level header: only ours may say what a stored
// message is.
void append_without_our_fields(std::string& out, std::string_view message);

// The recipient a report is mainly about: the first hard failure, else the first failure, else
// the first recipient; nullptr when there is none.
const BounceRecipient* primary_recipient(const BounceReport& report);

}  // namespace mta::mailbox
