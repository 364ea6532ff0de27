// Table-driven tests of DataReader: dot-unstuffing, the terminator split anywhere, bare LF and
// bare CR repair (and the SMTP smuggling shapes it must not take for the end), an empty body,
// bytes left after the terminator, BDAT chunks, and both limits (with the memory bound).
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
  std::size_t want_left = 0;      // bytes after the terminator, left to the caller
  std::size_t want_repaired = 0;  // bare line ends turned into CRLF
};

struct Got {
  DataOutcome outcome;
  std::string body;
  std::size_t consumed;
  std::size_t repaired;
};

Got read_in_pieces(std::string_view input, std::size_t message_max, std::size_t line_max,
                   std::vector<std::size_t> splits) {
  DataReader reader(BodyFraming::data, message_max, line_max);
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
  const std::size_t repaired = reader.bare_line_endings_repaired();
  return {outcome, reader.done() ? reader.take_body() : std::string(), consumed, repaired};
}

// BDAT: the octets of all chunks, cut at `splits`, then LAST.
Got read_chunks(std::string_view octets, std::size_t message_max, std::size_t line_max,
                std::vector<std::size_t> splits) {
  DataReader reader(BodyFraming::chunks, message_max, line_max);
  std::size_t from = 0;
  splits.push_back(octets.size());
  for (std::size_t to : splits) {
    reader.feed_chunk(octets.substr(from, to - from));
    EXPECT_FALSE(reader.done());
    from = to;
  }
  reader.finish_chunks();
  EXPECT_TRUE(reader.done());
  const DataOutcome outcome = reader.outcome();
  const std::size_t repaired = reader.bare_line_endings_repaired();
  return {outcome, reader.take_body(), octets.size(), repaired};
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

// Whatever the line ends, a finished body holds CRLF-only lines: no CR without LF after it, no
// LF without CR before it.
bool crlf_only(std::string_view body) {
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && (i + 1 == body.size() || body[i + 1] != '\n')) return false;
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) return false;
  }
  return true;
}

