// The configuration reader: each value type, strictness, and errors that name file, line and key.
#include "base/config_reader.h"

#include <gtest/gtest.h>

#include "base/config_reader_for_test.h"
#include "base/duration.h"

namespace mta::config {
namespace {

// Every reader over [s], as a module's parser would call them.
struct Everything {
  std::string text = "default";
  std::uint32_t count = 7;
  bool flag = false;
  double ratio = 0.5;
  Clock::Duration wait = std::chrono::seconds(1);
  std::optional<std::int64_t> day;
  std::vector<std::uint64_t> daily;
  std::vector<std::string> list;
  std::map<std::string, std::string> map;
  std::vector<std::string> entries;
};

Result<void> read_everything(Table& s, Everything& out) {
  CONFIG_TRY(s.string("text", out.text));
  CONFIG_TRY(s.integer("count", out.count, 1, 10));
  CONFIG_TRY(s.boolean("flag", out.flag));
  CONFIG_TRY(s.number("ratio", out.ratio, 0.0, 1.0));
  CONFIG_TRY(s.duration("wait", out.wait));
  CONFIG_TRY(s.date("day", out.day));
  CONFIG_TRY(s.counts("daily", out.daily));
  CONFIG_TRY(s.string_list("list", out.list));
  CONFIG_TRY(s.string_map("map", out.map));
  CONFIG_TRY(s.each("entry", [&](Table& entry) -> Result<void> {
    std::string name;
    CONFIG_TRY(entry.string("name", name));
    CONFIG_TRY(entry.no_unknown_keys());
    out.entries.push_back(entry.name() + "=" + name);
    return {};
  }));
  return s.no_unknown_keys();
}

Result<Everything> parse(std::string_view text) {
  return parse_table_for_test<Everything>(text, "s", read_everything);
}

TEST(ConfigReader, AbsentKeysKeepTheirDefaults) {
  for (const char* text : {"", "[s]\n", "[other]\nx = 1\n"}) {
    auto got = parse(text);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->text, "default");
    EXPECT_EQ(got->count, 7u);
    EXPECT_EQ(got->wait, std::chrono::seconds(1));
    EXPECT_FALSE(got->day);
    EXPECT_TRUE(got->entries.empty());
  }
}

TEST(ConfigReader, ReadsEveryType) {
  auto got = parse(R"([s]
text = "x"
count = 3
flag = true
ratio = 1
wait = "250ms"
day = 2026-11-20
daily = [1, 2]
list = "one"
[s.map]
"Example.COM" = "v"
[[s.entry]]
name = "a"
[[s.entry]]
name = "b"
)");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->text, "x");
  EXPECT_EQ(got->count, 3u);
  EXPECT_TRUE(got->flag);
  EXPECT_DOUBLE_EQ(got->ratio, 1.0);
  EXPECT_EQ(got->wait, std::chrono::milliseconds(250));
  EXPECT_EQ(got->day, 20777);  // days since 1970-01-01
  EXPECT_EQ(got->daily, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(got->list, std::vector<std::string>{"one"});
  EXPECT_EQ(got->map.at("example.com"), "v");  // keys lower-cased
  EXPECT_EQ(got->entries, (std::vector<std::string>{"s.entry[0]=a", "s.entry[1]=b"}));
  auto quoted_date = parse("[s]\nday = \"2026-11-20\"\nwait = 7\n");
  ASSERT_TRUE(quoted_date) << quoted_date.error().message();
  EXPECT_EQ(quoted_date->day, 20777);
  EXPECT_EQ(quoted_date->wait, std::chrono::seconds(7));
}

TEST(ConfigReader, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* want;  // the error's detail: "FILE:LINE: KEY: problem"
  };
  const Case cases[] = {
      {"[s]\ntext = 1\n", "test.toml:2: s.text: must be a string, not an integer"},
      {"[s]\n\ncount = 11\n", "test.toml:3: s.count: must be an integer from 1 to 10, not 11"},
      {"[s]\ncount = \"3\"\n",
       "test.toml:2: s.count: must be an integer from 1 to 10, not a string"},
      {"[s]\ncount = 3.0\n",
       "test.toml:2: s.count: must be an integer from 1 to 10, not a fractional number"},
      {"[s]\nflag = \"yes\"\n", "test.toml:2: s.flag: must be true or false, not a string"},
      // Exact types: toml++ alone would read 1 as true and true as 1.
      {"[s]\nflag = 1\n", "test.toml:2: s.flag: must be true or false, not an integer"},
      {"[s]\ncount = true\n",
       "test.toml:2: s.count: must be an integer from 1 to 10, not true or false"},
      {"[s]\nwait = true\n",
       "test.toml:2: s.wait: must be a duration such as \"30s\" or \"5m\", not true or false"},
      {"[s]\nratio = true\n",
       "test.toml:2: s.ratio: must be a number from 0 to 1, not true or false"},
      {"[s]\ndaily = [true]\n", "test.toml:2: s.daily: must be a list of counts"},
      {"[s]\nratio = 2\n", "test.toml:2: s.ratio: must be a number from 0 to 1, not 2"},
      {"[s]\nratio = \"half\"\n",
       "test.toml:2: s.ratio: must be a number from 0 to 1, not a string"},
      {"[s]\nwait = [1]\n",
       "test.toml:2: s.wait: must be a duration such as \"30s\" or \"5m\", not a list"},
      {"[s]\nwait = \"3 weeks\"\n", "test.toml:2: s.wait: unknown duration unit in \"3 weeks\""},
      {"[s]\nday = \"2026-02-30\"\n", "test.toml:2: s.day: must be a date, e.g. 2026-11-20"},
      {"[s]\ndaily = [0]\n", "test.toml:2: s.daily: must be a list of counts (integers from 1)"},
      {"[s]\nlist = [1]\n",
       "test.toml:2: s.list: must be a list of strings, not one holding an integer"},
      {"[s]\nmap = 1\n", "test.toml:2: s.map: must be a table of strings, not an integer"},
      {"[s.map]\na = \"b\"\nc = 2\n", "test.toml:3: s.map.c: must be a string, not an integer"},
      {"[s]\nentry = [1]\n",
       "test.toml:2: s.entry[0]: must be a table, [[s.entry]], not an integer"},
      // A value that is not an array of tables is an error, not silently ignored.
      {"[s]\nentry = 1\n",
       "test.toml:2: s.entry: must be an array of tables, [[s.entry]], not an integer"},
      {"[s.entry]\nname = \"a\"\n",
       "test.toml:1: s.entry: must be an array of tables, [[s.entry]], not a table"},
      {"[[s.entry]]\nname = \"a\"\nnmae = \"b\"\n",
       "test.toml:3: s.entry[0].nmae: unknown key (did you mean s.entry[0].name?)"},
      {"[s]\ntext = \"x\"\ntxet = \"y\"\n",
       "test.toml:3: s.txet: unknown key (did you mean s.text?)"},
      {"[s]\nnothing_like_it = 1\n", "test.toml:2: s.nothing_like_it: unknown key"},
      // Syntax errors name the key of their line when there is one.
      {"[s\n", "test.toml:1: TOML syntax error in table header at column 3: "},
      {"[s]\ntext = \"a\"\ntext = \"b\"\n",
       "test.toml:3: s.text: TOML syntax error in key-value pair at column 8: cannot redefine "
       "existing string 'text'"},
      {"[s]  # comment\n  count = ten\n", "test.toml:2: s.count: TOML syntax error in "},
      {"[[s.entry]]\n[[s.entry]]\nname = \"a\nx = 1\n", "test.toml:3: s.entry[1].name: TOML "},
      {"text = 1\n[s]\nflag = yes please\n", "test.toml:3: s.flag: TOML syntax error"},
      {"top = 1 2\n", "test.toml:1: top: TOML syntax error"},
  };
  for (const auto& c : cases) {
    auto got = parse(c.text);
    ASSERT_FALSE(got) << c.text;
    EXPECT_TRUE(got.error().detail.starts_with(c.want)) << c.text << " -> " << got.error().detail;
  }
}

TEST(ConfigReader, TopLevelArraysAndSections) {
  const auto sections = [](std::string_view text) -> Result<std::vector<std::string>> {
    auto file = Document::parse(text, "f.toml");
    if (!file) return unexpected(std::move(file).error());
    std::vector<std::string> names;
    CONFIG_TRY(file->each("item", [&](Table& entry) -> Result<void> {
      names.push_back(entry.name());
      return entry.no_unknown_keys();
    }));
    CONFIG_TRY(file->check_sections({"table", "delivery"}, {"item"}));
    return names;
  };
  auto two = sections("[table]\n[[item]]\n[[item]]\n");
  ASSERT_TRUE(two) << two.error().message();
  EXPECT_EQ(*two, (std::vector<std::string>{"item[0]", "item[1]"}));
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"item = 1\n", "f.toml:1: item: must be an array of tables, [[item]], not an integer"},
      {"[item]\n", "f.toml:1: item: must be an array of tables, [[item]], not a table"},
      {"[[item]]\nx = 1\n", "f.toml:2: item[0].x: unknown key"},
      {"\n[nonsense]\n", "f.toml:2: nonsense: unknown section"},
      {"[deliverry]\n", "f.toml:1: deliverry: unknown section (did you mean [delivery]?)"},
      {"[[iten]]\n", "f.toml:1: iten: unknown section (did you mean [[item]]?)"},
      {"tabel = 1\n", "f.toml:1: tabel: unknown key (did you mean [table]?)"},
      {"table = 1\n", "f.toml:1: table: must be a table, [table], not an integer"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_for_test(sections(c.text)), std::string("Invalid argument: ") + c.want)
        << c.text;
  }
}

