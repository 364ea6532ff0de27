// ResponseRules: the line format, and the first match.
#include "delivery/response_rules.h"

#include <cctype>
#include <charconv>
#include <string>
#include <system_error>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/duration.h"
#include "delivery/response_rules_default.h"

namespace mta::delivery {
namespace {

Unexpected<Error> bad_line(std::size_t number, std::string why) {
  return unexpected(std::make_error_code(std::errc::invalid_argument),
                    "line " + std::to_string(number) + ": " + std::move(why));
}

void skip_spaces(std::string_view& text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
}

std::string_view take_word(std::string_view& text) {
  skip_spaces(text);
  std::size_t end = 0;
  while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
  const std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  return word;
}

bool parse_number(std::string_view text, double& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

Result<ResponseRules> ResponseRules::parse(std::string_view text) {
  ResponseRules rules;
  std::size_t number = 0;
  while (!text.empty()) {
    std::string_view line = take_line(text);
    ++number;
    skip_spaces(line);
    if (line.empty() || line.front() == '#') continue;

    ResponseRule rule;
    rule.name = std::string(take_word(line));
    const std::string_view code = take_word(line);
    if (code == "*") {
    } else if (code.size() == 3 && (code[0] == '4' || code[0] == '5') && code.substr(1) == "xx") {
      rule.code_class = code[0] - '0';
    } else if (code.size() == 3 && code[0] >= '2' && code[0] <= '5' &&
               std::isdigit(static_cast<unsigned char>(code[1])) &&
               std::isdigit(static_cast<unsigned char>(code[2]))) {
      rule.code = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    } else {
      return bad_line(
          number, "the code must be like 421, 4xx, 5xx or *, not \"" + std::string(code) + "\"");
    }
    skip_spaces(line);
    if (line.empty() || line.front() != '"') return bad_line(number, "the text must be quoted");
    const std::size_t close = line.find('"', 1);
    if (close == std::string_view::npos) return bad_line(number, "unterminated text");
    rule.text = ascii_lowercase(line.substr(1, close - 1));
    line.remove_prefix(close + 1);
    bool acts = false;
    for (std::string_view word = take_word(line); !word.empty(); word = take_word(line)) {
      const std::size_t equals = word.find('=');
      const std::string_view key = word.substr(0, equals);
      const std::string_view value =
          equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
      if (key == "suspend" || key == "recover") {
        auto duration = parse_duration(value);
        if (!duration || *duration <= Clock::Duration::zero()) {
          return bad_line(number, std::string(key) + "= takes a duration such as 10m");
        }
        (key == "suspend" ? rule.action.suspend : rule.action.recover) = *duration;
        acts = acts || key == "suspend";
      } else if (key == "connections" || key == "rate") {
        double amount = 0;
        if (!parse_number(value, amount) || amount <= 0) {
          return bad_line(number, std::string(key) + "= takes a number above 0");
        }
        if (key == "connections") {
          rule.action.connections = static_cast<std::size_t>(amount);
          if (rule.action.connections == 0) return bad_line(number, "connections= takes 1 or more");
        } else {
          rule.action.messages_per_second = amount;
        }
        acts = true;
      } else {
        return bad_line(number, "unknown action \"" + std::string(word) + "\"");
      }
    }
    if (!acts) return bad_line(number, "no action: give suspend=, connections= or rate=");
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

const ResponseRules& ResponseRules::defaults() {
  static const ResponseRules rules = [] {
    auto parsed = parse(
        std::string_view(detail::response_rules_default, detail::response_rules_default_size));
    MTA_ASSERT(parsed.has_value());  // the embedded file; delivery_test parses it too
    return std::move(parsed).value();
  }();
  return rules;
}

const ResponseRule* ResponseRules::match(int code, std::string_view text) const {
  std::string lowered;
  for (const auto& rule : rules_) {
    if (rule.code != 0 && rule.code != code) continue;
    if (rule.code_class != 0 && rule.code_class != code / 100) continue;
    if (!rule.text.empty()) {
      if (lowered.empty()) lowered = ascii_lowercase(text);
      if (lowered.find(rule.text) == std::string::npos) continue;
    }
    return &rule;
  }
  return nullptr;
}

}  // namespace mta::delivery
