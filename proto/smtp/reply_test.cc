// ReplyParser and EnhancedCode tests. Every parser case is replayed whole, split in two at
// every byte offset, and one byte at a time (STYLE.md §7): the result must not depend on how
// the bytes arrive.
#include "proto/smtp/reply.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

struct Parsed {
  std::vector<Reply> replies;
  std::optional<Errc> error;
  friend bool operator==(const Parsed&, const Parsed&) = default;
};

std::string describe(const Parsed& parsed) {
  std::string out;
  for (const Reply& r : parsed.replies) {
    out += '[';
    out += r.to_string();
    out += ']';
  }
  if (parsed.error) out += " error=" + make_error_code(*parsed.error).message();
  return out;
}

// Feeds `pieces` in order, popping replies after each, stopping at the first error.
Parsed parse_pieces(const std::vector<std::string_view>& pieces, ReplyLimits limits) {
  ReplyParser parser(limits);
  Parsed out;
  for (std::string_view piece : pieces) {
    Result<void> fed = parser.feed(piece);
    while (auto reply = parser.next()) out.replies.push_back(std::move(*reply));
    if (!fed) {
      EXPECT_EQ(fed.error().code.category(), error_category());
      out.error = static_cast<Errc>(fed.error().code.value());
      break;
    }
  }
  return out;
}

Reply make_reply(int code, std::optional<EnhancedCode> enhanced, std::vector<std::string> lines) {
  return Reply{code, enhanced, std::move(lines)};
}

struct Case {
  std::string name;
  std::string input;
  std::vector<Reply> want;
  std::optional<Errc> want_error;
  ReplyLimits limits = {};
};

