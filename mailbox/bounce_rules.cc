// Rules::parse and Rules::classify. Patterns are plain case-insensitive substrings and status
// prefixes, not regular expressions: matching is a bounded scan of at most text_bytes_max
// bytes per rule, with no backtracking, no recursion and nothing that can throw.
#include "mailbox/bounce_rules.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/concat.h"
#include "mailbox/bounce_rules_default.h"

namespace mta::mailbox {

namespace {

constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {
    "unknown",     "invalid_recipient", "mailbox_full", "policy",    "reputation",
    "dns_failure", "message_too_large", "auto_reply",   "complaint",
};

class RulesCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "bounce_rules"; }
  std::string message(int value) const override {
    switch (static_cast<RulesErrc>(value)) {
      case RulesErrc::ok:
        return "ok";
      case RulesErrc::syntax:
        return "bounce rules syntax error";
      case RulesErrc::too_many_rules:
        return "too many bounce rules";
    }
    return "unknown bounce rules error " + std::to_string(value);
  }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The next blank-separated word of `line`, removed from it.
std::string_view next_word(std::string_view& line) {
  line = trim(line);
  std::size_t end = 0;
  while (end < line.size() && !is_space(line[end])) ++end;
  std::string_view word = line.substr(0, end);
  line.remove_prefix(end);
  return word;
}

// A status pattern: 1 to 3 dot-separated numbers (1-3 digits) or "x"; the class, if given as a
// number, is 2, 4 or 5.
std::optional<std::vector<int>> parse_status_pattern(std::string_view pattern) {
  std::vector<int> out;
  while (true) {
    std::size_t dot = pattern.find('.');
    std::string_view part = pattern.substr(0, dot);
    if (part == "x" || part == "X") {
      out.push_back(-1);
    } else {
      if (part.empty() || part.size() > 3) return std::nullopt;
      int value = 0;
      auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
      if (error != std::errc() || end != part.data() + part.size()) return std::nullopt;
      out.push_back(value);
    }
    if (out.size() > 3) return std::nullopt;
    if (dot == std::string_view::npos) break;
    pattern.remove_prefix(dot + 1);
  }
  if (out[0] != -1 && out[0] != 2 && out[0] != 4 && out[0] != 5) return std::nullopt;
  return out;
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// A text pattern matches where a word starts ("rbl" is not found in "verbless"); it may end
// inside a word ("blacklist" matches "blacklisted").
bool contains_at_word_start(std::string_view text, std::string_view pattern) {
  for (std::size_t at = text.find(pattern); at != std::string_view::npos;
       at = text.find(pattern, at + 1)) {
    if (at == 0 || !is_alnum(text[at - 1]) || !is_alnum(pattern.front())) return true;
  }
  return false;
}

Unexpected<Error> line_error(RulesErrc code, std::size_t line, std::string_view what) {
  return unexpected(make_error_code(code), concat({"line ", std::to_string(line), ": ", what}));
}

}  // namespace

const std::error_category& rules_error_category() noexcept {
  static const RulesCategory category;
  return category;
}

std::string_view to_string(Category category) {
  std::size_t index = static_cast<std::size_t>(category);
  MTA_ASSERT(index < kCategoryNames.size());
  return kCategoryNames[index];
}

std::optional<Category> category_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (iequals(kCategoryNames[i], name)) return static_cast<Category>(i);
  }
  return std::nullopt;
}

std::optional<std::vector<int>> parse_status_code(std::string_view code) {
  if (code.size() < 5 || code.size() > 11) return std::nullopt;
  for (char c : code) {
    if (c != '.' && (c < '0' || c > '9')) return std::nullopt;
  }
  std::optional<std::vector<int>> parts = parse_status_pattern(code);
  if (!parts || parts->size() != 3) return std::nullopt;
  return parts;
}

std::string normalize_text(std::string_view text, std::size_t bytes_max) {
  text = text.substr(0, bytes_max);
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += ascii_lower(c);
  }
  return out;
}

// Format (documented in bounce_rules.conf):
//   rule     = category blanks severity blanks kind blanks pattern
//   severity = "hard" / "soft"
//   kind     = "status" / "text"
// Blank lines and lines whose first non-blank character is '#' are ignored.
Result<Rules> Rules::parse(std::string_view text) {
  Rules rules;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::string_view line = trim(take_line(text));
    if (line.empty() || line.front() == '#') continue;

    Rule rule;
    rule.line = line_number;
    std::string_view category = next_word(line);
    std::optional<Category> parsed = category_from_string(category);
    if (!parsed) {
      return line_error(RulesErrc::syntax, line_number,
                        concat({"unknown category '", category, "'"}));
    }
    rule.category = *parsed;
    std::string_view severity = next_word(line);
    if (severity == "hard") {
      rule.hard = true;
    } else if (severity != "soft") {
      return line_error(RulesErrc::syntax, line_number,
                        concat({"expected hard or soft, not '", severity, "'"}));
    }
    std::string_view kind = next_word(line);
    if (kind != "status" && kind != "text") {
      return line_error(RulesErrc::syntax, line_number,
                        concat({"expected status or text, not '", kind, "'"}));
    }
    std::string_view pattern = trim(line);
    if (pattern.empty()) {
      return line_error(RulesErrc::syntax, line_number, "missing pattern");
    }
    if (pattern.size() > pattern_bytes_max) {
      return line_error(RulesErrc::syntax, line_number, "pattern too long");
    }
    if (kind == "status") {
      std::optional<std::vector<int>> code = parse_status_pattern(pattern);
      if (!code) {
        return line_error(RulesErrc::syntax, line_number,
                          concat({"bad status pattern '", pattern,
                                  "' (want 1 to 3 dot-separated numbers or x, e.g. 5.1.1)"}));
      }
      rule.is_status = true;
      rule.code = std::move(*code);
    } else {
      rule.text = normalize_text(pattern, pattern_bytes_max);
    }
    if (rules.rules_.size() == rules_max) {
      return line_error(RulesErrc::too_many_rules, line_number,
                        concat({"more than ", std::to_string(rules_max), " rules"}));
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

std::string_view Rules::default_rules_text() {
  return std::string_view(detail::bounce_rules_default, detail::bounce_rules_default_size);
}

const Rules& Rules::default_rules() {
  static const Rules rules = [] {
    Result<Rules> parsed = parse(default_rules_text());
    MTA_ASSERT(parsed.has_value());  // Our own file; bounce_test parses it too.
    return std::move(parsed).value();
  }();
  return rules;
}

Verdict Rules::classify(std::string_view status, std::string_view text) const {
  std::optional<std::vector<int>> code = parse_status_code(trim(status));
  const std::string normalized = normalize_text(text, text_bytes_max);
  const bool temporary = code && (*code)[0] == 4;
  for (const Rule& rule : rules_) {
    bool match = false;
    if (rule.is_status) {
      if (code) {
        match = true;
        for (std::size_t i = 0; i < rule.code.size(); ++i) {
          if (rule.code[i] != -1 && rule.code[i] != (*code)[i]) match = false;
        }
      }
    } else {
      match = contains_at_word_start(normalized, rule.text);
    }
    if (match) return Verdict{rule.category, rule.hard && !temporary, rule.line};
  }
  return Verdict{};
}

}  // namespace mta::mailbox
