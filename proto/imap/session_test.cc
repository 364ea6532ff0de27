// Session transcripts against MemoryBackend: client bytes in, the exact response bytes out.
// Covers greeting and capabilities, LOGIN/AUTHENTICATE (with the asynchronous decision),
// LOGINDISABLED and STARTTLS (pipelined input discarded), SELECT/EXAMINE, FETCH of every
// attribute with exact ENVELOPE and BODYSTRUCTURE for a plain message, a multipart/alternative
// and a DSN, SEARCH, STORE/COPY/MOVE/EXPUNGE seen by a second session, IDLE, APPEND, folder
// commands, limits, and a whole conversation replayed at every byte split.
#include "proto/imap/session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/imap/memory_backend.h"

namespace mta::imap {
namespace {

constexpr std::string_view kPlain =
    "Return-Path: <>\r\n"
    "From: \"Mail Delivery System\" <MAILER-DAEMON@mx.example.net>\r\n"
    "To: bounces+abc=example.com@outpost.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n"
    "Message-ID: <20231114.1@mx.example.net>\r\n"
    "\r\n"
    "This is the mail system at host mx.example.net.\r\n"
    "I'm sorry to have to inform you that your message could not be delivered.\r\n";

constexpr std::string_view kAlternative =
    "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>, Group: a@b.example, c@d.example;\r\n"
    "To: list@outpost.example\r\n"
    "Cc: undisclosed-recipients:;\r\n"
    "Reply-To: replies@example.de\r\n"
    "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
    "Date: 2 Jan 2024 08:30:00 -0500\r\n"
    "In-Reply-To: <orig@outpost.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>Hello</p>\r\n"
    "--b1--\r\n";

constexpr std::string_view kDsn =
    "From: MAILER-DAEMON@outpost.example\r\n"
    "To: sender@example.com\r\n"
    "Subject: Delivery Status Notification (Failure)\r\n"
    "Date: Wed, 15 Nov 2023 12:00:00 +0000\r\n"
    "Message-ID: <dsn.1@outpost.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n"
    "\r\n"
    "--r\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Your message to rcpt@example.org could not be delivered.\r\n"
    "--r\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; outpost.example\r\n"
    "\r\n"
    "Final-Recipient: rfc822; rcpt@example.org\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
    "--r\r\n"
    "Content-Type: text/rfc822-headers\r\n"
    "\r\n"
    "From: sender@example.com\r\n"
    "To: rcpt@example.org\r\n"
    "Subject: Hello\r\n"
    "--r--\r\n";

// 14-Nov-2023 10:00:00 +0000, 2-Jan-2024 13:30:00 +0000, 15-Nov-2023 12:00:00 +0000.
constexpr std::int64_t kDate1 = 1699956000, kDate2 = 1704202200, kDate3 = 1700049600;

// A backend with INBOX holding the three messages (uids 1, 2, 3), the DSN flagged \Seen.
void fill(MemoryBackend& backend) {
  Flags none, seen;
  seen.system = kSeen;
  ASSERT_TRUE(backend.append("INBOX", none, kDate1, kPlain));
  ASSERT_TRUE(backend.append("INBOX", none, kDate2, kAlternative));
  ASSERT_TRUE(backend.append("INBOX", seen, kDate3, kDsn));
  ASSERT_TRUE(backend.create_folder("Archive"));
}

SessionOptions tls_options() {
  SessionOptions options;
  options.hostname = "imap.test";
  options.tls = true;
  return options;
}

// One client connection: feeds bytes, answers auth (password "secret" is right), records
// events, and returns what the session sent.
class Client {
 public:
  Client(Backend& backend, SessionOptions options = tls_options())
      : session_(std::move(options), backend) {}

  std::string send(std::string_view bytes) {
    session_.on_bytes(bytes);
    return drain();
  }
  std::string drain() {
    std::string out;
    for (int round = 0; round < 1000; ++round) {
      bool progress = false;
      while (std::optional<SessionEvent> event = session_.next_event()) {
        progress = true;
        if (auto* auth = std::get_if<AuthRequested>(&*event)) {
          events.push_back("auth " + auth->mechanism + " " + auth->user + " " + auth->password);
          session_.complete_auth(auth->password == "secret");
        } else if (std::holds_alternative<StartTlsRequested>(*event)) {
          events.push_back("starttls");
        } else {
          events.push_back("ended");
        }
      }
      const std::string_view pending = session_.bytes_to_send();
      if (!pending.empty()) {
        progress = true;
        out += pending;
        session_.on_sent(pending.size());
      }
      if (!progress) break;
    }
    return out;
  }
  Session& session() { return session_; }

  std::vector<std::string> events;

