// Tests of parse_json (simdjson underneath) and JsonWriter: the RFC 8259 §13 examples, round
// trips to canonical text, a table of invalid texts with their error codes, writer escaping and
// structure, number exactness, duplicate keys, the depth and size limits and the reuse of the
// thread's parser across limits and sizes.
#include "proto/http/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "proto/http/errc.h"

namespace mta::http {
namespace {

TEST(Json, Rfc8259Examples) {
  const std::string image = R"({
      "Image": {
          "Width":  800,
          "Height": 600,
          "Title":  "View from 15th Floor",
          "Thumbnail": {
              "Url":    "http://www.example.com/image/481989943",
              "Height": 125,
              "Width":  100
          },
          "Animated" : false,
          "IDs": [116, 943, 234, 38793]
        }
    })";
  const Result<JsonValue> parsed = parse_json(image);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const JsonValue* img = parsed->find("Image");
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->find("Width")->as_int64(), 800);
  EXPECT_EQ(img->find("Title")->as_string(), "View from 15th Floor");
  EXPECT_EQ(img->find("Thumbnail")->find("Url")->as_string(),
            "http://www.example.com/image/481989943");
  EXPECT_FALSE(img->find("Animated")->as_bool());
  const JsonArray& ids = img->find("IDs")->as_array();
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[3].as_int64(), 38793);
  EXPECT_EQ(img->find("Missing"), nullptr);

  const std::string places = R"([
      {
         "precision": "zip",
         "Latitude":  37.7668,
         "Longitude": -122.3959,
         "Address":   "",
         "City":      "SAN FRANCISCO",
         "State":     "CA",
         "Zip":       "94107",
         "Country":   "US"
      },
      {
         "precision": "zip",
         "Latitude":  37.371991,
         "Longitude": -122.026020,
         "Address":   "",
         "City":      "SUNNYVALE",
         "State":     "CA",
         "Zip":       "94085",
         "Country":   "US"
      }
    ])";
  const Result<JsonValue> list = parse_json(places);
  ASSERT_TRUE(list.has_value()) << list.error().message();
  ASSERT_EQ(list->as_array().size(), 2u);
  const JsonValue& second = list->as_array()[1];
  EXPECT_DOUBLE_EQ(second.find("Longitude")->as_double(), -122.026020);
  EXPECT_EQ(second.find("Longitude")->as_int64(), std::nullopt);
  EXPECT_EQ(second.find("Zip")->as_string(), "94085");

  // RFC 8259 §13 also shows scalar texts.
  EXPECT_EQ(parse_json("\"Hello world!\"")->as_string(), "Hello world!");
  EXPECT_EQ(parse_json("42")->as_int64(), 42);
  EXPECT_TRUE(parse_json("true")->as_bool());
}

