// Reads the operator's TOML configuration for the modules that own its sections: each module
// parses its own [section] through a config::Table, and app/ only composes them. Every value
// keeps the file and line it came from, so every error reads "FILE:LINE: KEY: problem", and
// the lines outlive the parse (config::Locations) for the checks made later. Reading is
// strict: a key that no parser asked for is an error naming it, with the closest known key as
// a suggestion, and so is a value of the wrong type. toml++ stays inside config_reader.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace mta::config {

// Returns early from the enclosing function (which returns a Result) when `expr` failed.
#define CONFIG_TRY(expr)                       \
  do {                                         \
    if (auto r = (expr); !r) {                 \
      return unexpected(std::move(r).error()); \
    }                                          \
  } while (false)

class Document;

// Where each key of one file is: its line, by dotted name ("log.level", "dkim[0].key",
// "delivery.source[1].address"), kept after the file is parsed so that checks made later (a
// listen address that does not parse, a key file that cannot be read) name the line too.
// Default-constructed: no file (the built-in defaults), errors name the key alone.
class Locations {
 public:
  const std::string& file_name() const { return file_name_; }
  // The line of `key`, else of the nearest table holding it ("dkim[0]", "dkim"); 0: unknown.
  std::uint32_t line(std::string_view key) const;
  // "FILE:LINE: key: text", as Table::error gives it.
  Unexpected<Error> error(std::string_view key, std::string_view text) const;

 private:
  friend class Document;
  std::string file_name_;
  std::map<std::string, std::uint32_t, std::less<>> lines_;
};

// The one form of every configuration error: "FILE:LINE: KEY: problem", with "FILE:" alone
// when the line is unknown (0) and neither when there is no file. `text` says what is wrong
// ("must be a string, not an integer"); a leading repetition of the key or of its table's
// name ("log.level must be ...") is dropped, so older messages come out in the same form.
Unexpected<Error> located_error(std::string_view file_name, std::uint32_t line,
                                std::string_view key, std::string_view text);

// One table of the file: a [section], or one entry of a [[section]] array. Reads key by key,
// remembering which keys were asked for so no_unknown_keys() can name the rest. Every reader
// leaves `out` untouched when the key is absent: the caller's defaults stay. A Table lives no
// longer than the Document it came from.
class Table {
 public:
  const std::string& name() const { return name_; }  // "delivery", "delivery.source[0]"
  bool present() const { return table_ != nullptr; }

  Result<void> string(std::string_view key, std::string& out);
  template <typename Int>
  Result<void> integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    std::optional<std::int64_t> value;
    if (auto read = integer64(key, value, min, max); !read) return read;
    if (value) out = static_cast<Int>(*value);
    return {};
  }
  Result<void> boolean(std::string_view key, bool& out);
  Result<void> number(std::string_view key, double& out, double min, double max);  // ints too
  // "250ms", "30s", "5m", "2h", "1d", or a bare integer of seconds (base/duration.h).
  Result<void> duration(std::string_view key, Clock::Duration& out);
  // A calendar date: a TOML date (2026-11-20) or a string of one, as days since 1970-01-01.
  Result<void> date(std::string_view key, std::optional<std::int64_t>& days);
  // A list of positive integers.
  Result<void> counts(std::string_view key, std::vector<std::uint64_t>& out);
  // A list of strings; a single string counts as a list of one.
  Result<void> string_list(std::string_view key, std::vector<std::string>& out);
  // A table of string values, keys lower-cased: [section.key] "name" = "value".
  Result<void> string_map(std::string_view key, std::map<std::string, std::string>& out);
  // [[section.key]]: calls `read` with each entry, a Table named "section.key[i]". Fails when
  // the value is not an array of tables (`key = 1`, a single [section.key]), naming
  // [[section.key]].
  Result<void> each(std::string_view key, const std::function<Result<void>(Table&)>& read);

  // Fails naming the first key of this table that no reader above asked for, with the closest
  // key they did ask for when one is near: "log.levle: unknown key (did you mean log.level?)".
  Result<void> no_unknown_keys() const;

  // An error about `key`, at its line (the table's when the key is absent):
  // "FILE:LINE: name.key: text" (located_error).
  Unexpected<Error> error(std::string_view key, const std::string& text) const;
  // An error about the table itself, at its own line: "FILE:LINE: name: text".
  Unexpected<Error> error(const std::string& text) const;

 private:
  friend class Document;
  Table(const Document* document, const void* table, std::string name);
  const void* find(std::string_view key);  // a toml::node*, marking the key as known
  Result<void> integer64(std::string_view key, std::optional<std::int64_t>& out, std::int64_t min,
                         std::int64_t max);
  std::string where(std::string_view key) const { return name_ + "." + std::string(key); }

  const Document* document_;
  const void* table_;  // a toml::table*, nullptr when the section is absent
  std::string name_;
  std::set<std::string> known_;
};

// One parsed file. Sections are handed out as Tables; check_sections() then refuses the
// top-level names no module owns.
class Document {
 public:
  // Fails with the syntax error's file and line.
  static Result<Document> parse(std::string_view text, std::string_view file_name);
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  const std::string& file_name() const { return file_name_; }
  // [name]; absent (or not a table: check_sections() reports that) reads as empty.
  Table table(std::string_view name) const;
  // [[name]] at the top level: calls `read` with each entry, a Table named "name[i]".
  Result<void> each(std::string_view name, const std::function<Result<void>(Table&)>& read) const;
  // Every top-level name must be in `tables` (a [table]) or `arrays` ([[array]] of tables); an
  // unknown one is an error suggesting the closest known name.
  Result<void> check_sections(const std::set<std::string>& tables,
                              const std::set<std::string>& arrays) const;

  // Every key's line, for checks made after parsing.
  const Locations& locations() const { return locations_; }

  // "FILE:LINE: key: text" (located_error).
  Unexpected<Error> error_at(std::uint32_t line, std::string_view key, std::string_view text) const;

 private:
  struct Impl;
  Document(std::unique_ptr<Impl> impl, std::string file_name);
  std::unique_ptr<Impl> impl_;
  std::string file_name_;
  Locations locations_;
};

// The whole of a file (config, rule files); fails with the system's error (ENOENT, EACCES,
// EISDIR) and "cannot read PATH".
Result<std::string> read_file(const std::string& path);

}  // namespace mta::config
