// The loadgen module's std::error_category.
#include "loadgen/errc.h"

#include <string>

namespace mta::loadgen {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "loadgen"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::io_error:
        return "i/o error";
      case Errc::malformed_csv:
        return "malformed CSV";
    }
    return "unknown loadgen error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc code) { return {static_cast<int>(code), error_category()}; }

}  // namespace mta::loadgen
