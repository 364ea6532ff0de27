// FailingStore_for_test: a Store decorator that makes chosen operations fail with a chosen
// error without touching the wrapped store, so tests of the callers (injection's 4xx path,
// delivery's retry path) can check what happens when the disk refuses a write.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "queue/errc.h"
#include "queue/store.h"

namespace mta::queue {

// Not thread-safe in its configuration; set it up before sharing. Wraps, does not own.
class FailingStore_for_test final : public Store {
 public:
  explicit FailingStore_for_test(Store& inner) : inner_(inner) {}

  // The next `count` writes (write_batch, hence put; update_envelope; remove_part;
  // expire_history) fail with `code`. A failed write_batch stores none of its messages.
  void fail_writes(std::uint32_t count, std::error_code code = Errc::io_error) {
    writes_to_fail_ = count;
    code_ = code;
  }
  std::uint32_t writes_failed() const { return writes_failed_; }

  Result<void> write_batch(std::span<const MessageWrite> writes) override {
    if (should_fail()) {
      return unexpected(code_, "injected failure of a batch of " + std::to_string(writes.size()));
    }
    return inner_.write_batch(writes);
  }
  Result<Envelope> read_envelope(PartKey key) override { return inner_.read_envelope(key); }
  Result<std::string> read_body(MessageId id) override { return inner_.read_body(id); }
  Result<void> update_envelope(const Envelope& envelope) override {
    if (should_fail()) return unexpected(code_, "injected update failure " + to_hex(envelope.id));
    return inner_.update_envelope(envelope);
  }
  Result<void> remove_part(PartKey key, const Envelope* final_state = nullptr) override {
    if (should_fail()) return unexpected(code_, "injected remove failure " + to_hex(key.message));
    return inner_.remove_part(key, final_state);
  }
  Result<void> for_each_scheduled(const std::function<bool(ScheduledItem&&)>& fn) override {
    return inner_.for_each_scheduled(fn);
  }
  Result<void> for_each_envelope_from(PartKey from,
                                      const std::function<bool(Envelope&&)>& fn) override {
    return inner_.for_each_envelope_from(from, fn);
  }
  Result<std::uint64_t> count() override { return inner_.count(); }
  Result<std::vector<Envelope>> read_message(MessageId id) override {
    return inner_.read_message(id);
  }
  Result<std::vector<Envelope>> read_history(MessageId id) override {
    return inner_.read_history(id);
  }
  Result<std::uint64_t> expire_history(MessageId before) override {
    if (should_fail()) return unexpected(code_, "injected expiry failure " + to_hex(before));
    return inner_.expire_history(before);
  }
  Result<InFlightRecovery> recover_in_flight(std::span<const PartKey> interrupted,
                                             std::uint32_t crashes_max) override {
    return inner_.recover_in_flight(interrupted, crashes_max);
  }
  std::uint64_t quarantined_count() override { return inner_.quarantined_count(); }
  Result<std::vector<ScheduledItem>> quarantined_parts() override {
    return inner_.quarantined_parts();
  }

 private:
  bool should_fail() {
    if (writes_to_fail_ == 0) return false;
    --writes_to_fail_;
    ++writes_failed_;
    return true;
  }

  Store& inner_;
  std::uint32_t writes_to_fail_ = 0;
  std::uint32_t writes_failed_ = 0;
  std::error_code code_ = Errc::io_error;
};

}  // namespace mta::queue
