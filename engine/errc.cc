// The engine's std::error_category.
#include "engine/errc.h"

#include <string>

namespace mta::engine {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "engine"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_address:
        return "invalid socket address";
      case Errc::ring_setup_failed:
        return "io_uring setup failed";
      case Errc::already_started:
        return "runtime already started";
    }
    return "unknown engine error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc code) { return {static_cast<int>(code), error_category()}; }

}  // namespace mta::engine
