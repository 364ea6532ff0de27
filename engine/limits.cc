// PeerCounts, admit(), refuse() and Deadlines.
#include "engine/limits.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace mta::engine {

// ---- PeerCounts ----

PeerCounts::Ticket::Ticket(Ticket&& other) noexcept
    : counts_(std::exchange(other.counts_, nullptr)), key_(other.key_) {}

PeerCounts::Ticket& PeerCounts::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (counts_ != nullptr) counts_->release(key_);
    counts_ = std::exchange(other.counts_, nullptr);
    key_ = other.key_;
  }
  return *this;
}

PeerCounts::Ticket::~Ticket() {
  if (counts_ != nullptr) counts_->release(key_);
}

PeerCounts::Key PeerCounts::key_of(const SocketAddress& peer) {
  Key key{};
  if (peer.family() == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer.storage);
    // As ::ffff:a.b.c.d, so a dual-stack socket's mapped addresses count as the same host.
    key[10] = 0xff;
    key[11] = 0xff;
    std::memcpy(key.data() + 12, &in.sin_addr, 4);
  } else if (peer.family() == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer.storage);
    std::memcpy(key.data(), &in6.sin6_addr, 16);
    if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      std::memset(key.data() + 8, 0, 8);  // the /64
    }
  }
  return key;
}

std::size_t PeerCounts::KeyHash::operator()(const Key& key) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.data(), 8);
  std::memcpy(&low, key.data() + 8, 8);
  // Not a keyed hash: the table holds only connected peers, at most the listeners' caps.
  return static_cast<std::size_t>((high * 0x9e3779b97f4a7c15ULL) ^ (low * 0xc2b2ae3d27d4eb4fULL) ^
                                  (low >> 29));
}

std::optional<PeerCounts::Ticket> PeerCounts::acquire(const SocketAddress& peer) {
  const Key key = key_of(peer);
  const std::lock_guard lock(mutex_);
  std::uint32_t& count = counts_[key];
  if (per_peer_max_ != 0 && count >= per_peer_max_) {
    if (count == 0) counts_.erase(key);
    return std::nullopt;
  }
  ++count;
  return Ticket(this, key);
}

void PeerCounts::release(const Key& key) {
  const std::lock_guard lock(mutex_);
  const auto found = counts_.find(key);
  if (found == counts_.end()) return;
  if (--found->second == 0) counts_.erase(found);
}

std::size_t PeerCounts::open(const SocketAddress& peer) const {
  const std::lock_guard lock(mutex_);
  const auto found = counts_.find(key_of(peer));
  return found == counts_.end() ? 0 : found->second;
}

std::size_t PeerCounts::peers() const {
  const std::lock_guard lock(mutex_);
  return counts_.size();
}

// ---- FirstCommandQueue ----

bool FirstCommandQueue::evict_oldest() {
  if (waiting_.empty()) return false;
  Deadlines* oldest = waiting_.begin()->second;
  oldest->leave_queue();
  oldest->expire(Deadlines::Kind::evicted);
  return true;
}

std::uint64_t FirstCommandQueue::add(Deadlines* deadlines) {
  const std::uint64_t seq = next_seq_++;
  waiting_.emplace(seq, deadlines);
  return seq;
}

void FirstCommandQueue::remove(std::uint64_t seq) { waiting_.erase(seq); }

// ---- admission ----

Admission admit(const ListenerLimits& limits, PeerCounts* counts, const SocketAddress& peer,
                std::size_t open_now, bool stopping, FirstCommandQueue* waiting) {
  Admission admission;
  if (stopping) {
    admission.verdict = Admission::Verdict::stopping;
    return admission;
  }
  if (counts != nullptr) {
    auto ticket = counts->acquire(peer);
    if (!ticket) {
      admission.verdict = Admission::Verdict::peer_full;
      return admission;
    }
    admission.ticket = std::move(*ticket);
  }
  const std::size_t max = limits.connections_max;
  if (max != 0 && open_now >= max) {
    const bool room_while_closing = open_now < max + max / 4;
    if (!room_while_closing || waiting == nullptr || !waiting->evict_oldest()) {
      admission.verdict = Admission::Verdict::listener_full;
      admission.ticket = {};  // not admitted: its place goes back
    }
  }
  return admission;
}

void refuse(int fd, std::string_view line) {
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

// ---- Deadlines ----

Deadlines::Deadlines(Shard& shard, const ListenerLimits& limits, ExpiredFn on_expired,
                     FirstCommandQueue* waiting)
    : shard_(shard),
      waiting_(waiting),
      command_timeout_(limits.command_timeout),
      on_expired_(std::move(on_expired)) {
  if (waiting_ != nullptr) waiting_seq_ = waiting_->add(this);
  command_started();  // the greeting's: the first command must be in by then
  if (limits.session_max > Clock::Duration::zero()) {
    session_timer_ = shard_.schedule(limits.session_max, [this] {
      session_timer_ = 0;
      expire(Kind::session);
    });
  }
}

Deadlines::~Deadlines() { cancel(); }

void Deadlines::on_lines(std::string_view bytes) {
  if (bytes.empty()) return;
  const std::size_t last_lf = bytes.rfind('\n');
  if (last_lf == std::string_view::npos) {
    command_started();  // a line goes on (or begins): its deadline does not move
    return;
  }
  command_done();
  if (last_lf + 1 < bytes.size()) command_started();  // the next line began with this chunk
}

void Deadlines::command_started() {
  if (command_timer_ != 0 || command_timeout_ <= Clock::Duration::zero()) return;
  command_timer_ = shard_.schedule(command_timeout_, [this] {
    command_timer_ = 0;
    expire(Kind::command);
  });
}

void Deadlines::command_done() {
  leave_queue();  // the first command is in: never evicted from now on
  if (command_timer_ == 0) return;
  shard_.cancel_timer(command_timer_);
  command_timer_ = 0;
}

void Deadlines::cancel() {
  command_done();
  if (session_timer_ != 0) shard_.cancel_timer(session_timer_);
  session_timer_ = 0;
}

void Deadlines::leave_queue() {
  if (waiting_seq_ == 0) return;
  waiting_->remove(waiting_seq_);
  waiting_seq_ = 0;
}

void Deadlines::expire(Kind kind) {
  if (on_expired_) on_expired_(kind);
}

}  // namespace mta::engine
