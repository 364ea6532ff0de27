// Rendering snapshots in the Prometheus text format 0.0.4 (see exposition.h).
#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

#include "base/assert.h"
#include "metrics/utf8.h"

namespace mta::metrics {
namespace {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

// Text format grammar (exposition_formats.md, "Text format details"):
//   sample      = metric_name [ "{" label "=" `"` label_value `"` { "," label ... } "}" ]
//                 " " value [ " " timestamp ] LF
// We write no trailing comma and no timestamp: the scraper stamps samples itself.
void append_labels(const Family& family, const SeriesSnapshot& series, std::string_view le,
                   std::string& out) {
  MTA_ASSERT(series.label_values.size() == family.label_names.size());
  if (family.label_names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < family.label_names.size(); ++i) {
    if (i > 0) out += ',';
    out += family.label_names[i];
    out += "=\"";
    append_label_value(series.label_values[i], out);
    out += '"';
  }
  if (!le.empty()) {
    if (!family.label_names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_sample_start(const Family& family, std::string_view suffix,
                         const SeriesSnapshot& series, std::string_view le, std::string& out) {
  out += family.name;
  out += suffix;
  append_labels(family, series, le, out);
  out += ' ';
}

void render_histogram(const Family& family, const SeriesSnapshot& series, std::string& out) {
  MTA_ASSERT(series.cumulative_buckets.size() == family.bucket_bounds.size() + 1);
  std::string le;
  for (std::size_t i = 0; i < series.cumulative_buckets.size(); ++i) {
    le.clear();
    if (i < family.bucket_bounds.size()) {
      append_number(family.bucket_bounds[i], le);
    } else {
      le = "+Inf";
    }
    append_sample_start(family, "_bucket", series, le, out);
    append_number(series.cumulative_buckets[i], out);
    out += '\n';
  }
  append_sample_start(family, "_sum", series, {}, out);
  append_number(series.value, out);
  out += '\n';
  append_sample_start(family, "_count", series, {}, out);
  append_number(series.count, out);
  out += '\n';
}

}  // namespace

void append_label_value(std::string_view value, std::string& out) {
  for (std::size_t at = 0; at < value.size();) {
    // Copy runs of plain ASCII in one append; domains and listener names are all plain.
    const std::size_t run_start = at;
    while (at < value.size()) {
      const auto c = static_cast<unsigned char>(value[at]);
      if (c >= 0x80 || c == '\\' || c == '"' || c == '\n') break;
      ++at;
    }
    out.append(value.substr(run_start, at - run_start));
    if (at == value.size()) break;
    const char c = value[at];
    if (c == '\\') {
      out += "\\\\";
      ++at;
    } else if (c == '"') {
      out += "\\\"";
      ++at;
    } else if (c == '\n') {
      out += "\\n";
      ++at;
    } else if (const std::size_t length = utf8_sequence_length(value, at); length != 0) {
      out.append(value.substr(at, length));
      at += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, for one ill-formed byte
      ++at;
    }
  }
}

void append_help(std::string_view text, std::string& out) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_number(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // std::to_chars: shortest form that reads back to the same double, independent of locale.
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  MTA_ASSERT(ec == std::errc());
  out.append(buffer, end);
}

void append_number(std::uint64_t value, std::string& out) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  MTA_ASSERT(ec == std::errc());
  out.append(buffer, end);
}

void render(std::span<const FamilySnapshot> families, std::string& out) {
  for (const FamilySnapshot& snapshot : families) {
    const Family& family = *snapshot.family;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    append_help(family.help, out);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += type_name(family.type);
    out += '\n';
    for (const SeriesSnapshot& series : snapshot.series) {
      switch (family.type) {
        case Type::counter:
          append_sample_start(family, {}, series, {}, out);
          append_number(series.count, out);
          out += '\n';
          break;
        case Type::gauge:
          append_sample_start(family, {}, series, {}, out);
          append_number(series.value, out);
          out += '\n';
          break;
        case Type::histogram:
          render_histogram(family, series, out);
          break;
      }
    }
  }
}

std::string render(const Catalog& catalog, std::span<const Registry* const> shards) {
  const std::vector<FamilySnapshot> snapshot = collect(catalog, shards);
  std::string out;
  render(snapshot, out);
  return out;
}

}  // namespace mta::metrics
