// libFuzzer target for a delivery connection as a whole: ConnectionDriver with its real
// smtp::ClientSession, over a scripted transport and destination. The input is decoded into
// the events a tls::Stream and a Dispatcher give a connection, in any order they allow: server
// bytes in reads of any size, TLS handshake results, resets, closes and timeouts, the idle
// timer, the destination stopping, pumping or quitting the connection, more parts arriving.
// Besides ASan/UBSan and every MTA_ASSERT on the way, it checks the connection's promises:
// each part it takes is settled exactly once (by the end of on_closed at the latest), nothing
// is written once it closed, a part reported delivered has its body written by the end of that
// event, and a connection that never got ready is reported failed once.
//
// Input: byte 0 sets the scene (bits 0-1 TLS policy, bit 2 STARTTLS wanted, bit 3 the connect
// fails, bits 4-5 parts waiting minus one, bits 6-7 messages per connection: 1, 2, 3, no cap);
// then operations, each a byte whose low 3 bits name it and high 5 bits are its argument:
//   0 server bytes: arg * 256 + the next byte of them follow
//   1 TLS handshake result (arg bit 0: success), if one is running
//   2 the peer closes (arg % 3: FIN, reset, reply timeout)
//   3 the idle timer fires, if armed
//   4 the destination stops (QUIT when idle, no new part)
//   5 arg % 4 more parts, then the destination pumps (take_next when idle)
//   6 the destination quits the connection when idle (quit_idle)
//   7 a loop turn: a close the driver asked for completes
// delivery/testdata/connection_seeds.py writes the seeds from receiver_zoo.py behaviours.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "delivery/connection_driver.h"
#include "proto/smtp/errc.h"

namespace {

using mta::Clock;
using mta::Result;
using namespace mta::delivery;

constexpr std::string_view kBody = "Subject: fuzz\r\n\r\nline\r\n.dot\r\n";
constexpr std::string_view kBodyEnd = "..dot\r\n.\r\n";  // the stuffed body's last bytes

class Input {
 public:
  explicit Input(std::string_view bytes) : bytes_(bytes) {}
  bool empty() const { return bytes_.empty(); }
  std::uint8_t byte() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  std::string_view take(std::size_t n) {
    const std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(out.size());
    return out;
  }

 private:
  std::string_view bytes_;
};

// The transport (a tls::Stream's guarantees) and the destination (a Dispatcher's) in one.
class Scene final : public Transport, public ConnectionOwner {
 public:
  explicit Scene(std::uint8_t setup) {
    policy_ = static_cast<TlsPolicy>(setup & 3);
    const std::size_t parts = 1 + ((setup >> 4) & 3);
    const std::size_t caps[] = {1, 2, 3, 1000};
    per_connection_ = caps[(setup >> 6) & 3];
    for (std::size_t i = 0; i < parts; ++i) add_part();
    ConnectionSettings settings{
        .address_index = 0,
        .address = "192.0.2.1:25",
        .name = "mx.fuzz.test",
        .source = "",
        .tls = policy_,
        .idle_timeout = std::chrono::seconds(10),
        .session = {
            .helo_name = "outpost.fuzz", .reply_limits = {512, 32}, .starttls = (setup & 4) != 0}};
    driver_.emplace(std::move(settings), *this, *this, probe_);
  }

  ConnectionDriver& driver() { return *driver_; }
  bool closed() const { return closed_; }

  void add_part() {
    mta::queue::Envelope envelope;
    envelope.id = mta::MessageId(next_id_++);
    envelope.mail_from = next_id_ % 3 == 0 ? "" : "sender@fuzz.test";
    const std::size_t count = 1 + next_id_ % 3;
    for (std::size_t r = 0; r < count; ++r) {
      envelope.recipients.push_back({.address = "r" + std::to_string(r) + "@dest.test"});
    }
    waiting_.push_back(std::move(envelope));
  }

