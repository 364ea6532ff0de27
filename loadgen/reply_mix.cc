// ReplyMix parsing and drawing. One uniform draw per decision, compared against the
// cumulative percentages, so the shares hold for any seed over enough draws.
#include "loadgen/reply_mix.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/concat.h"
#include "loadgen/errc.h"

namespace mta::loadgen {
namespace {

bool parse_percent(std::string_view text, double& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out) && out >= 0 &&
         out <= 100;
}

std::string format_percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

Result<ReplyMix> ReplyMix::parse(std::string_view spec) {
  ReplyMix mix;
  while (!spec.empty()) {
    const std::size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return unexpected(Errc::invalid_argument, concat({"reply mix item without '=': ", item}));
    }
    const std::string_view key = item.substr(0, equals);
    double* target = nullptr;
    if (key == "rcpt4xx") {
      target = &mix.rcpt_temporary_percent;
    } else if (key == "rcpt5xx") {
      target = &mix.rcpt_permanent_percent;
    } else if (key == "data4xx") {
      target = &mix.data_temporary_percent;
    } else if (key == "data5xx") {
      target = &mix.data_permanent_percent;
    } else if (key == "disconnect" || key == "421") {
      target = &mix.disconnect_percent;
    } else {
      return unexpected(Errc::invalid_argument, concat({"unknown reply mix key: ", key}));
    }
    if (!parse_percent(item.substr(equals + 1), *target)) {
      return unexpected(Errc::invalid_argument,
                        concat({"reply mix percentage must be 0..100: ", item}));
    }
  }
  if (mix.rcpt_temporary_percent + mix.rcpt_permanent_percent > 100) {
    return unexpected(Errc::invalid_argument, "rcpt4xx + rcpt5xx exceed 100%");
  }
  if (mix.data_temporary_percent + mix.data_permanent_percent + mix.disconnect_percent > 100) {
    return unexpected(Errc::invalid_argument, "data4xx + data5xx + disconnect exceed 100%");
  }
  return mix;
}

std::string ReplyMix::to_string() const {
  std::string out;
  const auto add = [&out](std::string_view key, double value) {
    if (value == 0) return;
    if (!out.empty()) out += ',';
    out += key;
    out += '=';
    out += format_percent(value);
  };
  add("rcpt4xx", rcpt_temporary_percent);
  add("rcpt5xx", rcpt_permanent_percent);
  add("data4xx", data_temporary_percent);
  add("data5xx", data_permanent_percent);
  add("disconnect", disconnect_percent);
  return out;
}

RcptVerdict ReplyMix::choose_rcpt(SplitMix64& random) const {
  if (rcpt_temporary_percent == 0 && rcpt_permanent_percent == 0) return RcptVerdict::accept;
  const double draw = random.unit() * 100;
  if (draw < rcpt_temporary_percent) return RcptVerdict::temporary;
  if (draw < rcpt_temporary_percent + rcpt_permanent_percent) return RcptVerdict::permanent;
  return RcptVerdict::accept;
}

DataVerdict ReplyMix::choose_data(SplitMix64& random) const {
  if (data_temporary_percent == 0 && data_permanent_percent == 0 && disconnect_percent == 0) {
    return DataVerdict::accept;
  }
  const double draw = random.unit() * 100;
  double edge = data_temporary_percent;
  if (draw < edge) return DataVerdict::temporary;
  edge += data_permanent_percent;
  if (draw < edge) return DataVerdict::permanent;
  edge += disconnect_percent;
  if (draw < edge) return DataVerdict::disconnect;
  return DataVerdict::accept;
}

}  // namespace mta::loadgen
