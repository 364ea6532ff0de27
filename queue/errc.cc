// The queue error category: names for mta::queue::Errc in logs and Error::message().
#include "queue/errc.h"

#include <string>

namespace mta::queue {
namespace {

class QueueCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "queue"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::not_found:
        return "message not found in queue";
      case Errc::corrupt_record:
        return "corrupt queue record";
      case Errc::record_too_large:
        return "queue record exceeds limits";
      case Errc::io_error:
        return "queue I/O error";
      case Errc::no_space:
        return "no space left for queue";
      case Errc::locked:
        return "queue directory locked by another process";
      case Errc::invalid_argument:
        return "invalid query";
    }
    return "unknown queue error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& queue_category() noexcept {
  static const QueueCategory category;
  return category;
}

}  // namespace mta::queue
