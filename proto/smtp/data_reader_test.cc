// Table-driven tests of DataReader: dot-unstuffing, the terminator split anywhere, bare LF,
// an empty body, bytes left after the terminator, and both limits (with the memory bound).
#include "proto/smtp/data_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace mta::smtp {
namespace {

struct DataCase {
  std::string name;
  std::string input;
  DataOutcome want_outcome;
  std::string want_body;
  std::size_t want_left = 0;  // bytes after the terminator, left to the caller
};

struct Got {
  DataOutcome outcome;
  std::string body;
  std::size_t consumed;
};

Got read_in_pieces(std::string_view input, std::size_t message_max, std::size_t line_max,
                   std::vector<std::size_t> splits) {
  DataReader reader(message_max, line_max);
  std::size_t consumed = 0;
  std::size_t from = 0;
  splits.push_back(input.size());
  for (std::size_t to : splits) {
    const std::string_view piece = input.substr(from, to - from);
    const std::size_t used = reader.feed(piece);
    EXPECT_LE(used, piece.size());
    consumed += used;
    if (reader.done()) {
      break;
    }
    EXPECT_EQ(used, piece.size()) << "stopped early without being done";
    from = to;
  }
  const DataOutcome outcome = reader.outcome();
  return {outcome, reader.done() ? reader.take_body() : std::string(), consumed};
}

std::string outcome_name(DataOutcome outcome) {
  switch (outcome) {
    case DataOutcome::reading:
      return "reading";
    case DataOutcome::ok:
      return "ok";
    case DataOutcome::too_large:
      return "too_large";
    case DataOutcome::line_too_long:
      return "line_too_long";
  }
  return "?";
}

TEST(DataReader, ReadsBodiesSplitAtEveryOffset) {
  const std::string long_line = std::string(998, 'x') + "\r\n";  // exactly 1000 octets
  const std::vector<DataCase> cases = {
      {"simple", "Subject: hi\r\n\r\nHello\r\n.\r\n", DataOutcome::ok,
       "Subject: hi\r\n\r\nHello\r\n"},
      {"empty body", ".\r\n", DataOutcome::ok, ""},
      {"empty body bare LF", ".\n", DataOutcome::ok, ""},
      {"dot stuffed", "..leading dot\r\n...\r\n.\r\n", DataOutcome::ok, ".leading dot\r\n..\r\n"},
      {"dot then text", ".x\r\n.\r\n", DataOutcome::ok, "x\r\n"},
      {"dot bare CR", ".\rx\r\n.\r\n", DataOutcome::ok, "\rx\r\n"},
      {"dot CR CR LF", ".\r\r\n.\r\n", DataOutcome::ok, "\r\r\n"},
      {"bare LF lines", "a\nb\n.\n", DataOutcome::ok, "a\nb\n"},
      {"mixed line ends", "a\r\nb\n.\r\n", DataOutcome::ok, "a\r\nb\n"},
      {"dot inside line", "a.\r\n.b\r\n.\r\n", DataOutcome::ok, "a.\r\nb\r\n"},
      {"CRLF dot not at line start", "a\r\n x.\r\n.\r\n", DataOutcome::ok, "a\r\n x.\r\n"},
      {"pipelined rest", "hi\r\n.\r\nQUIT\r\n", DataOutcome::ok, "hi\r\n", 6},
      {"unterminated", "hi\r\n.", DataOutcome::reading, ""},
      {"line at limit", long_line + ".\r\n", DataOutcome::ok, long_line},
      {"line over limit", "y" + long_line + "ok\r\n.\r\n", DataOutcome::line_too_long, ""},
      {"bare LF line over limit", std::string(1000, 'z') + "\n.\n", DataOutcome::line_too_long, ""},
      {"unterminated last line", std::string(1200, 'z'), DataOutcome::line_too_long, ""},
  };
  for (const DataCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Got whole = read_in_pieces(c.input, 1 << 20, 1000, {});
    EXPECT_EQ(outcome_name(whole.outcome), outcome_name(c.want_outcome));
    EXPECT_EQ(whole.body, c.want_body);
    EXPECT_EQ(whole.consumed, c.input.size() - c.want_left);
    for (std::size_t split = 0; split <= c.input.size(); ++split) {
      const Got got = read_in_pieces(c.input, 1 << 20, 1000, {split});
      ASSERT_EQ(outcome_name(got.outcome), outcome_name(whole.outcome)) << "split " << split;
      ASSERT_EQ(got.body, whole.body) << "split " << split;
      ASSERT_EQ(got.consumed, whole.consumed) << "split " << split;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < c.input.size(); ++i) {
      every_byte.push_back(i);
    }
    const Got bytewise = read_in_pieces(c.input, 1 << 20, 1000, every_byte);
    EXPECT_EQ(bytewise.body, whole.body);
    EXPECT_EQ(bytewise.consumed, whole.consumed);
  }
}

TEST(DataReader, SizeLimitIsExactAndNeverBufferedPast) {
  struct SizeCase {
    std::size_t body_bytes;
    DataOutcome want;
  };
  const std::size_t max = 100;
  for (const SizeCase& c : std::vector<SizeCase>{
           {98, DataOutcome::ok}, {100, DataOutcome::ok}, {101, DataOutcome::too_large}}) {
    SCOPED_TRACE(c.body_bytes);
    std::string body(c.body_bytes - 2, 'b');
    body += "\r\n";
    const Got got = read_in_pieces(body + ".\r\n", max, 1000, {});
    EXPECT_EQ(outcome_name(got.outcome), outcome_name(c.want));
    EXPECT_EQ(got.body, c.want == DataOutcome::ok ? body : "");
  }
}

TEST(DataReader, HugeBodyStaysWithinMemoryBound) {
  const std::size_t max = 64 * 1024;
  DataReader reader(max, 1000);
  const std::string line = std::string(78, 'm') + "\r\n";
  std::string chunk;
  for (int i = 0; i < 100; ++i) {
    chunk += line;
  }
  for (int i = 0; i < 2000; ++i) {  // 16 MB
    ASSERT_EQ(reader.feed(chunk), chunk.size());
    ASSERT_LE(reader.body_bytes(), max);
  }
  EXPECT_EQ(outcome_name(reader.outcome()), "too_large");
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.feed(".\r\nQUIT\r\n"), 3u);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(outcome_name(reader.outcome()), "too_large");
  EXPECT_EQ(reader.take_body(), "");
}

TEST(DataReader, SizeBeatsLineLengthWhenBothBroken) {
  const Got got = read_in_pieces(std::string(2000, 'q') + "\r\n.\r\n", 100, 1000, {});
  EXPECT_EQ(outcome_name(got.outcome), "too_large");
}

}  // namespace
}  // namespace mta::smtp
