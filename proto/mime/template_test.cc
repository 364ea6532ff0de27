// Tests of Template: parse errors with their byte offsets, names(), and rendering with
// present, defaulted, missing and repeated values (table-driven).
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
      {"[{{empty}}]", "[]", {"empty"}},
      {"Hi {{missing|there}}!", "Hi there!", {"missing"}},
      {"Hi {{ missing | my friend }}!", "Hi my friend!", {"missing"}},
      {"Hi {{missing|\tthere\t}}!", "Hi there!", {"missing"}},
      {"[{{missing|}}]", "[]", {"missing"}},
      {"Hi {{first_name|there}}!", "Hi Ann!", {"first_name"}},  // a value wins
      {"[{{empty|none}}]", "[]", {"empty"}},                    // even an empty one
      {"{{missing|a}b|c}}", "a}b|c", {"missing"}},
      {"{{missing|x}}}", "x}", {"missing"}},
      {"{{missing|caf\xc3\xa9}}", "caf\xc3\xa9", {"missing"}},
      {"{{x}}", "{{first_name}}", {"x"}},  // values are not re-expanded
      {"a }} b } c {", "a }} b } c {", {}},
      {"{ {first_name}}", "{ {first_name}}", {}},
      {"caf\xc3\xa9 {{first_name}}", "caf\xc3\xa9 Ann", {"first_name"}},
      {"{{A-Z_a-z.0-9|}}", "", {"A-Z_a-z.0-9"}},
  };
  for (const Case& c : cases) {
    auto t = Template::parse(c.input);
    ASSERT_TRUE(t.has_value()) << c.input << ": " << t.error().message();
    auto got = t->render(lookup);
    ASSERT_TRUE(got.has_value()) << c.input << ": " << got.error().detail;
    EXPECT_EQ(*got, c.want) << c.input;
    EXPECT_EQ(t->names(), c.want_names) << c.input;
  }
}

TEST(Template, LookupSeesEachOccurrenceInOrder) {
  auto t = Template::parse("{{a}}-{{b}}-{{a}}");
  ASSERT_TRUE(t.has_value());
  std::vector<std::string> seen;
  auto got = t->render([&](std::string_view name) -> std::optional<std::string_view> {
    seen.emplace_back(name);
    return name;
  });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "a-b-a");
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "a"}));
}

// A placeholder with no value and no default is an error naming it (the first one), never an
// empty string.
TEST(Template, MissingValueWithoutDefault) {
  struct Case {
    std::string_view input;
    std::string_view want_name;
  };
  const Case cases[] = {
      {"[{{missing}}]", "missing"},
      {"Hi {{name}}, {{nme}}", "nme"},
      {"{{ nme }}{{other}}", "nme"},
      {"{{other|x}} {{nme}}", "nme"},
  };
  auto lookup = [](std::string_view name) -> std::optional<std::string_view> {
    if (name == "name") return "Ann";
    return std::nullopt;
  };
  for (const Case& c : cases) {
    auto t = Template::parse(c.input);
    ASSERT_TRUE(t.has_value()) << c.input;
    auto got = t->render(lookup);
    ASSERT_FALSE(got.has_value()) << c.input << " gave " << *got;
    EXPECT_EQ(got.error().code, make_error_code(Errc::template_value_missing));
    EXPECT_EQ(got.error().detail, c.want_name) << c.input;
  }
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
      {"{{|there}}", "at byte 0: empty placeholder name"},
      {"{{name|there}", "at byte 0: \"{{\" without a closing"},
      {"{{name|the{{re}}", "at byte 0: a default cannot hold \"{{\""},
      {"{{name | {{x}} }}", "a default cannot hold"},
      {"{{na me|there}}", "at byte 0: invalid character at byte 5"},
      {concat({"{{a|", std::string(1025, 'x'), "}}"}), "default longer than 1024"},
  };
  for (const Case& c : cases) {
    auto t = Template::parse(c.input);
    ASSERT_FALSE(t.has_value()) << c.input;
    EXPECT_EQ(t.error().code, make_error_code(Errc::template_syntax));
    EXPECT_NE(t.error().detail.find(c.want_detail), std::string::npos)
        << c.input << ": " << t.error().detail;
  }
  EXPECT_TRUE(Template::parse(concat({"{{", std::string(64, 'a'), "}}"})).has_value());
  EXPECT_TRUE(Template::parse(concat({"{{a|", std::string(1024, 'x'), "}}"})).has_value());
}

}  // namespace
}  // namespace mta::mime
