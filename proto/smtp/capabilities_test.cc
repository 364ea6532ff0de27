// Capabilities::from_ehlo on EHLO replies as real servers send them.
#include "proto/smtp/capabilities.h"

#include <gtest/gtest.h>

namespace mta::smtp {
namespace {

Reply ehlo(std::vector<std::string> lines) { return Reply{250, std::nullopt, std::move(lines)}; }

TEST(Capabilities, Table) {
  struct Row {
    std::string name;
    Reply reply;
    Capabilities want;
  };
  Capabilities postfix;
  postfix.pipelining = true;
  postfix.size_max = 10240000;
  postfix.starttls = true;
  postfix.enhanced_status_codes = true;
  postfix.eight_bit_mime = true;
  postfix.dsn = true;
  postfix.smtputf8 = true;
  postfix.chunking = true;
  Capabilities auth;
  auth.auth_mechanisms = {"PLAIN", "LOGIN", "CRAM-MD5"};
  Capabilities size_unlimited;
  size_unlimited.size_max = 0;
  Capabilities greeting_only;
  Capabilities lower;
  lower.pipelining = true;
  lower.size_max = 1000;

  const Row rows[] = {
      {"postfix",
       ehlo({"mx.example.com", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS",
             "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}),
       postfix},
      {"auth_both_forms", ehlo({"mx", "AUTH PLAIN LOGIN", "AUTH=LOGIN CRAM-md5"}), auth},
      {"size_without_number", ehlo({"mx", "SIZE"}), size_unlimited},
      {"size_garbage", ehlo({"mx", "SIZE lots"}), size_unlimited},
      {"size_overflow", ehlo({"mx", "SIZE 99999999999999999999999"}), size_unlimited},
      {"greeting_only", ehlo({"mx.example.com says PIPELINING"}), greeting_only},
      {"lowercase_and_spaces", ehlo({"mx", "  pipelining  ", "size\t1000", "", "X-UNKNOWN y"}),
       lower},
  };
  for (const Row& row : rows) {
    Capabilities got = Capabilities::from_ehlo(row.reply);
    EXPECT_EQ(got, row.want) << row.name;
  }
}

}  // namespace
}  // namespace mta::smtp
