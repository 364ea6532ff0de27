// TOML through toml++ (Debian's libtomlplusplus-dev). toml++ reports syntax errors by exception;
// they are caught here and turned into a Result, so the rest of the program sees no exceptions.
#include "base/config_reader.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "base/duration.h"
#include "base/spelling.h"

namespace mta::config {
namespace {

Unexpected<Error> invalid(std::string detail) {
  return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

const toml::table* as_table(const void* table) { return static_cast<const toml::table*>(table); }
const toml::node* as_node(const void* node) { return static_cast<const toml::node*>(node); }

std::uint32_t line_of(const toml::node& node) { return node.source().begin.line; }

// What a value is, for "must be a string, not an integer".
std::string kind_of(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a fractional number";
    case toml::node_type::boolean:
      return "true or false";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// "3", "0.5", "1e+09": the shortest form of a bound.
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// Records the line of every key under `table`, named as Table names them: "a.b", "a[0].c".
void record_lines(const toml::table& table, const std::string& prefix,
                  std::map<std::string, std::uint32_t, std::less<>>& lines) {
  for (const auto& [key, node] : table) {
    const std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    lines[name] = line_of(node);
    if (const toml::table* inner = node.as_table()) {
      record_lines(*inner, name, lines);
    } else if (const toml::array* entries = node.as_array()) {
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const toml::node& entry = *entries->get(i);
        const std::string entry_name = name + "[" + std::to_string(i) + "]";
        lines[entry_name] = line_of(entry);
        if (const toml::table* fields = entry.as_table()) record_lines(*fields, entry_name, lines);
      }
    }
  }
}

// `text` without a leading `prefix` followed by a space or a colon (and the spaces after it).
std::string_view drop_prefix(std::string_view text, std::string_view prefix) {
  if (prefix.empty() || !text.starts_with(prefix) || text.size() == prefix.size()) return text;
  const char next = text[prefix.size()];
  if (next != ' ' && next != ':') return text;
  text.remove_prefix(prefix.size() + 1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// The key a syntax error at `line` (from 1) of `text` is about, as Table names it ("log.level",
// "dkim[1].key"): the bare key of a `key = value` line, under the last table header before
// it; "" for a header line or anything else. A best guess from the raw text, the parse having
// failed.
std::string key_at_line(std::string_view text, std::uint32_t line) {
  constexpr std::string_view bare_key_chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.";
  std::string table;
  std::map<std::string, std::size_t, std::less<>> arrays;  // [[name]] headers so far
  for (std::uint32_t number = 1; number <= line && !text.empty(); ++number) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view current = trimmed(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::string_view header = trimmed(current.substr(0, current.find('#')));
    if (header.starts_with("[[") && header.ends_with("]]")) {
      const std::string name(trimmed(header.substr(2, header.size() - 4)));
      table = name + "[" + std::to_string(arrays[name]++) + "]";
    } else if (header.starts_with("[") && header.ends_with("]")) {
      table = std::string(trimmed(header.substr(1, header.size() - 2)));
    } else if (number == line) {
      const std::size_t key_end =
          std::min(current.find_first_not_of(bare_key_chars), current.size());
      if (key_end == 0 || !trimmed(current.substr(key_end)).starts_with("=")) return "";
      const std::string key(current.substr(0, key_end));
      return table.empty() ? key : table.append(".").append(key);
    }
  }
  return "";
}

// The table holding `key`: "a.b[0]" for "a.b[0].c", "a.b" for "a.b[0]", "" for "a".
std::string_view parent_of(std::string_view key) {
  const std::size_t cut = key.find_last_of(".[");
  return cut == std::string_view::npos ? std::string_view() : key.substr(0, cut);
}

// "2026-11-20" as a string: the form a date takes when quoted.
std::optional<toml::date> date_from_text(const std::string& text) {
  unsigned year = 0, month = 0, day = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%4u-%2u-%2u%c", &year, &month, &day, &extra) != 3) {
    return std::nullopt;
  }
  return toml::date{static_cast<std::uint16_t>(year), static_cast<std::uint8_t>(month),
                    static_cast<std::uint8_t>(day)};
}

}  // namespace

Unexpected<Error> located_error(std::string_view file_name, std::uint32_t line,
                                std::string_view key, std::string_view text) {
  std::string_view problem = drop_prefix(text, key);
  if (problem == text) problem = drop_prefix(text, parent_of(key));
  std::string detail;
  if (!file_name.empty()) {
    detail.append(file_name);
    if (line != 0) detail.append(":").append(std::to_string(line));
    detail.append(": ");
  }
  if (!key.empty()) detail.append(key).append(": ");
  detail.append(problem);
  return invalid(std::move(detail));
}

std::uint32_t Locations::line(std::string_view key) const {
  for (std::string_view at = key; !at.empty(); at = parent_of(at)) {
    if (auto found = lines_.find(at); found != lines_.end()) return found->second;
  }
  return 0;
}

Unexpected<Error> Locations::error(std::string_view key, std::string_view text) const {
  return located_error(file_name_, line(key), key, text);
}

struct Document::Impl {
  toml::table root;
};

Table::Table(const Document* document, const void* table, std::string name)
    : document_(document), table_(table), name_(std::move(name)) {}

const void* Table::find(std::string_view key) {
  known_.insert(std::string(key));
  return table_ == nullptr ? nullptr : as_table(table_)->get(key);
}

Unexpected<Error> Table::error(std::string_view key, const std::string& text) const {
  const toml::node* node = table_ == nullptr ? nullptr : as_table(table_)->get(key);
  const std::uint32_t line =
      node != nullptr ? line_of(*node) : (table_ == nullptr ? 0 : line_of(*as_table(table_)));
  return document_->error_at(line, where(key), text);
}

Unexpected<Error> Table::error(const std::string& text) const {
  return document_->error_at(table_ == nullptr ? 0 : line_of(*as_table(table_)), name_, text);
}

Result<void> Table::string(std::string_view key, std::string& out) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->value<std::string>();
    if (!value) return error(key, "must be a string, not " + kind_of(*node));
    out = *value;
  }
  return {};
}

Result<void> Table::integer64(std::string_view key, std::optional<std::int64_t>& out,
                              std::int64_t min, std::int64_t max) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->is_integer() ? node->value<std::int64_t>() : std::nullopt;
    if (!value || *value < min || *value > max) {
      return error(key, "must be an integer from " + std::to_string(min) + " to " +
                            std::to_string(max) + ", not " +
                            (value ? std::to_string(*value) : kind_of(*node)));
    }
    out = *value;
  }
  return {};
}

