// A strict reader of the Prometheus text format 0.0.4 for tests: checks every line's grammar
// (HELP, TYPE, samples, label escapes, values) and the rules across lines (TYPE before samples,
// no series twice, histogram buckets cumulative and ending at +Inf == _count), and returns the
// samples so tests can look values up. Written from the format's documentation, independently
// of exposition.cc, so a test that renders and parses back checks one against the other.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mta::metrics {

struct ParsedSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in written order, unescaped
  double value = 0;
};

struct ParsedExposition {
  std::string error;  // empty when the body is well-formed; else "line N: why"
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string> types;  // family -> counter/gauge/histogram/...
  std::map<std::string, std::string> helps;  // family -> unescaped help

  // The value of the sample with exactly these labels (any order), if there is one.
  std::optional<double> value(std::string_view name,
                              std::vector<std::pair<std::string, std::string>> labels = {}) const {
    std::sort(labels.begin(), labels.end());
    for (const ParsedSample& sample : samples) {
      auto sorted = sample.labels;
      std::sort(sorted.begin(), sorted.end());
      if (sample.name == name && sorted == labels) return sample.value;
    }
    return std::nullopt;
  }
};

namespace parser_for_test {

inline bool metric_name(std::string_view s) {
  // metric_name = [a-zA-Z_:][a-zA-Z0-9_:]*
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline bool label_name(std::string_view s) {
  // label_name = [a-zA-Z_][a-zA-Z0-9_]*
  return metric_name(s) && s.find(':') == std::string_view::npos;
}

// Go's strconv.ParseFloat as Prometheus uses it: decimal or exponent form, or Inf/NaN words.
inline std::optional<double> go_float(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s == "NaN") return std::nan("");
  if (s.empty()) return std::nullopt;
  std::string_view digits = s[0] == '-' || s[0] == '+' ? s.substr(1) : s;
  if (digits.empty() || !((digits[0] >= '0' && digits[0] <= '9') || digits[0] == '.')) {
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return s[0] == '-' ? -value : value;
}

// Unescapes a HELP text (\\ and \n only) or a label value (also \"); nullopt on a bad escape.
inline std::optional<std::string> unescape(std::string_view s, bool quotes) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      if (quotes && s[i] == '"') return std::nullopt;
      out += s[i];
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    if (s[i] == '\\') {
      out += '\\';
    } else if (s[i] == 'n') {
      out += '\n';
    } else if (quotes && s[i] == '"') {
      out += '"';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace parser_for_test

inline ParsedExposition parse_exposition_for_test(std::string_view body) {
  using namespace parser_for_test;
  ParsedExposition parsed;
  std::set<std::string> series_seen;
  std::string family;  // of the last TYPE line
  // Histogram bookkeeping per series (labels without le): last bucket count and its bound.
  std::map<std::string, std::pair<double, double>> last_bucket;
  std::map<std::string, double> inf_bucket;
  std::size_t number = 0;
  const auto fail = [&](const std::string& why) {
    parsed.error = "line " + std::to_string(number) + ": " + why;
    return parsed;
  };
  if (!body.empty() && body.back() != '\n') return fail("body does not end in a line feed");
  while (!body.empty()) {
    ++number;
    const std::size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body.remove_prefix(eol + 1);
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool help = line[2] == 'H';
      std::string_view rest = line.substr(7);
      const std::size_t space = rest.find(' ');
      if (space == std::string_view::npos) return fail("no text after the metric name");
      const std::string name(rest.substr(0, space));
      if (!metric_name(name)) return fail("bad metric name '" + name + "'");
      const std::string_view text = rest.substr(space + 1);
      if (help) {
        auto unescaped = unescape(text, false);
        if (!unescaped) return fail("bad escape in HELP");
        if (!parsed.helps.emplace(name, *unescaped).second) return fail("second HELP " + name);
      } else {
        static const std::set<std::string_view> types = {"counter", "gauge", "histogram", "summary",
                                                         "untyped"};
        if (types.count(text) == 0) return fail("bad type '" + std::string(text) + "'");
        if (!parsed.types.emplace(name, std::string(text)).second) return fail("second TYPE");
        family = name;
      }
      continue;
    }
    if (line.starts_with("#")) continue;  // a comment
    if (line.empty()) return fail("empty line");
    // sample = metric_name [ "{" label_name "=" `"` label_value `"` { "," ... } [ "," ] "}" ]
    //          " " value [ " " timestamp ]
    ParsedSample sample;
    std::size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    sample.name = std::string(line.substr(0, at));
    if (!metric_name(sample.name)) return fail("bad sample name '" + sample.name + "'");
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        const std::size_t equals = line.find('=', at);
        if (equals == std::string_view::npos) return fail("label without '='");
        const std::string name(line.substr(at, equals - at));
        if (!label_name(name)) return fail("bad label name '" + name + "'");
        if (equals + 1 >= line.size() || line[equals + 1] != '"') return fail("unquoted value");
        std::size_t close = equals + 2;
        while (close < line.size() && line[close] != '"') close += line[close] == '\\' ? 2 : 1;
        if (close >= line.size()) return fail("unterminated label value");
        auto value = unescape(line.substr(equals + 2, close - equals - 2), true);
        if (!value) return fail("bad escape in label value");
        for (const auto& label : sample.labels) {
          if (label.first == name) return fail("label '" + name + "' twice");
        }
        sample.labels.emplace_back(name, *value);
        at = close + 1;
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (at >= line.size()) return fail("no '}'");
      ++at;
    }
    if (at >= line.size() || line[at] != ' ') return fail("no space before the value");
    std::string_view value_text = line.substr(at + 1);
    if (const std::size_t space = value_text.find(' '); space != std::string_view::npos) {
      value_text = value_text.substr(0, space);  // a timestamp follows
    }
    auto value = go_float(value_text);
    if (!value) return fail("bad value '" + std::string(value_text) + "'");
    sample.value = *value;
    // Cross-line rules: the sample belongs to the family of the last TYPE, once per label set.
    const std::string& type = parsed.types[family];
    std::string suffix;
    if (sample.name != family) {
      for (std::string_view s : {"_bucket", "_sum", "_count"}) {
        if (type == "histogram" && sample.name == family + std::string(s)) suffix = s;
      }
      if (suffix.empty()) return fail(sample.name + " outside its family's TYPE block");
    } else if (type == "histogram") {
      return fail("histogram sample without _bucket/_sum/_count");
    }
    auto sorted = sample.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string key = sample.name;
    std::string key_without_le = family;
    for (const auto& [name, label_value] : sorted) {
      key += "|" + name + "=" + label_value;
      if (name != "le") key_without_le += "|" + name + "=" + label_value;
    }
    if (!series_seen.insert(key).second) return fail("series twice: " + key);
    if (suffix == "_bucket") {
      std::optional<double> le;
      for (const auto& [name, label_value] : sample.labels) {
        if (name == "le") le = go_float(label_value);
      }
      if (!le) return fail("_bucket without a numeric le");
      auto [previous, fresh] = last_bucket.try_emplace(key_without_le, -HUGE_VAL, 0.0);
      if (!fresh && !(previous->second.first < *le)) return fail("le not increasing");
      if (!fresh && previous->second.second > sample.value) return fail("buckets not cumulative");
      previous->second = {*le, sample.value};
      if (std::isinf(*le)) inf_bucket[key_without_le] = sample.value;
    } else if (suffix == "_count") {
      auto inf = inf_bucket.find(key_without_le);
      if (inf == inf_bucket.end()) return fail("_count before the +Inf bucket");
      if (inf->second != sample.value) return fail("_count differs from the +Inf bucket");
    }
    parsed.samples.push_back(std::move(sample));
  }
  return parsed;
}

}  // namespace mta::metrics
