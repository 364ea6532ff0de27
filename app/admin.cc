// AdminApi: queue queries run as store scans in slices on the shard's blocking worker (a
// million envelopes take a few seconds; the group commit's fsyncs interleave between
// slices); actions go to the shards that own the parts, which apply them against their
// dispatchers so nothing races a delivery in flight.
#include "app/admin.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "app/queue_show.h"
#include "base/ascii.h"
#include "base/log.h"
#include "base/rfc3339.h"
#include "proto/http/json.h"
#include "queue/errc.h"
#include "queue/query.h"

namespace mta::app {
namespace {

constexpr std::string_view prefix = "/api/v1/queue";
constexpr std::string_view suppressions_prefix = "/api/v1/suppressions";
constexpr std::string_view api_prefix = "/api/v1";
constexpr std::string_view destinations_prefix = "/destinations/";

// The operation routes, after /api/v1.
bool is_operation(std::string_view route) {
  return route == "/status" || route == "/reload" || route.starts_with(destinations_prefix);
}

// Compares without an early exit, so the time taken does not tell how much of a guess matched.
bool same_key(std::string_view a, std::string_view b) {
  unsigned char differ = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    differ |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return differ == 0;
}

// A browser names the page a request comes from (Origin, Sec-Fetch-Site). The admin API
// answers only pages of its own origin: a page elsewhere cannot act with a key its user has
// typed into the console (the key rides in a header, never a cookie, so a cross-site form
// carries none; this refuses the rest, and no CORS header is ever sent). Clients that are not
// browsers (curl, `outpost queue`) send neither header.
bool cross_origin(const http::Request& request) {
  if (auto site = request.header("Sec-Fetch-Site");
      site && *site != "same-origin" && *site != "none") {
    return true;
  }
  const auto origin = request.header("Origin");
  if (!origin) return false;
  const auto host = request.header("Host");
  if (!host || host->empty()) return true;
  const std::string_view o = *origin;
  const std::size_t scheme = o.find("://");
  return scheme == std::string_view::npos ||
         ascii_lowercase(o.substr(scheme + 3)) != ascii_lowercase(*host);
}

http::Response text_response(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

http::Response json_response(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

// An error in the format the client asked for.
http::Response failure(int status, std::string_view message, bool text) {
  if (text) return text_response(status, std::string(message) + "\n");
  http::JsonWriter json;
  json.begin_object();
  json.key("error");
  json.value(message);
  json.end_object();
  return json_response(status, json.take());
}

struct Query {
  queue::QueueFilter filter;
  std::size_t limit = 1000;
  bool all = false;
  bool text = false;
};

// Unknown parameters are refused: a mistyped filter name on `delete` must not widen it.
Result<Query> parse_query(const http::Request& request, std::size_t limit_max) {
  Query query;
  for (const auto& param : request.query) {
    const std::string_view name = param.name;
    if (name == "id") {
      auto id = queue::parse_message_id(param.value);
      if (!id) return unexpected(id.error().code, "id: " + id.error().detail);
      query.filter.id = *id;
    } else if (name == "destination") {
      query.filter.destination = param.value;
    } else if (name == "sender") {
      query.filter.sender = param.value;
    } else if (name == "recipient") {
      query.filter.recipient = param.value;
    } else if (name == "limit") {
      const char* end = param.value.data() + param.value.size();
      std::size_t limit = 0;
      if (std::from_chars(param.value.data(), end, limit).ptr != end || param.value.empty()) {
        return unexpected(queue::Errc::invalid_argument, "limit must be a number");
      }
      query.limit = std::min(limit, limit_max);
    } else if (name == "all") {
      query.all = param.value == "1" || param.value == "true";
    } else if (name == "format") {
      if (param.value != "text" && param.value != "json") {
        return unexpected(queue::Errc::invalid_argument, "format must be text or json");
      }
      query.text = param.value == "text";
    } else {
      return unexpected(
          queue::Errc::invalid_argument,
          "unknown parameter \"" + param.name + "\" (filters: id, destination, sender, recipient)");
    }
  }
  return query;
}

// A scan of the whole envelope column family in slices. `visit` runs on the worker thread
// (one slice at a time, so never concurrently); `done` on the shard.
struct Scan {
  queue::QueueFilter filter;
  std::function<void(queue::Envelope&&)> visit;
  std::function<void(Scan&)> done;
  queue::PartKey from{};
  std::uint64_t matched = 0;
  std::uint64_t corrupt_slices = 0;
  std::optional<Error> failure;
  bool more = false;
};

void run_slice(engine::Shard& shard, queue::Store& store, std::size_t slice,
               std::shared_ptr<Scan> scan) {
  shard.offload(
      [&store, slice, scan] {
        std::size_t seen = 0;
        scan->more = false;
        auto scanned = store.for_each_envelope_from(scan->from, [&](queue::Envelope&& e) {
          scan->from = e.part == UINT32_MAX ? queue::PartKey{MessageId(e.id.value() + 1), 0}
                                            : queue::PartKey{e.id, e.part + 1};
          if (queue::matches(scan->filter, e)) {
            ++scan->matched;
            scan->visit(std::move(e));
          }
          scan->more = ++seen == slice;
          return !scan->more;
        });
        if (!scanned && scanned.error().code == queue::Errc::corrupt_record) {
          ++scan->corrupt_slices;  // the damaged records were skipped; the rest was seen
        } else if (!scanned) {
          scan->failure = scanned.error();
          scan->more = false;
        }
      },
      [&shard, &store, slice, scan] {
        if (scan->more) {
          run_slice(shard, store, slice, scan);
        } else {
          if (scan->corrupt_slices != 0) log::warning("queue scan skipped corrupt records");
          scan->done(*scan);
        }
      });
}

void write_counts(http::JsonWriter& json, const queue::QueueCounts& counts) {
  json.key("parts");
  json.value(counts.parts);
  json.key("recipients");
  json.begin_object();
  for (std::size_t i = 0; i < counts.recipients.size(); ++i) {
    json.key(queue::recipient_state_names[i]);
    json.value(counts.recipients[i]);
  }
  json.end_object();
  json.key("quarantined");
  json.value(counts.quarantined);
  if (counts.parts > 0) {
    json.key("oldest_received_at");
    json.value(rfc3339(counts.oldest));
  }
}

}  // namespace

std::string queue_line(const queue::Envelope& e) {
  std::string line =
      to_hex(e.id) + "." + std::to_string(e.part) + " " + e.destination + " <" + e.mail_from + ">";
  for (const auto& r : e.recipients) {
    line += " <" + r.address + ">:" + std::string(queue::name_of(r.state)) + "/" +
            std::to_string(r.attempts);
  }
  if (queue::is_quarantined(e)) line += " quarantined";
  return line;
}

std::string summary_text(const queue::QueueSummary& summary) {
  std::string out = "parts " + std::to_string(summary.total.parts) + "\n";
  out += "quarantined " + std::to_string(summary.total.quarantined) + "\n";
  for (std::size_t i = 0; i < summary.total.recipients.size(); ++i) {
    out += "recipients " + std::string(queue::recipient_state_names[i]) + " " +
           std::to_string(summary.total.recipients[i]) + "\n";
  }
  for (const auto& [destination, counts] : summary.by_destination) {
    out += "destination " + destination + " " + std::to_string(counts.parts) + "\n";
  }
  return out;
}

std::string suppression_line(const mailbox::Suppression& entry) {
  return entry.address + " " + entry.category + " " +
         rfc3339(Clock::WallTime(std::chrono::seconds(entry.added_at))) +
         (entry.reason.empty() ? "" : " " + entry.reason);
}

namespace {

// GET /summary: counts by destination, gathered by the scan.
void scan_summary(Scan& scan, bool text, const server::Respond& respond) {
  auto summary = std::make_shared<queue::QueueSummary>();
  scan.visit = [summary](queue::Envelope&& e) { summary->add(e); };
  scan.done = [summary, respond, text](Scan& done) {
    if (done.failure) return respond(failure(500, done.failure->message(), text));
    if (text) return respond(text_response(200, summary_text(*summary)));
    http::JsonWriter json;
    json.begin_object();
    write_counts(json, summary->total);
    json.key("destinations");
    json.begin_array();
    for (const auto& [destination, counts] : summary->by_destination) {
      json.begin_object();
      json.key("destination");
      json.value(destination);
      write_counts(json, counts);
      json.end_object();
    }
    json.end_array();
    json.end_object();
    respond(json_response(200, json.take()));
  };
}

// GET /messages: up to `limit_max` parts (one message: show_message, app/queue_show.h).
void scan_messages(Scan& scan, std::size_t limit_max, bool text, const server::Respond& respond) {
  auto parts = std::make_shared<std::vector<queue::Envelope>>();
  scan.visit = [parts, limit_max](queue::Envelope&& e) {
    if (parts->size() < limit_max) parts->push_back(std::move(e));
  };
  scan.done = [parts, respond, text](Scan& done) {
    if (done.failure) return respond(failure(500, done.failure->message(), text));
    if (text) {
      std::string out;
      for (const auto& e : *parts) out += queue_line(e) + "\n";
      return respond(text_response(200, std::move(out)));
    }
    http::JsonWriter json;
    json.begin_object();
    json.key("matched");
    json.value(done.matched);
    json.key("parts");
    json.begin_array();
    for (const auto& e : *parts) write_part_json(json, e);
    json.end_array();
    json.end_object();
    respond(json_response(200, json.take()));
  };
}

// POST /retry, /delete or /bounce: the matched parts go to `apply` once the scan ends (the
// AdminApi, owner of `apply`, lives as long as the shard). False when the answer is already
// given (wrong method, no filter).
bool scan_for_action(engine::Shard& shard, const ApplyFn& apply, const http::Request& request,
                     std::string_view route, const Query& query, bool text, Scan& scan,
                     const server::Respond& respond) {
  if (request.method != "POST") {
    http::Response wrong = failure(405, "use POST", text);
    wrong.allow = "POST";
    respond(std::move(wrong));
    return false;
  }
  const auto action = route == "/retry"    ? delivery::OperatorAction::retry
                      : route == "/delete" ? delivery::OperatorAction::remove
                                           : delivery::OperatorAction::bounce;
  if (action != delivery::OperatorAction::retry && query.filter.empty() && !query.all) {
    respond(
        failure(400, "name the parts (id, destination, sender, recipient) or pass all=1", text));
    return false;
  }
  auto items = std::make_shared<std::vector<queue::ScheduledItem>>();
  scan.visit = [items](queue::Envelope&& e) {
    items->push_back(queue::ScheduledItem{
        .due = {}, .key = {.message = e.id, .part = e.part}, .destination = e.destination});
  };
  const std::string name(route.substr(1));
  scan.done = [&shard, &apply, items, respond, text, action, name](Scan& done) {
    if (done.failure) return respond(failure(500, done.failure->message(), text));
    const std::uint64_t matched = done.matched;
    apply(shard, action, std::move(*items),
          [respond, text, name, matched](delivery::ActionCounts counts) {
            if (text) {
              return respond(
                  text_response(200, name + ": matched " + std::to_string(matched) + ", applied " +
                                         std::to_string(counts.applied) + ", in flight " +
                                         std::to_string(counts.in_flight) + ", not found " +
                                         std::to_string(counts.not_found) + "\n"));
            }
            http::JsonWriter json;
            json.begin_object();
            json.key("action");
            json.value(name);
            json.key("matched");
            json.value(matched);
            json.key("applied");
            json.value(counts.applied);
            json.key("in_flight");
            json.value(counts.in_flight);
            json.key("not_found");
            json.value(counts.not_found);
            json.end_object();
            respond(json_response(200, json.take()));
          });
  };
  return true;
}

}  // namespace

AdminApi::AdminApi(engine::Shard& shard, queue::Store& store, mailbox::Suppressions* suppressions,
                   AdminOptions options, ApplyFn apply, AdminHooks hooks)
    : shard_(shard),
      store_(store),
      suppressions_(suppressions),
      options_(std::move(options)),
      apply_(std::move(apply)),
      hooks_(std::move(hooks)) {}

bool AdminApi::authorized(const http::Request& request) const {
  // No key, no admin API: the daemon always has one (configured, or made in the spool).
  if (options_.key.empty()) return false;
  const auto authorization = request.header("Authorization");
  return authorization && authorization->starts_with("Bearer ") &&
         same_key(authorization->substr(7), options_.key);
}

bool AdminApi::handle(http::Request& request, const engine::SocketAddress& /*peer*/,
                      const server::Respond& respond) {
  const std::string_view path = request.path;
  const bool suppression_route =
      path.starts_with(suppressions_prefix) &&
      (path.size() == suppressions_prefix.size() || path[suppressions_prefix.size()] == '/');
  const bool operation =
      path.starts_with(api_prefix) && is_operation(path.substr(api_prefix.size()));
  if (!path.starts_with(prefix) && !suppression_route && !operation) return false;
  const bool queue_route = !suppression_route && !operation;
  const std::string_view route = path.substr(queue_route ? prefix.size() : 0);
  auto query = queue_route ? parse_query(request, options_.list_limit_max) : Result<Query>(Query{});
  const bool text = queue_route ? query && query->text : request.query_param("format") == "text";

  if (cross_origin(request)) {
    respond(failure(403, "cross-origin request refused", text));
    return true;
  }
  if (!authorized(request)) {
    http::Response denied = failure(401, "admin key required", text);
    denied.bearer_challenge = true;
    respond(std::move(denied));
    return true;
  }
  if (!query) {
    respond(failure(400, query.error().detail, text));
    return true;
  }
  if (operation) {
    handle_operation(request, path.substr(api_prefix.size()), text, respond);
    return true;
  }
  if (suppression_route) {
    const std::string_view rest = path.substr(suppressions_prefix.size());
    handle_suppressions(request, rest.empty() ? rest : rest.substr(1), text, respond);
    return true;
  }

  const bool is_get = request.method == "GET";
  auto scan = std::make_shared<Scan>();
  scan->filter = query->filter;

  if (route == "/summary" || route == "/messages" || route.starts_with("/messages/")) {
    if (!is_get) {
      http::Response wrong = failure(405, "use GET", text);
      wrong.allow = "GET";
      respond(std::move(wrong));
      return true;
    }
  }

  if (route == "/summary") {
    scan_summary(*scan, text, respond);
  } else if (route.starts_with("/messages/")) {
    // One message, queued or finished: its parts and its history, not a scan.
    auto id = queue::parse_message_id(route.substr(std::string_view("/messages/").size()));
    if (id) {
      show_message(shard_, store_, *id, text, respond);
    } else {
      respond(failure(400, id.error().detail, text));
    }
    return true;
  } else if (route == "/messages") {
    scan_messages(*scan, query->limit, text, respond);
  } else if (route == "/retry" || route == "/delete" || route == "/bounce") {
    if (!scan_for_action(shard_, apply_, request, route, *query, text, *scan, respond)) {
      return true;
    }
  } else {
    respond(failure(404, "no such route", text));
    return true;
  }
  run_slice(shard_, store_, options_.scan_slice, scan);
  return true;
}

void AdminApi::handle_operation(const http::Request& request, std::string_view route, bool text,
                                const server::Respond& respond) {
  const auto only = [&](std::string_view method) {
    if (request.method == method) return true;
    http::Response wrong = failure(405, "use " + std::string(method), text);
    wrong.allow = std::string(method);
    respond(std::move(wrong));
    return false;
  };
  if (route == "/status") {
    if (!only("GET")) return;
    if (!hooks_.status) return respond(failure(404, "no status here", text));
    http::Response response = json_response(200, hooks_.status());
    response.headers.push_back({"Cache-Control", "no-store"});
    return respond(std::move(response));
  }
  if (route == "/reload") {
    if (!only("POST")) return;
    if (!hooks_.reload) return respond(failure(404, "reload is not available", text));
    return hooks_.reload(shard_, [respond, text](Result<std::string> done) {
      if (!done) return respond(failure(500, done.error().message(), text));
      if (text) return respond(text_response(200, *done + "\n"));
      http::JsonWriter json;
      json.begin_object();
      json.key("reloaded");
      json.value(*done);
      json.end_object();
      respond(json_response(200, json.take()));
    });
  }
  // /destinations/NAME/suspend|resume
  std::string_view rest = route.substr(destinations_prefix.size());
  const std::size_t slash = rest.rfind('/');
  const std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const std::string destination = ascii_lowercase(rest.substr(0, std::min(slash, rest.size())));
  if (destination.empty() || (verb != "suspend" && verb != "resume")) {
    return respond(failure(404, "use /api/v1/destinations/NAME/suspend or .../resume", text));
  }
  if (!only("POST")) return;
  if (!hooks_.suspend) return respond(failure(404, "suspension is not available", text));
  std::optional<Clock::WallTime> until;
  if (verb == "suspend") {
    // Without for=SECONDS: until resumed (ten years stands for that).
    std::uint64_t seconds = 10ull * 365 * 24 * 3600;
    if (auto given = request.query_param("for")) {
      const auto [end, error] =
          std::from_chars(given->data(), given->data() + given->size(), seconds);
      if (error != std::errc() || end != given->data() + given->size() || seconds == 0 ||
          seconds > 10ull * 365 * 24 * 3600) {
        return respond(failure(400, "for= takes whole seconds, 1 to 315360000", text));
      }
    }
    until = shard_.clock().wall_now() + std::chrono::seconds(seconds);
  }
  const bool for_given = request.query_param("for").has_value();
  hooks_.suspend(shard_, destination, until, [=, this](bool found) {
    if (!until && !found) {
      return respond(failure(404, destination + " is not suspended", text));
    }
    // The answer says how many parts are queued for it (a scan of the queue, as `summary`
    // does): a suspension of a name nothing is queued for, such as a recipient domain while
    // everything goes to the relay, would otherwise look like it took effect.
    auto scan = std::make_shared<Scan>();
    scan->filter.destination = destination;
    scan->visit = [](queue::Envelope&&) {};
    scan->done = [respond, text, destination, until, for_given](Scan& done) {
      const std::uint64_t queued = done.failure ? 0 : done.matched;
      if (text) {
        const std::string state = !until      ? " resumed"
                                  : for_given ? " suspended until " + rfc3339(*until)
                                              : std::string(" suspended until resumed");
        const std::string parts =
            queued == 0 ? "; nothing is queued for it (outpost queue summary lists the "
                          "destinations)"
                        : "; " + std::to_string(queued) + (queued == 1 ? " part" : " parts") +
                              " queued for it";
        return respond(text_response(200, destination + state + parts + "\n"));
      }
      http::JsonWriter json;
      json.begin_object();
      json.key("destination");
      json.value(destination);
      json.key("suspended");
      json.value(until.has_value());
      json.key("suspended_until");
      if (until) {
        json.value(rfc3339(*until));
      } else {
        json.value(nullptr);
      }
      json.key("queued_parts");
      json.value(queued);
      json.end_object();
      respond(json_response(200, json.take()));
    };
    run_slice(shard_, store_, options_.scan_slice, scan);
  });
}

void AdminApi::handle_suppressions(const http::Request& request, std::string_view address,
                                   bool text, const server::Respond& respond) {
  if (suppressions_ == nullptr) return respond(failure(404, "no bounce mailbox configured", text));
  auto write_entry = [](http::JsonWriter& json, const mailbox::Suppression& entry) {
    json.begin_object();
    json.key("address");
    json.value(entry.address);
    json.key("category");
    json.value(entry.category);
    json.key("reason");
    json.value(entry.reason);
    json.key("added_at");
    json.value(rfc3339(Clock::WallTime(std::chrono::seconds(entry.added_at))));
    json.end_object();
  };
  const std::string& method = request.method;
  if (address.empty()) {
    if (method != "GET") {
      http::Response wrong = failure(405, "use GET, or PUT/DELETE on /ADDRESS", text);
      wrong.allow = "GET";
      return respond(std::move(wrong));
    }
    std::size_t limit = 1000;
    if (auto given = request.query_param("limit")) {
      const char* end = given->data() + given->size();
      if (std::from_chars(given->data(), end, limit).ptr != end || given->empty()) {
        return respond(failure(400, "limit must be a number", text));
      }
      limit = std::min(limit, options_.list_limit_max);
    }
    const auto entries = suppressions_->list(request.query_param("q").value_or(""), limit);
    if (text) {
      std::string out;
      for (const auto& entry : entries) out += suppression_line(entry) + "\n";
      return respond(text_response(200, std::move(out)));
    }
    http::JsonWriter json;
    json.begin_object();
    json.key("total");
    json.value(static_cast<std::uint64_t>(suppressions_->size()));
    json.key("suppressions");
    json.begin_array();
    for (const auto& entry : entries) write_entry(json, entry);
    json.end_array();
    json.end_object();
    return respond(json_response(200, json.take()));
  }
  if (address.find('@') == std::string_view::npos || address.find('/') != std::string_view::npos ||
      address.size() > 320) {
    return respond(failure(400, "not an address: " + std::string(address), text));
  }
  if (method == "GET") {
    auto entry = suppressions_->find(address);
    if (!entry) return respond(failure(404, "not suppressed", text));
    if (text) return respond(text_response(200, suppression_line(*entry) + "\n"));
    http::JsonWriter json;
    write_entry(json, *entry);
    return respond(json_response(200, json.take()));
  }
  if (method != "PUT" && method != "POST" && method != "DELETE") {
    http::Response wrong = failure(405, "use GET, PUT or DELETE", text);
    wrong.allow = "GET, PUT, DELETE";
    return respond(std::move(wrong));
  }
  // A synced RocksDB write: on the worker, so the reactor keeps serving meanwhile.
  struct Change {
    mailbox::Suppression entry;
    bool remove = false;
    Result<bool> result = false;
  };
  auto change = std::make_shared<Change>();
  change->remove = method == "DELETE";
  change->entry = mailbox::Suppression{
      .address = std::string(address),
      .category = std::string(request.query_param("category").value_or("manual")),
      .reason = std::string(request.query_param("reason").value_or("")),
      .added_at = std::chrono::duration_cast<std::chrono::seconds>(
                      shard_.clock().wall_now().time_since_epoch())
                      .count()};
  mailbox::Suppressions* list = suppressions_;
  shard_.offload(
      [list, change] {
        if (change->remove) {
          change->result = list->remove(change->entry.address);
        } else if (auto added = list->add(change->entry); !added) {
          change->result = unexpected(added.error());
        } else {
          change->result = true;
        }
      },
      [change, respond, text] {
        if (!change->result) return respond(failure(500, change->result.error().message(), text));
        if (!*change->result) return respond(failure(404, "not suppressed", text));
        const std::string what = change->remove ? "removed " : "suppressed ";
        if (text) return respond(text_response(200, what + change->entry.address + "\n"));
        http::JsonWriter json;
        json.begin_object();
        json.key(change->remove ? "removed" : "suppressed");
        json.value(ascii_lowercase(change->entry.address));
        json.end_object();
        respond(json_response(200, json.take()));
      });
}

}  // namespace mta::app
