// Response rules: the format, its errors, what matches, and the embedded defaults.
#include "delivery/response_rules.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;

TEST(ResponseRules, ParsesCodesTextAndActions) {
  auto rules = ResponseRules::parse(R"(
# comment
exact   421 "Rate Limit"   suspend=2m
klass   4xx "4.7.28"       connections=2 rate=0.5 recover=30s
any     *   ""             connections=1
)");
  ASSERT_TRUE(rules.has_value()) << rules.error().message();
  ASSERT_EQ(rules->size(), 3u);
  const ResponseRule* exact = rules->match(421, "4.7.0 rate limit exceeded");
  ASSERT_NE(exact, nullptr);
  EXPECT_EQ(exact->name, "exact");
  EXPECT_EQ(exact->action.suspend, 2min);
  EXPECT_FALSE(exact->action.throttles());
  const ResponseRule* klass = rules->match(450, "4.7.28 our system has detected an unusual rate");
  ASSERT_NE(klass, nullptr);
  EXPECT_EQ(klass->name, "klass");
  EXPECT_EQ(klass->action.connections, 2u);
  EXPECT_EQ(klass->action.messages_per_second, 0.5);
  EXPECT_EQ(klass->action.recover, 30s);
  // The first rule wins; "*" and "" take whatever is left.
  EXPECT_EQ(rules->match(421, "RATE LIMIT 4.7.28")->name, "exact");
  EXPECT_EQ(rules->match(550, "5.1.1 no such user")->name, "any");
}

TEST(ResponseRules, NothingMatchesWithoutARule) {
  auto rules = ResponseRules::parse("r 5xx \"spamhaus\" suspend=1h\n");
  ASSERT_TRUE(rules.has_value());
  EXPECT_EQ(rules->match(451, "spamhaus"), nullptr);  // the class differs
  EXPECT_EQ(rules->match(550, "user unknown"), nullptr);
  EXPECT_NE(rules->match(554, "5.7.1 Listed at SpamHaus ZEN"), nullptr);
}

TEST(ResponseRules, ErrorsNameTheLine) {
  const auto error = [](const char* text) {
    auto rules = ResponseRules::parse(text);
    return rules ? std::string() : rules.error().message();
  };
  EXPECT_NE(error("\n\nr 6xx \"x\" suspend=1m\n").find("line 3"), std::string::npos);
  EXPECT_NE(error("r 4xx x suspend=1m\n").find("quoted"), std::string::npos);
  EXPECT_NE(error("r 4xx \"x suspend=1m\n").find("unterminated"), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\"\n").find("no action"), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\" recover=1m\n").find("no action"), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\" suspend=soon\n").find("duration"), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\" rate=-1\n").find("rate="), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\" connections=0.5\n").find("connections="), std::string::npos);
  EXPECT_NE(error("r 4xx \"x\" pause=1m\n").find("unknown action"), std::string::npos);
}

TEST(ResponseRules, TheDefaultsKnowTheBigProviders) {
  const ResponseRules& rules = ResponseRules::defaults();
  EXPECT_GT(rules.size(), 10u);
  const auto name = [&](int code, const char* text) {
    const ResponseRule* rule = rules.match(code, text);
    return rule ? rule->name : std::string("none");
  };
  EXPECT_EQ(name(421, "4.7.28 Our system has detected an unusual rate of unsolicited mail"),
            "gmail-rate");
  EXPECT_EQ(name(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred"), "yahoo-rate");
  EXPECT_EQ(name(451, "4.7.650 The mail server [192.0.2.1] has been temporarily rate limited"),
            "outlook-throttled");
  EXPECT_EQ(name(554, "5.7.1 Service unavailable; client host blocked using Spamhaus"),
            "spamhaus-listed");
  EXPECT_EQ(name(421, "4.7.0 Too many connections from your host"), "too-many-connections");
  // Greylisting and ordinary failures are left to the retry schedule.
  EXPECT_EQ(name(451, "4.7.1 Greylisted, please try again later"), "none");
  EXPECT_EQ(name(550, "5.1.1 user unknown"), "none");
  EXPECT_EQ(name(250, "2.0.0 Ok"), "none");
}

}  // namespace
}  // namespace mta::delivery
