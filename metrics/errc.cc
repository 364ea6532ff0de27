// The metrics error category: names for mta::metrics::Errc in logs and Error::message().
#include "metrics/errc.h"

#include <string>

namespace mta::metrics {
namespace {

class MetricsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "metrics"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_name:
        return "invalid metric name";
      case Errc::invalid_label:
        return "invalid label name";
      case Errc::duplicate_family:
        return "metric family declared twice";
      case Errc::invalid_buckets:
        return "invalid histogram buckets";
      case Errc::invalid_bound:
        return "invalid bounded label";
      case Errc::proc_unreadable:
        return "cannot read process statistics";
    }
    return "unknown metrics error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& metrics_category() noexcept {
  static const MetricsCategory category;
  return category;
}

}  // namespace mta::metrics
