// FailingStore_for_test: a Store decorator that makes chosen operations fail with a chosen
// error without touching the wrapped store, so tests of the callers (injection's 4xx path,
// delivery's retry path) can check what happens when the disk refuses a write.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "queue/errc.h"
#include "queue/store.h"

namespace mta::queue {

// Not thread-safe in its configuration; set it up before sharing. Wraps, does not own.
class FailingStore_for_test final : public Store {
 public:
  explicit FailingStore_for_test(Store& inner) : inner_(inner) {}

  // The next `count` writes (put, update_envelope, remove) fail with `code`.
  void fail_writes(std::uint32_t count, std::error_code code = Errc::io_error) {
    writes_to_fail_ = count;
    code_ = code;
  }
  std::uint32_t writes_failed() const { return writes_failed_; }

  Result<void> put(const Envelope& envelope, std::string_view body) override {
    if (should_fail()) return unexpected(code_, "injected put failure " + to_hex(envelope.id));
    return inner_.put(envelope, body);
  }
  Result<Envelope> read_envelope(MessageId id) override { return inner_.read_envelope(id); }
  Result<std::string> read_body(MessageId id) override { return inner_.read_body(id); }
  Result<void> update_envelope(const Envelope& envelope) override {
    if (should_fail()) return unexpected(code_, "injected update failure " + to_hex(envelope.id));
    return inner_.update_envelope(envelope);
  }
  Result<void> remove(MessageId id) override {
    if (should_fail()) return unexpected(code_, "injected remove failure " + to_hex(id));
    return inner_.remove(id);
  }
  Result<void> for_each_envelope(const std::function<bool(Envelope&&)>& fn) override {
    return inner_.for_each_envelope(fn);
  }
  Result<std::uint64_t> count() override { return inner_.count(); }

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
