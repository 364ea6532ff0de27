// The admin API on the HTTP listener: the queue of the running daemon, read and steered
// (`outpost queue ...` is its command-line client). Routes, all under /api/v1/queue:
//   GET  summary             parts and recipients per state, per destination
//   GET  messages            the parts a filter selects (limit=N, default 1000)
//   GET  messages/ID         one message, every part: queued, or finished (from the history,
//                            app/queue_show.h); 404 when neither holds it
//   POST retry|delete|bounce the parts a filter selects (delete and bounce need a filter, or
//                            all=1)
// Filters are query parameters: id, destination, sender ("@domain", "<>"), recipient.
// The suppression list, under /api/v1/suppressions (`outpost suppression` is its client):
//   GET    /                 the entries (q=SUBSTRING, limit=N, default 1000)
//   GET    /ADDRESS          one entry, or 404
//   PUT    /ADDRESS          add or replace it (reason=TEXT, category=NAME, default "manual")
//   DELETE /ADDRESS          remove it, or 404
// Operations:
//   GET  /api/v1/status                       the live status (app/status.h; GET / shows it)
//   POST /api/v1/destinations/NAME/suspend    no new transactions to NAME (for=SECONDS, default
//                                            until resumed); in-flight ones finish. Both
//                                            answer with the parts queued for NAME
//                                            (queued_parts), 0 for a name nothing goes to
//   POST /api/v1/destinations/NAME/resume     deliver again at once (404 if it was not suspended)
//   POST /api/v1/reload                       what SIGHUP does: config, keys, certificates, logs
// format=text answers in the plain lines the command-line clients print; JSON otherwise.
// Every route needs "Authorization: Bearer KEY": [http] admin_key, or without one the key the
// daemon made in the spool (app/admin_key.h). With an empty key nothing is served. A request a
// browser sends from another origin (an Origin header not naming this Host, or Sec-Fetch-Site
// other than same-origin) is refused with 403, and no CORS header is sent: the console at `/`
// acts (suspend, resume, retry) only from its own page.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delivery/shard_delivery.h"
#include "engine/shard.h"
#include "mailbox/store.h"
#include "queue/query.h"
#include "queue/store.h"
#include "server/http_listener.h"

namespace mta::app {

struct AdminOptions {
  std::string key;                       // empty: every request is refused (401)
  std::size_t scan_slice = 20'000;       // envelopes per offloaded read, between shard turns
  std::size_t list_limit_max = 100'000;  // parts one `messages` answer may carry
};

// Runs an operator action on the shards that own the parts; `done` runs on `from`'s thread
// with the summed counts.
using ApplyFn = std::function<void(engine::Shard& from, delivery::OperatorAction action,
                                   std::vector<queue::ScheduledItem> parts,
                                   std::function<void(delivery::ActionCounts)> done)>;

// The plain-text forms `outpost queue` prints: one line per part, and the summary.
std::string queue_line(const queue::Envelope& envelope);
std::string summary_text(const queue::QueueSummary& summary);
// One suppression entry as `outpost suppression` prints it: address, category, date, reason.
std::string suppression_line(const mailbox::Suppression& entry);

// What the operation routes do, bound by app/'s daemon.
struct AdminHooks {
  std::function<std::string()> status;  // the JSON of GET /api/v1/status
  // Suspends a destination on every shard until `until`, or resumes it (nullopt); `done` runs
  // on `from`'s thread with whether any shard had it suspended (resume) or true (suspend).
  std::function<void(engine::Shard& from, std::string destination,
                     std::optional<Clock::WallTime> until, std::function<void(bool)> done)>
      suspend;
  // Reloads like SIGHUP; `done` runs on `from`'s thread with what was reloaded, or why not.
  std::function<void(engine::Shard& from, std::function<void(Result<std::string>)> done)> reload;
};

// One per shard, used on its thread by its HttpListener.
class AdminApi {
 public:
  // `suppressions` may be nullptr (no bounce mailbox): those routes then answer 404.
  AdminApi(engine::Shard& shard, queue::Store& store, mailbox::Suppressions* suppressions,
           AdminOptions options, ApplyFn apply, AdminHooks hooks = {});

  // True when the request is for this API (its path is under /api/v1/queue,
  // /api/v1/suppressions, /api/v1/destinations, or is /api/v1/status or /api/v1/reload); the
  // answer then goes through `respond`.
  // A reload's new key (empty: every request is refused).
  void set_key(std::string key) { options_.key = std::move(key); }
  // Whether the request carries the admin key (GET /metrics on the HTTP listener asks too).
  bool authorized(const http::Request& request) const;

  bool handle(http::Request& request, const engine::SocketAddress& peer,
              const server::Respond& respond);

 private:
  // The suppression routes; `address` is the path after the prefix's '/', or empty.
  void handle_suppressions(const http::Request& request, std::string_view address, bool text,
                           const server::Respond& respond);
  // The operation routes (status, destinations, reload); `route` is the path after /api/v1.
  void handle_operation(const http::Request& request, std::string_view route, bool text,
                        const server::Respond& respond);

  engine::Shard& shard_;
  queue::Store& store_;
  mailbox::Suppressions* suppressions_;
  AdminOptions options_;
  ApplyFn apply_;
  AdminHooks hooks_;
};

}  // namespace mta::app
