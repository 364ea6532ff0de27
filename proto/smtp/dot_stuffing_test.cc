// append_dot_stuffed: line ends normalized, leading dots doubled, terminator appended.
#include "proto/smtp/dot_stuffing.h"

#include <gtest/gtest.h>

namespace mta::smtp {
namespace {

TEST(DotStuffing, Table) {
  struct Row {
    std::string_view name;
    std::string_view input;
    std::string_view want;
  };
  const Row rows[] = {
      {"empty", "", ".\r\n"},
      {"plain", "Subject: x\r\n\r\nhi\r\n", "Subject: x\r\n\r\nhi\r\n.\r\n"},
      {"missing_final_crlf", "a\r\nb", "a\r\nb\r\n.\r\n"},
      {"bare_lf", "a\nb\n", "a\r\nb\r\n.\r\n"},
      {"bare_cr", "a\rb\r", "a\r\nb\r\n.\r\n"},
      {"cr_cr_lf", "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
      {"lf_cr", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
      {"leading_dot_first_line", ".hidden\r\n", "..hidden\r\n.\r\n"},
      {"lone_dot_line", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"dot_after_bare_lf", "a\n.b", "a\r\n..b\r\n.\r\n"},
      {"dot_after_bare_cr", "a\r.b", "a\r\n..b\r\n.\r\n"},
      {"double_dot", "..x\n", "...x\r\n.\r\n"},
      {"dot_mid_line_untouched", "a.b\r\n", "a.b\r\n.\r\n"},
      {"only_dot", ".", "..\r\n.\r\n"},
      {"only_crlf", "\r\n", "\r\n.\r\n"},
      {"eight_bit_kept", "caf\xc3\xa9\n", "caf\xc3\xa9\r\n.\r\n"},
  };
  for (const Row& row : rows) {
    std::string got = "prefix";
    append_dot_stuffed(row.input, got);
    EXPECT_EQ(got, "prefix" + std::string(row.want)) << row.name;
  }
}

}  // namespace
}  // namespace mta::smtp