Result<void> Table::boolean(std::string_view key, bool& out) {
  if (const auto* node = as_node(find(key))) {
    // Exact types: toml++'s value<T>() would turn 1 into true and true into 1.
    auto value = node->is_boolean() ? node->value<bool>() : std::nullopt;
    if (!value) return error(key, "must be true or false, not " + kind_of(*node));
    out = *value;
  }
  return {};
}

Result<void> Table::number(std::string_view key, double& out, double min, double max) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->is_number() ? node->value<double>() : std::nullopt;  // integers too
    if (!value || *value < min || *value > max) {
      return error(key, "must be a number from " + number_text(min) + " to " + number_text(max) +
                            ", not " + (value ? number_text(*value) : kind_of(*node)));
    }
    out = *value;
  }
  return {};
}

Result<void> Table::duration(std::string_view key, Clock::Duration& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  std::string text;
  if (node->is_string()) {
    text = *node->value<std::string>();
  } else if (node->is_integer()) {
    text = std::to_string(*node->value<std::int64_t>());
  } else {
    return error(key, "must be a duration such as \"30s\" or \"5m\", not " + kind_of(*node));
  }
  auto parsed = parse_duration(text);
  if (!parsed) return error(key, parsed.error().detail);
  out = *parsed;
  return {};
}

Result<void> Table::date(std::string_view key, std::optional<std::int64_t>& days) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  std::optional<toml::date> value = node->value<toml::date>();
  if (!value) {
    if (auto text = node->value<std::string>()) value = date_from_text(*text);
  }
  const std::chrono::year_month_day ymd{std::chrono::year(value ? value->year : 0),
                                        std::chrono::month(value ? value->month : 0),
                                        std::chrono::day(value ? value->day : 0)};
  if (!value || !ymd.ok()) return error(key, "must be a date, e.g. 2026-11-20");
  days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return {};
}

Result<void> Table::counts(std::string_view key, std::vector<std::uint64_t>& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  const toml::array* list = node->as_array();
  if (list == nullptr) return error(key, "must be a list of counts, not " + kind_of(*node));
  out.clear();
  for (const toml::node& item : *list) {
    auto value = item.is_integer() ? item.value<std::int64_t>() : std::nullopt;
    if (!value || *value < 1) return error(key, "must be a list of counts (integers from 1)");
    out.push_back(static_cast<std::uint64_t>(*value));
  }
  return {};
}

Result<void> Table::string_list(std::string_view key, std::vector<std::string>& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  if (auto single = node->value<std::string>()) {
    out = {*single};
    return {};
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) return error(key, "must be a list of strings, not " + kind_of(*node));
  out.clear();
  for (const toml::node& item : *array) {
    auto value = item.value<std::string>();
    if (!value) return error(key, "must be a list of strings, not one holding " + kind_of(item));
    out.push_back(*value);
  }
  return {};
}

Result<void> Table::string_map(std::string_view key, std::map<std::string, std::string>& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  const toml::table* entries = node->as_table();
  if (entries == nullptr) return error(key, "must be a table of strings, not " + kind_of(*node));
  out.clear();
  for (const auto& [name, item] : *entries) {
    auto value = item.value<std::string>();
    if (!value) {
      return document_->error_at(line_of(item), where(key) + "." + std::string(name.str()),
                                 "must be a string, not " + kind_of(item));
    }
    std::string lower(name.str());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[lower] = *value;
  }
  return {};
}