TEST(DataReader, ReadsBodiesSplitAtEveryOffset) {
  const std::string long_line = std::string(998, 'x') + "\r\n";  // exactly 1000 octets
  const std::vector<DataCase> cases = {
      {"simple", "Subject: hi\r\n\r\nHello\r\n.\r\n", DataOutcome::ok,
       "Subject: hi\r\n\r\nHello\r\n"},
      {"empty body", ".\r\n", DataOutcome::ok, ""},
      {"dot stuffed", "..leading dot\r\n...\r\n.\r\n", DataOutcome::ok, ".leading dot\r\n..\r\n"},
      {"dot then text", ".x\r\n.\r\n", DataOutcome::ok, "x\r\n"},
      {"dot inside line", "a.\r\n.b\r\n.\r\n", DataOutcome::ok, "a.\r\nb\r\n"},
      {"CRLF dot not at line start", "a\r\n x.\r\n.\r\n", DataOutcome::ok, "a\r\n x.\r\n"},
      {"pipelined rest", "hi\r\n.\r\nQUIT\r\n", DataOutcome::ok, "hi\r\n", 6},
      {"unterminated", "hi\r\n.", DataOutcome::reading, ""},
      {"CR at the end waits", "hi\r", DataOutcome::reading, ""},
      // Bare line ends are repaired into CRLF.
      {"bare LF lines", "a\nb\r\n.\r\n", DataOutcome::ok, "a\r\nb\r\n", 0, 1},
      {"bare CR line", "a\rb\r\n.\r\n", DataOutcome::ok, "a\r\nb\r\n", 0, 1},
      {"CR CR LF", "a\r\r\n.\r\n", DataOutcome::ok, "a\r\n\r\n", 0, 1},
      {"LF CR LF", "a\n\r\n.\r\n", DataOutcome::ok, "a\r\n\r\n", 0, 1},
      {"mixed line ends", "a\r\nb\nc\rd\r\n.\r\n", DataOutcome::ok, "a\r\nb\r\nc\r\nd\r\n", 0, 2},
      // SMTP smuggling (CVE-2023-51766 class): only CRLF "." CRLF ends the data; other "."
      // lines are content, kept as "." lines, and a line after a bare line end is literal.
      {"LF dot LF", "a\n.\nMAIL FROM:<e@v>\r\n.\r\n", DataOutcome::ok,
       "a\r\n.\r\nMAIL FROM:<e@v>\r\n", 0, 2},
      {"LF dot CRLF", "a\n.\r\nb\r\n.\r\n", DataOutcome::ok, "a\r\n.\r\nb\r\n", 0, 1},
      {"CRLF dot LF", "a\r\n.\nb\r\n.\r\n", DataOutcome::ok, "a\r\n.\r\nb\r\n", 0, 1},
      {"CR dot CR", "a\r.\rb\r\n.\r\n", DataOutcome::ok, "a\r\n.\r\nb\r\n", 0, 2},
      {"CR dot CRLF", "a\r.\r\nb\r\n.\r\n", DataOutcome::ok, "a\r\n.\r\nb\r\n", 0, 1},
      {"CRLF dot CR", "a\r\n.\rb\r\n.\r\n", DataOutcome::ok, "a\r\n.\r\nb\r\n", 0, 1},
      {"dot CR CR LF", ".\r\r\n.\r\n", DataOutcome::ok, ".\r\n\r\n", 0, 1},
      {"first line dot LF", ".\nx\r\n.\r\n", DataOutcome::ok, ".\r\nx\r\n", 0, 1},
      {"after LF, dot CRLF is a line", "x\n.\r\n", DataOutcome::reading, "", 0, 1},
      {"LF dot LF never ends", "a\n.\n", DataOutcome::reading, "", 0, 2},
      {"dots after LF are literal", "a\n..b\r\n.\r\n", DataOutcome::ok, "a\r\n..b\r\n", 0, 1},
      // Line length: octets as received, the line end counted as CRLF.
      {"line at limit", long_line + ".\r\n", DataOutcome::ok, long_line},
      {"line over limit", "y" + long_line + "ok\r\n.\r\n", DataOutcome::line_too_long, ""},
      {"bare LF line at limit", std::string(998, 'z') + "\nok\r\n.\r\n", DataOutcome::ok,
       std::string(998, 'z') + "\r\nok\r\n", 0, 1},
      {"bare LF line over limit", std::string(999, 'z') + "\nok\r\n.\r\n",
       DataOutcome::line_too_long, "", 0, 1},
      {"unterminated last line", std::string(1200, 'z'), DataOutcome::line_too_long, ""},
  };
  for (const DataCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Got whole = read_in_pieces(c.input, 1 << 20, 1000, {});
    EXPECT_EQ(outcome_name(whole.outcome), outcome_name(c.want_outcome));
    EXPECT_EQ(whole.body, c.want_body);
    EXPECT_EQ(whole.consumed, c.input.size() - c.want_left);
    EXPECT_EQ(whole.repaired, c.want_repaired);
    EXPECT_TRUE(crlf_only(whole.body));
    for (std::size_t split = 0; split <= c.input.size(); ++split) {
      const Got got = read_in_pieces(c.input, 1 << 20, 1000, {split});
      ASSERT_EQ(outcome_name(got.outcome), outcome_name(whole.outcome)) << "split " << split;
      ASSERT_EQ(got.body, whole.body) << "split " << split;
      ASSERT_EQ(got.consumed, whole.consumed) << "split " << split;
      ASSERT_EQ(got.repaired, whole.repaired) << "split " << split;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < c.input.size(); ++i) {
      every_byte.push_back(i);
    }
    const Got bytewise = read_in_pieces(c.input, 1 << 20, 1000, every_byte);
    EXPECT_EQ(bytewise.body, whole.body);
    EXPECT_EQ(bytewise.consumed, whole.consumed);
    EXPECT_EQ(bytewise.repaired, whole.repaired);
  }
}

