#include "metrics/buckets.h"

#include <cmath>

#include "base/assert.h"

namespace mta::metrics {
namespace {

// mantissa * 10^exponent, computed as an exact integer divided by an exact power of ten so the
// result is the correctly rounded decimal (2 * 1e-4 would not be).
double decimal(int mantissa, int exponent) {
  double scale = 1;
  for (int i = 0; i < std::abs(exponent); ++i) scale *= 10;
  return exponent < 0 ? mantissa / scale : mantissa * scale;
}

}  // namespace

std::vector<double> one_two_five_buckets(double from, double to,
                                         std::initializer_list<double> tail) {
  MTA_ASSERT(from > 0 && from < to);
  constexpr int kMantissas[] = {1, 2, 5};
  std::vector<double> bounds;
  const int first = static_cast<int>(std::floor(std::log10(from)));
  const int last = static_cast<int>(std::floor(std::log10(to)));
  MTA_ASSERT(last - first < 40);
  for (int exponent = first; exponent <= last; ++exponent) {
    for (int mantissa : kMantissas) {
      const double bound = decimal(mantissa, exponent);
      if (bound >= from * (1 - 1e-9) && bound <= to * (1 + 1e-9)) bounds.push_back(bound);
    }
  }
  MTA_ASSERT(!bounds.empty());
  for (double bound : tail) {
    MTA_ASSERT(bound > bounds.back());
    bounds.push_back(bound);
  }
  return bounds;
}

std::vector<double> local_work_buckets() { return one_two_five_buckets(0.00001, 5); }

std::vector<double> session_buckets() {
  return one_two_five_buckets(0.0005, 10, {30, 60, 300, 900, 3600});
}

std::vector<double> queue_time_buckets() {
  return one_two_five_buckets(0.0005, 10, {60, 600, 3600, 14400, 86400, 259200});
}

}  // namespace mta::metrics
