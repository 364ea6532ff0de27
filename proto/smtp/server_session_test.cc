// ServerSession conversations: client bytes in, the exact reply bytes and events out. Every
// conversation (DATA and BDAT alike) is replayed whole, split at every byte offset and byte by
// byte, and must give the same output each time. Further tests cover the decision wait,
// memory bounds (also across BDAT chunks), STARTTLS, AUTH and QUIT.
#include "proto/smtp/server_session.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace mta::smtp {
namespace {

constexpr std::string_view kGreeting = "220 mx.test ESMTP Outpost\r\n";
constexpr std::string_view kEhlo =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
constexpr std::string_view kMailOk = "250 2.1.0 Ok\r\n";
constexpr std::string_view kRcptOk = "250 2.1.5 Ok\r\n";
constexpr std::string_view k354 = "354 End data with <CR><LF>.<CR><LF>\r\n";
constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";
constexpr std::string_view kBye = "221 2.0.0 Bye\r\n";
constexpr std::string_view kUnknown = "500 5.5.2 Error: command not recognized\r\n";

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The decision for the n-th message (from 1): queued, except that the failing_message fails.
std::string decision(int n, int failing_message) {
  return n == failing_message ? "451 4.3.0 Error: queue file write error"
                              : "250 2.0.0 Ok: queued as " + std::to_string(n);
}

struct Transcript {
  std::string output;
  std::vector<std::string> events;
  std::size_t buffered_max = 0;
};

using Setup = std::function<void(ServerOptions&)>;
using Hooks = std::function<void(ServerSession&)>;

// Feeds input in pieces cut at `splits`, draining output and events after each piece and
// answering every message at once (the decision order is what a real queue would give).
Transcript converse(const ServerOptions& options, const Hooks& hooks, std::string_view input,
                    std::vector<std::size_t> splits, int failing_message = 0) {
  ServerSession session(options);
  if (hooks) {
    hooks(session);
  }
  Transcript got;
  int messages = 0;
  const auto drain = [&] {
    got.buffered_max = std::max(got.buffered_max, session.buffered_bytes());
    while (std::optional<ServerEvent> event = session.next_event()) {
      if (auto* message = std::get_if<MessageReceived>(&*event)) {
        std::string summary = "from=<" + message->mail_from + "> to=";
        for (const std::string& r : message->recipients) {
          summary += "<" + r + ">";
        }
        summary += " body=" + escape(message->body);
        if (message->bare_line_endings_repaired != 0) {
          summary += " repaired=" + std::to_string(message->bare_line_endings_repaired);
        }
        if (message->chunked) {
          summary += " bdat";
        }
        got.events.push_back(summary);
        ASSERT_TRUE(session.awaiting_decision());
        session.complete_message(decision(++messages, failing_message));
      } else if (std::holds_alternative<StartTlsRequested>(*event)) {
        got.events.push_back("starttls");  // the caller would now run the handshake
      } else {
        got.events.push_back("ended");
        EXPECT_TRUE(session.ended());
      }
    }
    got.output += session.bytes_to_send();
    session.on_sent(session.bytes_to_send().size());
  };
  drain();
  std::size_t from = 0;
  splits.push_back(input.size());
  for (std::size_t to : splits) {
    session.on_bytes(input.substr(from, to - from));
    drain();
    from = to;
  }
  return got;
}

struct Conversation {
  std::string name;
  std::string client;
  std::string want;
  std::vector<std::string> want_events;
  Setup setup = nullptr;
  Hooks hooks = nullptr;
  int failing_message = 0;
};

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    out += part;
  }
  return out;
}

// The commands of a one-recipient transaction, shared by the conversations below.
const std::string kTransaction = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";

