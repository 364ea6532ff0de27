// Shard wiring. Every shard accepts on every submission address (SO_REUSEPORT); the relay
// destination is owned by one shard, chosen by hash, and messages accepted on the others are
// handed to it through the engine's cross-shard channels, by id only (the body stays in the
// spool).
#include "app/daemon.h"

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "delivery/relay_dispatcher.h"
#include "engine/listener.h"
#include "engine/runtime.h"
#include "injection/submission.h"
#include "queue/rocksdb_store.h"

namespace mta::app {
namespace {

// What one shard runs; created on the shard's thread by the runtime's init, destroyed by the
// main thread after every shard thread has exited.
struct ShardServices {
  std::unique_ptr<injection::SubmissionListener> submission;
  std::unique_ptr<delivery::RelayDispatcher> relay;
};

// One listening socket per (address, shard), all bound to the same port. For port 0 the first
// socket picks the port and the others follow it.
Result<std::vector<std::vector<int>>> open_listeners(const std::vector<std::string>& addresses,
                                                     std::uint32_t shard_count) {
  std::vector<std::vector<int>> fds(shard_count);
  for (const auto& text : addresses) {
    auto address = engine::SocketAddress::parse(text);
    if (!address) return unexpected(address.error().code, "listen address " + text);
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
      auto fd = engine::open_listen_socket(*address);
      if (!fd)
        return unexpected(fd.error().code,
                          "cannot listen on " + text + ": " + fd.error().message());
      if (shard == 0) {
        auto bound = engine::local_address(*fd);
        if (!bound) return unexpected(bound.error());
        *address = *bound;
        log::info("submission listening on " + address->to_string());
      }
      fds[shard].push_back(*fd);
    }
  }
  return fds;
}

void hand_over(engine::Shard& shard, ShardId owner, MessageId id,
               std::vector<ShardServices>& services) {
  const bool posted = shard.post(
      owner, [id, &services](engine::Shard& on) { services[on.id().value()].relay->enqueue(id); });
  if (!posted) {
    // The channel is full: the message is durable, so trying again shortly loses nothing.
    shard.schedule(std::chrono::milliseconds(1),
                   [&shard, owner, id, &services] { hand_over(shard, owner, id, services); });
  }
}

}  // namespace

int run_daemon(const Config& config) {
  log::set_level(config.log_level);
  for (const auto& section : config.ignored_sections) {
    log::warning("config section [" + section + "] is not used by this build yet");
  }

  auto store = queue::RocksDbStore::open(config.spool_path, {.sync = config.spool_sync});
  if (!store) {
    log::error("cannot open spool " + config.spool_path + ": " + store.error().message());
    return 1;
  }

  std::optional<engine::SocketAddress> relay;
  if (!config.relay.empty()) {
    auto parsed = engine::SocketAddress::parse(config.relay);
    if (!parsed) {
      log::error("delivery.relay \"" + config.relay + "\" is not a numeric host:port");
      return 1;
    }
    relay = *parsed;
  } else {
    log::warning(
        "delivery.relay is not set and MX delivery is not built yet: "
        "messages stay queued");
  }

  engine::RuntimeOptions runtime_options{.shard_count = config.shards,
                                         .drain_timeout = config.drain_timeout};
  engine::Runtime runtime(runtime_options);
  const std::uint32_t shard_count = runtime.shard_count();
  auto listen_fds = open_listeners(config.submission_listen, shard_count);
  if (!listen_fds) {
    log::error(listen_fds.error().message());
    return 1;
  }

  const ShardId relay_owner(
      static_cast<std::uint32_t>(std::hash<std::string>{}(config.relay) % shard_count));
  std::vector<ShardServices> services(shard_count);
  queue::Store& spool = **store;

  engine::Runtime::block_stop_signals();
  auto started = runtime.start([&](engine::Shard& shard) {
    ShardServices& mine = services[shard.id().value()];
    if (relay && shard.id() == relay_owner) {
      mine.relay = std::make_unique<delivery::RelayDispatcher>(
          shard, spool,
          delivery::RelayOptions{.address = *relay,
                                 .helo_name = config.hostname,
                                 .connections_max = config.connections_max,
                                 .messages_per_connection_max = config.messages_per_connection_max,
                                 .connect_timeout = config.connect_timeout,
                                 .reply_timeout = config.reply_timeout,
                                 .idle_timeout = config.connection_idle_timeout,
                                 .reconnect_delay = config.reconnect_delay,
                                 .retry = {.retry_delay = config.retry_delay}});
      if (auto recovered = mine.relay->recover(); !recovered) {
        log::error("queue recovery failed: " + recovered.error().message());
      } else if (*recovered > 0) {
        log::info("recovered " + std::to_string(*recovered) + " queued messages");
      }
    }
    smtp::ServerOptions smtp_options;
    smtp_options.hostname = config.hostname;
    smtp_options.limits.message_bytes_max = config.message_bytes_max;
    smtp_options.limits.recipients_max = config.recipients_max;
    injection::SubmissionListener::QueuedFn on_queued;
    if (relay) {
      on_queued = [&shard, relay_owner, &services](const queue::Envelope& envelope) {
        hand_over(shard, relay_owner, envelope.id, services);
      };
    } else {
      on_queued = [](const queue::Envelope&) {};
    }
    mine.submission = std::make_unique<injection::SubmissionListener>(
        shard, spool,
        injection::SubmissionOptions{.smtp = smtp_options,
                                     .idle_timeout = config.session_idle_timeout},
        std::move(on_queued));
    for (int fd : (*listen_fds)[shard.id().value()]) mine.submission->listen(fd);
  });
  if (!started) {
    log::error("cannot start shards: " + started.error().message());
    return 1;
  }
  log::info("outpost running: " + std::to_string(shard_count) + " shards, spool " +
            config.spool_path + (config.spool_sync ? "" : " (durability none)") +
            (relay ? ", relay " + relay->to_string() : ""));
  const int signal_number = runtime.run_until_signal();
  log::info("stopped on signal " + std::to_string(signal_number) + ", queue kept in " +
            config.spool_path);
  services.clear();
  return 0;
}

int print_queue(const Config& config, bool list) {
  auto store = queue::RocksDbStore::open(config.spool_path, {.sync = true});
  if (!store) {
    std::fprintf(stderr, "outpost queue: cannot open spool %s: %s\n", config.spool_path.c_str(),
                 store.error().message().c_str());
    return 1;
  }
  std::uint64_t count = 0;
  auto scanned = (*store)->for_each_envelope([&](queue::Envelope&& envelope) {
    ++count;
    if (!list) return true;
    std::string line = to_hex(envelope.id) + " <" + envelope.mail_from + ">";
    for (const auto& recipient : envelope.recipients) {
      static constexpr const char* states[] = {"pending", "delivered", "deferred", "bounced"};
      line += " <" + recipient.address + ">:" + states[static_cast<int>(recipient.state)] + "/" +
              std::to_string(recipient.attempts);
    }
    std::puts(line.c_str());
    return true;
  });
  if (!scanned) {
    std::fprintf(stderr, "outpost queue: %s\n", scanned.error().message().c_str());
    return 1;
  }
  if (!list) std::printf("%llu\n", static_cast<unsigned long long>(count));
  return 0;
}

}  // namespace mta::app
