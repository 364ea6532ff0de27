// Rules::parse (every kind of bad line, reported with its line number), the classification
// order (first match in file order, 4.x.x always soft, word-start text matching) and the
// embedded default rules (identical to bounce_rules.conf, and deciding the usual cases).
#include "mailbox/bounce_rules.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace mta::mailbox {
namespace {

TEST(BounceRules, CategoryNamesRoundTrip) {
  for (std::size_t i = 0; i < kCategoryCount; ++i) {
    Category category = static_cast<Category>(i);
    EXPECT_EQ(category_from_string(to_string(category)), category) << i;
  }
  EXPECT_EQ(category_from_string("INVALID_RECIPIENT"), Category::invalid_recipient);
  EXPECT_FALSE(category_from_string("bogus"));
  EXPECT_FALSE(category_from_string(""));
}

TEST(BounceRules, ParseErrorsNameTheLine) {
  struct Case {
    std::string text;
    RulesErrc code;
    std::string_view detail;
  };
  const Case cases[] = {
      {"nonsense hard status 5.1.1", RulesErrc::syntax, "line 1: unknown category 'nonsense'"},
      {"# comment\n\npolicy medium text spam", RulesErrc::syntax,
       "line 3: expected hard or soft, not 'medium'"},
      {"policy soft regex spam", RulesErrc::syntax, "line 1: expected status or text, not 'regex'"},
      {"policy soft text", RulesErrc::syntax, "line 1: missing pattern"},
      {"policy soft text   \t ", RulesErrc::syntax, "line 1: missing pattern"},
      {"policy soft", RulesErrc::syntax, "line 1: expected status or text, not ''"},
      {"invalid_recipient hard status 5.1.1\r\ninvalid_recipient hard status 3.1.1",
       RulesErrc::syntax, "line 2: bad status pattern '3.1.1'"},
      {"invalid_recipient hard status 5.1.1.1", RulesErrc::syntax,
       "line 1: bad status pattern '5.1.1.1'"},
      {"invalid_recipient hard status 5.1000", RulesErrc::syntax,
       "line 1: bad status pattern '5.1000'"},
      {"invalid_recipient hard status 5..1", RulesErrc::syntax,
       "line 1: bad status pattern '5..1'"},
      {"invalid_recipient hard status 5.a", RulesErrc::syntax, "line 1: bad status pattern '5.a'"},
      {"invalid_recipient hard status 5.1.1 trailing", RulesErrc::syntax,
       "line 1: bad status pattern '5.1.1 trailing'"},
      {"policy soft text " + std::string(300, 'a'), RulesErrc::syntax, "line 1: pattern too long"},
  };
  for (const Case& c : cases) {
    Result<Rules> got = Rules::parse(c.text);
    ASSERT_FALSE(got.has_value()) << c.text;
    EXPECT_EQ(got.error().code, make_error_code(c.code)) << c.text;
    EXPECT_TRUE(got.error().detail.starts_with(c.detail)) << got.error().detail;
    EXPECT_NE(got.error().message().find("bounce rules"), std::string::npos);
  }
}

TEST(BounceRules, TooManyRules) {
  std::string text;
  for (std::size_t i = 0; i <= Rules::rules_max; ++i) text += "policy soft text spam\n";
  Result<Rules> got = Rules::parse(text);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, make_error_code(RulesErrc::too_many_rules));
  EXPECT_EQ(got.error().detail, "line 4097: more than 4096 rules");
}

TEST(BounceRules, AcceptsCommentsBlanksAndCase) {
  Result<Rules> got = Rules::parse(
      "  # indented comment\n"
      "\n"
      "Invalid_Recipient   hard\tstatus  X.1.1\n"
      "policy soft text Has #5.7.1   In It\n");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->size(), 2u);
  EXPECT_EQ(got->classify("5.1.1", ""), (Verdict{Category::invalid_recipient, true, 3}));
  EXPECT_EQ(got->classify("", "it has  #5.7.1\r\n in it"), (Verdict{Category::policy, false, 4}));
  EXPECT_TRUE(Rules::parse("").has_value());
}

TEST(BounceRules, StatusPatterns) {
  Result<Rules> rules = Rules::parse(
      "invalid_recipient hard status 5.1.1\n"  // line 1
      "dns_failure hard status x.1.2\n"        // line 2
      "policy soft status 5.7\n"               // line 3
      "unknown hard status 5\n");              // line 4
  ASSERT_TRUE(rules.has_value());
  struct Case {
    std::string_view status;
    Verdict want;
  };
  const Case cases[] = {
      {"5.1.1", {Category::invalid_recipient, true, 1}},
      {"5.1.10", {Category::unknown, true, 4}},      // 5.1.1 is not a prefix of 5.1.10
      {"4.1.2", {Category::dns_failure, false, 2}},  // 4.x.x is soft whatever the rule says
      {"5.1.2", {Category::dns_failure, true, 2}},
      {"5.7.26", {Category::policy, false, 3}},
      {"4.7.1", {}},  // no 4.x rule
      {"5.0.0", {Category::unknown, true, 4}},
      {"", {}},
      {"5.1", {}},    // not a status code
      {"9.1.1", {}},  // not a status code
      {" 5.1.1 ", {Category::invalid_recipient, true, 1}},
  };
  for (const Case& c : cases) EXPECT_EQ(rules->classify(c.status, ""), c.want) << c.status;
}