 private:
  Session session_;
};

constexpr std::string_view kCapsAfterLogin =
    "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN "
    "APPENDLIMIT=52428800";

std::string login(Client& client) { return client.send("l LOGIN fred secret\r\n"); }

std::string select_inbox(Client& client) {
  login(client);
  return client.send("s SELECT INBOX\r\n");
}

TEST(Session, GreetingAndCapabilities) {
  MemoryBackend backend;
  Client tls(backend);
  EXPECT_EQ(tls.drain(),
            "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE "
            "UIDPLUS MOVE UNSELECT CHILDREN APPENDLIMIT=52428800] imap.test Outpost IMAP4rev1 "
            "ready\r\n");
  EXPECT_EQ(tls.send("c1 CAPABILITY\r\n"),
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
            "MOVE UNSELECT CHILDREN APPENDLIMIT=52428800\r\nc1 OK CAPABILITY completed\r\n");

  SessionOptions plain;
  plain.hostname = "imap.test";
  plain.starttls = true;
  Client client(backend, plain);
  EXPECT_EQ(client.drain(),
            "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED LITERAL+ ID ENABLE IDLE NAMESPACE "
            "UIDPLUS MOVE UNSELECT CHILDREN APPENDLIMIT=52428800] imap.test Outpost IMAP4rev1 "
            "ready\r\n");
  EXPECT_EQ(client.send("a LOGIN fred secret\r\n"),
            "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed, use STARTTLS\r\n");
  EXPECT_EQ(client.send("b AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n"),
            "b NO [PRIVACYREQUIRED] Plaintext authentication disallowed, use STARTTLS\r\n");
  EXPECT_TRUE(client.events.empty());

  // No TLS at all: plaintext login is the only way in, so it is allowed.
  SessionOptions none;
  none.hostname = "imap.test";
  Client bare(backend, none);
  EXPECT_NE(bare.drain().find("AUTH=PLAIN"), std::string::npos);
  EXPECT_EQ(bare.send("a LOGIN fred secret\r\n"),
            "a OK [CAPABILITY " + std::string(kCapsAfterLogin) + "] Logged in\r\n");
}

TEST(Session, StartTlsDiscardsPipelinedInput) {
  MemoryBackend backend;
  SessionOptions options;
  options.hostname = "imap.test";
  options.starttls = true;
  Client client(backend, options);
  client.drain();
  // The LOGIN after STARTTLS in the same packet is an injection: it must not run after TLS.
  EXPECT_EQ(client.send("t STARTTLS\r\nx LOGIN fred secret\r\n"),
            "t OK Begin TLS negotiation now\r\n");
  EXPECT_EQ(client.events, std::vector<std::string>{"starttls"});
  EXPECT_TRUE(client.session().input_paused());
  EXPECT_EQ(client.send("y NOOP\r\n"), "");
  client.session().tls_started();
  EXPECT_EQ(client.session().discarded_bytes(), 29u);
  EXPECT_EQ(client.send("c CAPABILITY\r\n"),
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
            "MOVE UNSELECT CHILDREN APPENDLIMIT=52428800\r\nc OK CAPABILITY completed\r\n");
  EXPECT_EQ(client.send("t STARTTLS\r\n"), "t BAD STARTTLS not available\r\n");
  EXPECT_EQ(client.send("a LOGIN fred secret\r\n"),
            "a OK [CAPABILITY " + std::string(kCapsAfterLogin) + "] Logged in\r\n");
}

TEST(Session, LoginAndAuthenticate) {
  MemoryBackend backend;
  Client client(backend);
  client.drain();
  EXPECT_EQ(client.send("s SELECT INBOX\r\n"), "s BAD Not authenticated\r\n");
  EXPECT_EQ(client.send("a LOGIN fred wrong\r\n"),
            "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  // SASL-IR: authzid empty, "fred", "secret".
  EXPECT_EQ(client.send("b AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n"),
            "b OK [CAPABILITY " + std::string(kCapsAfterLogin) + "] Logged in\r\n");
  EXPECT_EQ(client.session().user(), "fred");
  EXPECT_EQ(client.send("c LOGIN fred secret\r\n"), "c BAD Already authenticated\r\n");
  EXPECT_EQ(client.events,
            (std::vector<std::string>{"auth LOGIN fred wrong", "auth PLAIN fred secret"}));

  Client other(backend);
  other.drain();
  EXPECT_EQ(other.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(other.send("*\r\n"), "a BAD Authentication cancelled\r\n");
  EXPECT_EQ(other.send("b AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(other.send("!!!\r\n"), "b BAD Invalid base64 data\r\n");
  EXPECT_EQ(other.send("c AUTHENTICATE CRAM-MD5\r\n"),
            "c NO Unsupported authentication mechanism\r\n");
  EXPECT_EQ(other.send("d AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(other.send("Ym9iAGZyZWQAc2VjcmV0\r\n"),
            "d NO [AUTHORIZATIONFAILED] Cannot act as another user\r\n");
  EXPECT_EQ(other.send("e AUTHENTICATE PLAIN\r\nAGZyZWQAc2VjcmV0\r\nf NOOP\r\n"),
            "+ \r\ne OK [CAPABILITY " + std::string(kCapsAfterLogin) +
                "] Logged in\r\nf OK NOOP completed\r\n");
}

TEST(Session, AuthDecisionHoldsPipelinedCommands) {
  MemoryBackend backend;
  Session session(tls_options(), backend);
  session.on_sent(session.bytes_to_send().size());
  session.on_bytes("a LOGIN fred secret\r\nb NOOP\r\n");
  std::optional<SessionEvent> event = session.next_event();
  ASSERT_TRUE(event);
  ASSERT_TRUE(std::holds_alternative<AuthRequested>(*event));
  EXPECT_TRUE(session.awaiting_decision());
  EXPECT_TRUE(session.input_paused());
  EXPECT_EQ(session.bytes_to_send(), "");
  session.on_bytes("c NOOP\r\n");
  session.complete_auth(true);
  EXPECT_EQ(session.bytes_to_send(),
            "a OK [CAPABILITY " + std::string(kCapsAfterLogin) +
                "] Logged in\r\nb OK NOOP completed\r\nc OK NOOP completed\r\n");
}

TEST(Session, RefusedAuthIsUnavailableAndCounts) {
  MemoryBackend backend;
  Session session(tls_options(), backend);
  session.on_sent(session.bytes_to_send().size());
  std::string out;
  for (const char* command :
       {"a LOGIN fred secret\r\n", "b AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
        "c LOGIN fred secret\r\n"}) {
    session.on_bytes(command);
    std::optional<SessionEvent> event = session.next_event();
    ASSERT_TRUE(event && std::holds_alternative<AuthRequested>(*event)) << command;
    session.refuse_auth();
    out += session.bytes_to_send();
    session.on_sent(session.bytes_to_send().size());
  }
  EXPECT_EQ(out,
            "a NO [UNAVAILABLE] Temporary authentication failure, try again later\r\n"
            "b NO [UNAVAILABLE] Temporary authentication failure, try again later\r\n"
            "c NO [UNAVAILABLE] Temporary authentication failure, try again later\r\n"
            "* BYE Too many authentication failures\r\n");
  EXPECT_TRUE(session.ended());
  EXPECT_TRUE(session.user().empty());
}

TEST(Session, TooManyAuthFailuresEnd) {
  MemoryBackend backend;
  Client client(backend);
  client.drain();
  std::string out;
  for (int i = 0; i < 3; ++i) out += client.send("a LOGIN fred nope\r\n");
  EXPECT_EQ(out,
            "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
            "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
            "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
            "* BYE Too many authentication failures\r\n");
  EXPECT_TRUE(client.session().ended());
  EXPECT_EQ(client.events.back(), "ended");
}

TEST(Session, SelectAndExamine) {
  MemoryBackend backend;
  fill(backend);
  Client client(backend);
  client.drain();
  login(client);
  EXPECT_EQ(client.send("s SELECT inbox\r\n"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
            "permitted\r\n"
            "* 3 EXISTS\r\n"
            "* 3 RECENT\r\n"
            "* OK [UNSEEN 1] First unseen\r\n"
            "* OK [UIDVALIDITY 1] UIDs valid\r\n"
            "* OK [UIDNEXT 4] Predicted next UID\r\n"
            "s OK [READ-WRITE] SELECT completed\r\n");
  // A second session gets no \Recent: the first one claimed them.
  Client other(backend);
  other.drain();
  login(other);
  EXPECT_EQ(other.send("e EXAMINE INBOX\r\n"),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n"
            "* 3 EXISTS\r\n"
            "* 0 RECENT\r\n"
            "* OK [UNSEEN 1] First unseen\r\n"
            "* OK [UIDVALIDITY 1] UIDs valid\r\n"
            "* OK [UIDNEXT 4] Predicted next UID\r\n"
            "e OK [READ-ONLY] EXAMINE completed\r\n");
  EXPECT_EQ(other.send("f STORE 1 +FLAGS (\\Seen)\r\n"),
            "f NO [READ-ONLY] Mailbox is read-only\r\n");
  EXPECT_EQ(other.send("g FETCH 1 (BODY[TEXT]<0.4>)\r\n"),
            "* 1 FETCH (BODY[TEXT]<0> {4}\r\nThis)\r\ng OK FETCH completed\r\n");
  EXPECT_EQ(other.send("h SELECT Nope\r\n"), "h NO [NONEXISTENT] Mailbox does not exist\r\n");
  EXPECT_EQ(other.send("i FETCH 1 FLAGS\r\n"), "i BAD No mailbox selected\r\n");
}

TEST(Session, FetchSimpleAttributes) {
  MemoryBackend backend;
  fill(backend);
  Client client(backend);
  client.drain();
  select_inbox(client);
  EXPECT_EQ(
      client.send("f FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)\r\n"),
      "* 1 FETCH (UID 1 FLAGS (\\Recent) INTERNALDATE \"14-Nov-2023 10:00:00 +0000\" "
      "RFC822.SIZE " +
          std::to_string(kPlain.size()) +
          ")\r\n"
          "* 2 FETCH (UID 2 FLAGS (\\Recent) INTERNALDATE \"02-Jan-2024 13:30:00 +0000\" "
          "RFC822.SIZE " +
          std::to_string(kAlternative.size()) +
          ")\r\n"
          "* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) INTERNALDATE \"15-Nov-2023 12:00:00 +0000\" "
          "RFC822.SIZE " +
          std::to_string(kDsn.size()) +
          ")\r\n"
          "f OK FETCH completed\r\n");
  EXPECT_EQ(client.send("g UID FETCH 3 FLAGS\r\n"),
            "* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))\r\ng OK FETCH completed\r\n");
  EXPECT_EQ(client.send("h UID FETCH 10:20 FLAGS\r\n"), "h OK FETCH completed\r\n");
  EXPECT_EQ(client.send("i FETCH 4 FLAGS\r\n"), "i BAD Invalid message sequence number\r\n");
  EXPECT_EQ(client.send("j FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject Date)])\r\n"),
            "* 1 FETCH (BODY[HEADER.FIELDS (Subject Date)] {87}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n\r\n)\r\n"
            "j OK FETCH completed\r\n");
  EXPECT_EQ(
      client.send("k FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Subject Date Message-ID)])\r\n"),
      "* 1 FETCH (BODY[HEADER.FIELDS.NOT (From To Subject Date Message-ID)] {19}\r\n"
      "Return-Path: <>\r\n\r\n)\r\n"
      "k OK FETCH completed\r\n");
  // Without PEEK, BODY[] sets \Seen and the response says so.
  const std::string header(kPlain.substr(0, kPlain.find("\r\n\r\n") + 4));
  const std::string text(kPlain.substr(header.size()));
  EXPECT_EQ(client.send("l FETCH 1 (BODY[TEXT])\r\n"),
            "* 1 FETCH (BODY[TEXT] {" + std::to_string(text.size()) + "}\r\n" + text +
                " FLAGS (\\Seen \\Recent))\r\nl OK FETCH completed\r\n");
  EXPECT_EQ(client.send("m FETCH 1 (RFC822.HEADER)\r\n"),
            "* 1 FETCH (RFC822.HEADER {" + std::to_string(header.size()) + "}\r\n" + header +
                ")\r\nm OK FETCH completed\r\n");
  EXPECT_EQ(client.send("n FETCH 1 RFC822\r\n"),
            "* 1 FETCH (RFC822 {" + std::to_string(kPlain.size()) + "}\r\n" + std::string(kPlain) +
                ")\r\nn OK FETCH completed\r\n");
  EXPECT_EQ(client.send("o FETCH 1 (RFC822.TEXT BODY[1] BODY[]<10.5> BODY[9])\r\n"),
            "* 1 FETCH (RFC822.TEXT {" + std::to_string(text.size()) + "}\r\n" + text +
                " BODY[1] {" + std::to_string(text.size()) + "}\r\n" + text +
                " BODY[]<10> {5}\r\n" + std::string(kPlain.substr(10, 5)) +
                " BODY[9] NIL)\r\no OK FETCH completed\r\n");
  EXPECT_EQ(client.send("p FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[1.TEXT])\r\n"),
            "* 2 FETCH (BODY[1] {29}\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln BODY[2.MIME] {42}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n BODY[1.TEXT] NIL)\r\n"
            "p OK FETCH completed\r\n");
}

TEST(Session, FetchEnvelopeAndBodyStructure) {
  MemoryBackend backend;
  fill(backend);
  Client client(backend);
  client.drain();
  select_inbox(client);
  EXPECT_EQ(client.send("a FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)\r\n"),
            "* 1 FETCH (ENVELOPE (\"Tue, 14 Nov 2023 10:00:00 +0100\" \"Undelivered Mail Returned "
            "to Sender\" ((\"Mail Delivery System\" NIL \"MAILER-DAEMON\" \"mx.example.net\")) "
            "((\"Mail Delivery System\" NIL \"MAILER-DAEMON\" \"mx.example.net\")) ((\"Mail "
            "Delivery System\" NIL \"MAILER-DAEMON\" \"mx.example.net\")) ((NIL NIL "
            "\"bounces+abc=example.com\" \"outpost.example\")) NIL NIL NIL "
            "\"<20231114.1@mx.example.net>\") "
            "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 124 2 "
            "NIL NIL NIL NIL) "
            "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 124 2))\r\n"
            "a OK FETCH completed\r\n");
  EXPECT_EQ(client.send("b FETCH 2 (ENVELOPE BODYSTRUCTURE)\r\n"),
            "* 2 FETCH (ENVELOPE (\"2 Jan 2024 08:30:00 -0500\" \"=?UTF-8?B?R3LDvMOfZQ==?=\" "
            "((\"=?UTF-8?Q?J=C3=BCrgen?=\" NIL \"juergen\" \"example.de\")(NIL NIL \"Group\" NIL)"
            "(NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\")(NIL NIL NIL NIL)) "
            "((\"=?UTF-8?Q?J=C3=BCrgen?=\" NIL \"juergen\" \"example.de\")(NIL NIL \"Group\" NIL)"
            "(NIL NIL \"a\" \"b.example\")(NIL NIL \"c\" \"d.example\")(NIL NIL NIL NIL)) "
            "((NIL NIL \"replies\" \"example.de\")) ((NIL NIL \"list\" \"outpost.example\")) "
            "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL "
            "\"<orig@outpost.example>\" NIL) "
            "BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
            "\"QUOTED-PRINTABLE\" 29 1 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") "
            "NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"b1\") NIL NIL "
            "NIL))\r\n"
            "b OK FETCH completed\r\n");
  EXPECT_EQ(client.send("c FETCH 3 (BODYSTRUCTURE)\r\n"),
            "* 3 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
            "\"7BIT\" 56 1 NIL NIL NIL NIL)(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"7BIT\" "
            "158 NIL NIL NIL NIL)(\"TEXT\" \"RFC822-HEADERS\" (\"CHARSET\" \"us-ascii\") NIL NIL "
            "\"7BIT\" 62 3 NIL NIL NIL NIL) \"REPORT\" (\"REPORT-TYPE\" \"delivery-status\" "
            "\"BOUNDARY\" \"r\") NIL NIL NIL))\r\n"
            "c OK FETCH completed\r\n");
}

TEST(Session, FetchMessageRfc822Part) {
  MemoryBackend backend;
  const std::string inner = "From: a@b.example\r\nSubject: inner\r\n\r\nline1\r\nline2\r\n";
  const std::string outer =
      "From: x@y.example\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"
      "Content-Type: text/plain\r\n\r\nsee attached\r\n--m\r\nContent-Type: message/rfc822\r\n"
      "\r\n" +
      inner + "--m--\r\n";
  ASSERT_TRUE(backend.append("INBOX", {}, 0, outer));
  Client client(backend);
  client.drain();
  select_inbox(client);
  EXPECT_EQ(
      client.send("a FETCH 1 (BODY BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1])\r\n"),
      "* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 1)"
      "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 49 (NIL \"inner\" ((NIL NIL \"a\" "
      "\"b.example\")) ((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) NIL NIL "
      "NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 2) 5) "
      "\"MIXED\") BODY[2.HEADER] {37}\r\nFrom: a@b.example\r\nSubject: inner\r\n\r\n "
      "BODY[2.TEXT] {12}\r\nline1\r\nline2 BODY[2.1] {12}\r\nline1\r\nline2)\r\n"
      "a OK FETCH completed\r\n");
}

TEST(Session, Search) {
  MemoryBackend backend;
  fill(backend);
  Client client(backend);
  client.drain();
  select_inbox(client);
  struct Case {
    std::string query;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"ALL", "1 2 3"},
      {"SEEN", "3"},
      {"UNSEEN", "1 2"},
      {"NEW", "1 2"},
      {"OLD", ""},
      {"RECENT", "1 2 3"},
      {"FROM mailer-daemon", "1 3"},
      {"FROM jürgen", "2"},  // RFC 2047 decoded
      {"SUBJECT grüße", "2"},
      {"SUBJECT GRÜ", ""},  // only ASCII letters fold
      {"TO outpost.example", "1 2"},
      {"CC undisclosed", "2"},
      {"BCC x", ""},
      {"HEADER Message-ID dsn.1", "3"},
      {"HEADER In-Reply-To \"\"", "2"},
      {"BODY \"could not be delivered\"", "1 3"},
      {"BODY köln", "2"},              // quoted-printable decoded
      {"BODY \"User unknown\"", "3"},  // message/delivery-status
      {"TEXT \"Delivery Status\"", "3"},
      {"TEXT hello", "2 3"},
      {"LARGER 400", "2 3"},
      {"SMALLER 400", "1"},
      {"SINCE 15-Nov-2023", "2 3"},
      {"BEFORE 15-Nov-2023", "1"},
      {"ON 14-Nov-2023", "1"},
      {"SENTON 2-Jan-2024", "2"},
      {"SENTSINCE 15-Nov-2023", "2 3"},
      {"SENTBEFORE 15-Nov-2023", "1"},
      {"NOT SEEN", "1 2"},
      {"OR SEEN FROM juergen", "2 3"},
      {"(SEEN FROM outpost)", "3"},
      {"2:*", "2 3"},
      {"UID 1,3", "1 3"},
      {"UID 5:*", "3"},
      {"KEYWORD $Bounce", ""},
      {"UNKEYWORD $Bounce", "1 2 3"},
      {"CHARSET UTF-8 TEXT failure", "3"},
      {"DELETED", ""},
      {"UNDELETED UNANSWERED UNFLAGGED UNDRAFT", "1 2 3"},
  };
  for (const Case& c : cases) {
    const std::string want =
        "* SEARCH" + (c.want.empty() ? "" : " " + c.want) + "\r\nq OK SEARCH completed\r\n";
    EXPECT_EQ(client.send("q SEARCH " + c.query + "\r\n"), want) << c.query;
  }
  EXPECT_EQ(client.send("u UID SEARCH SEEN\r\n"), "* SEARCH 3\r\nu OK SEARCH completed\r\n");
  EXPECT_EQ(client.send("v SEARCH CHARSET KOI8-R ALL\r\n"),
            "v NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
  EXPECT_EQ(client.send("w SEARCH FROM {7}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(client.send("jürgen\r\n"), "* SEARCH 2\r\nw OK SEARCH completed\r\n");
}

TEST(Session, StoreExpungeSeenByOtherSession) {
  MemoryBackend backend;
  fill(backend);
  Client a(backend), b(backend);
  a.drain();
  b.drain();
  select_inbox(a);
  select_inbox(b);
  EXPECT_EQ(a.send("s STORE 1:2 +FLAGS (\\Deleted $Bounce)\r\n"),
            "* 1 FETCH (FLAGS (\\Deleted $Bounce \\Recent))\r\n"
            "* 2 FETCH (FLAGS (\\Deleted $Bounce \\Recent))\r\n"
            "s OK STORE completed\r\n");
  EXPECT_EQ(b.send("n NOOP\r\n"),
            "* 1 FETCH (FLAGS (\\Deleted $Bounce))\r\n* 2 FETCH (FLAGS (\\Deleted $Bounce))\r\n"
            "n OK NOOP completed\r\n");
  EXPECT_EQ(a.send("t UID STORE 2 -FLAGS.SILENT (\\Deleted)\r\n"), "t OK STORE completed\r\n");
  EXPECT_EQ(a.send("u STORE 3 FLAGS (\\Seen \\Flagged)\r\n"),
            "* 3 FETCH (FLAGS (\\Seen \\Flagged \\Recent))\r\nu OK STORE completed\r\n");
  EXPECT_EQ(a.send("e EXPUNGE\r\n"), "* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n");
  // b sees the flag changes after FETCH, but the EXPUNGE must wait (RFC 3501 §7.4.1).
  EXPECT_EQ(b.send("f FETCH 3 FLAGS\r\n"),
            "* 2 FETCH (FLAGS ($Bounce))\r\n* 3 FETCH (FLAGS (\\Seen \\Flagged))\r\n"
            "* 3 FETCH (FLAGS (\\Seen \\Flagged))\r\nf OK FETCH completed\r\n");
  EXPECT_EQ(b.send("g SEARCH ALL\r\n"), "* SEARCH 1 2 3\r\ng OK SEARCH completed\r\n");
  EXPECT_EQ(b.send("h NOOP\r\n"), "* 1 EXPUNGE\r\nh OK NOOP completed\r\n");
  EXPECT_EQ(b.send("i SEARCH ALL\r\n"), "* SEARCH 1 2\r\ni OK SEARCH completed\r\n");
  // UID EXPUNGE touches only the listed uids.
  EXPECT_EQ(a.send("j STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n"), "j OK STORE completed\r\n");
  EXPECT_EQ(a.send("k UID EXPUNGE 3\r\n"), "* 2 EXPUNGE\r\nk OK EXPUNGE completed\r\n");
  EXPECT_EQ(a.send("l CLOSE\r\n"), "l OK CLOSE completed\r\n");
  EXPECT_EQ(b.send("m UID FETCH 1:* FLAGS\r\n"),
            "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\nm OK FETCH completed\r\n");
  EXPECT_EQ(backend.status("INBOX")->messages, 0u);
}

TEST(Session, CopyMoveAndAppend) {
  MemoryBackend backend;
  fill(backend);
  Client a(backend), b(backend);
  a.drain();
  b.drain();
  select_inbox(a);
  login(b);
  EXPECT_NE(b.send("s SELECT Archive\r\n").find("* 0 EXISTS\r\n"), std::string::npos);
  EXPECT_EQ(a.send("c COPY 1:2 Archive\r\n"), "c OK [COPYUID 2 1:2 1:2] COPY completed\r\n");
  EXPECT_EQ(a.send("d COPY 1 Nope\r\n"), "d NO [TRYCREATE] Mailbox does not exist\r\n");
  EXPECT_EQ(b.send("n NOOP\r\n"), "* 2 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed\r\n");
  EXPECT_EQ(a.send("m UID MOVE 3 Archive\r\n"),
            "* OK [COPYUID 2 3 3] Moved\r\n* 3 EXPUNGE\r\nm OK MOVE completed\r\n");
  EXPECT_EQ(
      a.send("m2 MOVE 1,2 Archive\r\n"),
      "* OK [COPYUID 2 1:2 4:5] Moved\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\nm2 OK MOVE completed\r\n");
  EXPECT_EQ(b.send("n NOOP\r\n"), "* 5 EXISTS\r\n* 5 RECENT\r\nn OK NOOP completed\r\n");
  EXPECT_EQ(a.send("p APPEND INBOX (\\Seen) \"05-Mar-2024 10:00:00 +0100\" {9}\r\n"),
            "+ Ready for literal data\r\n");
  // 9 octets are "Subject: "; the "x" after them is not part of the APPEND syntax.
  EXPECT_EQ(a.send("Subject: x\r\n"), "p BAD Unexpected characters at end of command\r\n");
  EXPECT_EQ(a.send("\r\n"), "");
  EXPECT_EQ(
      a.send("q APPEND INBOX (\\Seen) \"05-Mar-2024 10:00:00 +0100\" {12+}\r\nSubject: x\r\n\r\n"),
      "* 1 EXISTS\r\n* 1 RECENT\r\nq OK [APPENDUID 1 4] APPEND completed\r\n");
  EXPECT_EQ(a.send("r FETCH 1 (FLAGS INTERNALDATE)\r\n"),
            "* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"05-Mar-2024 09:00:00 +0000\")\r\n"
            "r OK FETCH completed\r\n");
  EXPECT_EQ(a.send("t APPEND Nope {1+}\r\nx\r\n"), "t NO [TRYCREATE] Mailbox does not exist\r\n");
  EXPECT_EQ(a.send("u APPEND INBOX {0+}\r\n\r\n"), "u NO Cannot append an empty message\r\n");
}

TEST(Session, AppendTooBig) {
  MemoryBackend backend;
  SessionOptions options = tls_options();
  options.limits.command.append_bytes_max = 100;
  Client client(backend, options);
  client.drain();
  login(client);
  EXPECT_EQ(client.send("a APPEND INBOX {101}\r\n"), "a NO [TOOBIG] Message too large\r\n");
  EXPECT_EQ(client.send("b APPEND INBOX {200+}\r\n" + std::string(200, 'x') + "\r\nc NOOP\r\n"),
            "b NO [TOOBIG] Message too large\r\nc OK NOOP completed\r\n");
  EXPECT_EQ(client.send("d LOGIN {70000}\r\n"), "d BAD Literal too large\r\n");
}

// Before login only LOGIN's credentials may come as literals, at most 1 KiB; anything else is
// refused before a "+" invites its octets (issue 21: a 50 MB APPEND before login was read).
TEST(Session, LiteralsBeforeLogin) {
  MemoryBackend backend;
  Client client(backend);
  client.drain();
  EXPECT_EQ(client.send("a APPEND INBOX {52428800}\r\n"),
            "a BAD Literal refused before authentication\r\n");
  EXPECT_EQ(client.send("b SEARCH TEXT {1}\r\n"),
            "b BAD Literal refused before authentication\r\n");
  EXPECT_EQ(client.send("c LOGIN {2000}\r\n"), "c BAD Literal refused before authentication\r\n");
  EXPECT_LE(client.session().buffered_bytes(), 0u);
  EXPECT_EQ(client.send("d LOGIN {4}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(client.send("fred {6}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(client.send("secret\r\n"),
            "d OK [CAPABILITY " + std::string(kCapsAfterLogin) + "] Logged in\r\n");
  // Logged in: APPEND takes its literal.
  EXPECT_EQ(client.send("e APPEND INBOX {12}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(client.send("Subject: y\r\n\r\n"), "e OK [APPENDUID 1 1] APPEND completed\r\n");
}

// A non-synchronizing literal refused before login: its octets are coming, so the session
// answers, says BYE and ends without reading them.
TEST(Session, NonSyncLiteralBeforeLoginEnds) {
  MemoryBackend backend;
  Client client(backend);
  client.drain();
  EXPECT_EQ(client.send("a APPEND INBOX {52428800+}\r\n" + std::string(1024 * 1024, 'm')),
            "a BAD Literal refused before authentication\r\n"
            "* BYE Literal too large before authentication\r\n");
  EXPECT_TRUE(client.session().ended());
  EXPECT_EQ(client.session().buffered_bytes(), 0u);

  Client login_client(backend);
  login_client.drain();
  EXPECT_EQ(login_client.send("b LOGIN fred {5000+}\r\n"),
            "b BAD Literal refused before authentication\r\n"
            "* BYE Literal too large before authentication\r\n");
  EXPECT_TRUE(login_client.session().ended());
}

TEST(Session, IdleSeesAppendFromAnotherSession) {
  MemoryBackend backend;
  fill(backend);
  Client a(backend), b(backend);
  a.drain();
  b.drain();
  select_inbox(a);
  login(b);
  EXPECT_EQ(a.send("i IDLE\r\n"), "+ idling\r\n");
  EXPECT_TRUE(a.session().idling());
  EXPECT_EQ(b.send("x APPEND INBOX {12}\r\n"), "+ Ready for literal data\r\n");
  EXPECT_EQ(b.send("Subject: y\r\n\r\n"), "x OK [APPENDUID 1 4] APPEND completed\r\n");
  a.session().poll();
  EXPECT_EQ(a.drain(), "* 4 EXISTS\r\n* 4 RECENT\r\n");
  a.session().poll();
  EXPECT_EQ(a.drain(), "");
  ASSERT_TRUE(backend.store_flags("INBOX", std::vector<std::uint32_t>{2}, StoreMode::add,
                                  Flags{kDeleted, {}}));
  ASSERT_TRUE(backend.expunge("INBOX", std::vector<std::uint32_t>{2}));
  a.session().poll();
  EXPECT_EQ(a.drain(), "* 2 EXPUNGE\r\n");
  EXPECT_EQ(a.send("done\r\n"), "i OK IDLE terminated\r\n");
  EXPECT_FALSE(a.session().idling());
  EXPECT_EQ(a.send("j IDLE\r\nnope\r\n"), "+ idling\r\nj BAD Expected DONE\r\n");
}

TEST(Session, Folders) {
  MemoryBackend backend;
  fill(backend);
  Client client(backend);
  client.drain();
  login(client);
  EXPECT_EQ(client.send("a CREATE Bounces/2024/Q1/\r\n"), "a OK CREATE completed\r\n");
  EXPECT_EQ(client.send("b CREATE Archive\r\n"), "b NO [ALREADYEXISTS] Mailbox already exists\r\n");
  EXPECT_EQ(client.send("c CREATE inbox\r\n"), "c NO [ALREADYEXISTS] Mailbox already exists\r\n");
  EXPECT_EQ(client.send("d LIST \"\" \"\"\r\n"),
            "* LIST (\\Noselect) \"/\" \"\"\r\nd OK LIST completed\r\n");
  EXPECT_EQ(client.send("e LIST \"\" *\r\n"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasNoChildren) \"/\" Archive\r\n"
            "* LIST (\\HasChildren) \"/\" Bounces\r\n"
            "* LIST (\\HasChildren) \"/\" Bounces/2024\r\n"
            "* LIST (\\HasNoChildren) \"/\" Bounces/2024/Q1\r\n"
            "e OK LIST completed\r\n");
  EXPECT_EQ(client.send("f LIST \"\" %\r\n"),
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
            "* LIST (\\HasNoChildren) \"/\" Archive\r\n"
            "* LIST (\\HasChildren) \"/\" Bounces\r\n"
            "f OK LIST completed\r\n");
  EXPECT_EQ(client.send("g LIST Bounces/ %\r\n"),
            "* LIST (\\HasChildren) \"/\" Bounces/2024\r\ng OK LIST completed\r\n");
  EXPECT_EQ(client.send("h DELETE Bounces/2024\r\n"), "h OK DELETE completed\r\n");
  EXPECT_EQ(client.send("i LIST \"\" Bounces/*\r\n"),
            "* LIST (\\Noselect \\HasChildren) \"/\" Bounces/2024\r\n"
            "* LIST (\\HasNoChildren) \"/\" Bounces/2024/Q1\r\n"
            "i OK LIST completed\r\n");
  EXPECT_EQ(client.send("j DELETE INBOX\r\n"), "j NO [CANNOT] INBOX cannot be deleted\r\n");
  EXPECT_EQ(client.send("k DELETE Nope\r\n"), "k NO [NONEXISTENT] Mailbox does not exist\r\n");
  EXPECT_EQ(client.send("l RENAME Bounces Old\r\n"), "l OK RENAME completed\r\n");
  EXPECT_EQ(client.send("m LIST \"\" Old*\r\n"),
            "* LIST (\\HasChildren) \"/\" Old\r\n"
            "* LIST (\\Noselect \\HasChildren) \"/\" Old/2024\r\n"
            "* LIST (\\HasNoChildren) \"/\" Old/2024/Q1\r\n"
            "m OK LIST completed\r\n");
  EXPECT_EQ(client.send("n RENAME INBOX \"Old Inbox\"\r\n"), "n OK RENAME completed\r\n");
  EXPECT_EQ(client.send("o STATUS INBOX (MESSAGES UIDNEXT)\r\n"),
            "* STATUS INBOX (MESSAGES 0 UIDNEXT 1)\r\no OK STATUS completed\r\n");
  EXPECT_EQ(client.send("p STATUS \"Old Inbox\" (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n"),
            "* STATUS \"Old Inbox\" (MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY 1 UNSEEN 2)\r\n"
            "p OK STATUS completed\r\n");
  EXPECT_EQ(client.send("q SUBSCRIBE Archive\r\n"), "q OK SUBSCRIBE completed\r\n");
  EXPECT_EQ(client.send("r LSUB \"\" *\r\n"),
            "* LSUB () \"/\" INBOX\r\n* LSUB () \"/\" Archive\r\nr OK LSUB completed\r\n");
  EXPECT_EQ(client.send("s UNSUBSCRIBE Archive\r\n"), "s OK UNSUBSCRIBE completed\r\n");
  EXPECT_EQ(client.send("t LSUB \"\" *\r\n"), "* LSUB () \"/\" INBOX\r\nt OK LSUB completed\r\n");
  EXPECT_EQ(client.send("u NAMESPACE\r\n"),
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nu OK NAMESPACE completed\r\n");
  EXPECT_EQ(client.send("v ENABLE UTF8=ACCEPT\r\n"), "* ENABLED\r\nv OK ENABLE completed\r\n");
  EXPECT_EQ(client.send("w ID (\"name\" \"imaplib\")\r\n"),
            "* ID (\"name\" \"Outpost\")\r\nw OK ID completed\r\n");
}

TEST(Session, PreauthLongLineEnds) {
  MemoryBackend backend;
  Client client(backend, tls_options());
  client.drain();
  std::string big = "b ID (\"name\" \"";
  big += std::string(1024 * 1024, 'x');
  std::string out;
  std::size_t buffered_max = 0;
  for (std::size_t i = 0; i < big.size(); i += 65536) {
    client.session().on_bytes(std::string_view(big).substr(i, 65536));
    buffered_max = std::max(buffered_max, client.session().buffered_bytes());
    out += client.drain();
  }
  EXPECT_EQ(out,
            "b BAD Command line too long before authentication\r\n"
            "* BYE Command line too long before authentication\r\n");
  EXPECT_TRUE(client.session().ended());
  EXPECT_LE(buffered_max, 8u * 1024 + 1024);
}

TEST(Session, ErrorsAndLimits) {
  MemoryBackend backend;
  SessionOptions options = tls_options();
  options.limits.errors_max = 4;
  Client client(backend, options);
  client.drain();
  EXPECT_EQ(client.send("a FROB\r\n"), "a BAD Unknown command\r\n");
  EXPECT_EQ(client.send("\r\n+++\r\n"), "* BAD Missing or bad tag\r\n");
  login(client);  // before login a line this long ends the session (PreauthLongLineEnds)
  std::string big = "b SEARCH TEXT ";
  big += std::string(10 * 1024 * 1024, 'x');
  big += "\r\n";
  std::size_t buffered_max = 0;
  std::string out;
  for (std::size_t i = 0; i < big.size(); i += 65536) {
    client.session().on_bytes(std::string_view(big).substr(i, 65536));
    buffered_max = std::max(buffered_max, client.session().buffered_bytes());
    out += client.drain();
  }
  EXPECT_EQ(out, "b BAD Command line too long\r\n");
  EXPECT_LE(buffered_max, 64u * 1024 + 1024);
  EXPECT_EQ(client.send("c LOGOUT\r\n"), "* BYE Logging out\r\nc OK LOGOUT completed\r\n");
  EXPECT_TRUE(client.session().ended());
  EXPECT_EQ(client.send("d NOOP\r\n"), "");

  Client other(backend, options);
  other.drain();
  EXPECT_EQ(other.send("1 x\r\n2 x\r\n3 x\r\n4 x\r\n5 x\r\n"),
            "1 BAD Unknown command\r\n2 BAD Unknown command\r\n3 BAD Unknown command\r\n"
            "4 BAD Unknown command\r\n* BYE Too many invalid commands\r\n");
}

TEST(Session, LargeFetchIsStreamed) {
  MemoryBackend backend;
  const std::string body = "Subject: big\r\n\r\n" + std::string(100 * 1024, 'b') + "\r\n";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(backend.append("INBOX", {}, 0, body));
  SessionOptions options = tls_options();
  options.limits.output_bytes_soft_max = 256 * 1024;
  Session session(options, backend);
  session.on_bytes("l LOGIN fred secret\r\n");
  session.next_event();
  session.complete_auth(true);
  session.on_bytes("s SELECT INBOX\r\nf FETCH 1:* BODY.PEEK[]\r\nn NOOP\r\n");
  EXPECT_TRUE(session.input_paused());
  std::string out;
  std::size_t unsent_max = 0;
  for (int i = 0; i < 1000 && !session.bytes_to_send().empty(); ++i) {
    unsent_max = std::max(unsent_max, session.bytes_to_send().size());
    const std::size_t n = std::min<std::size_t>(session.bytes_to_send().size(), 16384);
    out += session.bytes_to_send().substr(0, n);
    session.on_sent(n);
  }
  EXPECT_LE(unsent_max, 256u * 1024 + body.size() + 1024);
  EXPECT_FALSE(session.input_paused());
  EXPECT_TRUE(out.ends_with("f OK FETCH completed\r\nn OK NOOP completed\r\n"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '{'), 20);
}

TEST(Session, SelectedFolderDeletedElsewhere) {
  MemoryBackend backend;
  fill(backend);
  Client a(backend), b(backend);
  a.drain();
  b.drain();
  login(a);
  EXPECT_NE(a.send("s SELECT Archive\r\n").find("s OK [READ-WRITE]"), std::string::npos);
  login(b);
  EXPECT_EQ(b.send("d DELETE Archive\r\n"), "d OK DELETE completed\r\n");
  EXPECT_EQ(a.send("n NOOP\r\n"), "* BYE Selected mailbox was deleted or renamed\r\n");
  EXPECT_EQ(a.events, (std::vector<std::string>{"auth LOGIN fred secret", "ended"}));
  b.session().close("Autologout; idle for too long");
  EXPECT_EQ(b.drain(), "* BYE Autologout; idle for too long\r\n");
  EXPECT_TRUE(b.session().ended());
}

// One whole conversation with literals, pipelining and IDLE, replayed at every split of its
// input: the output must not depend on how the bytes arrive.
TEST(Session, TranscriptAtEverySplit) {
  const std::string input =
      "a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n"
      "a2 SELECT INBOX\r\n"
      "a3 FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])\r\n"
      "a4 UID SEARCH FROM {6+}\r\ndaemon\r\n"
      "a5 STORE 2 +FLAGS.SILENT (\\Seen)\r\n"
      "a6 IDLE\r\nDONE\r\n"
      "a7 APPEND Archive {7}\r\nx: y\r\n\r\n"
      "a8 LOGOUT\r\n";
  std::string want;
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    MemoryBackend backend;
    fill(backend);
    Client client(backend);
    std::string got = client.drain();
    got += client.send(input.substr(0, cut));
    got += client.send(input.substr(cut));
    if (cut == 0) {
      want = got;
      EXPECT_NE(want.find("a3 OK FETCH completed"), std::string::npos) << want;
      EXPECT_NE(want.find("* SEARCH 1 3\r\na4 OK"), std::string::npos) << want;
      EXPECT_NE(want.find("a7 OK [APPENDUID 2 1]"), std::string::npos) << want;
      EXPECT_TRUE(want.ends_with("* BYE Logging out\r\na8 OK LOGOUT completed\r\n")) << want;
    } else {
      ASSERT_EQ(got, want) << "split at " << cut;
    }
  }
}

}  // namespace
}  // namespace mta::imap
