// DnsPoller: c-ares socket interest -> one-shot POLL_ADD per socket, re-armed after each
// readiness; c-ares' earliest query timeout -> one shard timer, re-armed after each activity.
#include "delivery/dns_poller.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace mta::delivery {
namespace {

unsigned events_of(bool read, bool write) { return (read ? POLLIN : 0u) | (write ? POLLOUT : 0u); }

}  // namespace

DnsPoller::Watch::Watch(DnsPoller& poller)
    : op([this, &poller](int result) { poller.on_poll_done(*this, result); }) {}

DnsPoller::DnsPoller(engine::Shard& shard, dns::AresResolver& resolver)
    : shard_(shard), resolver_(resolver) {
  resolver_.on_socket_state(
      [this](int fd, bool readable, bool writable) { on_socket_state(fd, readable, writable); });
  resolver_.on_query_started([this] { rearm_timer(); });
  // Sockets c-ares opened before we were hooked in.
  for (const auto& [fd, interest] : resolver_.sockets()) {
    on_socket_state(fd, interest.read, interest.write);
  }
}

DnsPoller::~DnsPoller() {
  close();
  MTA_ASSERT(idle());
}

void DnsPoller::close() {
  if (closed_) return;
  closed_ = true;
  resolver_.on_socket_state(nullptr);
  resolver_.on_query_started(nullptr);
  if (timer_ != 0) shard_.cancel_timer(timer_);
  timer_ = 0;
  std::vector<int> fds;
  for (const auto& [fd, watch] : watches_) fds.push_back(fd);
  for (const int fd : fds) retire(fd);
}

bool DnsPoller::idle() const {
  const auto busy = [](const auto& watch) { return watch->op.in_flight(); };
  return std::none_of(retired_.begin(), retired_.end(), busy) &&
         std::none_of(watches_.begin(), watches_.end(),
                      [&busy](const auto& item) { return busy(item.second); });
}

void DnsPoller::on_socket_state(int fd, bool readable, bool writable) {
  if (closed_) return;
  sweep_retired();
  if (!readable && !writable) {
    retire(fd);
    return;
  }
  auto& slot = watches_[fd];
  if (slot == nullptr) {
    slot = std::make_unique<Watch>(*this);
    slot->fd = fd;
  }
  Watch& watch = *slot;
  watch.read = readable;
  watch.write = writable;
  if (!watch.op.in_flight()) {
    arm(watch);
  } else if (watch.armed_events != events_of(readable, writable) && !watch.recalled) {
    watch.recalled = true;
    shard_.cancel(watch.op);  // re-armed with the new mask when it comes back
  }
}

void DnsPoller::arm(Watch& watch) {
  watch.armed_events = events_of(watch.read, watch.write);
  watch.op.prepare_poll(watch.fd, watch.armed_events);
  shard_.submit(watch.op);
}

void DnsPoller::on_poll_done(Watch& watch, int result) {
  running_ = &watch;
  sweep_retired();
  if (watch.open) handle_poll_result(watch, result);
  running_ = nullptr;
}

void DnsPoller::handle_poll_result(Watch& watch, int result) {
  const bool recalled = std::exchange(watch.recalled, false);
  if (result == -ECANCELED && !recalled) {
    return;  // the shard is aborting every operation at its stop: do not re-arm
  }
  if (result != -ECANCELED) {
    // A failed poll (not expected on a socket c-ares owns) is passed on as readable: c-ares'
    // read then fails too and closes the socket, instead of the poll failing forever.
    const auto revents = result >= 0 ? static_cast<unsigned>(result) : POLLERR;
    // An error or hang-up is reported as readable: c-ares' read then sees it and closes.
    const bool failed = (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    const bool readable = failed || (revents & POLLIN) != 0;
    const bool writable = (revents & POLLOUT) != 0;
    const int fd = watch.fd;
    // May close the socket (retiring `watch`, which stays alive in retired_) or change its
    // interest (updating `watch`).
    resolver_.process(fd, readable, writable);
  }
  if (watch.open && !closed_ && !watch.op.in_flight()) arm(watch);
  rearm_timer();
}

void DnsPoller::retire(int fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  std::unique_ptr<Watch> watch = std::move(it->second);
  watches_.erase(it);
  watch->open = false;
  if (watch->op.in_flight()) shard_.cancel(watch->op);
  retired_.push_back(std::move(watch));
}

void DnsPoller::sweep_retired() {
  std::erase_if(retired_, [this](const auto& watch) {
    return !watch->op.in_flight() && watch.get() != running_;
  });
}

void DnsPoller::rearm_timer() {
  if (closed_) return;
  if (timer_ != 0) shard_.cancel_timer(timer_);
  timer_ = 0;
  const auto next = resolver_.next_timeout();
  if (!next) return;
  timer_ = shard_.schedule(*next, [this] { on_timer(); });
}

void DnsPoller::on_timer() {
  timer_ = 0;
  resolver_.process_timeouts();
  rearm_timer();
}

}  // namespace mta::delivery
