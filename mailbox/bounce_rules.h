// Bounce classification rules as data: which Category a failed recipient falls in, and whether
// the failure is hard (stop mailing the address) or soft, from its enhanced status code
// (RFC 3463) and its diagnostic text. The rules are lines of text (bounce_rules.conf holds the
// defaults and documents the format); finding the status and text in a message is bounce.h's
// job. Pure; a parsed Rules is immutable and may be shared by every shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/result.h"

namespace mta::mailbox {

// Why a rules text does not parse; the error detail is "line N: what is wrong".
enum class RulesErrc {
  ok = 0,
  syntax = 1,          // a line that is not `<category> <hard|soft> <status|text> <pattern>`
  too_many_rules = 2,  // more than Rules::rules_max rules
};
const std::error_category& rules_error_category() noexcept;
inline std::error_code make_error_code(RulesErrc e) noexcept {
  return {static_cast<int>(e), rules_error_category()};
}

// What a bounce says about the recipient. The names are the rules file's and the logs'.
enum class Category : std::uint8_t {
  unknown,            // nothing recognised (soft)
  invalid_recipient,  // no such user or mailbox, disabled account (hard)
  mailbox_full,       // over quota (soft)
  policy,             // refused as spam or by local policy, authentication (SPF, DMARC) failures
  reputation,         // the sending IP or domain is on a blocklist or has a poor reputation (soft)
  dns_failure,        // the recipient domain does not exist or has no usable MX (hard unless 4xx)
  message_too_large,  // this message is over a size limit (soft: the address is fine)
  auto_reply,         // out-of-office and other automatic replies; not a failure (soft)
  complaint,          // a feedback-loop (ARF) complaint; hard for suppression purposes
};
inline constexpr std::size_t kCategoryCount = 9;

std::string_view to_string(Category category);
std::optional<Category> category_from_string(std::string_view name);

// The outcome of classifying one recipient.
struct Verdict {
  Category category = Category::unknown;
  bool hard = false;
  std::size_t rule_line = 0;  // line of the matching rule in its text; 0 when none matched

  bool operator==(const Verdict&) const = default;
};

// An ordered list of rules. Tried from the first to the last; the first that matches decides
// (the default file puts exact status codes first, then text patterns, then status classes, so
// that a generic 5.0.0 or 5.7.1 is decided by its text). Hard or soft as the rule says, except
// that a 4.x.x status is always soft. No match: unknown, soft.
class Rules {
 public:
  static constexpr std::size_t rules_max = 4096;
  static constexpr std::size_t pattern_bytes_max = 256;

  // Parses the rules format described in bounce_rules.conf. Errors carry RulesErrc and a
  // detail "line N: ...". Never throws.
  static Result<Rules> parse(std::string_view text);

  // The rules compiled into the binary from mailbox/bounce_rules.conf (parsed once; that they
  // parse is checked by bounce_test and asserted).
  static const Rules& default_rules();
  static std::string_view default_rules_text();

  // `status` is an enhanced status code ("5.1.1"; empty or malformed: none), `text` the
  // diagnostic text (any case and whitespace; only its first text_bytes_max bytes are read).
  Verdict classify(std::string_view status, std::string_view text) const;

  static constexpr std::size_t text_bytes_max = 2048;
  std::size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    Category category = Category::unknown;
    bool hard = false;
    bool is_status = false;
    std::vector<int> code;  // status rules: class, subject, detail given; -1 for "x"
    std::string text;       // text rules: lower-case, whitespace runs as one space
    std::size_t line = 0;
  };
  std::vector<Rule> rules_;
};

// The components of an RFC 3463 status code ("5.1.10" gives {5, 1, 10}), or nullopt when
// `code` is not class.subject.detail with class 2, 4 or 5 and 1 to 3 digits per number.
std::optional<std::vector<int>> parse_status_code(std::string_view code);

// ASCII lower case with every run of whitespace (space, tab, CR, LF) as one space and no
// leading or trailing space: what text rules are matched against, at most `bytes_max` bytes
// of input read.
std::string normalize_text(std::string_view text, std::size_t bytes_max);

}  // namespace mta::mailbox

template <>
struct std::is_error_code_enum<mta::mailbox::RulesErrc> : std::true_type {};
