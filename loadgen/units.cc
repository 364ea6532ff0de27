// The `outpost bench` command line's number parsers. Strict: trailing garbage, an empty
// number or a value that overflows is an error, never a silent zero.
#include "loadgen/units.h"

#include <charconv>
#include <cmath>
#include <string>

#include "base/concat.h"
#include "loadgen/errc.h"

namespace mta::loadgen {
namespace {

Result<std::uint64_t> invalid(std::string_view what, std::string_view text) {
  return unexpected(Errc::invalid_argument, concat({what, ": ", text}));
}

// Splits "123abc" into the leading digits (and an optional fraction) and the suffix.
std::size_t number_length(std::string_view text, bool allow_fraction) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (allow_fraction && i > 0 && i < text.size() && text[i] == '.') {
    std::size_t j = i + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j > i + 1) i = j;
  }
  return i;
}

}  // namespace

Result<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid("not a count", text);
  }
  return value;
}

Result<std::uint64_t> parse_bytes(std::string_view text) {
  const std::size_t digits = number_length(text, false);
  if (digits == 0) return invalid("not a size", text);
  auto number = parse_count(text.substr(0, digits));
  if (!number) return invalid("not a size", text);
  const std::string_view suffix = text.substr(digits);
  std::uint64_t multiple = 1;
  if (suffix.empty()) {
    multiple = 1;
  } else if (suffix == "k" || suffix == "K" || suffix == "KiB") {
    multiple = 1024;
  } else if (suffix == "m" || suffix == "M" || suffix == "MiB") {
    multiple = 1024 * 1024;
  } else {
    return invalid("unknown size suffix", text);
  }
  if (*number > UINT64_MAX / multiple) return invalid("size too large", text);
  return *number * multiple;
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const std::size_t length = number_length(text, true);
  if (length == 0) {
    return unexpected(Errc::invalid_argument, concat({"not a duration: ", text}));
  }
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + length, number);
  if (ec != std::errc() || end != text.data() + length) {
    return unexpected(Errc::invalid_argument, concat({"not a duration: ", text}));
  }
  const std::string_view unit = text.substr(length);
  double nanos_per_unit = 0;
  if (unit.empty() || unit == "s") {
    nanos_per_unit = 1e9;
  } else if (unit == "ms") {
    nanos_per_unit = 1e6;
  } else if (unit == "us") {
    nanos_per_unit = 1e3;
  } else if (unit == "m") {
    nanos_per_unit = 60e9;
  } else if (unit == "h") {
    nanos_per_unit = 3600e9;
  } else if (unit == "d") {
    nanos_per_unit = 86400e9;
  } else {
    return unexpected(Errc::invalid_argument, concat({"unknown duration unit: ", text}));
  }
  const double nanos = number * nanos_per_unit;
  if (!std::isfinite(nanos) || nanos > 9.2e18) {
    return unexpected(Errc::invalid_argument, concat({"duration too long: ", text}));
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(nanos)));
}

}  // namespace mta::loadgen
