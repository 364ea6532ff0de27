// Catalog: declaring families and the naming rules they are checked against.
#include "metrics/catalog.h"

#include <cmath>

#include "base/assert.h"
#include "metrics/errc.h"
#include "metrics/utf8.h"

namespace mta::metrics {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// True if word is one of name's '_'-separated parts.
bool has_word(std::string_view name, std::string_view word) {
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('_', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == word) return true;
    start = end + 1;
  }
  return false;
}

// "'name': why". Built with append: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
// the operator+ chain "'" + std::string + "': ".
std::string quoted(std::string_view name, std::string_view why) {
  std::string text;
  text.reserve(name.size() + why.size() + 4);
  text.append(1, '\'').append(name).append("': ").append(why);
  return text;
}

Unexpected<Error> bad_name(std::string_view name, std::string_view why) {
  return unexpected(Errc::invalid_name, quoted(name, why));
}

}  // namespace

Result<void> check_metric_name(std::string_view name, Type type) {
  // Prometheus data model: metric_name = [a-zA-Z_:][a-zA-Z0-9_:]*
  if (name.empty()) return bad_name(name, "empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha(c) || c == '_' || c == ':' || (i > 0 && is_digit(c)))) {
      return bad_name(name, "not [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
  }
  // Our conventions on top of the grammar. Colons are for recording rules; uppercase is legal but
  // promtool's lint and every exporter we sit beside use snake_case.
  for (const char c : name) {
    if (c == ':') return bad_name(name, "colons are reserved for recording rules");
    if (c >= 'A' && c <= 'Z') return bad_name(name, "must be lowercase snake_case");
  }
  if (name.starts_with("__")) return bad_name(name, "names starting with __ are reserved");
  if (name.starts_with("process_")) {
    return bad_name(name, "process_ is reserved for append_process_metrics");
  }
  const bool total = ends_with(name, "_total");
  if (type == Type::counter && !total) return bad_name(name, "a counter must end in _total");
  if (type != Type::counter && total) return bad_name(name, "only counters end in _total");
  if (type == Type::histogram &&
      (ends_with(name, "_bucket") || ends_with(name, "_sum") || ends_with(name, "_count"))) {
    return bad_name(name, "a histogram's name must not end in _bucket, _sum or _count");
  }
  // Prometheus base units: seconds and bytes. A scaled unit in the name means the values are
  // scaled too, and dashboards would have to know.
  static constexpr std::string_view scaled_units[] = {
      "milliseconds", "microseconds", "nanoseconds", "minutes",   "hours",     "days",
      "ms",           "us",           "ns",          "kilobytes", "megabytes", "gigabytes"};
  for (std::string_view unit : scaled_units) {
    if (has_word(name, unit)) return bad_name(name, "use base units: _seconds, _bytes");
  }
  return {};
}

Result<void> check_label_name(std::string_view name) {
  // Prometheus data model: label_name = [a-zA-Z_][a-zA-Z0-9_]*; "__" prefixes are reserved.
  const auto bad = [&](std::string_view why) {
    return unexpected(Errc::invalid_label, quoted(name, why));
  };
  if (name.empty()) return bad("empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha(c) || c == '_' || (i > 0 && is_digit(c)))) {
      return bad("not [a-zA-Z_][a-zA-Z0-9_]*");
    }
  }
  if (name.starts_with("__")) return bad("names starting with __ are reserved");
  return {};
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  MTA_ASSERT(start > 0);
  MTA_ASSERT(factor > 1);
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double bound = start; bounds.size() < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count) {
  MTA_ASSERT(width > 0);
  std::vector<double> bounds;
  bounds.reserve(count);
  for (std::size_t i = 0; i < count; ++i) bounds.push_back(start + width * static_cast<double>(i));
  return bounds;
}

const Family& Catalog::family(std::size_t index) const {
  MTA_ASSERT(index < families_.size());
  return *families_[index];
}