Result<void> Table::each(std::string_view key, const std::function<Result<void>(Table&)>& read) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  const std::string array_name = where(key);
  const toml::array* entries = node->as_array();
  if (entries == nullptr) {
    return error(key, "must be an array of tables, [[" + array_name + "]], not " + kind_of(*node));
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& entry = *entries->get(i);
    Table fields(document_, entry.as_table(), array_name + "[" + std::to_string(i) + "]");
    if (!fields.present()) {
      return document_->error_at(line_of(entry), fields.name(),
                                 "must be a table, [[" + array_name + "]], not " + kind_of(entry));
    }
    CONFIG_TRY(read(fields));
  }
  return {};
}

Result<void> Table::no_unknown_keys() const {
  if (table_ == nullptr) return {};
  for (const auto& [key, node] : *as_table(table_)) {
    if (known_.contains(std::string(key.str()))) continue;
    std::string text = "unknown key";
    const std::vector<std::string> candidates(known_.begin(), known_.end());
    if (auto near = closest_spelling(key.str(), candidates)) {
      text += " (did you mean " + where(*near) + "?)";
    }
    return document_->error_at(line_of(node), where(key.str()), text);
  }
  return {};
}

Document::Document(std::unique_ptr<Impl> impl, std::string file_name)
    : impl_(std::move(impl)), file_name_(std::move(file_name)) {
  locations_.file_name_ = file_name_;
  if (impl_ != nullptr) record_lines(impl_->root, "", locations_.lines_);
}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Result<Document> Document::parse(std::string_view text, std::string_view file_name) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->root = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    // toml++ says "Error while parsing key-value pair: cannot redefine existing integer 'level'".
    std::string_view description = error.description();
    std::string what = "TOML syntax error";
    constexpr std::string_view lead = "Error while parsing ";
    if (const std::size_t colon = description.find(": ");
        description.starts_with(lead) && colon != std::string_view::npos) {
      what += " in " + std::string(description.substr(lead.size(), colon - lead.size()));
      description.remove_prefix(colon + 2);
    }
    const toml::source_position at = error.source().begin;
    return located_error(
        file_name, at.line, key_at_line(text, at.line),
        what + " at column " + std::to_string(at.column) + ": " + std::string(description));
  }
  return Document(std::move(impl), std::string(file_name));
}

Table Document::table(std::string_view name) const {
  const toml::node* node = impl_->root.get(name);
  return Table(this, node == nullptr ? nullptr : node->as_table(), std::string(name));
}

Result<void> Document::each(std::string_view name,
                            const std::function<Result<void>(Table&)>& read) const {
  const toml::node* node = impl_->root.get(name);
  if (node == nullptr) return {};
  const std::string array_name(name);
  const toml::array* entries = node->as_array();
  if (entries == nullptr) {
    return error_at(line_of(*node), array_name,
                    "must be an array of tables, [[" + array_name + "]], not " + kind_of(*node));
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& entry = *entries->get(i);
    Table fields(this, entry.as_table(), array_name + "[" + std::to_string(i) + "]");
    if (!fields.present()) {
      return error_at(line_of(entry), fields.name(),
                      "must be a table, [[" + array_name + "]], not " + kind_of(entry));
    }
    CONFIG_TRY(read(fields));
  }
  return {};
}

Result<void> Document::check_sections(const std::set<std::string>& tables,
                                      const std::set<std::string>& arrays) const {
  for (const auto& [key, value] : impl_->root) {
    const std::string name(key.str());
    if (arrays.contains(name)) continue;
    if (tables.contains(name)) {
      if (!value.is_table()) {
        return error_at(line_of(value), name,
                        "must be a table, [" + name + "], not " + kind_of(value));
      }
      continue;
    }
    std::vector<std::string> known(tables.begin(), tables.end());
    known.insert(known.end(), arrays.begin(), arrays.end());
    std::string text =
        value.is_table() || value.is_array_of_tables() ? "unknown section" : "unknown key";
    if (auto near = closest_spelling(name, known)) {
      text += arrays.contains(*near) ? " (did you mean [[" + *near + "]]?)"
                                     : " (did you mean [" + *near + "]?)";
    }
    return error_at(line_of(value), name, text);
  }
  return {};
}

Unexpected<Error> Document::error_at(std::uint32_t line, std::string_view key,
                                     std::string_view text) const {
  return located_error(file_name_, line, key, text);
}

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return unexpected(std::error_code(errno, std::generic_category()), "cannot read " + path);
  std::string text;
  char chunk[16384];
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return unexpected(std::error_code(error, std::generic_category()), "cannot read " + path);
    }
    text.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return text;
}

}  // namespace mta::config