std::vector<Case> cases() {
  const EnhancedCode ok{2, 0, 0};
  return {
      {"single", "250 Ok\r\n", {make_reply(250, std::nullopt, {"Ok"})}, std::nullopt},
      {"enhanced",
       "250 2.0.0 Ok: queued as 12345\r\n",
       {make_reply(250, ok, {"Ok: queued as 12345"})},
       std::nullopt},
      {"enhanced_only",
       "250 2.1.5\r\n",
       {make_reply(250, EnhancedCode{2, 1, 5}, {""})},
       std::nullopt},
      {"enhanced_class_mismatch_is_text",
       "550 2.0.0 odd\r\n",
       {make_reply(550, std::nullopt, {"2.0.0 odd"})},
       std::nullopt},
      {"enhanced_too_many_digits_is_text",
       "451 4.3.1000 x\r\n",
       {make_reply(451, std::nullopt, {"4.3.1000 x"})},
       std::nullopt},
      {"code_space_empty", "250 \r\n", {make_reply(250, std::nullopt, {""})}, std::nullopt},
      {"code_alone", "250\r\n", {make_reply(250, std::nullopt, {""})}, std::nullopt},
      {"bare_lf",
       "220 mx ESMTP\n250 Ok\n",
       {make_reply(220, std::nullopt, {"mx ESMTP"}), make_reply(250, std::nullopt, {"Ok"})},
       std::nullopt},
      {"multi_line_ehlo",
       "250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
       {make_reply(250, std::nullopt,
                   {"mx.example.com Hello", "PIPELINING", "SIZE 10240000", "8BITMIME"})},
       std::nullopt},
      {"multi_line_enhanced_each_line",
       "550-5.7.1 Blocked\r\n550-5.7.1 see https://x\r\n550 5.7.1 bye\r\n",
       {make_reply(550, EnhancedCode{5, 7, 1}, {"Blocked", "see https://x", "bye"})},
       std::nullopt},
      {"multi_line_empty_continuation",
       "250-\r\n250 end\r\n",
       {make_reply(250, std::nullopt, {"", "end"})},
       std::nullopt},
      {"pipelined_group",
       "250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n",
       {make_reply(250, EnhancedCode{2, 1, 0}, {"Ok"}),
        make_reply(550, EnhancedCode{5, 1, 1}, {"no such user"}),
        make_reply(354, std::nullopt, {"go ahead"})},
       std::nullopt},
      {"crlf_inside_text_kept",
       "250 a\rb\r\n",
       {make_reply(250, std::nullopt, {"a\rb"})},
       std::nullopt},
      {"partial_reply_pending", "250-first\r\n250 sec", {}, std::nullopt},
      {"line_at_limit",
       "250 " + std::string(10, 'x') + "\r\n",
       {make_reply(250, std::nullopt, {std::string(10, 'x')})},
       std::nullopt,
       {16, 8}},
      {"line_too_long",
       "250 Ok\r\n250 " + std::string(11, 'x') + "\r\n",
       {make_reply(250, std::nullopt, {"Ok"})},
       Errc::line_too_long,
       {16, 8}},
      {"line_too_long_unterminated",
       "250 " + std::string(40, 'x'),
       {},
       Errc::line_too_long,
       {16, 8}},
      {"too_many_lines",
       "250-a\r\n250-b\r\n250-c\r\n250 d\r\n",
       {},
       Errc::too_many_lines,
       {4096, 3}},
      {"lines_at_limit",
       "250-a\r\n250-b\r\n250 c\r\n",
       {make_reply(250, std::nullopt, {"a", "b", "c"})},
       std::nullopt,
       {4096, 3}},
      {"mixed_codes", "250-a\r\n251 b\r\n", {}, Errc::malformed_reply},
      {"bad_separator", "250x\r\n", {}, Errc::malformed_reply},
      {"non_digit_code", "25a Ok\r\n", {}, Errc::bad_reply_code},
      {"first_digit_out_of_range", "199 x\r\n", {}, Errc::bad_reply_code},
      {"short_code", "25\r\n", {}, Errc::bad_reply_code},
      {"empty_line", "\r\n", {}, Errc::bad_reply_code},
      {"garbage_after_reply",
       "221 bye\r\nHTTP/1.1 400 Bad\r\n",
       {make_reply(221, std::nullopt, {"bye"})},
       Errc::bad_reply_code},
      {"binary_garbage", std::string("\x00\xff\x16\x03\x01\n", 6), {}, Errc::bad_reply_code},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ReplyParserCases : public ::testing::TestWithParam<Case> {};

TEST_P(ReplyParserCases, EverySplitGivesTheSameResult) {
  const Case& c = GetParam();
  const Parsed want{c.want, c.want_error};
  std::string_view input = c.input;

  Parsed whole = parse_pieces({input}, c.limits);
  EXPECT_EQ(whole, want) << "whole: got " << describe(whole) << " want " << describe(want);

  for (std::size_t split = 0; split <= input.size(); ++split) {
    Parsed got = parse_pieces({input.substr(0, split), input.substr(split)}, c.limits);
    EXPECT_EQ(got, want) << "split at " << split << ": got " << describe(got);
  }

  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  Parsed one_by_one = parse_pieces(bytes, c.limits);
  EXPECT_EQ(one_by_one, want) << "byte by byte: got " << describe(one_by_one);
}

INSTANTIATE_TEST_SUITE_P(Table, ReplyParserCases, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(ReplyParser, StaysFailedAfterAnError) {
  ReplyParser parser;
  ASSERT_FALSE(parser.feed("xyz\r\n").has_value());
  EXPECT_TRUE(parser.failed());
  Result<void> again = parser.feed("250 Ok\r\n");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Errc::bad_reply_code);
  EXPECT_FALSE(parser.next().has_value());
}

TEST(EnhancedCode, Parse) {
  struct Row {
    std::string_view input;
    std::optional<EnhancedCode> want;
  };
  const Row rows[] = {
      {"2.0.0", EnhancedCode{2, 0, 0}},
      {"4.7.1", EnhancedCode{4, 7, 1}},
      {"5.1.10", EnhancedCode{5, 1, 10}},
      {"5.999.999", EnhancedCode{5, 999, 999}},
      {"3.0.0", std::nullopt},
      {"2.0", std::nullopt},
      {"2..0", std::nullopt},
      {"2.0.0 ", std::nullopt},
      {"2.0.0x", std::nullopt},
      {"2.1000.0", std::nullopt},
      {"", std::nullopt},
      {"20.0.0", std::nullopt},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(EnhancedCode::parse(row.input), row.want) << row.input;
  }
}

TEST(EnhancedCode, OrderAndToString) {
  EXPECT_EQ((EnhancedCode{4, 7, 1}).to_string(), "4.7.1");
  EXPECT_LT((EnhancedCode{4, 2, 2}), (EnhancedCode{4, 7, 1}));
  EXPECT_LT((EnhancedCode{4, 7, 1}), (EnhancedCode{5, 0, 0}));
}

TEST(Reply, ClassesAndText) {
  Reply reply{451, EnhancedCode{4, 3, 0}, {"Temporary failure", "try later"}};
  EXPECT_TRUE(reply.transient());
  EXPECT_FALSE(reply.positive());
  EXPECT_FALSE(reply.permanent());
  EXPECT_FALSE(reply.intermediate());
  EXPECT_EQ(reply.text(), "Temporary failure; try later");
  EXPECT_EQ(reply.to_string(), "451 4.3.0 Temporary failure; try later");
  EXPECT_EQ((Reply{250, std::nullopt, {""}}).to_string(), "250");
  EXPECT_TRUE((Reply{354, std::nullopt, {}}).intermediate());
  EXPECT_TRUE((Reply{554, std::nullopt, {}}).permanent());
  EXPECT_TRUE((Reply{221, std::nullopt, {}}).positive());
}

TEST(Errc, EveryValueHasAMessage) {
  for (int value = 0; value <= static_cast<int>(Errc::bad_address); ++value) {
    std::error_code code = static_cast<Errc>(value);
    EXPECT_EQ(code.category().name(), std::string_view("smtp"));
    EXPECT_EQ(code.message().find("unknown"), std::string::npos) << value;
  }
  EXPECT_NE(std::error_code(Errc::line_too_long), std::error_code(Errc::too_many_lines));
}

}  // namespace
}  // namespace mta::smtp
