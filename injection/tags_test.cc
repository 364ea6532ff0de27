// Tests of the X-Outpost-* tag fields: found in any case and folding, removed from the header
// section only, validated, and the rest of the message left byte for byte.
#include "injection/tags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::injection {
namespace {

TEST(Tags, ValidTagNames) {
  EXPECT_TRUE(valid_tag("acme"));
  EXPECT_TRUE(valid_tag("Acme-Corp_2.eu"));
  EXPECT_TRUE(valid_tag(std::string(64, 'a')));
  EXPECT_FALSE(valid_tag(""));
  EXPECT_FALSE(valid_tag(std::string(65, 'a')));
  for (const char* bad : {"a b", "a/b", "a:b", "a\"b", "a\x01", "caf\xc3\xa9"}) {
    EXPECT_FALSE(valid_tag(bad)) << bad;
  }
  EXPECT_EQ(parse_traffic_class("BULK"), queue::TrafficClass::bulk);
  EXPECT_EQ(parse_traffic_class("transactional"), queue::TrafficClass::transactional);
  EXPECT_EQ(parse_traffic_class("marketing"), std::nullopt);
}

TEST(Tags, TakesTheFieldsAndLeavesTheRest) {
  struct Case {
    std::string name;
    std::string message;
    std::string want_message;
    Tags want;
  };
  const std::vector<Case> cases = {
      {"none", "Subject: hi\r\n\r\nbody\r\n", "Subject: hi\r\n\r\nbody\r\n", {}},
      {"all_four",
       "X-Outpost-Tenant: acme\r\nSubject: hi\r\nx-outpost-campaign:  spring-2026 \r\n"
       "X-OUTPOST-CLASS: Bulk\r\nX-Outpost-Pool: shared\r\n\r\nbody\r\n",
       "Subject: hi\r\n\r\nbody\r\n",
       {.tenant = "acme",
        .campaign = "spring-2026",
        .traffic_class = queue::TrafficClass::bulk,
        .pool = "shared"}},
      {"folded_value",
       "Subject: a\r\nX-Outpost-Tenant:\r\n acme\r\nTo: b\r\n\r\n",
       "Subject: a\r\nTo: b\r\n\r\n",
       {.tenant = "acme"}},
      {"lf_lines",
       "X-Outpost-Tenant: acme\nSubject: a\n\nbody\n",
       "Subject: a\n\nbody\n",
       {.tenant = "acme"}},
      {"same_value_twice",
       "X-Outpost-Tenant: acme\r\nX-Outpost-Tenant: acme\r\n\r\n",
       "\r\n",
       {.tenant = "acme"}},
      {"body_lines_untouched",
       "Subject: a\r\n\r\nX-Outpost-Tenant: evil\r\n",
       "Subject: a\r\n\r\nX-Outpost-Tenant: evil\r\n",
       {}},
      {"similar_name_kept",
       "X-Outpost-Tenants: a\r\nX-Outpost-Tenant-Id: b\r\n\r\n",
       "X-Outpost-Tenants: a\r\nX-Outpost-Tenant-Id: b\r\n\r\n",
       {}},
      {"continuation_of_other_field_kept",
       "Subject: a\r\n X-Outpost-Tenant: b\r\n\r\n",
       "Subject: a\r\n X-Outpost-Tenant: b\r\n\r\n",
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string message = c.message;
    Tags tags;
    const auto error = take_tag_fields(message, tags);
    ASSERT_FALSE(error.has_value()) << *error;
    EXPECT_EQ(message, c.want_message);
    EXPECT_EQ(tags.tenant, c.want.tenant);
    EXPECT_EQ(tags.campaign, c.want.campaign);
    EXPECT_EQ(tags.traffic_class, c.want.traffic_class);
    EXPECT_EQ(tags.pool, c.want.pool);
  }
}

TEST(Tags, RefusesBadValues) {
  const std::vector<std::string> messages = {
      "X-Outpost-Tenant: a b\r\n\r\n",
      "X-Outpost-Tenant:\r\n\r\n",
      "X-Outpost-Tenant: " + std::string(65, 't') + "\r\n\r\n",
      "X-Outpost-Campaign: <script>\r\n\r\n",
      "X-Outpost-Class: marketing\r\n\r\n",
      "X-Outpost-Pool: a/b\r\n\r\n",
      "X-Outpost-Tenant: a\r\nX-Outpost-Tenant: b\r\n\r\n",
      "X-Outpost-Class: bulk\r\nX-Outpost-Class: transactional\r\n\r\n",
  };
  for (const std::string& message : messages) {
    SCOPED_TRACE(message);
    std::string copy = message;
    Tags tags;
    const auto error = take_tag_fields(copy, tags);
    ASSERT_TRUE(error.has_value());
    EXPECT_NE(error->find("X-Outpost-"), std::string::npos);
  }
}

}  // namespace
}  // namespace mta::injection