void add_transaction_conversations(std::vector<Conversation>& all) {
  all.push_back(
      {"happy path",
       "EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=20\r\n"
       "RCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n", kBye}),
       {"from=<a@b.example> to=<c@d.example> body=Subject: x\\r\\n\\r\\nhi\\r\\n", "ended"}});
  all.push_back({"helo and null sender",
                 "HELO client\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n.\r\nQUIT\r\n",
                 cat({kGreeting, "250 mx.test\r\n", kMailOk, kRcptOk, k354,
                      "250 2.0.0 Ok: queued as 1\r\n", kBye}),
                 {"from=<> to=<Postmaster> body=", "ended"}});
  all.push_back(
      {"pipelined two transactions",
       "EHLO c\r\nMAIL FROM:<a@b.example> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<c@d.example>\r\n"
       "RCPT TO:<@r.example:e@f.example>\r\nDATA\r\n..dot\r\nbare\nline\r\n.\r\n" +
           kTransaction + "second\r\n.\r\nNOOP\r\nQUIT\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n",
            kMailOk, kRcptOk, k354, "451 4.3.0 Error: queue file write error\r\n", kOk, kBye}),
       {"from=<a@b.example> to=<c@d.example><e@f.example> body=.dot\\r\\nbare\\r\\nline\\r\\n "
        "repaired=1",
        "from=<a@b.example> to=<c@d.example> body=second\\r\\n", "ended"},
       nullptr,
       nullptr,
       /*failing_message=*/2});
  all.push_back(
      {"bad sequence",
       "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nEHLO c\r\n"
       "RCPT TO:<c@d.example>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nDATA\r\n"
       "MAIL FROM:<a@b.example>\r\n",
       cat({kGreeting, "503 5.5.1 Error: send HELO/EHLO first\r\n",
            "503 5.5.1 Error: need MAIL command\r\n", "503 5.5.1 Error: need MAIL command\r\n",
            kEhlo, "503 5.5.1 Error: need MAIL command\r\n",
            "503 5.5.1 Error: need MAIL command\r\n", kMailOk,
            "503 5.5.1 Error: need RCPT command\r\n", "503 5.5.1 Error: nested MAIL command\r\n"}),
       {}});
  all.push_back(
      {"syntax errors and other verbs",
       "EHLO\r\nHELO c\r\nMAIL FROM:a@b.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<>\r\n"
       "DATA x\r\nXYZZY\r\n\r\nSTARTTLS\r\nAUTH PLAIN\r\nBDAT 1 LAST\r\nEXPN x\r\nVRFY u\r\n"
       "HELP\r\nNOOP x\n",
       cat({kGreeting, "501 5.5.4 Syntax: EHLO hostname\r\n", "250 mx.test\r\n",
            "501 5.1.7 Bad sender address syntax\r\n", kMailOk,
            "501 5.1.3 Bad recipient address syntax\r\n", "501 5.5.4 Syntax: DATA\r\n", kUnknown,
            kUnknown, "502 5.5.1 Error: command not implemented\r\n",
            "502 5.5.1 Error: command not implemented\r\n",
            "502 5.5.1 Error: command not implemented\r\n",
            "502 5.5.1 Error: command not implemented\r\n",
            "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n",
            "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n", kOk}),
       {},
       [](ServerOptions& o) { o.chunking = false; }});
}

void add_limit_conversations(std::vector<Conversation>& all) {
  all.push_back({"command line too long",
                 "NOOP " + std::string(600, 'x') + "\r\nNOOP " + std::string(505, 'y') +
                     "\r\nNOOP " + std::string(506, 'z') + "\r\nNOOP\r\n",
                 cat({kGreeting, "500 5.5.2 Error: line too long\r\n", kOk,
                      "500 5.5.2 Error: line too long\r\n", kOk}),
                 {}});
  all.push_back(
      {"mail parameters",
       "EHLO c\r\nMAIL FROM:<a@b.example> SIZE=52428801\r\n"
       "MAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n"
       "MAIL FROM:<a@b.example> SIZE=12x\r\nMAIL FROM:<a@b.example> BODY=BINARY\r\n"
       "MAIL FROM:<a@b.example> AUTH=<>\r\nMAIL FROM:<a@b.example> SIZE=52428800\r\n"
       "RCPT TO:<c@d.example> NOTIFY=NEVER\r\n",
       cat({kGreeting, kEhlo, "552 5.3.4 Message size exceeds fixed limit\r\n",
            "552 5.3.4 Message size exceeds fixed limit\r\n",
            "501 5.5.4 Syntax: bad SIZE value\r\n", "555 5.5.4 Unsupported option: BODY\r\n",
            "555 5.5.4 Unsupported option: AUTH\r\n", kMailOk,
            "555 5.5.4 Unsupported option: NOTIFY\r\n"}),
       {}});
  all.push_back(
      {"too many recipients",
       "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r1@d.example>\r\n"
       "RCPT TO:<r2@d.example>\r\nRCPT TO:<r3@d.example>\r\nDATA\r\n.\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, kRcptOk, "452 4.5.3 Error: too many recipients\r\n",
            k354, "250 2.0.0 Ok: queued as 1\r\n"}),
       {"from=<a@b.example> to=<r1@d.example><r2@d.example> body="},
       [](ServerOptions& o) { o.limits.recipients_max = 2; }});
  all.push_back({"message too large",
                 "HELO c\r\n" + kTransaction + std::string(150, 'L') + "\r\n.\r\n" + kTransaction +
                     "small\r\n.\r\n",
                 cat({kGreeting, "250 mx.test\r\n", kMailOk, kRcptOk, k354,
                      "552 5.3.4 Message size exceeds fixed limit\r\n", kMailOk, kRcptOk, k354,
                      "250 2.0.0 Ok: queued as 1\r\n"}),
                 {"from=<a@b.example> to=<c@d.example> body=small\\r\\n"},
                 [](ServerOptions& o) { o.limits.message_bytes_max = 100; }});
  all.push_back({"text line too long",
                 "EHLO c\r\n" + kTransaction + std::string(999, 'T') + "\r\nok\r\n.\r\nNOOP\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kRcptOk, k354,
                      "554 5.5.6 Error: message not accepted: line too long\r\n", kOk}),
                 {}});
  all.push_back(
      {"rset mid-transaction",
       "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRSET\r\n"
       "RCPT TO:<c@d.example>\r\n" +
           kTransaction + ".\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, kOk, "503 5.5.1 Error: need MAIL command\r\n",
            kMailOk, kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n"}),
       {"from=<a@b.example> to=<c@d.example> body="}});
  all.push_back({"ehlo resets the transaction",
                 "EHLO c\r\nMAIL FROM:<a@b.example>\r\nEHLO c\r\nRCPT TO:<c@d.example>\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kEhlo, "503 5.5.1 Error: need MAIL command\r\n"}),
                 {}});
  all.push_back(
      {"quit ends and ignores the rest", "QUIT\r\nNOOP\r\n", cat({kGreeting, kBye}), {"ended"}});
  all.push_back({"too many errors",
                 "a\r\nb\r\nNOOP\r\nc\r\nNOOP\r\n",
                 cat({kGreeting, kUnknown, kUnknown, kOk, kUnknown,
                      "421 4.7.0 mx.test Error: too many errors\r\n"}),
                 {"ended"},
                 [](ServerOptions& o) { o.limits.errors_max = 3; }});
}

