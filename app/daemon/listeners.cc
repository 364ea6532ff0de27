// Phases: open the listening sockets before the shards start (so a busy port stops the start),
// and listen on them once every shard has recovered its part of the queue.
#include <string>
#include <string_view>

#include "app/daemon/daemon.h"
#include "base/log.h"
#include "engine/listener.h"

namespace mta::app {
namespace {

// One listening socket per (address, shard), all bound to the same port. For port 0 the first
// socket picks the port and the others follow it. The addresses were parsed by read_settings.
Result<ShardFds> open_sockets(const std::vector<engine::SocketAddress>& addresses,
                              std::uint32_t shard_count, std::string_view what) {
  ShardFds fds(shard_count);
  for (const engine::SocketAddress& configured : addresses) {
    const std::string text = configured.to_string();
    engine::SocketAddress address = configured;
    if (address.port() != 0) {
      if (auto free = engine::check_port_free(address); !free) {
        return unexpected(free.error().code,
                          "cannot listen on " + text + ": " + free.error().detail);
      }
    }
    for (std::uint32_t shard = 0; shard < shard_count; ++shard) {
      auto fd = engine::open_listen_socket(address);
      if (!fd)
        return unexpected(fd.error().code,
                          "cannot listen on " + text + ": " + fd.error().message());
      if (shard == 0) {
        auto bound = engine::local_address(*fd);
        if (!bound) return unexpected(bound.error());
        address = *bound;
        log::info(std::string(what) + " listening on " + address.to_string());
      }
      fds[shard].push_back(*fd);
    }
  }
  return fds;
}

// Opens into `into`; false (logged) on failure.
bool open_into(ShardFds& into, const std::vector<engine::SocketAddress>& addresses,
               std::uint32_t shard_count, std::string_view what) {
  auto fds = open_sockets(addresses, shard_count, what);
  if (!fds) {
    log::error(fds.error().message());
    return false;
  }
  into = std::move(fds).value();
  return true;
}

}  // namespace

bool Daemon::open_listeners() {
  const ListenAddresses& listen = settings_->listen;
  return open_into(fds_.submission, listen.submission, shard_count_, "submission") &&
         open_into(fds_.submission_tls, listen.submission_tls, shard_count_, "submission (TLS)") &&
         open_into(fds_.metrics, listen.metrics, shard_count_, "metrics");
}

bool Daemon::open_node_listeners() {
  const ListenAddresses& listen = settings_->listen;
  if (!open_into(fds_.http, listen.http, shard_count_, "http")) return false;
  // The mailbox's listeners open on its shard only. Every socket is opened before the first
  // failure is reported.
  struct Wanted {
    ShardFds& into;
    const std::vector<engine::SocketAddress>& addresses;
    std::string_view what;
  };
  const Wanted wanted[] = {{fds_.bounce, listen.bounce, "bounce intake (SMTP)"},
                           {fds_.pop3, listen.pop3, "pop3"},
                           {fds_.pop3_tls, listen.pop3_tls, "pop3 (TLS)"},
                           {fds_.imap, listen.imap, "imap"},
                           {fds_.imap_tls, listen.imap_tls, "imap (TLS)"}};
  std::optional<Error> first_failure;
  for (const Wanted& one : wanted) {
    auto fds = open_sockets(one.addresses, 1, one.what);
    if (fds) {
      one.into = std::move(fds).value();
    } else if (!first_failure) {
      first_failure = fds.error();
    }
  }
  if (first_failure) {
    log::error(first_failure->message());
    return false;
  }
  return true;
}

// Nothing is accepted anywhere before every shard has recovered its part of the queue: a
// message accepted on one shard and handed to another still recovering would be found twice
// there (handed over, and in the schedule index). The last shard to finish opens every
// shard's listeners.
void Daemon::listen_when_recovered(engine::Shard& shard) {
  if (recovering_.fetch_sub(1) != 1) return;
  for (std::uint32_t i = 0; i < shard_count_; ++i) {
    shard.post_until_taken(ShardId(i), [this](engine::Shard& on) { listen(on); });
  }
  ready_ = true;
}

void Daemon::listen(engine::Shard& on) {
  ShardServices& its = services_[on.id().value()];
  const std::uint32_t index = on.id().value();
  for (int fd : fds_.submission[index]) its.submission->listen(fd);
  if (its.tls_server != nullptr) {
    for (int fd : fds_.submission_tls[index]) its.submission->listen(fd, true);
  }
  for (int fd : fds_.http[index]) its.http->listen(fd);
  if (on.id() == mailbox_shard) {
    if (its.bounce_smtp != nullptr) {
      for (int fd : fds_.bounce[0]) its.bounce_smtp->listen(fd);
    }
    for (int fd : fds_.pop3[0]) its.pop3->listen(fd);
    for (int fd : fds_.imap[0]) its.imap->listen(fd);
    if (its.tls_server != nullptr) {
      for (int fd : fds_.pop3_tls[0]) its.pop3->listen(fd, true);
      for (int fd : fds_.imap_tls[0]) its.imap->listen(fd, true);
    }
  }
  if (its.metrics != nullptr) {
    for (int fd : fds_.metrics[index]) its.metrics->listen(fd);
  }
}

}  // namespace mta::app