  // Events, as the stream gives them: never after on_closed.
  void connected(bool ok) {
    if (!ok) {
      driver_->on_connected(-ECONNREFUSED);
      finish_close(-ECONNREFUSED);
      return;
    }
    open_ = true;
    driver_->on_connected(0);
  }
  void server_bytes(std::string_view bytes) {
    if (closed_ || bytes.empty()) return;
    // During a handshake the bytes are TLS records, never plaintext for the handler.
    if (tls_running_) return;
    mta::Buffer input;
    input.append(bytes);
    driver_->on_data(input);
    MTA_ASSERT(input.empty());
  }
  void tls_result(bool ok) {
    if (closed_ || !tls_running_) return;
    tls_running_ = false;
    if (ok) {
      tls_up_ = true;
      driver_->on_tls_ready({});
      return;
    }
    driver_->on_tls_ready(
        mta::unexpected(std::make_error_code(std::errc::protocol_error), "handshake failed"));
    finish_close(-EPROTO);  // the stream closes after a failed handshake
  }
  void peer_closes(int error) {
    if (closed_) return;
    finish_close(error);
  }
  void idle_timer() {
    if (closed_ || !idle_armed_) return;
    idle_armed_ = false;
    driver_->on_idle_timeout();
  }
  void stop() {
    stopping_ = true;
    if (!closed_ && driver_->idle()) driver_->quit();
  }
  void pump(std::size_t more) {
    for (std::size_t i = 0; i < more; ++i) add_part();
    if (!closed_ && driver_->idle()) driver_->take_next();
  }
  void quit_idle() {
    if (!closed_ && driver_->idle()) driver_->quit();
  }
  void loop_turn() {
    if (!closed_ && close_asked_) finish_close(0);
  }
  // After every event.
  void check() { MTA_ASSERT(!delivered_before_body_ || body_sent_); }

  void end() {
    if (!closed_) finish_close(close_asked_ ? 0 : -ECONNRESET);
    MTA_ASSERT(!in_flight_);
    MTA_ASSERT(failed_reports_ <= 1);
    MTA_ASSERT(failed_reports_ == 0 || !ready_seen_);
  }

  // Transport
  void write(std::string_view bytes) override {
    MTA_ASSERT(!closed_);
    MTA_ASSERT(!close_asked_);  // the driver writes nothing once it asked to close
    MTA_ASSERT(open_);
    if (bytes.ends_with(kBodyEnd)) body_sent_ = true;
  }
  Result<void> start_tls() override {
    MTA_ASSERT(!tls_running_ && !tls_up_);
    if (policy_ == TlsPolicy::none) {
      return mta::unexpected(std::make_error_code(std::errc::not_supported), "no TLS context");
    }
    tls_running_ = true;
    return {};
  }
  void close() override {
    MTA_ASSERT(!closed_);
    close_asked_ = true;
  }
  const mta::tls::Info* tls_info() const override { return tls_up_ ? &info_ : nullptr; }
  void arm_idle_timer(Clock::Duration) override {
    MTA_ASSERT(!closed_);
    idle_armed_ = true;
  }
  void cancel_idle_timer() override { idle_armed_ = false; }