TEST(DataReader, ReadsChunksSplitAtEveryOffset) {
  struct ChunkCase {
    std::string name;
    std::string octets;  // all chunks, joined
    DataOutcome want_outcome;
    std::string want_body;
    std::size_t want_repaired = 0;
  };
  const std::vector<ChunkCase> cases = {
      {"CRLF lines", "a\r\nb\r\n", DataOutcome::ok, "a\r\nb\r\n"},
      {"empty", "", DataOutcome::ok, ""},
      {"dots are content", "\r\n.\r\n..x\r\n", DataOutcome::ok, "\r\n.\r\n..x\r\n"},
      {"bare LF", "a\nb\r\n", DataOutcome::ok, "a\r\nb\r\n", 1},
      {"bare CRs", "a\r\rb\r\n", DataOutcome::ok, "a\r\n\r\nb\r\n", 2},
      {"smuggling shape", "x\n.\nMAIL FROM:<e@v>\r\n", DataOutcome::ok,
       "x\r\n.\r\nMAIL FROM:<e@v>\r\n", 2},
      {"CR at the very end", "a\r", DataOutcome::ok, "a\r\n", 1},
      {"no line end at the end", "a\r\nb", DataOutcome::ok, "a\r\nb\r\n", 0},
      {"line at limit", std::string(998, 'c') + "\r\n", DataOutcome::ok,
       std::string(998, 'c') + "\r\n"},
      {"unterminated line at limit", std::string(998, 'c'), DataOutcome::ok,
       std::string(998, 'c') + "\r\n"},
      {"line over limit", std::string(999, 'c') + "\n", DataOutcome::line_too_long, "", 1},
  };
  for (const ChunkCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Got whole = read_chunks(c.octets, 1 << 20, 1000, {});
    EXPECT_EQ(outcome_name(whole.outcome), outcome_name(c.want_outcome));
    EXPECT_EQ(whole.body, c.want_body);
    EXPECT_EQ(whole.repaired, c.want_repaired);
    EXPECT_TRUE(crlf_only(whole.body));
    for (std::size_t split = 0; split <= c.octets.size(); ++split) {
      const Got got = read_chunks(c.octets, 1 << 20, 1000, {split});
      ASSERT_EQ(outcome_name(got.outcome), outcome_name(whole.outcome)) << "split " << split;
      ASSERT_EQ(got.body, whole.body) << "split " << split;
      ASSERT_EQ(got.repaired, whole.repaired) << "split " << split;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < c.octets.size(); ++i) {
      every_byte.push_back(i);
    }
    const Got bytewise = read_chunks(c.octets, 1 << 20, 1000, every_byte);
    EXPECT_EQ(bytewise.body, whole.body);
    EXPECT_EQ(bytewise.repaired, whole.repaired);
  }
}

TEST(DataReader, ChunkSizeLimitIsExactAcrossChunks) {
  struct SizeCase {
    std::string octets;
    std::vector<std::size_t> splits;
    DataOutcome want;
  };
  const std::size_t max = 10;
  const std::vector<SizeCase> cases = {
      {"1234\r\n12\r\n", {6}, DataOutcome::ok},          // 10
      {"1234\r\n123\r\n", {6}, DataOutcome::too_large},  // 11
      {"1234\n123\r\n", {5}, DataOutcome::too_large},    // 10 received, 11 once repaired
      {"12345678", {4}, DataOutcome::ok},                // 8, plus the final CRLF
      {"123456789", {4}, DataOutcome::too_large},        // 9, plus the final CRLF
  };
  for (const SizeCase& c : cases) {
    SCOPED_TRACE(c.octets);
    const Got got = read_chunks(c.octets, max, 1000, c.splits);
    EXPECT_EQ(outcome_name(got.outcome), outcome_name(c.want));
    EXPECT_LE(got.body.size(), max);
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
  DataReader reader(BodyFraming::data, max, 1000);
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
