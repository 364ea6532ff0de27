// The glue between a Dispatcher and delivery/connection_driver: one SMTP client connection to
// the destination, a ConnectionDriver (every decision) over a tls::Stream (STARTTLS per the
// destination's policy), with the driver's Transport made of the stream and a shard timer and
// its ConnectionOwner of the Dispatcher; and the connection's slot in the crash-loop breaker's
// table. Lives in Dispatcher::connections_ from creation until its stream closes; erased at
// the end of that loop turn. Private to the dispatcher (dispatcher.cc and this file's .cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/connection_driver.h"
#include "delivery/dispatcher.h"
#include "tls/stream.h"

namespace mta::delivery {

class Dispatcher::Connection final : public tls::StreamHandler,
                                     private Transport,
                                     private ConnectionOwner {
 public:
  // `opened_for`: a part waiting for it, marked in flight until the connection takes its
  // first part (a crash in the greeting, EHLO or TLS counts against it).
  Connection(Dispatcher& owner, std::uint64_t id, std::size_t address_index,
             std::optional<std::size_t> source, std::optional<queue::PartKey> opened_for);

  bool idle() const { return driver_.idle(); }
  bool carries(queue::PartKey key) const { return driver_.carries(key); }
  bool ready() const { return driver_.ready(); }
  bool busy() const { return driver_.busy(); }
  const queue::Envelope* in_flight() const { return driver_.in_flight(); }
  // Whether a part of `pool` may go on this connection.
  bool carries_pool(PoolIndex pool) const { return pool == 0 || !pool_ || *pool_ == pool; }
  bool from(const Source& source) const { return source_ == &source; }
  // Takes one message of its source's warm-up cap for today; false when it is used up.
  bool take_from_budget(Clock::WallTime now) {
    return source_ == nullptr || source_->budget == nullptr || source_->budget->take(now);
  }
  void take_next() { driver_.take_next(); }
  bool start(queue::Envelope&& envelope, std::vector<std::size_t>&& tried, const std::string& body);
  void quit() { driver_.quit(); }

  // tls::StreamHandler
  void on_connected(int error) override;
  void on_data(Buffer& input) override { driver_.on_data(input); }
  void on_tls_ready(const Result<void>& result) override { driver_.on_tls_ready(result); }
  void on_closed(int error) override;

 private:
  static ConnectionSettings settings(const Dispatcher& owner, std::size_t address_index,
                                     const Source* source);

  // Transport
  void write(std::string_view bytes) override { stream_.write(bytes); }
  Result<void> start_tls() override;
  void close() override { stream_.close(); }
  const tls::Info* tls_info() const override { return stream_.tls_info(); }
  void arm_idle_timer(Clock::Duration after) override;
  void cancel_idle_timer() override;

  // ConnectionOwner
  bool should_quit(std::size_t sent) override;
  bool assign(ConnectionDriver&) override;
  void on_ready(std::size_t address_index) override { owner_.on_connection_ready(address_index); }
  void on_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                      const smtp::TransactionResult& result, const Hop& hop) override;
  void on_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                  const std::string& reason, const Hop& hop, bool permanent) override;
  void react(const smtp::Reply& reply) override { owner_.react(reply); }
  void on_connection_failed(std::size_t address_index, const std::string& reason, const Hop& hop,
                            bool tls_fallback) override;

  // This connection's slot (taken at the first mark) names `key`.
  void mark(queue::PartKey key);
  // The attempt's outcome is recorded: no crash from here on is this part's.
  void unmark();

  Dispatcher& owner_;
  const std::uint64_t id_;
  const engine::SocketAddress address_;
  const Source* source_;                 // nullptr: the kernel's choice
  const std::optional<PoolIndex> pool_;  // its source's pool; nullopt: any (no source)
  ConnectionDriver driver_;
  tls::Stream stream_;
  engine::TimerId idle_timer_ = 0;
  std::optional<std::uint32_t> slot_;  // its InFlightTable slot, from its first mark on
};

}  // namespace mta::delivery
