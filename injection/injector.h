// Injector: what both injection paths (SMTP submission, the HTTP API) do with a message once it
// is received, on the shard that received it. It adds the trace fields, DKIM-signs once, picks
// the return path (VERP when a bounce domain is set), splits the recipients into one queue part
// per destination and hands the message to the shard's group commit. The caller hears how it
// went only when the write is durable, or failed and stored nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "dkim/keyring.h"
#include "engine/shard.h"
#include "injection/probe.h"
#include "injection/tags.h"
#include "injection/trace.h"
#include "queue/bounce_keys.h"
#include "queue/group_commit.h"
#include "queue/message_id.h"
#include "queue/store.h"

namespace mta::injection {

struct InjectorOptions {
  std::string hostname = "localhost";                // ours, in the Received field
  Clock::Duration max_age = std::chrono::hours(72);  // a part not delivered by then bounces
  // DKIM keys ([[dkim]]): each message is signed once, here, before it is stored; the parts
  // and every retry send the stored, signed bytes. nullptr = no signing.
  const dkim::KeyRing* signing = nullptr;
  // VERP (verp.h): when a bounce domain is set, each recipient of a message with a sender gets
  // its own part whose return path names the message and the recipient.
  std::string verp_domain;
  std::string verp_prefix = "bounce";
  // The keys that tag VERP return paths and write each message's X-Outpost-Ref (its id and
  // MAC, before signing, so a DSN that returns only the header still names it); nullptr:
  // neither (bounces then suppress nobody). Must outlive the injector.
  const queue::BounceKeys* bounce_keys = nullptr;
  // [[tenant]] defaults by tenant name: the class and source pool of its messages that do not
  // name their own. A tenant not named here may still be used (fair sharing applies to every
  // tenant; rate caps only to configured ones).
  struct TenantDefaults {
    queue::TrafficClass traffic_class = queue::TrafficClass::transactional;
    std::string source_pool;
  };
  std::unordered_map<std::string, TenantDefaults> tenants;
  // The source pools ([[delivery.source]] pool): a message naming another is refused.
  std::vector<std::string> pools;
};

// One received message. `recipients` in the client's order; `body` CRLF-only.
struct Inbound {
  std::string mail_from;  // "" = null sender
  std::vector<std::string> recipients;
  std::string body;
  // The HTTP API's tenant, campaign, class and pool fields; they win over the message's own
  // X-Outpost-* fields, which are always removed from `body`.
  Tags tags;
  // The tenant the authenticated user or API key is bound to ("" = none): the message is that
  // tenant's, and naming another one refuses it.
  std::string bound_tenant;
};

struct Injected {
  enum class Status {
    queued,   // durable: acknowledge
    refused,  // permanent: the message cannot be taken as it is (e.g. unsignable header)
    failed,   // temporary: nothing stored, the client may retry
    no_space  // temporary: the disk is full, nothing stored
  };
  Status status = Status::queued;
  std::vector<MessageId> ids;  // queued: one per message, in order
  std::string detail;          // refused/failed: why, for the reply
};

class Injector {
 public:
  // The destination a recipient's part goes to (a domain, or the relay).
  using RouteFn = std::function<std::string(std::string_view recipient)>;
  // Runs on this shard once the message is durable, with one item per part.
  using QueuedFn = std::function<void(const std::vector<queue::ScheduledItem>& parts)>;
  using Done = std::function<void(const Injected& result)>;

  Injector(engine::Shard& shard, queue::GroupCommit& group_commit, queue::MessageIdGenerator& ids,
           InjectorOptions options, RouteFn route, QueuedFn on_queued);
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  // One message. `trace` (the client's facts; id and time are filled here) adds the Received
  // field, and Message-ID and Date when missing; nullptr = the body is taken as it is.
  void submit(Inbound&& message, TraceFacts* trace, Probe& probe, Done done);
  // Several messages stored all or none, answered once (an HTTP bulk request). They are
  // prepared (traced, signed) a slice per loop turn, so `done` may run in a later turn; the
  // trace facts are copied, and `probe` must outlive the call.
  void submit_all(std::vector<Inbound>&& messages, TraceFacts* trace, Probe& probe, Done done);

  const InjectorOptions& options() const { return options_; }
  // A reload's new keys (nullptr: stop signing); they must outlive every later message.
  void set_signing(const dkim::KeyRing* signing) { options_.signing = signing; }

 private:
  // Trace fields and signature; the refusal when the message cannot be signed.
  std::optional<Injected> prepare(Inbound& message, MessageId id, Clock::WallTime now,
                                  TraceFacts* trace, Probe& probe);
  // Takes the X-Outpost-* fields out of the message and settles its tags (the refusal when
  // they are not valid or name a tenant the caller may not use).
  std::optional<Injected> resolve_tags(Inbound& message);
  std::vector<queue::Envelope> split(Inbound& message, MessageId id, Clock::WallTime now);
  struct Batch;
  void prepare_some(std::shared_ptr<Batch> batch);
  void commit(std::shared_ptr<Batch> batch);

  engine::Shard& shard_;
  queue::GroupCommit& group_commit_;
  queue::MessageIdGenerator& ids_;
  InjectorOptions options_;
  RouteFn route_;
  QueuedFn on_queued_;
};

}  // namespace mta::injection
