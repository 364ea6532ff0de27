// The trace fields: the Received line for each protocol keyword, Message-ID and Date added
// only when missing (any case, never a folded line), and a hostile HELO name kept harmless.
#include "injection/trace.h"

#include <gtest/gtest.h>

namespace mta::injection {
namespace {

const Clock::WallTime kWhen = Clock::WallTime(std::chrono::seconds(1795458066));  // a Monday

TraceFacts facts() {
  return TraceFacts{.client_name = "client.example",
                    .client_ip = "192.0.2.7",
                    .hostname = "mx.test",
                    .id = MessageId(0x1234),
                    .when = kWhen};
}

TEST(Trace, DateIsRfc5322InUtc) {
  EXPECT_EQ(rfc5322_date(kWhen), "Mon, 23 Nov 2026 18:21:06 +0000");
}

TEST(Trace, ReceivedThenMissingIdAndDate) {
  std::string message = "Subject: hi\r\n\r\nbody\r\n";
  add_trace_fields(message, facts());
  EXPECT_EQ(message,
            "Received: from client.example ([192.0.2.7])\r\n"
            "\tby mx.test (Outpost) with ESMTP id 0000000000001234;\r\n"
            "\tMon, 23 Nov 2026 18:21:06 +0000\r\n"
            "Message-ID: <0000000000001234@mx.test>\r\n"
            "Date: Mon, 23 Nov 2026 18:21:06 +0000\r\n"
            "Subject: hi\r\n\r\nbody\r\n");
}

TEST(Trace, KeepsTheClientsIdAndDateAndNamesTheProtocol) {
  std::string message =
      "message-id: <a@b>\r\nDATE: Sun, 1 Jan 2026 00:00:00 +0000\r\nX: y\r\n\r\nMessage-ID: no\r\n";
  TraceFacts tls = facts();
  tls.tls = true;
  tls.authenticated = true;
  tls.tls_details = "TLSv1.3 TLS_AES_128_GCM_SHA256";
  add_trace_fields(message, tls);
  EXPECT_NE(message.find("with ESMTPSA id 0000000000001234\r\n\t(TLSv1.3 TLS_AES_128_GCM_SHA256);"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("Message-ID: <0000"), std::string::npos);
  EXPECT_EQ(message.find("\r\nDate: Mon"), std::string::npos);

  std::string folded = "Subject: a\r\n date: not a field\r\n\r\n";
  TraceFacts helo = facts();
  helo.extended = false;
  add_trace_fields(folded, helo);
  EXPECT_NE(folded.find("with SMTP id"), std::string::npos);
  EXPECT_NE(folded.find("\r\nDate: Mon"), std::string::npos);
}

TEST(Trace, HostileHeloNameStaysInsideItsField) {
  std::string message = "\r\nbody\r\n";
  TraceFacts odd = facts();
  odd.client_name = "evil\r\nBcc: x (y)";
  add_trace_fields(message, odd);
  EXPECT_EQ(message.find("\r\nBcc"), std::string::npos) << message;
  EXPECT_NE(message.find("from evil__Bcc:_x__y_ ([192.0.2.7])"), std::string::npos) << message;
}

}  // namespace
}  // namespace mta::injection