TEST(Json, RoundTripToCanonicalText) {
  struct Case {
    std::string_view input;
    std::string_view want;
  };
  const Case cases[] = {
      {" [1, 2.5, -0, 1e2, 0.5E-1, -3] ", "[1,2.5,0,100,0.05,-3]"},
      {"{\"a\" : {\"b\" : [ ] } , \"c\":{}}", R"({"a":{"b":[]},"c":{}})"},
      {R"("a\nb\t\"q\" \\ \/ \b\f\r")", R"("a\u000ab\u0009\"q\" \\ / \u0008\u000c\u000d")"},
      {R"("\u00e9\u20AC\ud83d\ude00")", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
      {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
      {R"("\u0000")", R"("\u0000")"},
      {"null", "null"},
      {"[true,false,null]", "[true,false,null]"},
      {"9007199254740993", "9007199254740993"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"9223372036854775808", "9223372036854775808"},
      {"1e300", "1e+300"},
      {"1e-400", "0"},
      {"123.456e-2", "1.23456"},
      {R"({"a":1,"a":2})", R"({"a":1,"a":2})"},
  };
  for (const Case& c : cases) {
    const Result<JsonValue> parsed = parse_json(c.input);
    ASSERT_TRUE(parsed.has_value()) << c.input << ": " << parsed.error().message();
    const std::string got = to_json(*parsed);
    EXPECT_EQ(got, c.want) << c.input;
    const Result<JsonValue> again = parse_json(got);
    ASSERT_TRUE(again.has_value()) << got;
    EXPECT_TRUE(*again == *parsed) << got;
  }
}

TEST(Json, InvalidTexts) {
  // simdjson's DOM parser says what is wrong but not where, so only the code is checked (the
  // hand-written parser gave "byte N:" offsets here).
  struct Case {
    std::string_view input;
    Errc want;
  };
  const Case cases[] = {
      {"", Errc::json_syntax},
      {"   ", Errc::json_syntax},
      {"[1,]", Errc::json_syntax},
      {"{\"a\":1,}", Errc::json_syntax},
      {"[1 2]", Errc::json_syntax},
      {"{\"a\" 1}", Errc::json_syntax},
      {"{a:1}", Errc::json_syntax},
      {"{'a':1}", Errc::json_syntax},
      {"[1] // comment", Errc::json_syntax},
      {"/* c */ 1", Errc::json_syntax},
      {"01", Errc::json_syntax},
      {"-", Errc::json_syntax},
      {"+1", Errc::json_syntax},
      {"1.", Errc::json_syntax},
      {".5", Errc::json_syntax},
      {"1e", Errc::json_syntax},
      {"1e+", Errc::json_syntax},
      {"0x10", Errc::json_syntax},
      {"NaN", Errc::json_syntax},
      {"-Infinity", Errc::json_syntax},
      {"1e400", Errc::json_syntax},
      // simdjson refuses integer literals beyond int64 (negative) and uint64 (positive); the
      // hand-written parser read them as doubles. JsonWriter never writes one (exponent form).
      {"18446744073709551616", Errc::json_syntax},
      {"-9223372036854775809", Errc::json_syntax},
      {"[123456789012345678901234567890]", Errc::json_syntax},
      {"tru", Errc::json_syntax},
      {"True", Errc::json_syntax},
      {"nul", Errc::json_syntax},
      {"\"abc", Errc::json_syntax},
      {"\"a\tb\"", Errc::json_syntax},
      {"\"a\nb\"", Errc::json_syntax},
      {R"("\x41")", Errc::json_syntax},
      {R"("\u12")", Errc::json_syntax},
      {R"("\ud800")", Errc::json_syntax},
      {R"("\ud800\u0041")", Errc::json_syntax},
      {R"("\udc00")", Errc::json_syntax},
      {"\"\xff\"", Errc::json_syntax},
      {"\"\xc0\xaf\"", Errc::json_syntax},          // overlong '/'
      {"\"\xed\xa0\x80\"", Errc::json_syntax},      // UTF-8 encoded surrogate
      {"\"\xf4\x90\x80\x80\"", Errc::json_syntax},  // above U+10FFFF
      {"\"\xe2\x82\"", Errc::json_syntax},          // truncated sequence
      {"[1] \xff", Errc::json_syntax},              // invalid UTF-8 outside any string
      {"\xef\xbb\xbf{}", Errc::json_syntax},        // byte order mark
      {"{} {}", Errc::json_syntax},
      {"[1]]", Errc::json_syntax},
      {"[", Errc::json_syntax},
      {"{\"a\":", Errc::json_syntax},
      {"\x0c[]", Errc::json_syntax},  // form feed is no JSON whitespace
  };
  for (const Case& c : cases) {
    const Result<JsonValue> parsed = parse_json(c.input);
    ASSERT_FALSE(parsed.has_value()) << c.input;
    EXPECT_EQ(parsed.error().code, make_error_code(c.want))
        << c.input << " -> " << parsed.error().detail;
    EXPECT_FALSE(parsed.error().detail.empty()) << c.input;
    EXPECT_EQ(status_for(parsed.error().code), 400);
  }
}

TEST(Json, Numbers) {
  struct Case {
    std::string_view input;
    double want_double;
    std::optional<std::int64_t> want_int64;
  };
  const Case cases[] = {
      {"0", 0, 0},
      // simdjson reads the integer literal "-0" as the int64 0, losing the sign; "-0.0" keeps it.
      {"-0", 0.0, 0},
      {"-0.0", -0.0, 0},
      {"42", 42, 42},
      {"1.5", 1.5, std::nullopt},
      {"1e3", 1000, 1000},
      {"1.0", 1, 1},
      {"9007199254740993", 9007199254740992.0, 9007199254740993},
      {"9223372036854775807", 9223372036854775807.0, std::numeric_limits<std::int64_t>::max()},
      {"-9223372036854775808", -9223372036854775808.0, std::numeric_limits<std::int64_t>::min()},
      {"9223372036854775808", 9223372036854775808.0, std::nullopt},
      {"18446744073709551615", 18446744073709551615.0, std::nullopt},
      {"-9223372036854775808.0", -9223372036854775808.0, std::numeric_limits<std::int64_t>::min()},
      {"1e20", 1e20, std::nullopt},
      {"-1e-400", -0.0, 0},
      {"0.000000000000000000000000000001", 1e-30, std::nullopt},
  };
  for (const Case& c : cases) {
    const Result<JsonValue> parsed = parse_json(c.input);
    ASSERT_TRUE(parsed.has_value()) << c.input;
    ASSERT_TRUE(parsed->is_number());
    EXPECT_EQ(parsed->as_double(), c.want_double) << c.input;
    EXPECT_EQ(std::signbit(parsed->as_double()), std::signbit(c.want_double)) << c.input;
    EXPECT_EQ(parsed->as_int64(), c.want_int64) << c.input;
  }
}

TEST(Json, DuplicateKeysKeptFindReturnsLast) {
  const Result<JsonValue> parsed = parse_json(R"({"a":1,"b":2,"a":3})");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->as_object().size(), 3u);
  EXPECT_EQ(parsed->as_object()[0].key, "a");
  EXPECT_EQ(parsed->find("a")->as_int64(), 3);
  EXPECT_EQ(parsed->find("b")->as_int64(), 2);
  EXPECT_EQ(JsonValue().find("a"), nullptr);  // not an object
}

TEST(Json, DepthLimit) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_TRUE(parse_json(nested(64)).has_value());
  const Result<JsonValue> deep = parse_json(nested(65));
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().code, make_error_code(Errc::json_too_deep));
  EXPECT_FALSE(deep.error().detail.empty());
  EXPECT_EQ(status_for(deep.error().code), 400);
  // Far deeper than any stack would take: simdjson stops at its own bound, no recursion past it.
  const Result<JsonValue> hostile = parse_json(nested(1'000'000));
  ASSERT_FALSE(hostile.has_value());
  EXPECT_EQ(hostile.error().code, make_error_code(Errc::json_too_deep));
  // Unbalanced brackets are refused as syntax before any depth is counted.
  const Result<JsonValue> unbalanced = parse_json(std::string(1'000'000, '['));
  ASSERT_FALSE(unbalanced.has_value());
  EXPECT_EQ(unbalanced.error().code, make_error_code(Errc::json_syntax));

  // Objects count too, the limit is configurable, and empty containers count like full ones
  // (simdjson alone would let an empty one through one level deeper).
  struct Case {
    std::string_view input;
    std::size_t depth_max;
    bool want_ok;
  };
  const Case cases[] = {
      {R"({"a":[1]})", 2, true},
      {R"({"a":[{}]})", 2, false},
      {R"({"a":[]})", 2, true},
      {"[[]]", 2, true},
      {"[[[]]]", 2, false},
      {"[[1]]", 1, false},
      {"[]", 1, true},
      {"[[]]", 1, false},
      {"{}", 0, false},
      {"1", 0, true},
      {"\"s\"", 0, true},
      {R"([{"a":{}}])", 3, true},
      {R"([{"a":{"b":[]}}])", 3, false},
  };
  for (const Case& c : cases) {
    JsonLimits limits;
    limits.depth_max = c.depth_max;
    const Result<JsonValue> got = parse_json(c.input, limits);
    EXPECT_EQ(got.has_value(), c.want_ok) << c.input << " depth_max " << c.depth_max;
    if (!got.has_value()) {
      EXPECT_EQ(got.error().code, make_error_code(Errc::json_too_deep)) << c.input;
    }
  }
}