  // ConnectionOwner
  bool should_quit(std::size_t sent) override {
    MTA_ASSERT(sent == delivered_or_refused_);
    return stopping_ || sent >= per_connection_;
  }
  bool assign(ConnectionDriver& driver) override {
    MTA_ASSERT(&driver == &*driver_);
    MTA_ASSERT(!in_flight_);
    MTA_ASSERT(driver.idle());
    while (!waiting_.empty()) {
      mta::queue::Envelope envelope = std::move(waiting_.front());
      waiting_.pop_front();
      std::vector<std::size_t> tried;
      for (std::size_t i = 0; i < envelope.recipients.size(); ++i) tried.push_back(i);
      in_flight_ = envelope.id;
      tried_count_ = tried.size();
      body_sent_ = false;
      delivered_before_body_ = false;
      if (driver.start(std::move(envelope), std::move(tried), std::string(kBody))) return true;
      MTA_ASSERT(!in_flight_);  // refused: settled already
      if (!driver.idle()) return false;
    }
    return false;
  }
  void on_ready(std::size_t address_index) override {
    MTA_ASSERT(address_index == 0);
    MTA_ASSERT(!ready_seen_);
    ready_seen_ = true;
  }
  void on_transaction(mta::queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                      const mta::smtp::TransactionResult& result, const Hop& hop) override {
    settle(envelope, tried);
    MTA_ASSERT(hop.address == "192.0.2.1:25");
    // A server may answer the body in the read that carried its 354, before the body went out
    // (it lies; it is taken at its word): the body must still go out in the same event.
    if (result.delivered && !body_sent_) delivered_before_body_ = true;
    MTA_ASSERT(result.recipient_replies.size() == tried.size());
    ++delivered_or_refused_;
  }
  void on_failure(mta::queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                  const std::string& reason, const Hop&, bool) override {
    settle(envelope, tried);
    MTA_ASSERT(!reason.empty());
    MTA_ASSERT(reason[0] == '4' || reason[0] == '5');
  }
  void react(const mta::smtp::Reply& reply) override { MTA_ASSERT(reply.code >= 200); }
  void on_connection_failed(std::size_t address_index, const std::string& reason, const Hop& hop,
                            bool tls_fallback) override {
    MTA_ASSERT(address_index == 0);
    MTA_ASSERT(hop.address == "192.0.2.1:25");
    MTA_ASSERT(!reason.empty());
    MTA_ASSERT(!tls_fallback || policy_ == TlsPolicy::opportunistic);
    ++failed_reports_;
  }

 private:
  void settle(const mta::queue::Envelope& envelope, const std::vector<std::size_t>& tried) {
    MTA_ASSERT(in_flight_.has_value());
    MTA_ASSERT(envelope.id == *in_flight_);
    MTA_ASSERT(tried.size() == tried_count_);
    in_flight_.reset();
  }

  void finish_close(int error) {
    MTA_ASSERT(!closed_);
    if (tls_running_) {
      // The stream reports a handshake cut short before it reports the close.
      tls_running_ = false;
      driver_->on_tls_ready(
          mta::unexpected(std::make_error_code(std::errc::protocol_error), "closed"));
    }
    closed_ = true;
    idle_armed_ = false;
    driver_->on_closed(error);
    MTA_ASSERT(!in_flight_);  // everything taken was settled
  }

  TlsPolicy policy_ = TlsPolicy::opportunistic;
  std::size_t per_connection_ = 1000;
  Probe probe_;
  mta::tls::Info info_;
  std::optional<ConnectionDriver> driver_;
  std::deque<mta::queue::Envelope> waiting_;
  std::uint64_t next_id_ = 1;
  std::optional<mta::MessageId> in_flight_;
  std::size_t tried_count_ = 0;
  std::size_t delivered_or_refused_ = 0;
  std::size_t failed_reports_ = 0;
  bool body_sent_ = false;  // since the last start()
  bool delivered_before_body_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool close_asked_ = false;
  bool tls_running_ = false;
  bool tls_up_ = false;
  bool idle_armed_ = false;
  bool stopping_ = false;
  bool ready_seen_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input input(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::uint8_t setup = input.byte();
  Scene scene(setup);
  scene.connected((setup & 8) == 0);
  // Bounded: every operation consumes at least one byte.
  while (!input.empty() && !scene.closed()) {
    const std::uint8_t op = input.byte();
    const std::uint8_t arg = op >> 3;
    switch (op & 7) {
      case 0:
        scene.server_bytes(input.take(std::size_t{arg} * 256 + input.byte()));
        break;
      case 1:
        scene.tls_result((arg & 1) != 0);
        break;
      case 2: {
        const int errors[] = {0, -ECONNRESET, -ETIMEDOUT};
        scene.peer_closes(errors[arg % 3]);
        break;
      }
      case 3:
        scene.idle_timer();
        break;
      case 4:
        scene.stop();
        break;
      case 5:
        scene.pump(arg % 4);
        break;
      case 6:
        scene.quit_idle();
        break;
      case 7:
        scene.loop_turn();
        break;
    }
    scene.check();
  }
  scene.end();
  return 0;
}
