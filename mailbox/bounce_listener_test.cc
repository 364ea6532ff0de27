// The bounce intake's RCPT check: only the bounce domain, whatever its case.
#include "mailbox/bounce_listener.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mta::mailbox {
namespace {

TEST(BounceListener, RecipientsOutsideTheBounceDomainAreRefused) {
  struct Case {
    std::string recipient;
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {"bounce+abc@bounces.example", std::nullopt},
      {"Bounce@BOUNCES.Example", std::nullopt},
      {"quoted\"@\"name@bounces.example", std::nullopt},
      {"someone@example.com",
       "550 5.7.1 <someone@example.com>: Recipient address rejected: only bounces.example is "
       "served here"},
      {"someone@sub.bounces.example",
       "550 5.7.1 <someone@sub.bounces.example>: Recipient address rejected: only "
       "bounces.example is served here"},
      {"postmaster",
       "550 5.7.1 <postmaster>: Recipient address rejected: only bounces.example is served "
       "here"},
  };
  for (const Case& c : cases) {
    const std::optional<std::string> got = refuse_other_domain(c.recipient, "bounces.example");
    EXPECT_EQ(got, c.want) << c.recipient;
  }
}

}  // namespace
}  // namespace mta::mailbox
