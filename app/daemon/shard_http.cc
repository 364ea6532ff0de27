// A shard's admin API and HTTP listeners: the injection API, the admin API, the status page,
// /metrics and the health checks, on [http] listen, and /metrics alone on [metrics] listen.
#include "app/daemon/daemon.h"
#include "app/status_page.h"
#include "metrics/exposition.h"

namespace mta::app {
namespace {

using ServeFn = std::function<bool(const http::Request&, const server::Respond&)>;

// GET /metrics, /healthz and /readyz; false for any other path.
ServeFn metrics_and_health(Telemetry& telemetry, const std::atomic<bool>& ready,
                           const std::atomic<bool>& draining) {
  return [&telemetry, &ready, &draining](const http::Request& request,
                                         const server::Respond& respond) {
    if (request.path == "/healthz" || request.path == "/readyz") {
      // Liveness: this shard's loop answers. Readiness: every shard recovered its queue and
      // listens, and no drain has begun (a load balancer should stop sending then).
      const bool live = request.path == "/healthz";
      const bool serving = ready.load() && !draining.load();
      http::Response response = http::Response::for_request(request);
      response.status = live || serving ? 200 : 503;
      response.content_type = "text/plain";
      response.body = live              ? "ok\n"
                      : serving         ? "ready\n"
                      : draining.load() ? "draining\n"
                                        : "starting\n";
      respond(std::move(response));
      return true;
    }
    if (request.path != "/metrics") return false;
    http::Response response = http::Response::for_request(request);
    if (request.method != "GET" && request.method != "HEAD") {
      response.status = 405;
      response.allow = "GET, HEAD";
      response.content_type = "text/plain";
      response.body = "GET /metrics\n";
    } else {
      response.content_type = std::string(metrics::exposition_content_type);
      response.body = telemetry.render();
    }
    respond(std::move(response));
    return true;
  };
}

// Every route of [http] listen: /metrics beside the admin API wants its key (a [metrics]
// listener of its own serves it without one), the health checks, the status page, the
// injection API, the admin API.
server::HttpHandler http_routes(AdminApi* admin, injection::HttpApi* api, ServeFn serve_metrics,
                                bool separate_metrics) {
  return [admin, api, serve_metrics = std::move(serve_metrics), separate_metrics](
             http::Request&& request, const engine::SocketAddress& peer,
             const server::Respond& respond) {
    if (!separate_metrics && request.path == "/metrics" && !admin->authorized(request)) {
      http::Response denied = http::Response::for_request(request);
      denied.status = 401;
      denied.content_type = "text/plain";
      denied.body = "admin key required\n";
      denied.bearer_challenge = true;
      respond(std::move(denied));
      return;
    }
    if (!separate_metrics && serve_metrics(request, respond)) return;
    if ((request.path == "/healthz" || request.path == "/readyz") &&
        serve_metrics(request, respond)) {
      return;
    }
    if (request.path == "/" || request.path == "/index.html") {
      http::Response page = http::Response::for_request(request);
      page.content_type = "text/html; charset=utf-8";
      page.body.assign(detail::status_page, detail::status_page_size);
      respond(std::move(page));
      return;
    }
    if (api->handle(request, peer, respond)) return;
    if (admin->handle(request, peer, respond)) return;
    respond(http::Response{.status = 404, .content_type = "text/plain", .body = "no such route\n"});
  };
}

}  // namespace

void Daemon::start_admin(engine::Shard& shard, ShardServices& mine) {
  AdminHooks hooks{
      .status =
          [this, &shard] {
            StatusInfo info = status_base_;
            info.ready = ready_.load();
            info.draining = draining_.load();
            return reporting_->board.render_json(info, shard.clock().wall_now());
          },
      .suspend =
          [router = router_.get(), board = &reporting_->board](
              engine::Shard& from, std::string destination, std::optional<Clock::WallTime> until,
              std::function<void(bool)> done) {
            board->note_suspension(destination, until, "operator");
            router->suspend(from, std::move(destination), until, std::move(done));
          },
      .reload =
          [reloader = reloader_.get()](engine::Shard& from,
                                       const std::function<void(Result<std::string>)>& done) {
            auto result = std::make_shared<Result<std::string>>(std::string());
            from.offload([result, reloader] { *result = reloader->reload(); },
                         [result, done] { done(std::move(*result)); });
          }};
  mine.admin = std::make_unique<AdminApi>(
      shard, *stores_->spool, &stores_->mail->suppressions(),
      AdminOptions{.key = config_.http.admin_key.empty() ? stores_->spool_admin_key
                                                         : config_.http.admin_key},
      [router = router_.get()](engine::Shard& from, delivery::OperatorAction action,
                               std::vector<queue::ScheduledItem> parts,
                               std::function<void(delivery::ActionCounts)> done) {
        router->apply_on_owners(from, action, std::move(parts), std::move(done));
      },
      std::move(hooks));
  if (shard.id().value() == 0) shard.on_stop([this] { draining_ = true; });
}

void Daemon::start_http(engine::Shard& shard, ShardServices& mine) {
  ServeFn serve_metrics = metrics_and_health(reporting_->telemetry, ready_, draining_);
  const bool separate_metrics = !config_.metrics.listen.empty();
  server::HttpOptions http_options;
  http_options.limits.body_bytes_max = config_.http.body_bytes_max;
  http_options.peer_limits = with_shard_cap(access_->http_limits, 1000);
  http_options.peer_counts = &access_->http_peers;
  // A large body is read only from a caller that could be served: the API's keys (or
  // loopback without keys) under /v1/, the admin key everywhere else.
  http_options.authenticated = [admin = mine.admin.get(), api = mine.api.get()](
                                   const http::Request& head, const engine::SocketAddress& peer) {
    return head.path.starts_with("/v1/") ? api->authenticates(head, peer) : admin->authorized(head);
  };
  mine.http = std::make_unique<server::HttpListener>(
      shard, http_options,
      http_routes(mine.admin.get(), mine.api.get(), serve_metrics, separate_metrics));
  if (!separate_metrics) return;
  mine.metrics = std::make_unique<server::HttpListener>(
      shard,
      server::HttpOptions{.peer_limits = with_shard_cap(access_->http_limits, 1000),
                          .peer_counts = &access_->metrics_peers,
                          // Scrapes carry no body: none larger than the small cap is read here.
                          .authenticated = [](const http::Request&,
                                              const engine::SocketAddress&) { return false; }},
      [serve_metrics](http::Request&& request, const engine::SocketAddress& /*peer*/,
                      const server::Respond& respond) {
        if (serve_metrics(request, respond)) return;
        respond(
            http::Response{.status = 404, .content_type = "text/plain", .body = "GET /metrics\n"});
      });
}

}  // namespace mta::app
