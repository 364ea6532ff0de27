// DnsPoller: runs a dns::AresResolver on a shard. It polls the sockets c-ares asks for with
// one-shot poll operations on the shard's ring and runs c-ares' timeouts on a shard timer, so
// MX lookups need no resolver thread and never block the loop.
#pragma once

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "dns/ares_resolver.h"
#include "engine/op.h"
#include "engine/shard.h"

namespace mta::delivery {

// Lifecycle: created on its shard right after the resolver and before the first query (it
// takes over the resolver's socket-state and query-started hooks); close() before either is
// destroyed, then destroy it once idle() (the cancelled polls have come back). On the shard's
// thread only. At a shard stop the engine cancels the polls itself: they are not re-armed.
class DnsPoller {
 public:
  DnsPoller(engine::Shard& shard, dns::AresResolver& resolver);
  DnsPoller(const DnsPoller&) = delete;
  DnsPoller& operator=(const DnsPoller&) = delete;
  ~DnsPoller();

  // Stops polling: cancels every poll and the timer and unhooks the resolver. Queries still
  // in flight in the resolver then never complete (destroy the resolver to drop them).
  void close();
  // No poll operation is in flight: the poller may be destroyed.
  bool idle() const;

  std::size_t sockets_watched() const { return watches_.size(); }

 private:
  // One socket c-ares has open. A closed socket's Watch lives on in retired_ until its
  // cancelled poll has come back (the kernel owns the Op until then) and its completion has
  // returned; the fd number may meanwhile be reused by a new socket with its own Watch.
  // Retired watches are freed at the next event or by the destructor.
  struct Watch {
    explicit Watch(DnsPoller& poller);
    int fd = -1;
    bool read = false;
    bool write = false;
    bool open = true;
    unsigned armed_events = 0;  // the mask of the poll in flight
    bool recalled = false;      // we cancelled the poll to change its mask
    engine::Op op;
  };

  void on_socket_state(int fd, bool readable, bool writable);
  void arm(Watch& watch);
  void on_poll_done(Watch& watch, int result);
  void handle_poll_result(Watch& watch, int result);
  void retire(int fd);
  void sweep_retired();
  void rearm_timer();
  void on_timer();

  engine::Shard& shard_;
  dns::AresResolver& resolver_;
  std::unordered_map<int, std::unique_ptr<Watch>> watches_;
  std::vector<std::unique_ptr<Watch>> retired_;
  engine::TimerId timer_ = 0;
  Watch* running_ = nullptr;  // the Watch whose completion is running: not freed under it
  bool closed_ = false;
};

}  // namespace mta::delivery
