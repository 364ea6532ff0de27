// Tests of Template: parse errors with their byte offsets, names(), and rendering with
// present, missing and repeated values (table-driven).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/concat.h"
#include "proto/mime/errc.h"
#include "proto/mime/template.h"

namespace mta::mime {
namespace {

TEST(Template, Renders) {
  const std::map<std::string, std::string, std::less<>> values = {
      {"first_name", "Ann"}, {"order.id", "A-17"}, {"empty", ""}, {"x", "{{first_name}}"}};
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  struct Case {
    std::string_view input;
    std::string_view want;
    std::vector<std::string> want_names;
  };
  const Case cases[] = {
      {"", "", {}},
      {"no placeholders", "no placeholders", {}},
      {"Hi {{first_name}}!", "Hi Ann!", {"first_name"}},
      {"Hi {{ first_name }}!", "Hi Ann!", {"first_name"}},
      {"Hi {{\tfirst_name  }}!", "Hi Ann!", {"first_name"}},
      {"{{first_name}}", "Ann", {"first_name"}},
      {"{{first_name}}{{first_name}}", "AnnAnn", {"first_name"}},
      {"Order {{order.id}} for {{first_name}}", "Order A-17 for Ann", {"order.id", "first_name"}},
      {"[{{missing}}]", "[]", {"missing"}},
      {"[{{empty}}]", "[]", {"empty"}},
      {"{{x}}", "{{first_name}}", {"x"}},  // values are not re-expanded
      {"a }} b } c {", "a }} b } c {", {}},
      {"{ {first_name}}", "{ {first_name}}", {}},
      {"caf\xc3\xa9 {{first_name}}", "caf\xc3\xa9 Ann", {"first_name"}},
      {"{{A-Z_a-z.0-9}}", "", {"A-Z_a-z.0-9"}},
  };
  for (const Case& c : cases) {
    auto t = Template::parse(c.input);
    ASSERT_TRUE(t.has_value()) << c.input << ": " << t.error().message();
    EXPECT_EQ(t->render(lookup), c.want) << c.input;
    EXPECT_EQ(t->names(), c.want_names) << c.input;
  }
}

TEST(Template, LookupSeesEachOccurrenceInOrder) {
  auto t = Template::parse("{{a}}-{{b}}-{{a}}");
  ASSERT_TRUE(t.has_value());
  std::vector<std::string> seen;
  std::string got = t->render([&](std::string_view name) -> std::optional<std::string_view> {
    seen.emplace_back(name);
    return name;
  });
  EXPECT_EQ(got, "a-b-a");
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "a"}));
}

TEST(Template, ParseErrors) {
  struct Case {
    std::string input;
    std::string_view want_detail;  // a substring of the error detail
  };
  const Case cases[] = {
      {"{{", "at byte 0: \"{{\" without a closing \"}}\""},
      {"Hi {{name", "at byte 3: \"{{\" without a closing"},
      {"Hi {{name}", "at byte 3: \"{{\" without a closing"},
      {"Hi {{name} }", "at byte 3: \"{{\" without a closing"},
      {"ok {{a}} then {{b", "at byte 14:"},
      {"{{}}", "at byte 0: empty placeholder name"},
      {"{{   }}", "at byte 0: empty placeholder name"},
      {"x{{first name}}", "at byte 1: invalid character at byte 9"},
      {"{{na!me}}", "at byte 0: invalid character at byte 4"},
      {"{{{name}}}", "at byte 0: invalid character at byte 2"},
      {"{{n\xc3\xa4me}}", "at byte 0: invalid character at byte 3"},
      {concat({"{{", std::string(65, 'a'), "}}"}), "longer than 64"},
  };
  for (const Case& c : cases) {
    auto t = Template::parse(c.input);
    ASSERT_FALSE(t.has_value()) << c.input;
    EXPECT_EQ(t.error().code, make_error_code(Errc::template_syntax));
    EXPECT_NE(t.error().detail.find(c.want_detail), std::string::npos)
        << c.input << ": " << t.error().detail;
  }
  EXPECT_TRUE(Template::parse(concat({"{{", std::string(64, 'a'), "}}"})).has_value());
}

}  // namespace
}  // namespace mta::mime