void add_option_and_policy_conversations(std::vector<Conversation>& all) {
  all.push_back({"without enhanced status codes",
                 "EHLO c\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\nRCPT TO:c\r\nBAD\r\nQUIT\r\n",
                 cat({kGreeting,
                      "250-mx.test\r\n250-SIZE 52428800\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
                      "555 Unsupported option: BODY\r\n"
                      "501 Bad recipient address syntax\r\n"
                      "500 Error: command not recognized\r\n"
                      "221 Bye\r\n"}),
                 {"ended"},
                 [](ServerOptions& o) {
                   o.enhanced_status_codes = false;
                   o.pipelining = false;
                   o.eight_bit_mime = false;
                 }});
  all.push_back(
      {"policy hooks",
       "EHLO c\r\nMAIL FROM:<spam@b.example>\r\nMAIL FROM:<a@b.example>\r\n"
       "RCPT TO:<nobody@d.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n",
       cat({kGreeting, kEhlo, "550 5.7.1 Sender rejected\r\n", kMailOk,
            "550 5.1.1 No such user\r\n", kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n"}),
       {"from=<a@b.example> to=<c@d.example> body=x\\r\\n"},
       nullptr,
       [](ServerSession& s) {
         s.check_sender = [](std::string_view from) -> std::optional<std::string> {
           if (from.starts_with("spam@")) {
             return "550 5.7.1 Sender rejected";
           }
           return std::nullopt;
         };
         s.check_recipient = [](std::string_view to) -> std::optional<std::string> {
           if (to.starts_with("nobody@")) {
             return "550 5.1.1 No such user";
           }
           return std::nullopt;
         };
       }});
  all.push_back(
      {"all recipients rejected: body lines become commands",
       "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x>\r\nDATA\r\nhello\r\n.\r\n",
       cat({kGreeting, kEhlo, kMailOk, "501 5.1.3 Bad recipient address syntax: no '@'\r\n",
            "503 5.5.1 Error: need RCPT command\r\n", kUnknown, kUnknown}),
       {}});
  all.push_back(
      {"sender rate limit: refused MAIL starts no transaction",
       "EHLO c\r\nMAIL FROM:<a@b.example> SIZE=x\r\nMAIL FROM:<a@b.example>\r\n"
       "RCPT TO:<c@d.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
       "DATA\r\nNOOP\r\n",
       cat({kGreeting, kEhlo, "501 5.5.4 Syntax: bad SIZE value\r\n", kMailOk, kRcptOk, kOk,
            "451 4.7.1 <a@b.example>: Sender rate limit exceeded\r\n",
            "503 5.5.1 Error: need MAIL command\r\n", "503 5.5.1 Error: need MAIL command\r\n",
            kOk}),
       {},
       nullptr,
       [](ServerSession& s) {
         // One transaction allowed; only MAIL commands that would be accepted are counted.
         s.check_sender = [calls = 0](std::string_view from) mutable -> std::optional<std::string> {
           if (++calls > 1) {
             return "451 4.7.1 <" + std::string(from) + ">: Sender rate limit exceeded";
           }
           return std::nullopt;
         };
       }});
}

void add_smuggling_conversations(std::vector<Conversation>& all) {
  // SMTP smuggling (CVE-2023-51766 class): a "." line ended by a bare LF or CR is content, so
  // the commands after it are part of the body, never executed.
  all.push_back(
      {"smuggling with LF dot LF",
       "EHLO c\r\n" + kTransaction + "hi\n.\nMAIL FROM:<evil@x.example>\r\n" +
           "RCPT TO:<v@y.example>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n", kBye}),
       {"from=<a@b.example> to=<c@d.example> body=hi\\r\\n.\\r\\nMAIL "
        "FROM:<evil@x.example>\\r\\nRCPT TO:<v@y.example>\\r\\nDATA\\r\\nevil\\r\\n "
        "repaired=2",
        "ended"}});
  all.push_back(
      {"smuggling with CR dot CR and LF dot CRLF",
       "EHLO c\r\n" + kTransaction + "hi\r.\rRSET\r\nx\n.\r\nNOOP\r\n.\r\nNOOP\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, k354, "250 2.0.0 Ok: queued as 1\r\n", kOk}),
       {"from=<a@b.example> to=<c@d.example> body=hi\\r\\n.\\r\\nRSET\\r\\nx\\r\\n."
        "\\r\\nNOOP\\r\\n repaired=3"}});
}

