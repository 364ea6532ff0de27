// A shard's injection: the injector shared by SMTP submission and the HTTP API. What it
// accepts goes to the router, which hands each part to the shard owning its destination.
#include "app/daemon/daemon.h"

namespace mta::app {

smtp::ServerOptions submission_smtp_options(const Config& config) {
  smtp::ServerOptions smtp_options;
  smtp_options.hostname = config.node.hostname;
  smtp_options.limits.message_bytes_max = config.submission.message_bytes_max;
  smtp_options.limits.recipients_max = config.submission.recipients_max;
  smtp_options.starttls = config.submission.starttls;
  smtp_options.auth_mechanisms = config.submission.auth_mechanisms;
  smtp_options.auth_without_tls = config.submission.auth_without_tls;
  return smtp_options;
}

void Daemon::start_injection(engine::Shard& shard, ShardServices& mine) {
  const Config& config = config_;
  const Settings& settings = *settings_;
  mine.injector = std::make_unique<injection::Injector>(
      shard, *mine.committer, *mine.ids,
      injection::InjectorOptions{
          .hostname = config.node.hostname,
          .max_age = config.queue.retry.max_age,
          .signing = settings.signing ? &*settings.signing : nullptr,
          .verp_domain = config.bounce.verp ? config.bounce.domain : std::string(),
          .verp_prefix = config.bounce.verp_prefix,
          .bounce_keys = config.bounce.domain.empty() ? nullptr : &*stores_->bounce_keys,
          .tenants = settings.tenant_defaults,
          .pools = settings.delivery.source_pools},
      [routing = settings.delivery.routing()](std::string_view recipient) {
        return routing.destination(recipient);
      },
      [&shard, router = router_.get()](const std::vector<queue::ScheduledItem>& parts) {
        for (const auto& part : parts) router->hand_over(shard, part);
      });
  mine.submission = std::make_unique<injection::SubmissionListener>(
      shard, *mine.injector,
      injection::SubmissionOptions{
          .smtp = submission_smtp_options(config),
          .idle_timeout = config.submission.idle_timeout,
          .peer_limits = with_shard_cap(access_->submission_limits, 10'000),
          .peer_counts = &access_->submission_peers,
          .tls = mine.tls_server.get(),
          .tls_handshake_timeout = config.tls.handshake_timeout,
          .trusted = &*settings.trusted,
          .users = &settings.users,
          .auth_throttle = &access_->auth_throttle,
          .rate_per_ip = config.submission.rate_per_ip.per_shard(shard_count_),
          .rate_per_user = config.submission.rate_per_user.per_shard(shard_count_)});
  injection::ApiOptions api_options{.message_bytes_max = config.submission.message_bytes_max,
                                    .recipients_max = config.submission.recipients_max};
  for (const auto& key : config.http.api_keys) {
    api_options.keys.push_back(injection::ApiKey{.name = key.name,
                                                 .sha256 = key.sha256,
                                                 .rate = key.rate.per_shard(shard_count_),
                                                 .tenant = key.tenant});
  }
  mine.api = std::make_unique<injection::HttpApi>(shard, *mine.injector, *mine.committer,
                                                  *stores_->spool, std::move(api_options));
  const Telemetry::Durations durations = reporting_->telemetry.durations(shard.id().value());
  mine.submission->probe().session_seconds = durations.smtp_session;
  mine.submission->probe().sign_seconds = durations.dkim_sign;
  mine.api->probe().sign_seconds = durations.dkim_sign;
  mine.committer->probe().commit_seconds = durations.queue_commit;
}

}  // namespace mta::app