TEST(ConfigReader, ErrorsAtATableOrAnAbsentKey) {
  auto file = Document::parse("a = 1\n\n[s]\nk = 1\n", "f.toml");
  ASSERT_TRUE(file);
  Table s = file->table("s");
  EXPECT_EQ(s.error("k", "bad").error().detail, "f.toml:4: s.k: bad");
  EXPECT_EQ(s.error("missing", "bad").error().detail, "f.toml:3: s.missing: bad");
  EXPECT_EQ(s.error("bad").error().detail, "f.toml:3: s: bad");
  EXPECT_EQ(file->table("absent").error("k", "bad").error().detail, "f.toml: absent.k: bad");
  // Older messages that repeat the key, or their table's name, come out in the same form.
  EXPECT_EQ(s.error("k", "s.k must be 2").error().detail, "f.toml:4: s.k: must be 2");
  EXPECT_EQ(s.error("k", "s: k and j go together").error().detail,
            "f.toml:4: s.k: k and j go together");
  EXPECT_EQ(s.error("s needs k").error().detail, "f.toml:3: s: needs k");
}

TEST(ConfigReader, LocationsOutliveTheParse) {
  Locations locations;
  {
    auto file = Document::parse(
        "[tls]\ncertificate = \"c\"\n\n[[dkim]]\nkey = \"a\"\n[[dkim]]\n\nkey = \"b\"\n"
        "[delivery]\n[[delivery.source]]\naddress = \"192.0.2.1\"\n",
        "o.toml");
    ASSERT_TRUE(file);
    locations = file->locations();
  }
  EXPECT_EQ(locations.file_name(), "o.toml");
  EXPECT_EQ(locations.line("tls.certificate"), 2U);
  EXPECT_EQ(locations.line("dkim[0].key"), 5U);
  EXPECT_EQ(locations.line("dkim[1].key"), 8U);
  EXPECT_EQ(locations.line("dkim[1].selector"), 6U);  // absent: its table's line
  EXPECT_EQ(locations.line("delivery.source[0].address"), 11U);
  EXPECT_EQ(locations.line("submission.listen"), 0U);
  EXPECT_EQ(locations.error("dkim[1].key", "cannot read b").error().detail,
            "o.toml:8: dkim[1].key: cannot read b");
  EXPECT_EQ(locations.error("submission.listen", "bad").error().detail,
            "o.toml: submission.listen: bad");
  EXPECT_EQ(Locations().error("submission.listen", "bad").error().detail, "submission.listen: bad");
}

TEST(ConfigReader, ReadFile) { EXPECT_FALSE(read_file("/nonexistent/outpost.toml")); }

// Moved from app/config_test.cc: the duration syntax every duration key takes.
TEST(Config, Durations) {
  EXPECT_EQ(*parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*parse_duration("1d"), std::chrono::hours(24));
  EXPECT_EQ(*parse_duration("7"), std::chrono::seconds(7));
  EXPECT_FALSE(parse_duration("").has_value());
  EXPECT_FALSE(parse_duration("ms").has_value());
  EXPECT_FALSE(parse_duration("3 weeks").has_value());
}

}  // namespace
}  // namespace mta::config