TEST(Json, ThreadParserReusedAcrossLimitsAndSizes) {
  // The thread's simdjson parser is reused: changing limits between calls reconfigures it, and
  // a text above the retained size (1 MiB) drops its buffers afterwards. Results must not
  // depend on what was parsed before.
  JsonLimits shallow;
  shallow.depth_max = 1;
  std::string large = "[";
  for (int i = 0; i < 2'000; ++i)
    large += "{\"k\":" + std::to_string(i) + ",\"pad\":\"" + std::string(600, 'x') + "\"},";
  large.back() = ']';
  ASSERT_GT(large.size(), 1024u * 1024u);
  for (int round = 0; round < 2; ++round) {
    EXPECT_FALSE(parse_json("[[1]]", shallow).has_value());
    EXPECT_TRUE(parse_json("[[1]]").has_value());
    const Result<JsonValue> big = parse_json(large);
    ASSERT_TRUE(big.has_value()) << big.error().message();
    ASSERT_EQ(big->as_array().size(), 2'000u);
    EXPECT_EQ(big->as_array()[1'999].find("k")->as_int64(), 1'999);
    EXPECT_EQ(big->as_array()[1'999].find("pad")->as_string().size(), 600u);
    EXPECT_FALSE(parse_json(large, shallow).has_value());
    const Result<JsonValue> small = parse_json(R"({"a":"b"})");
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ(small->find("a")->as_string(), "b");
  }
}

TEST(Json, SizeLimit) {
  JsonLimits limits;
  limits.bytes_max = 8;
  EXPECT_TRUE(parse_json("[1,2,3]", limits).has_value());
  const Result<JsonValue> large = parse_json("[1,2,3,4]", limits);
  ASSERT_FALSE(large.has_value());
  EXPECT_EQ(large.error().code, make_error_code(Errc::json_too_large));
  EXPECT_EQ(status_for(large.error().code), 413);
}

TEST(JsonWriter, StringEscaping) {
  struct Case {
    std::string input;
    std::string_view want;
  };
  const Case cases[] = {
      {"plain", R"("plain")"},
      {"quote \" backslash \\ slash /", R"("quote \" backslash \\ slash /")"},
      {"\n\r\t\b\f", R"("\u000a\u000d\u0009\u0008\u000c")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"\x1f\x7f", "\"\\u001f\x7f\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"bad \xff end", "\"bad \xef\xbf\xbd end\""},
      {"\xc3", "\"\xef\xbf\xbd\""},                                  // truncated at the end
      {"\xe2\x82x", "\"\xef\xbf\xbdx\""},                            // maximal subpart: one U+FFFD
      {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                  // overlong: two
      {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},  // surrogate: three
      {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
  };
  for (const Case& c : cases) {
    JsonWriter writer;
    writer.value(std::string_view(c.input));
    EXPECT_EQ(writer.str(), c.want);
    // The output is always valid JSON.
    const Result<JsonValue> back = parse_json(writer.str());
    ASSERT_TRUE(back.has_value()) << writer.str();
  }
}

TEST(JsonWriter, StructureAndScalars) {
  JsonWriter writer;
  writer.begin_object();
  writer.key("queue");
  writer.begin_array();
  writer.begin_object();
  writer.key("id");
  writer.value("00000000000000ff");
  writer.key("attempts");
  writer.value(3);
  writer.key("size");
  writer.value(std::uint64_t{18446744073709551615u});
  writer.key("min");
  writer.value(std::numeric_limits<std::int64_t>::min());
  writer.end_object();
  writer.begin_array();
  writer.end_array();
  writer.value(0.25);
  writer.value(std::nan(""));
  writer.value(true);
  writer.value(nullptr);
  writer.value(std::string("s"));
  writer.end_array();
  writer.key("empty");
  writer.begin_object();
  writer.end_object();
  EXPECT_FALSE(writer.complete());
  writer.end_object();
  EXPECT_TRUE(writer.complete());
  EXPECT_EQ(writer.str(),
            R"({"queue":[{"id":"00000000000000ff","attempts":3,"size":18446744073709551615,)"
            R"("min":-9223372036854775808},[],0.25,null,true,null,"s"],"empty":{}})");
  const Result<JsonValue> back = parse_json(writer.str());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->find("queue")->as_array()[0].find("attempts")->as_int64(), 3);
  const std::string taken = writer.take();
  EXPECT_EQ(taken.front(), '{');
  EXPECT_TRUE(writer.str().empty());
}

TEST(JsonWriter, LargeDoublesParseBack) {
  // Integral doubles outside int64/uint64 are written with an exponent: their shortest plain
  // form would be an integer literal simdjson refuses.
  struct Case {
    double input;
    std::string_view want;
  };
  const Case cases[] = {
      {9223372036854775808.0, "9223372036854775808"},
      {18446744073709549568.0, "18446744073709549568"},  // the largest double below 2^64
      {18446744073709551616.0, "1.8446744073709552e+19"},
      {1e20, "1e+20"},
      {-9223372036854775808.0, "-9223372036854775808"},
      {-9223372036854777856.0, "-9.223372036854778e+18"},
      {-1e300, "-1e+300"},
      {0.5, "0.5"},
  };
  for (const Case& c : cases) {
    JsonWriter writer;
    writer.value(c.input);
    EXPECT_EQ(writer.str(), c.want);
    const Result<JsonValue> back = parse_json(writer.str());
    ASSERT_TRUE(back.has_value()) << writer.str() << ": " << back.error().message();
    EXPECT_EQ(back->as_double(), c.input) << writer.str();
  }
}

TEST(JsonWriter, WritesDom) {
  JsonObject members;
  members.push_back({"n", JsonValue::integer(-5)});
  members.push_back({"d", JsonValue::number(2.5)});
  members.push_back({"list", JsonValue::array({JsonValue::boolean(false), JsonValue()})});
  members.push_back({"s", JsonValue::string("x\"y")});
  const JsonValue dom = JsonValue::object(std::move(members));
  EXPECT_EQ(to_json(dom), R"({"n":-5,"d":2.5,"list":[false,null],"s":"x\"y"})");
  const Result<JsonValue> back = parse_json(to_json(dom));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == dom);
  EXPECT_FALSE(*back == JsonValue::object());
}

}  // namespace
}  // namespace mta::http