TEST(BounceRules, FirstMatchInFileOrderDecides) {
  Result<Rules> rules = Rules::parse(
      "invalid_recipient hard status 5.1.1\n"       // 1: an exact code beats every text
      "reputation soft text spamhaus\n"             // 2
      "policy soft text spam\n"                     // 3
      "invalid_recipient hard text user unknown\n"  // 4
      "policy soft status 5.7\n");                  // 5: a class only after the texts
  ASSERT_TRUE(rules.has_value());
  struct Case {
    std::string_view status, text;
    Verdict want;
  };
  const Case cases[] = {
      {"5.1.1", "blocked using spamhaus", {Category::invalid_recipient, true, 1}},
      {"5.7.1", "blocked using SPAMHAUS", {Category::reputation, false, 2}},
      {"5.7.1", "looks like spam", {Category::policy, false, 3}},
      {"5.7.1", "nothing we know", {Category::policy, false, 5}},
      {"5.0.0", "550 User   Unknown", {Category::invalid_recipient, true, 4}},
      {"", "user unknown", {Category::invalid_recipient, true, 4}},  // no code: flag as written
      {"4.0.0", "user unknown", {Category::invalid_recipient, false, 4}},
      {"5.0.0", "antispam says no", {}},  // patterns match at a word start only
      {"5.0.0", "(spam) refused", {Category::policy, false, 3}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(rules->classify(c.status, c.text), c.want) << c.status << " " << c.text;
  }
}

TEST(BounceRules, TextBeyondTheCapIsNotRead) {
  Result<Rules> rules = Rules::parse("policy soft text needle\n");
  ASSERT_TRUE(rules.has_value());
  std::string text(Rules::text_bytes_max, 'x');
  text += " needle";
  EXPECT_EQ(rules->classify("", text).rule_line, 0u);
  EXPECT_EQ(rules->classify("", "x needle").rule_line, 1u);
}

TEST(BounceRules, NormalizeText) {
  EXPECT_EQ(normalize_text("  A\r\n\tB  c ", 100), "a b c");
  EXPECT_EQ(normalize_text("ABCDEF", 3), "abc");
  EXPECT_EQ(normalize_text("", 3), "");
}

TEST(BounceRules, StatusCodes) {
  EXPECT_EQ(parse_status_code("5.1.10"), (std::vector<int>{5, 1, 10}));
  EXPECT_EQ(parse_status_code("2.0.0"), (std::vector<int>{2, 0, 0}));
  for (std::string_view bad :
       {"", "5.1", "5.1.1.1", "x.1.1", "3.1.1", "5.1.1000", "5.1.", "5 1 1"}) {
    EXPECT_FALSE(parse_status_code(bad)) << bad;
  }
}

TEST(BounceRules, DefaultsAreTheRulesFile) {
  std::ifstream in(BOUNCE_RULES_FILE, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(Rules::default_rules_text(), file);
  Result<Rules> parsed = Rules::parse(file);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->size(), Rules::default_rules().size());
  EXPECT_GT(Rules::default_rules().size(), 50u);
}

TEST(BounceRules, DefaultPrecedence) {
  const Rules& rules = Rules::default_rules();
  struct Case {
    std::string_view status, text;
    Category category;
    bool hard;
  };
  const Case cases[] = {
      {"5.1.1", "550 5.1.1 user unknown", Category::invalid_recipient, true},
      {"5.1.10", "RESOLVER.ADR.RecipientNotFound", Category::invalid_recipient, true},
      {"5.2.2", "mailbox full", Category::mailbox_full, false},
      {"4.2.2", "mailbox full", Category::mailbox_full, false},
      {"5.3.4", "message size exceeds fixed maximum", Category::message_too_large, false},
      {"5.4.4", "", Category::dns_failure, true},
      {"4.4.4", "", Category::dns_failure, false},
      {"5.7.1", "Client host [192.0.2.1] blocked using zen.spamhaus.org", Category::reputation,
       false},
      {"5.7.1", "Message rejected as spam", Category::policy, false},
      {"5.7.1", "we do not like you", Category::policy, false},
      {"5.7.26", "unauthenticated email", Category::policy, false},
      {"5.7.606", "Access denied, banned sending IP", Category::reputation, false},
      {"5.0.0", "550 Requested action not taken: mailbox unavailable", Category::invalid_recipient,
       true},
      {"5.0.0", "Host or domain name not found", Category::dns_failure, true},
      {"5.5.0", "User is over quota", Category::mailbox_full, false},
      {"5.0.0", "something odd happened", Category::unknown, false},
      {"4.0.0", "try again later", Category::unknown, false},
      {"5.1.0", "who knows", Category::invalid_recipient, true},
      {"", "", Category::unknown, false},
  };
  for (const Case& c : cases) {
    Verdict got = rules.classify(c.status, c.text);
    EXPECT_EQ(got.category, c.category) << c.status << " " << c.text;
    EXPECT_EQ(got.hard, c.hard) << c.status << " " << c.text;
  }
}

}  // namespace
}  // namespace mta::mailbox
