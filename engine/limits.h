// Limits every inbound listener applies the same way (SMTP, HTTP, IMAP, POP3): who may
// connect (a cap per listener and shard, and a node-wide cap per client address), how long a
// peer may take (a deadline per command line or request head, a session maximum), and how
// much output may wait for it. The write timeout lives in Connection::set_write_timeout().
// The protocol's words for "no" and "time is up" are the listener's business.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "engine/address.h"
#include "engine/shard.h"

namespace mta::engine {

// Zero durations and counts mean "no limit" except where noted.
struct ListenerLimits {
  std::size_t connections_max = 1000;   // open at once on one shard of this listener
  std::size_t connections_per_ip = 50;  // open at once on the whole node from one client address
  // From the greeting to the end of the first command line, and from the first byte of each
  // later line (or HTTP request head) to its end: absolute, so trickling cannot extend it.
  Clock::Duration command_timeout = std::chrono::seconds(30);
  // Output waiting with no byte taken by the peer for this long: the connection is dropped.
  Clock::Duration write_timeout = std::chrono::seconds(60);
  Clock::Duration session_max = std::chrono::hours(1);  // from accept; HTTP: keep-alive
  std::size_t output_buffer_max = 256 * 1024;  // unsent bytes before reading pauses (not 0)
};

// Open connections per client address for one listener kind, shared by every shard (the
// kernel spreads one address's connections over the shards by SO_REUSEPORT, so a per-shard
// count would let it open `shards` times the cap). IPv4 and IPv4-mapped IPv6 addresses count
// by address, other IPv6 addresses by /64: one host has a whole /64 to pick from.
//
// Any thread. One lock around a hash map: an accept or a close takes it once. The map holds
// only addresses with a connection open, so its size is bounded by the listeners' own caps.
class PeerCounts {
 public:
  using Key = std::array<std::uint8_t, 16>;

  // Holds one connection's place in the count; gives it back when destroyed (any thread).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class PeerCounts;
    Ticket(PeerCounts* counts, const Key& key) : counts_(counts), key_(key) {}
    PeerCounts* counts_ = nullptr;
    Key key_{};
  };

  explicit PeerCounts(std::size_t per_peer_max) : per_peer_max_(per_peer_max) {}
  PeerCounts(const PeerCounts&) = delete;
  PeerCounts& operator=(const PeerCounts&) = delete;

  // A place for one more connection from `peer`, or nullopt when it has per_peer_max open
  // (per_peer_max 0: always a place).
  std::optional<Ticket> acquire(const SocketAddress& peer);
  std::size_t open(const SocketAddress& peer) const;
  std::size_t peers() const;  // addresses with a connection open
  std::size_t per_peer_max() const { return per_peer_max_; }

  static Key key_of(const SocketAddress& peer);

 private:
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  void release(const Key& key);

  const std::size_t per_peer_max_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, std::uint32_t, KeyHash> counts_;  // guarded by mutex_
};

class Deadlines;

// A listener's connections (on one shard) that have not finished their first command yet, oldest
// first. When the listener is full, a new connection takes the place of the oldest of them (a
// slowloris that never gets its first line in, or a silent one) instead of being refused:
// connections from many addresses that never send a command cannot lock everyone out, while a
// client that has sent its first command is never evicted. Shard thread only; owned by the
// listener, which must outlive its connections' Deadlines.
class FirstCommandQueue {
 public:
  FirstCommandQueue() = default;
  FirstCommandQueue(const FirstCommandQueue&) = delete;
  FirstCommandQueue& operator=(const FirstCommandQueue&) = delete;

  // Tells the oldest waiting connection it is evicted (Deadlines' on_expired(evicted), from
  // here: the listener closes it). False when none waits.
  bool evict_oldest();
  std::size_t size() const { return waiting_.size(); }

 private:
  friend class Deadlines;
  std::uint64_t add(Deadlines* deadlines);
  void remove(std::uint64_t seq);

  std::map<std::uint64_t, Deadlines*> waiting_;  // by arrival
  std::uint64_t next_seq_ = 1;
};

// The accept decision for one new connection.
struct Admission {
  enum class Verdict { admitted, stopping, listener_full, peer_full };
  Verdict verdict = Verdict::admitted;
  PeerCounts::Ticket ticket;  // keep it as long as the connection is open

  bool admitted() const { return verdict == Verdict::admitted; }
};

// `open_now`: connections this listener has open on this shard; `counts` may be null (no
// per-address cap). The per-address cap is checked first; then, at connections_max, the oldest
// connection of `waiting` (may be null) still in its first command is evicted to make room.
// Evicted connections take a moment to close, so past connections_max * 5/4 nothing is evicted
// and the new connection is refused.
Admission admit(const ListenerLimits& limits, PeerCounts* counts, const SocketAddress& peer,
                std::size_t open_now, bool stopping, FirstCommandQueue* waiting = nullptr);

// Writes `line` to a freshly accepted socket (its buffer is empty, so a short write does not
// block) and closes it: the refusal every listener gives over a cap.
void refuse(int fd, std::string_view line);

// The deadlines of one inbound connection, on its shard: the command deadline (armed at
// construction for the first command, then from the first byte of each line or head) and the
// session maximum. Each calls `on_expired` once, from a timer (so the listener may close from
// it); the command deadline may be armed again afterwards. Owned by the connection object;
// the destructor cancels the timers.
class Deadlines {
 public:
  // evicted: a new connection took this one's place while it was still in its first command.
  enum class Kind { command, session, evicted };
  using ExpiredFn = std::function<void(Kind kind)>;

  // `waiting`: the listener's FirstCommandQueue (may be null); this connection is in it until
  // its first command is done.
  Deadlines(Shard& shard, const ListenerLimits& limits, ExpiredFn on_expired,
            FirstCommandQueue* waiting = nullptr);
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;
  ~Deadlines();

  // Line protocols (SMTP, IMAP, POP3): the plaintext bytes just received. Bytes after the
  // last LF start a line whose deadline runs from now unless one already runs; a chunk that
  // ends with LF ends it.
  void on_lines(std::string_view bytes);
  // Other framings (an HTTP request head): a command began (the deadline runs from now,
  // unless it already runs) or ended.
  void command_started();
  void command_done();
  bool command_pending() const { return command_timer_ != 0; }
  void cancel();  // both; nothing fires after this

 private:
  friend class FirstCommandQueue;
  void expire(Kind kind);
  void leave_queue();

  Shard& shard_;
  FirstCommandQueue* waiting_;
  std::uint64_t waiting_seq_ = 0;  // 0 = not (or no longer) in `waiting_`
  const Clock::Duration command_timeout_;
  ExpiredFn on_expired_;
  TimerId command_timer_ = 0;
  TimerId session_timer_ = 0;
};

}  // namespace mta::engine
