// Tag fields: a scan of the header section line by line. A field starts at a line that does not
// begin with white space and runs through its continuation lines (RFC 5322 §2.2.3 folding).
#include "injection/tags.h"

#include <array>
#include <cctype>

#include "base/ascii.h"

namespace mta::injection {
namespace {

enum class Field { tenant, campaign, traffic_class, pool };

constexpr std::array<std::pair<std::string_view, Field>, 4> tag_fields = {{
    {"x-outpost-tenant", Field::tenant},
    {"x-outpost-campaign", Field::campaign},
    {"x-outpost-class", Field::traffic_class},
    {"x-outpost-pool", Field::pool},
}};

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// The value of a field spanning `text` (name, colon, value and continuation lines), unfolded.
std::string unfolded_value(std::string_view text) {
  text.remove_prefix(text.find(':') + 1);
  std::string value;
  for (char c : text) {
    if (c != '\r' && c != '\n') value.push_back(c);
  }
  return std::string(trimmed(value));
}

std::optional<std::string> set(std::optional<std::string>& slot, std::string value,
                               std::string_view name) {
  if (!valid_tag(value)) {
    return std::string(name) + " must be 1 to 64 letters, digits, '.', '_' or '-'";
  }
  if (slot && *slot != value) return std::string(name) + " is given twice";
  slot = std::move(value);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> take_tag_fields(std::string& message, Tags& tags) {
  std::size_t at = 0;
  while (at < message.size()) {
    std::size_t end = message.find('\n', at);
    end = end == std::string::npos ? message.size() : end + 1;
    const std::string_view line = std::string_view(message).substr(at, end - at);
    if (line == "\r\n" || line == "\n") return std::nullopt;  // end of the header section
    // The field and its continuation lines.
    while (end < message.size() && (message[end] == ' ' || message[end] == '\t')) {
      const std::size_t next = message.find('\n', end);
      end = next == std::string::npos ? message.size() : next + 1;
    }
    const std::string_view field = std::string_view(message).substr(at, end - at);
    const std::size_t colon = field.find(':');
    std::optional<Field> kind;
    if (colon != std::string_view::npos) {
      const std::string_view name = trimmed(field.substr(0, colon));
      for (const auto& [known, which] : tag_fields) {
        if (iequals(name, known)) kind = which;
      }
    }
    if (!kind) {
      at = end;
      continue;
    }
    std::string value = unfolded_value(field);
    std::optional<std::string> error;
    switch (*kind) {
      case Field::tenant:
        error = set(tags.tenant, std::move(value), "X-Outpost-Tenant");
        break;
      case Field::campaign:
        error = set(tags.campaign, std::move(value), "X-Outpost-Campaign");
        break;
      case Field::pool:
        error = set(tags.pool, std::move(value), "X-Outpost-Pool");
        break;
      case Field::traffic_class: {
        const auto parsed = parse_traffic_class(value);
        if (!parsed) return std::string("X-Outpost-Class must be transactional or bulk");
        if (tags.traffic_class && *tags.traffic_class != *parsed) {
          return std::string("X-Outpost-Class is given twice");
        }
        tags.traffic_class = parsed;
        break;
      }
    }
    if (error) return error;
    message.erase(at, end - at);  // `at` now starts the next field
  }
  return std::nullopt;
}

}  // namespace mta::injection