void add_chunking_conversations(std::vector<Conversation>& all) {
  // CHUNKING (RFC 3030).
  const std::string envelope = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n";
  all.push_back(
      {"BDAT pipelined with MAIL and RCPT; octets that look like commands are content",
       envelope + "BDAT 17\r\nSubject: x\r\n\r\nhelBDAT 12 LAST\r\nlo\n.\r\nQUIT\r\nQUIT\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, "250 2.0.0 17 octets received\r\n",
            "250 2.0.0 Ok: queued as 1\r\n", kBye}),
       {"from=<a@b.example> to=<c@d.example> body=Subject: x\\r\\n\\r\\nhello\\r\\n.\\r\\nQUIT"
        "\\r\\n repaired=1 bdat",
        "ended"}});
  all.push_back({"BDAT 0 LAST, a CR at a chunk boundary, and a second transaction",
                 envelope + "BDAT 0 LAST\r\nMAIL FROM:<>\r\nRCPT TO:<e@f.example>\r\n" +
                     "BDAT 2\r\na\rBDAT 2\r\n\nbBDAT 0 LAST\r\nNOOP\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kRcptOk, "250 2.0.0 Ok: queued as 1\r\n", kMailOk,
                      kRcptOk, "250 2.0.0 2 octets received\r\n", "250 2.0.0 2 octets received\r\n",
                      "250 2.0.0 Ok: queued as 2\r\n", kOk}),
                 {"from=<a@b.example> to=<c@d.example> body= bdat",
                  "from=<> to=<e@f.example> body=a\\r\\nb\\r\\n bdat"}});
  all.push_back({"BDAT without MAIL or RCPT: octets read, then 503",
                 "EHLO c\r\nBDAT 4\r\nNOOPBDAT 3 LAST\r\nabcMAIL FROM:<a@b.example>\r\n"
                 "BDAT 6 LAST\r\nRSET\r\nNOOP\r\n",
                 cat({kGreeting, kEhlo, "503 5.5.1 Error: need MAIL command\r\n",
                      "503 5.5.1 Error: need MAIL command\r\n", kMailOk,
                      "503 5.5.1 Error: need RCPT command\r\n", kOk}),
                 {}});
  all.push_back({"DATA after BDAT is refused; the BDAT transaction goes on",
                 envelope + "BDAT 3\r\nabcDATA\r\nBDAT 2 LAST\r\n\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kRcptOk, "250 2.0.0 3 octets received\r\n",
                      "503 5.5.1 Error: DATA after BDAT\r\n", "250 2.0.0 Ok: queued as 1\r\n"}),
                 {"from=<a@b.example> to=<c@d.example> body=abc\\r\\n bdat"}});
  all.push_back(
      {"message too large across chunks: refused to LAST, not counted as errors",
       envelope + "BDAT 12\r\n0123456789\r\nBDAT 12\r\n0123456789\r\nBDAT 12\r\n0123456789\r\n" +
           "BDAT 1 LAST\r\nxMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n" + "BDAT 30\r\n" +
           std::string(30, 'z') + "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n" +
           "BDAT 5 LAST\r\nsmall",
       cat({kGreeting,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 20\r\n250-8BITMIME\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
            kMailOk, kRcptOk, "250 2.0.0 12 octets received\r\n",
            "552 5.3.4 Message size exceeds fixed limit\r\n",
            "552 5.3.4 Message size exceeds fixed limit\r\n",
            "552 5.3.4 Message size exceeds fixed limit\r\n", kMailOk, kRcptOk,
            "552 5.3.4 Message size exceeds fixed limit\r\n", kMailOk, kRcptOk,
            "250 2.0.0 Ok: queued as 1\r\n"}),
       {"from=<a@b.example> to=<c@d.example> body=small\\r\\n bdat"},
       [](ServerOptions& o) {
         o.limits.message_bytes_max = 20;
         o.limits.errors_max = 1;  // any counted error would end the session
       }});
  all.push_back({"line too long in a chunk",
                 envelope + "BDAT 30\r\n" + std::string(28, 'l') + "\r\nBDAT 3 LAST\r\nabcNOOP\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kRcptOk,
                      "554 5.5.6 Error: message not accepted: line too long\r\n",
                      "554 5.5.6 Error: message not accepted: line too long\r\n", kOk}),
                 {},
                 [](ServerOptions& o) { o.limits.text_line_bytes_max = 20; }});
  all.push_back({"RSET and QUIT between chunks",
                 envelope + "BDAT 2\r\nabRSET\r\nBDAT 2 LAST\r\nabQUIT\r\n",
                 cat({kGreeting, kEhlo, kMailOk, kRcptOk, "250 2.0.0 2 octets received\r\n", kOk,
                      "503 5.5.1 Error: need MAIL command\r\n", kBye}),
                 {"ended"}});
  all.push_back(
      {"BDAT size that does not parse: 501, then 421",
       envelope + "BDAT 12x\r\nNOOP\r\n",
       cat({kGreeting, kEhlo, kMailOk, kRcptOk, "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n",
            "421 4.7.0 mx.test Error: BDAT syntax, chunk boundary lost\r\n"}),
       {"ended"}});
}

