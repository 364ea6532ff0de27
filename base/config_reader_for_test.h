// Test helpers for the modules' section parsers: parse a TOML text, hand one [table] (or the
// whole file) to the parser under test, and return what it filled or the error it gave.
#pragma once

#include <string_view>
#include <utility>

#include "base/config_reader.h"
#include "base/result.h"

namespace mta::config {

// The file name every error of these helpers starts with.
inline constexpr std::string_view test_file_name = "test.toml";

// Runs `parse(Table&, Options&)` over [name] of `text`, starting from `out`'s values.
template <typename Options, typename Parse>
Result<Options> parse_table_for_test(std::string_view text, std::string_view name, Parse parse,
                                     Options out = {}) {
  auto file = Document::parse(text, test_file_name);
  if (!file) return unexpected(std::move(file).error());
  Table section = file->table(name);
  CONFIG_TRY(parse(section, out));
  return out;
}

// Runs `parse(const Document&, Options&)` over the whole of `text`.
template <typename Options, typename Parse>
Result<Options> parse_file_for_test(std::string_view text, Parse parse, Options out = {}) {
  auto file = Document::parse(text, test_file_name);
  if (!file) return unexpected(std::move(file).error());
  CONFIG_TRY(parse(*file, out));
  return out;
}

// The error's message, or "" when `result` holds a value.
template <typename T>
std::string error_for_test(const Result<T>& result) {
  return result ? std::string() : result.error().message();
}

}  // namespace mta::config