const Family* Catalog::find(std::string_view name) const {
  for (const auto& family : families_) {
    if (family->name == name) return family.get();
  }
  return nullptr;
}

Result<std::uint32_t> Catalog::add(FamilySpec spec, Type type) {
  MTA_ASSERT(!sealed_.load(std::memory_order_relaxed));
  if (auto checked = check_metric_name(spec.name, type); !checked) {
    return unexpected(checked.error());
  }
  if (find(spec.name) != nullptr) {
    return unexpected(Errc::duplicate_family, spec.name);
  }
  if (spec.help.empty() || !valid_utf8(spec.help)) {
    return unexpected(Errc::invalid_name, spec.name + ": help must be non-empty UTF-8");
  }
  for (std::size_t i = 0; i < spec.label_names.size(); ++i) {
    const std::string& label = spec.label_names[i];
    if (auto checked = check_label_name(label); !checked) {
      return unexpected(Errc::invalid_label, spec.name + ": " + checked.error().detail);
    }
    if (type == Type::histogram && label == "le") {
      return unexpected(Errc::invalid_label, spec.name + ": 'le' is the histogram bucket label");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.label_names[j] == label) {
        return unexpected(Errc::invalid_label, spec.name + ": '" + label + "' repeated");
      }
    }
  }
  auto family = std::make_unique<Family>();
  family->name = std::move(spec.name);
  family->help = std::move(spec.help);
  family->type = type;
  family->label_names = std::move(spec.label_names);
  families_.push_back(std::move(family));
  return static_cast<std::uint32_t>(families_.size() - 1);
}

Result<CounterFamily> Catalog::add_counter(FamilySpec spec) {
  auto index = add(std::move(spec), Type::counter);
  if (!index) return unexpected(index.error());
  return CounterFamily{*index};
}

Result<GaugeFamily> Catalog::add_gauge(FamilySpec spec, GaugeMerge merge) {
  auto index = add(std::move(spec), Type::gauge);
  if (!index) return unexpected(index.error());
  families_[*index]->merge = merge;
  return GaugeFamily{*index};
}

Result<HistogramFamily> Catalog::add_histogram(FamilySpec spec, std::vector<double> bucket_bounds) {
  if (bucket_bounds.empty()) return unexpected(Errc::invalid_buckets, spec.name + ": no buckets");
  for (std::size_t i = 0; i < bucket_bounds.size(); ++i) {
    if (!std::isfinite(bucket_bounds[i])) {
      return unexpected(Errc::invalid_buckets,
                        spec.name + ": bounds must be finite (+Inf is implied)");
    }
    if (i > 0 && !(bucket_bounds[i - 1] < bucket_bounds[i])) {
      return unexpected(Errc::invalid_buckets, spec.name + ": bounds must strictly increase");
    }
  }
  auto index = add(std::move(spec), Type::histogram);
  if (!index) return unexpected(index.error());
  families_[*index]->bucket_bounds = std::move(bucket_bounds);
  return HistogramFamily{*index};
}

Result<BoundedCounterFamily> Catalog::add_bounded_counter(FamilySpec spec, BoundedLabel bounded) {
  if (bounded.values_max == 0 || bounded.values_max > 100'000) {
    return unexpected(Errc::invalid_bound, spec.name + ": values_max must be 1..100000");
  }
  if (bounded.overflow_value.empty() || !valid_utf8(bounded.overflow_value)) {
    return unexpected(Errc::invalid_bound, spec.name + ": overflow value must be non-empty UTF-8");
  }
  spec.label_names.push_back(std::move(bounded.name));
  auto index = add(std::move(spec), Type::counter);
  if (!index) return unexpected(index.error());
  families_[*index]->admission =
      std::make_unique<LabelAdmission>(bounded.values_max, std::move(bounded.overflow_value));
  return BoundedCounterFamily{*index};
}

}  // namespace mta::metrics