std::vector<Conversation> conversations() {
  std::vector<Conversation> all;
  add_transaction_conversations(all);
  add_limit_conversations(all);
  add_option_and_policy_conversations(all);
  add_smuggling_conversations(all);
  add_chunking_conversations(all);
  return all;
}

TEST(ServerSession, ConversationsGiveExactBytesAtEverySplit) {
  for (const Conversation& c : conversations()) {
    SCOPED_TRACE(c.name);
    ServerOptions options;
    options.hostname = "mx.test";
    if (c.setup) {
      c.setup(options);
    }
    const Transcript whole = converse(options, c.hooks, c.client, {}, c.failing_message);
    EXPECT_EQ(escape(whole.output), escape(c.want));
    EXPECT_EQ(whole.events, c.want_events);
    for (std::size_t split = 0; split <= c.client.size(); ++split) {
      const Transcript got = converse(options, c.hooks, c.client, {split}, c.failing_message);
      ASSERT_EQ(escape(got.output), escape(whole.output)) << "split at " << split;
      ASSERT_EQ(got.events, whole.events) << "split at " << split;
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < c.client.size(); ++i) {
      every_byte.push_back(i);
    }
    const Transcript bytewise = converse(options, c.hooks, c.client, every_byte, c.failing_message);
    EXPECT_EQ(escape(bytewise.output), escape(whole.output));
    EXPECT_EQ(bytewise.events, whole.events);
  }
}

TEST(ServerSession, TooManyErrorsWithDefaultLimit) {
  ServerOptions options;
  options.hostname = "mx.test";
  std::string input;
  std::string want(kGreeting);
  for (int i = 0; i < 25; ++i) {
    input += "BOGUS\r\n";
  }
  for (int i = 0; i < 20; ++i) {
    want += kUnknown;
  }
  want += "421 4.7.0 mx.test Error: too many errors\r\n";
  const Transcript got = converse(options, nullptr, input, {});
  EXPECT_EQ(escape(got.output), escape(want));
  EXPECT_EQ(got.events, std::vector<std::string>{"ended"});
}

std::string take_output(ServerSession& session) {
  std::string out(session.bytes_to_send());
  session.on_sent(out.size());
  return out;
}

