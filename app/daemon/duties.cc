// Phase: the periodic duties of each shard, each rescheduling itself until the shard stops:
// metrics and status sync, fleet sync, delivery log flush, history and mailbox expiry.
#include <chrono>
#include <string>
#include <vector>

#include "app/daemon/daemon.h"
#include "base/log.h"
#include "delivery/destination_view.h"
#include "queue/message_id.h"

namespace mta::app {
namespace {

// Copies the shard's probes into its metrics registry and its totals and destinations to the
// status board, now and every second after, until the shard stops.
void sync_metrics(engine::Shard& shard, ShardServices& mine, Reporting& observers) {
  ShardCounts counts;
  if (mine.submission != nullptr) counts.injection = mine.submission->probe();
  if (mine.api != nullptr) counts.http = mine.api->probe();
  if (mine.delivery != nullptr) {
    counts.delivery = mine.delivery->probe();
    counts.bounce = mine.delivery->bounce_probe();
    counts.parts_scheduled = mine.delivery->scheduled_count();
  }
  std::vector<delivery::DestinationView> destinations;
  if (mine.delivery != nullptr) {
    mine.delivery->for_each_dispatcher([&](const delivery::Dispatcher& d) {
      counts.parts_waiting += d.waiting_count();
      counts.parts_ready += d.ready_count();
      counts.parts_in_flight += d.busy_count();
      counts.parts_quarantined += d.quarantined_count();
      if (d.connection_count() > 0)
        counts.connections.emplace_back(d.destination(), d.connection_count());
    });
    // Domains, pools and the relay alike: the board shows a routing domain its pool's
    // connections.
    destinations = delivery::destination_views(*mine.delivery);
  }
  if (observers.delivery_log != nullptr && shard.id().value() == 0) {
    counts.log_lines = observers.delivery_log->lines_written();
    counts.log_dropped = observers.delivery_log->lines_dropped();
    counts.log_failures = observers.delivery_log->write_failures();
  }
  if (observers.fleet != nullptr && shard.id().value() == 0) {
    counts.fleet = observers.fleet->counters();
    counts.fleet_on = true;
  }
  if (mine.bounce_smtp != nullptr) counts.bounce_smtp = mine.bounce_smtp->probe();
  if (mine.intake != nullptr) {
    counts.intake = mine.intake->probe();
    counts.suppressed_addresses = mine.intake->suppressions_size();
  }
  if (mine.mail != nullptr) {
    counts.mailbox_store = mine.mail->probe();
    counts.mailbox_bytes = mine.mail->bytes();
    counts.mailbox_messages = mine.mail->message_count();
  }
  if (mine.bounce_limits != nullptr) counts.bounce_limits = mine.bounce_limits->probe();
  if (mine.imap != nullptr) counts.imap = mine.imap->probe();
  if (mine.pop3 != nullptr) counts.pop3 = mine.pop3->probe();
  observers.telemetry.sync(shard.id().value(), counts);
  StatusTotals totals{.received = counts.injection.messages_queued + counts.http.messages_queued,
                      .delivered = counts.delivery.recipients_delivered,
                      .deferred = counts.delivery.recipients_deferred,
                      .bounced = counts.delivery.recipients_bounced,
                      .suppressed = counts.delivery.recipients_suppressed,
                      .bounce_categories = counts.intake.by_category};
  observers.board.publish(shard.id().value(), totals, std::move(destinations));
  if (shard.id().value() == 0) observers.board.sample(shard.clock().wall_now());
  if (shard.stopping()) return;
  shard.schedule(std::chrono::seconds(1),
                 [&shard, &mine, &observers] { sync_metrics(shard, mine, observers); });
}

// Writes the delivery log's pending lines on the shard's blocking worker five times a second,
// until the shard stops (the log writes the rest when it closes).
void flush_delivery_log(engine::Shard& shard, metrics::LineLog& log) {
  if (shard.stopping()) return;
  shard.schedule(std::chrono::milliseconds(200), [&shard, &log] {
    shard.offload([&log] { log.write_pending(); },
                  [&shard, &log] { flush_delivery_log(shard, log); });
  });
}

// Drops the final states of parts of messages accepted more than `retention` ago (the status
// API's history), now and every five minutes until the shard stops. Runs on shard 0's worker:
// one DeleteRange over ids below the cut, so the reactor never waits for it.
void expire_history(engine::Shard& shard, queue::Store& spool, ShardServices& mine,
                    Clock::Duration retention) {
  if (shard.stopping()) return;
  const MessageId before = queue::first_message_id_at(
      shard.clock().wall_now() - std::chrono::duration_cast<Clock::WallTime::duration>(retention));
  shard.offload(
      [&spool, &mine, before] { mine.history_expired = spool.expire_history(before); },
      [&shard, &spool, &mine, retention] {
        if (!mine.history_expired) {
          log::warning("history expiry failed: " + mine.history_expired.error().message());
        } else if (*mine.history_expired > 0) {
          log::debug("history expiry dropped " + std::to_string(*mine.history_expired) +
                     " records");
        }
        if (shard.stopping()) return;
        shard.schedule(std::chrono::minutes(5), [&shard, &spool, &mine, retention] {
          expire_history(shard, spool, mine, retention);
        });
      });
}

// Writes the counts of repeated warnings held back (log::warning_limited) every five seconds,
// so a failure that stopped still gets its count, until the shard stops.
void flush_repeated_warnings(engine::Shard& shard) {
  if (shard.stopping()) return;
  shard.schedule(std::chrono::seconds(5), [&shard] {
    log::flush_limited();
    flush_repeated_warnings(shard);
  });
}

}  // namespace

// Fleet mode: the shard's claims to the fleet and its standing back to its dispatchers, every
// sync interval until the shard stops.
void sync_fleet(engine::Shard& shard, delivery::ShardDelivery& delivery, cluster::Fleet& fleet) {
  if (shard.stopping()) return;
  fleet.exchange(shard.id().value(), [&delivery](const cluster::Standing& standing) {
    delivery.apply_fleet(standing);
    return delivery.fleet_claims();
  });
  shard.schedule(fleet.options().sync_interval,
                 [&shard, &delivery, &fleet] { sync_fleet(shard, delivery, fleet); });
}

void Daemon::start_duties(engine::Shard& shard, ShardServices& mine) {
  // Once a second the shard's probes are copied into its metrics registry.
  sync_metrics(shard, mine, *reporting_);
  if (reporting_->delivery_log != nullptr && shard.id().value() == 0)
    flush_delivery_log(shard, *reporting_->delivery_log);
  if (shard.id().value() == 0) {
    expire_history(shard, *stores_->spool, mine, config_.queue.history_retention);
    flush_repeated_warnings(shard);
  }
}

}  // namespace mta::app
