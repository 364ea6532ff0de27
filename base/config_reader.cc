// TOML through toml++ (Debian's libtomlplusplus-dev). toml++ reports syntax errors by exception;
// they are caught here and turned into a Result, so the rest of the program sees no exceptions.
#include "base/config_reader.h"

#include <toml++/toml.h>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/duration.h"

namespace mta::config {
namespace {

Unexpected<Error> invalid(std::string detail) {
  return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(detail));
}

const toml::table* as_table(const void* table) { return static_cast<const toml::table*>(table); }
const toml::node* as_node(const void* node) { return static_cast<const toml::node*>(node); }

std::uint32_t line_of(const toml::node& node) { return node.source().begin.line; }

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
  if (node == nullptr) return error(text);
  return document_->error_at(line_of(*node), text);
}

Unexpected<Error> Table::error(const std::string& text) const {
  return document_->error_at(table_ == nullptr ? 0 : line_of(*as_table(table_)), text);
}

Result<void> Table::string(std::string_view key, std::string& out) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->value<std::string>();
    if (!value) return error(key, where(key) + " must be a string");
    out = *value;
  }
  return {};
}

Result<void> Table::integer64(std::string_view key, std::optional<std::int64_t>& out,
                              std::int64_t min, std::int64_t max) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->value<std::int64_t>();
    if (!value || *value < min || *value > max) {
      return error(key, where(key) + " must be an integer from " + std::to_string(min) + " to " +
                            std::to_string(max));
    }
    out = *value;
  }
  return {};
}

Result<void> Table::boolean(std::string_view key, bool& out) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->value<bool>();
    if (!value) return error(key, where(key) + " must be true or false");
    out = *value;
  }
  return {};
}

Result<void> Table::number(std::string_view key, double& out, double min, double max) {
  if (const auto* node = as_node(find(key))) {
    auto value = node->value<double>();  // integers convert too
    if (!value || *value < min || *value > max) {
      return error(key, where(key) + " must be a number from " + std::to_string(min) + " to " +
                            std::to_string(max));
    }
    out = *value;
  }
  return {};
}

Result<void> Table::duration(std::string_view key, Clock::Duration& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  std::string text;
  if (auto s = node->value<std::string>()) {
    text = *s;
  } else if (auto i = node->value<std::int64_t>()) {
    text = std::to_string(*i);
  } else {
    return error(key, where(key) + " must be a duration such as \"30s\"");
  }
  auto parsed = parse_duration(text);
  if (!parsed) return error(key, where(key) + ": " + parsed.error().detail);
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
  if (!value || !ymd.ok()) return error(key, where(key) + " must be a date, e.g. 2026-11-20");
  days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return {};
}

Result<void> Table::counts(std::string_view key, std::vector<std::uint64_t>& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  const toml::array* list = node->as_array();
  if (list == nullptr) return error(key, where(key) + " must be a list of counts");
  out.clear();
  for (const toml::node& item : *list) {
    auto value = item.value<std::int64_t>();
    if (!value || *value < 1) return error(key, where(key) + " must be a list of counts");
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
  if (array == nullptr) return error(key, where(key) + " must be a list of strings");
  out.clear();
  for (const toml::node& item : *array) {
    auto value = item.value<std::string>();
    if (!value) return error(key, where(key) + " must be a list of strings");
    out.push_back(*value);
  }
  return {};
}

Result<void> Table::string_map(std::string_view key, std::map<std::string, std::string>& out) {
  const auto* node = as_node(find(key));
  if (node == nullptr) return {};
  const toml::table* entries = node->as_table();
  if (entries == nullptr) return error(key, where(key) + " must be a table of strings");
  out.clear();
  for (const auto& [name, item] : *entries) {
    auto value = item.value<std::string>();
    if (!value) {
      return document_->error_at(line_of(item),
                                 where(key) + "." + std::string(name.str()) + " must be a string");
    }
    std::string lower(name.str());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[lower] = *value;
  }
  return {};
}

Result<void> Table::each(std::string_view key, const std::function<Result<void>(Table&)>& read) {
  const auto* node = as_node(find(key));
  // A value that is not an array is ignored, as it always was.
  const toml::array* entries = node == nullptr ? nullptr : node->as_array();
  if (entries == nullptr) return {};
  const std::string array_name = where(key);
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& entry = *entries->get(i);
    Table fields(document_, entry.as_table(), array_name + "[" + std::to_string(i) + "]");
    if (!fields.present()) {
      return document_->error_at(line_of(entry),
                                 fields.name() + " must be a table: [[" + array_name + "]]");
    }
    CONFIG_TRY(read(fields));
  }
  return {};
}

Result<void> Table::no_unknown_keys() const {
  if (table_ == nullptr) return {};
  for (const auto& [key, node] : *as_table(table_)) {
    if (!known_.contains(std::string(key.str()))) {
      return document_->error_at(line_of(node), "unknown key " + where(key.str()));
    }
  }
  return {};
}

Document::Document(std::unique_ptr<Impl> impl, std::string file_name)
    : impl_(std::move(impl)), file_name_(std::move(file_name)) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Result<Document> Document::parse(std::string_view text, std::string_view file_name) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->root = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream detail;
    detail << error.description() << " at " << error.source().begin;
    Document failed(nullptr, std::string(file_name));
    return failed.error_at(error.source().begin.line, detail.str());
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
    return error_at(line_of(*node),
                    array_name + " must be an array of tables: [[" + array_name + "]]");
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& entry = *entries->get(i);
    Table fields(this, entry.as_table(), array_name + "[" + std::to_string(i) + "]");
    if (!fields.present()) {
      return error_at(line_of(entry), fields.name() + " must be a table: [[" + array_name + "]]");
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
    if (!tables.contains(name)) return error_at(line_of(value), "unknown section [" + name + "]");
    if (!value.is_table()) return error_at(line_of(value), "[" + name + "] must be a table");
  }
  return {};
}

Unexpected<Error> Document::error_at(std::uint32_t line, const std::string& text) const {
  const std::string at = line == 0 ? file_name_ : file_name_ + ":" + std::to_string(line);
  return invalid(at + ": " + text);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return unexpected(std::make_error_code(std::errc::no_such_file_or_directory), "cannot read");
  }
  return text.str();
}

}  // namespace mta::config