TEST(ServerSession, PipelinedCommandsWaitForTheDecision) {
  ServerOptions options;
  options.hostname = "mx.test";
  ServerSession session(options);
  EXPECT_EQ(take_output(session), kGreeting);
  session.on_bytes(
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nbody\r\n.\r\n"
      "MAIL FROM:<x@b.example>\r\nRCPT");
  EXPECT_EQ(take_output(session), cat({kEhlo, kMailOk, kRcptOk, k354}));
  EXPECT_TRUE(session.awaiting_decision());
  session.on_bytes(" TO:<y@d.example>\r\nDATA\r\n");  // held, not answered
  EXPECT_EQ(take_output(session), "");

  std::optional<ServerEvent> event = session.next_event();
  ASSERT_TRUE(event.has_value());
  const auto& message = std::get<MessageReceived>(*event);
  EXPECT_EQ(message.mail_from, "a@b.example");
  EXPECT_EQ(message.recipients, std::vector<std::string>{"c@d.example"});
  EXPECT_EQ(message.body, "body\r\n");
  EXPECT_FALSE(session.next_event().has_value());
  EXPECT_EQ(take_output(session), "");

  session.complete_message("250 2.0.0 Ok: queued as 00000000000000A1");
  EXPECT_FALSE(session.awaiting_decision());
  EXPECT_EQ(take_output(session),
            cat({"250 2.0.0 Ok: queued as 00000000000000A1\r\n", kMailOk, kRcptOk, k354}));
  session.on_bytes("second\r\n.\r\nQUIT\r\n");
  EXPECT_TRUE(session.awaiting_decision());
  ASSERT_TRUE(session.next_event().has_value());
  session.complete_message("250 2.0.0 Ok: queued as 00000000000000A2");
  EXPECT_EQ(take_output(session), cat({"250 2.0.0 Ok: queued as 00000000000000A2\r\n", kBye}));
  EXPECT_TRUE(session.ended());
  ASSERT_TRUE(session.next_event().has_value());  // SessionEnded
  EXPECT_FALSE(session.next_event().has_value());
}

TEST(ServerSession, HeldInputIsBoundedWhileAwaitingDecision) {
  ServerOptions options;
  options.hostname = "mx.test";
  options.limits.pending_input_bytes_max = 1024;
  ServerSession session(options);
  session.on_bytes("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n.\r\n");
  ASSERT_TRUE(session.awaiting_decision());
  take_output(session);
  const std::string noops = [] {
    std::string s;
    for (int i = 0; i < 1000; ++i) {
      s += "NOOP\r\n";
    }
    return s;
  }();
  session.on_bytes(noops);
  EXPECT_LE(session.buffered_bytes(), 1024u);
  session.complete_message("250 2.0.0 Ok: queued as 1");
  EXPECT_EQ(take_output(session),
            "250 2.0.0 Ok: queued as 1\r\n421 4.7.0 mx.test Error: too much pipelined input\r\n");
  EXPECT_TRUE(session.ended());
}

TEST(ServerSession, HugeBodyStaysWithinMemoryBound) {
  ServerOptions options;
  options.limits.message_bytes_max = 64 * 1024;
  ServerSession session(options);
  session.on_bytes("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  take_output(session);
  std::string chunk;
  while (chunk.size() < 16 * 1024) {
    chunk += std::string(62, 'h') + "\r\n";
  }
  const std::size_t bound = options.limits.message_bytes_max + options.limits.text_line_bytes_max;
  for (int i = 0; i < 1024; ++i) {  // 16 MiB
    session.on_bytes(chunk);
    ASSERT_LE(session.buffered_bytes(), bound) << "after chunk " << i;
  }
  EXPECT_EQ(take_output(session), "");
  session.on_bytes(".\r\nNOOP\r\n");
  EXPECT_EQ(take_output(session), "552 5.3.4 Message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(session.next_event().has_value());
}

// RFC 3030: the chunk's octets are consumed and discarded once past the limit, never held.
TEST(ServerSession, HugeChunksStayWithinMemoryBound) {
  ServerOptions options;
  options.limits.message_bytes_max = 64 * 1024;
  ServerSession session(options);
  session.on_bytes("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
  session.on_bytes("BDAT 16777216\r\n");
  take_output(session);
  std::string chunk;
  while (chunk.size() < 16 * 1024) {
    chunk += std::string(62, 'h') + "\r\n";
  }
  chunk.resize(16 * 1024);
  const std::size_t bound = options.limits.message_bytes_max + options.limits.text_line_bytes_max;
  for (int i = 0; i < 1024; ++i) {  // 16 MiB, exactly the chunk
    session.on_bytes(chunk);
    ASSERT_LE(session.buffered_bytes(), bound) << "after piece " << i;
  }
  EXPECT_EQ(take_output(session), "552 5.3.4 Message size exceeds fixed limit\r\n");
  session.on_bytes("BDAT 1000000 LAST\r\n");
  for (int i = 0; i < 61; ++i) {
    session.on_bytes(chunk);
  }
  session.on_bytes(chunk.substr(0, 1000000 - 61 * chunk.size()) + "NOOP\r\n");
  EXPECT_EQ(take_output(session), "552 5.3.4 Message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(session.next_event().has_value());
  EXPECT_EQ(session.buffered_bytes(), 0u);
}

TEST(ServerSession, ChunkingIsOfferedUnlessDisabled) {
  for (const bool chunking : {true, false}) {
    ServerOptions options;
    options.chunking = chunking;
    ServerSession session(options);
    take_output(session);
    session.on_bytes("EHLO c\r\n");
    const std::string ehlo = take_output(session);
    EXPECT_EQ(ehlo.find("CHUNKING\r\n") != std::string::npos, chunking) << ehlo;
    EXPECT_EQ(ehlo.find("BINARYMIME"), std::string::npos) << ehlo;
    session.on_bytes("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n");
    EXPECT_EQ(take_output(session), "555 5.5.4 Unsupported option: BODY\r\n");
  }
}

TEST(ServerSession, OverlongCommandLineIsNeverBuffered) {
  ServerSession session(ServerOptions{});
  take_output(session);
  const std::string junk(4096, 'j');
  for (int i = 0; i < 256; ++i) {  // 1 MiB without a line end
    session.on_bytes(junk);
    ASSERT_LE(session.buffered_bytes(), 512u);
  }
  EXPECT_EQ(take_output(session), "");
  session.on_bytes("\r\nNOOP\r\n");
  EXPECT_EQ(take_output(session), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(ServerSession, PartialOutputSendsKeepOrder) {
  ServerSession session(ServerOptions{});
  session.on_bytes("NOOP\r\nNOOP\r\n");
  std::string sent;
  while (!session.bytes_to_send().empty()) {
    sent += session.bytes_to_send().substr(0, 3);
    session.on_sent(std::min<std::size_t>(3, session.bytes_to_send().size()));
  }
  EXPECT_EQ(sent, "220 localhost ESMTP Outpost\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(session.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace mta::smtp

namespace mta::smtp {
namespace {

std::string drain_output(ServerSession& session) {
  std::string out(session.bytes_to_send());
  session.on_sent(out.size());
  return out;
}

// RFC 3207: offered in EHLO, 220, then nothing the client sent before TLS counts after it.
TEST(ServerSession, StartTlsDiscardsWhatWasPipelinedBeforeTls) {
  ServerSession session(ServerOptions{.hostname = "mx.test", .starttls = true});
  drain_output(session);
  session.on_bytes("EHLO c\r\n");
  EXPECT_NE(drain_output(session).find("250 STARTTLS\r\n"), std::string::npos);
  // The injected MAIL rides in the same packet as STARTTLS, and more comes before TLS.
  const std::string injected = "MAIL FROM:<evil@x>\r\n";
  session.on_bytes("STARTTLS\r\n" + injected);
  session.on_bytes("RCPT TO:<v@y>\r\n");
  EXPECT_EQ(drain_output(session), "220 2.0.0 Ready to start TLS\r\n");
  auto event = session.next_event();
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(std::holds_alternative<StartTlsRequested>(*event));
  EXPECT_EQ(session.discarded_bytes(), injected.size() + 15);
  session.tls_started();
  EXPECT_TRUE(session.tls());
  // Knowledge from before TLS is gone: EHLO again first.
  session.on_bytes("MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(drain_output(session), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  session.on_bytes("EHLO c\r\n");
  const std::string ehlo = drain_output(session);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  session.on_bytes("STARTTLS\r\n");
  EXPECT_EQ(drain_output(session), "503 5.5.1 Error: TLS already active\r\n");
}

TEST(ServerSession, StartTlsRefusals) {
  ServerSession plain(ServerOptions{.hostname = "mx.test"});
  drain_output(plain);
  plain.on_bytes("EHLO c\r\nSTARTTLS\r\n");
  const std::string out = drain_output(plain);
  EXPECT_EQ(out.find("STARTTLS\r\n"), std::string::npos);
  EXPECT_NE(out.find("502 5.5.1 Error: command not implemented\r\n"), std::string::npos);

  ServerSession offered(ServerOptions{.hostname = "mx.test", .starttls = true});
  drain_output(offered);
  offered.on_bytes("STARTTLS now\r\nNOOP\r\n");
  EXPECT_EQ(drain_output(offered), "501 5.5.4 Syntax: STARTTLS\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(offered.next_event().has_value());

  ServerSession implicit(ServerOptions{.hostname = "mx.test", .starttls = true, .tls = true});
  drain_output(implicit);
  EXPECT_TRUE(implicit.tls());
  implicit.on_bytes("EHLO c\r\nSTARTTLS\r\n");
  const std::string ehlo = drain_output(implicit);
  EXPECT_EQ(ehlo.find("STARTTLS\r\n250"), std::string::npos);
  EXPECT_NE(ehlo.find("503 5.5.1 Error: TLS already active"), std::string::npos);
}

// RFC 4954: offered only over TLS by default; PLAIN with an initial response, LOGIN by
// challenges; the caller decides; one AUTH per session.
TEST(ServerSession, AuthOfferedOverTlsOnlyAndDecidedByTheCaller) {
  ServerOptions options{.hostname = "mx.test", .starttls = true};
  options.auth_mechanisms = {"PLAIN", "LOGIN"};
  ServerSession session(options);
  drain_output(session);
  session.on_bytes("EHLO c\r\n");
  EXPECT_EQ(drain_output(session).find("AUTH"), std::string::npos);
  session.on_bytes("AUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(drain_output(session),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  session.on_bytes("STARTTLS\r\n");
  drain_output(session);
  ASSERT_TRUE(session.next_event().has_value());
  session.tls_started();
  session.on_bytes("EHLO c\r\n");
  EXPECT_NE(drain_output(session).find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos);

  // A wrong password, then LOGIN by challenges; MAIL pipelined behind AUTH waits for it.
  session.on_bytes("AUTH PLAIN AGEAYg==\r\n");
  auto event = session.next_event();
  ASSERT_TRUE(event.has_value());
  auto* auth = std::get_if<AuthRequested>(&*event);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->mechanism, "PLAIN");
  EXPECT_EQ(auth->responses, std::vector<std::string>{"AGEAYg=="});
  session.complete_auth(std::nullopt);
  EXPECT_EQ(drain_output(session), "535 5.7.8 Authentication credentials invalid\r\n");
  // A locked-out address: 454, and the session goes on reading what was pipelined.
  session.on_bytes("AUTH PLAIN AGEAYg==\r\nNOOP\r\n");
  ASSERT_TRUE(session.next_event().has_value());
  session.refuse_auth();
  EXPECT_EQ(drain_output(session),
            "454 4.7.0 Temporary authentication failure, try again later\r\n250 2.0.0 Ok\r\n");
  EXPECT_TRUE(session.authenticated_user().empty());
  session.on_bytes("AUTH login\r\n");
  EXPECT_EQ(drain_output(session), "334 VXNlcm5hbWU6\r\n");
  session.on_bytes("dXNlcg==\r\n");
  EXPECT_EQ(drain_output(session), "334 UGFzc3dvcmQ6\r\n");
  session.on_bytes("cGFzcw==\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(drain_output(session), "");  // nothing answered before the decision
  event = session.next_event();
  ASSERT_TRUE(event.has_value());
  auth = std::get_if<AuthRequested>(&*event);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->responses, (std::vector<std::string>{"dXNlcg==", "cGFzcw=="}));
  EXPECT_TRUE(session.awaiting_decision());
  session.complete_auth("user");
  EXPECT_EQ(drain_output(session), "235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n");
  EXPECT_EQ(session.authenticated_user(), "user");
  session.on_bytes("RSET\r\nAUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(drain_output(session), "250 2.0.0 Ok\r\n503 5.5.1 Error: already authenticated\r\n");
}

TEST(ServerSession, AuthRefusals) {
  ServerOptions options{.hostname = "mx.test"};
  options.auth_mechanisms = {"PLAIN"};
  options.auth_without_tls = true;
  ServerSession session(options);
  drain_output(session);
  session.on_bytes("AUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(drain_output(session), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  session.on_bytes("EHLO c\r\nAUTH CRAM-MD5\r\nAUTH PLAIN\r\n*\r\n");
  const std::string out = drain_output(session);
  EXPECT_NE(out.find("250 AUTH PLAIN\r\n"), std::string::npos);
  EXPECT_NE(out.find("504 5.5.4 Unrecognized authentication type\r\n334 \r\n"
                     "501 5.7.0 Authentication cancelled\r\n"),
            std::string::npos)
      << out;
  session.on_bytes("MAIL FROM:<a@b> AUTH=<>\r\nAUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(drain_output(session),
            "250 2.1.0 Ok\r\n503 5.5.1 Error: MAIL transaction in progress\r\n");

  ServerSession none(ServerOptions{.hostname = "mx.test"});
  drain_output(none);
  none.on_bytes("EHLO c\r\nAUTH PLAIN AGEAYg==\r\n");
  EXPECT_NE(drain_output(none).find("502 5.5.1"), std::string::npos);
}

}  // namespace
}  // namespace mta::smtp
