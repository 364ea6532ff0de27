// Session conversations: client bytes in, the exact reply bytes, events and what is left in the
// maildrop out. Every conversation is replayed whole, split at every byte offset and byte by
// byte, and must give the same output each time (STYLE.md §7). Further tests cover a 10 MB
// command line, a 10 MB message streamed in chunks, partial writes, IN-USE between two sessions,
// STLS and held-input bounds.
#include "proto/pop3/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/pop3/errc.h"
#include "proto/pop3/memory_maildrop.h"

namespace mta::pop3 {
namespace {

constexpr std::string_view kBanner = "<1896.697170952@pop.test>";
constexpr std::string_view kGreeting = "+OK pop.test POP3 ready <1896.697170952@pop.test>\r\n";
// hex(MD5("<1896.697170952@pop.test>secret")), computed with Python's hashlib.
constexpr std::string_view kDigest = "b69b2a7180e83852c0a075649cc5f806";
constexpr std::string_view kPlainAlice = "AGFsaWNlAHNlY3JldA==";      // "\0alice\0secret"
constexpr std::string_view kPlainAdmin = "YWRtaW4AYWxpY2UAc2VjcmV0";  // "admin\0alice\0secret"
constexpr std::string_view kPlainWrong = "AGFsaWNlAHdyb25n";          // "\0alice\0wrong"
constexpr std::string_view kPlainOneNul = "YWxpY2UAc2VjcmV0";         // "alice\0secret"
constexpr std::string_view kAuthFailed = "-ERR [AUTH] Authentication failed\r\n";
constexpr std::string_view kWrongState = "-ERR Command not valid in this state\r\n";
constexpr std::string_view kUnknown = "-ERR Unknown command\r\n";
constexpr std::string_view kNoSuch = "-ERR No such message\r\n";
constexpr std::string_view kPlaintext =
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure connection\r\n";
constexpr std::string_view kBye = "+OK pop.test POP3 server signing off\r\n";
constexpr std::string_view kByeAll = "+OK pop.test POP3 server signing off (3 messages left)\r\n";
constexpr std::string_view kCapaTail =
    "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION Outpost\r\n.\r\n";

const std::string kMsg1 =
    "Subject: one\r\nFrom: a@b.example\r\n\r\nline 1\r\n.dotted\r\nline 3\r\n";
const std::string kMsg2 = "Subject: two\r\n\r\n..two dots\r\n.\r\nend\r\n";
const std::string kMsg3 = "Subject: three\r\n\r\nno final line end";
// As RETR sends them: dot-stuffed, terminated.
const std::string kWire1 =
    "Subject: one\r\nFrom: a@b.example\r\n\r\nline 1\r\n..dotted\r\nline 3\r\n.\r\n";
const std::string kWire2 = "Subject: two\r\n\r\n...two dots\r\n..\r\nend\r\n.\r\n";
const std::string kWire3 = "Subject: three\r\n\r\nno final line end\r\n.\r\n";
const std::vector<std::string> kAll = {"uid-1", "uid-2", "uid-3"};

MemoryMailbox fixture() {
  MemoryMailbox mailbox;
  mailbox.messages = {{"uid-1", kMsg1}, {"uid-2", kMsg2}, {"uid-3", kMsg3}};
  return mailbox;
}

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

std::string n(std::size_t value) { return std::to_string(value); }

const std::string kTotal = n(kMsg1.size() + kMsg2.size() + kMsg3.size());
const std::string kOpened = "+OK Maildrop has 3 messages (" + kTotal + " octets)\r\n";
const std::string kLogin = "USER alice\r\nPASS secret\r\n";
const std::string kLoggedIn = "+OK\r\n" + kOpened;

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n\n";
    } else {
      out += c;
    }
  }
  return out;
}

struct Transcript {
  std::string output;
  std::vector<std::string> events;
  std::vector<std::string> left;  // unique-ids in the mailbox after the session is gone
  bool locked = false;
  std::size_t commits = 0;
  std::size_t buffered_max = 0;
};

struct Conversation {
  std::string name;
  std::string client;  // before TLS, or all of it
  std::string want;
  std::vector<std::string> want_events = {};
  std::vector<std::string> want_left = kAll;
  // Fed after tls_started(), which the test calls once `client` is all in and STLS was
  // answered. Empty: TLS never starts, so everything after an STLS is discarded.
  std::string client_after_tls = {};
  std::function<void(SessionOptions&)> setup = nullptr;
  std::function<void(MemoryMailbox&)> mailbox_setup = nullptr;
  bool want_locked = false;  // the mailbox's lock flag once the session is gone
};

SessionOptions base_options() {
  SessionOptions options;
  options.hostname = "pop.test";
  options.apop_banner = std::string(kBanner);
  options.plaintext_auth_allowed = true;
  return options;
}

const char* mechanism_name(AuthMechanism mechanism) {
  switch (mechanism) {
    case AuthMechanism::user_pass:
      return "user_pass";
    case AuthMechanism::apop:
      return "apop";
    case AuthMechanism::plain:
      return "plain";
  }
  return "?";
}

// Writes everything out and answers every event, until the session has nothing more to say.
// Logins succeed for alice with "secret" (APOP: its digest); the maildrop is `mailbox`.
void drain(Session& session, MemoryMailbox& mailbox, Transcript& got, bool& stls_seen) {
  for (;;) {
    bool progressed = false;
    got.buffered_max = std::max(got.buffered_max, session.buffered_bytes());
    while (std::optional<Event> event = session.next_event()) {
      progressed = true;
      if (auto* auth = std::get_if<AuthRequested>(&*event)) {
        got.events.push_back(std::string("auth ") + mechanism_name(auth->mechanism) + " " +
                             (auth->authzid.empty() ? "" : auth->authzid + "/") + auth->user + ":" +
                             auth->secret);
        EXPECT_TRUE(session.awaiting_auth());
        const bool ok = auth->user == "alice" &&
                        (auth->mechanism == AuthMechanism::apop ? auth->secret == kDigest
                                                                : auth->secret == "secret");
        session.complete_auth(ok ? std::make_unique<MemoryMaildrop>(mailbox) : nullptr);
      } else if (std::holds_alternative<StartTlsRequested>(*event)) {
        got.events.push_back("stls");
        stls_seen = true;
      } else {
        const auto& ended = std::get<SessionEnded>(*event);
        got.events.push_back("ended deleted=" + n(ended.messages_deleted) +
                             (ended.update_failed ? " update_failed" : ""));
        EXPECT_TRUE(session.ended());
      }
    }
    if (!session.bytes_to_send().empty()) {
      progressed = true;
      got.output += session.bytes_to_send();
      session.on_sent(session.bytes_to_send().size());
    }
    if (!progressed) return;
  }
}

// Feeds the conversation in pieces cut at `splits`, draining after each piece.
Transcript converse(const Conversation& c, std::vector<std::size_t> splits) {
  MemoryMailbox mailbox = fixture();
  if (c.mailbox_setup) c.mailbox_setup(mailbox);
  SessionOptions options = base_options();
  if (c.setup) c.setup(options);
  const std::string input = c.client + c.client_after_tls;
  const std::size_t boundary = c.client_after_tls.empty() ? input.size() + 1 : c.client.size();
  splits.push_back(input.size());
  if (boundary <= input.size()) splits.push_back(boundary);
  std::sort(splits.begin(), splits.end());
  splits.erase(std::unique(splits.begin(), splits.end()), splits.end());

  Transcript got;
  {
    Session session(options);
    bool stls_seen = false;
    drain(session, mailbox, got, stls_seen);
    std::size_t from = 0;
    for (std::size_t to : splits) {
      session.on_bytes(std::string_view(input).substr(from, to - from));
      drain(session, mailbox, got, stls_seen);
      if (to == boundary && stls_seen && !session.ended()) {
        session.tls_started();
        drain(session, mailbox, got, stls_seen);
      }
      from = to;
    }
  }
  for (const MemoryMessage& m : mailbox.messages) got.left.push_back(m.unique_id);
  got.locked = mailbox.locked;
  got.commits = mailbox.commits;
  return got;
}

void add_login_conversations(std::vector<Conversation>& all) {
  all.push_back({
      .name = "user pass, stat, list, uidl, retr, quit",
      .client = kLogin +
                "STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\n"
                "NOOP\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK 3 " + kTotal + "\r\n", kOpened,
                   "1 " + n(kMsg1.size()) + "\r\n2 " + n(kMsg2.size()) + "\r\n3 " +
                       n(kMsg3.size()) + "\r\n.\r\n",
                   "+OK 2 " + n(kMsg2.size()) + "\r\n",
                   "+OK Unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n.\r\n",
                   "+OK 3 uid-3\r\n", "+OK " + n(kMsg1.size()) + " octets\r\n", kWire1,
                   "+OK " + n(kMsg2.size()) + " octets\r\n", kWire2,
                   "+OK " + n(kMsg3.size()) + " octets\r\n", kWire3, "+OK\r\n", kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "lower case, bare LF, password with spaces",
      .client = "user alice\npass my secret \nquit\n",
      .want = cat({kGreeting, "+OK\r\n", kAuthFailed, kBye}),
      .want_events = {"auth user_pass alice:my secret ", "ended deleted=0"},
  });
  all.push_back({
      .name = "apop, no TLS needed",
      .client = "APOP alice " + std::string(kDigest) + "\r\nSTAT\r\nQUIT\r\n",
      .want = cat({kGreeting, kOpened, "+OK 3 " + kTotal + "\r\n", kByeAll}),
      .want_events = {"auth apop alice:" + std::string(kDigest), "ended deleted=0"},
      .setup = [](SessionOptions& o) { o.plaintext_auth_allowed = false; },
  });
  all.push_back({
      .name = "apop bad syntax, wrong digest, then an upper-case digest",
      .client = "APOP alice\r\nAPOP alice xyz\r\nAPOP alice 0123456789abcdef0123456789abcdef\r\n"
                "APOP alice B69B2A7180E83852C0A075649CC5F806\r\nQUIT\r\n",
      .want = cat({kGreeting, "-ERR Syntax: APOP name digest\r\n",
                   "-ERR Syntax: APOP name digest\r\n", kAuthFailed, kOpened, kByeAll}),
      .want_events = {"auth apop alice:0123456789abcdef0123456789abcdef",
                      "auth apop alice:" + std::string(kDigest), "ended deleted=0"},
  });
  all.push_back({
      .name = "apop without a banner",
      .client = "APOP alice " + std::string(kDigest) + "\r\nQUIT\r\n",
      .want = cat({"+OK pop.test POP3 ready\r\n", "-ERR APOP not available\r\n", kBye}),
      .want_events = {"ended deleted=0"},
      .setup = [](SessionOptions& o) { o.apop_banner.clear(); },
  });
  all.push_back({
      .name = "auth plain with initial response",
      .client = "AUTH PLAIN " + std::string(kPlainAlice) + "\r\nQUIT\r\n",
      .want = cat({kGreeting, kOpened, kByeAll}),
      .want_events = {"auth plain alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "auth plain after a continuation, with authzid",
      .client = "auth plain\r\n" + std::string(kPlainAdmin) + "\r\nQUIT\r\n",
      .want = cat({kGreeting, "+ \r\n", kOpened, kByeAll}),
      .want_events = {"auth plain admin/alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "auth plain failures",
      .client = "AUTH\r\nAUTH LOGIN\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN =\r\nAUTH PLAIN !!!!\r\n"
                "AUTH PLAIN " +
                std::string(kPlainOneNul) + "\r\nAUTH PLAIN a b\r\nAUTH PLAIN\r\n" +
                std::string(kPlainWrong) + "\r\nQUIT\r\n",
      .want = cat(
          {kGreeting, "+OK\r\nPLAIN\r\n.\r\n", "-ERR Unsupported authentication mechanism\r\n",
           "+ \r\n", "-ERR Authentication cancelled\r\n", "-ERR Malformed SASL PLAIN response\r\n",
           "-ERR Invalid base64 in SASL response\r\n", "-ERR Malformed SASL PLAIN response\r\n",
           "-ERR Syntax: AUTH mechanism [initial-response]\r\n", "+ \r\n", kAuthFailed, kBye}),
      .want_events = {"auth plain alice:wrong", "ended deleted=0"},
  });
}

void add_transaction_conversations(std::vector<Conversation>& all) {
  all.push_back({
      .name = "top 0, top 1, top 99999999 equals retr, top of a headerless body",
      .client = kLogin + "TOP 1 0\r\nTOP 1 1\r\nTOP 1 2\r\nTOP 1 99999999\r\nTOP 2 1\r\n"
                         "TOP 3 0\r\nTOP 3 99999999999999999999999\r\nQUIT\r\n",
      .want =
          cat({kGreeting, kLoggedIn, "+OK Top of message follows\r\n",
               "Subject: one\r\nFrom: a@b.example\r\n\r\n.\r\n", "+OK Top of message follows\r\n",
               "Subject: one\r\nFrom: a@b.example\r\n\r\nline 1\r\n.\r\n",
               "+OK Top of message follows\r\n",
               "Subject: one\r\nFrom: a@b.example\r\n\r\nline 1\r\n..dotted\r\n.\r\n",
               "+OK Top of message follows\r\n", kWire1, "+OK Top of message follows\r\n",
               "Subject: two\r\n\r\n...two dots\r\n.\r\n", "+OK Top of message follows\r\n",
               "Subject: three\r\n\r\n.\r\n", "+OK Top of message follows\r\n", kWire3, kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "top of messages without a header end, empty message",
      .client = kLogin + "TOP 1 0\r\nTOP 2 5\r\nRETR 3\r\nTOP 3 1\r\nQUIT\r\n",
      .want = cat({kGreeting, "+OK\r\n+OK Maildrop has 3 messages (24 octets)\r\n",
                   "+OK Top of message follows\r\n", "From: x\r\n..line\r\n.\r\n",
                   "+OK Top of message follows\r\n", "\r\nbody\r\n.\r\n", "+OK 0 octets\r\n",
                   ".\r\n", "+OK Top of message follows\r\n", ".\r\n", kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .want_left = {"h", "e", "z"},
      .mailbox_setup =
          [](MemoryMailbox& m) {
            m.messages = {{"h", "From: x\r\n.line\r\n"}, {"e", "\r\nbody\r\n"}, {"z", ""}};
          },
  });
  all.push_back({
      .name = "dele then rset keeps everything",
      .client = kLogin + "DELE 1\r\nDELE 2\r\nSTAT\r\nRSET\r\nSTAT\r\nQUIT\r\n",
      .want =
          cat({kGreeting, kLoggedIn, "+OK Message 1 deleted\r\n", "+OK Message 2 deleted\r\n",
               "+OK 1 " + n(kMsg3.size()) + "\r\n", kOpened, "+OK 3 " + kTotal + "\r\n", kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "dele then quit commits exactly those",
      .client = kLogin +
                "DELE 1\r\nDELE 3\r\nDELE 1\r\nLIST\r\nUIDL\r\nRETR 1\r\nLIST 3\r\nTOP 1 0\r\n"
                "STAT\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK Message 1 deleted\r\n", "+OK Message 3 deleted\r\n",
                   "-ERR Message 1 already deleted\r\n",
                   "+OK Maildrop has 1 message (" + n(kMsg2.size()) + " octets)\r\n2 " +
                       n(kMsg2.size()) + "\r\n.\r\n",
                   "+OK Unique-id listing follows\r\n2 uid-2\r\n.\r\n", kNoSuch, kNoSuch, kNoSuch,
                   "+OK 1 " + n(kMsg2.size()) + "\r\n",
                   "+OK pop.test POP3 server signing off (1 message left)\r\n"}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=2"},
      .want_left = {"uid-2"},
  });
  all.push_back({
      .name = "dele all then quit empties the maildrop",
      .client = kLogin + "DELE 1\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK Message 1 deleted\r\n", "+OK Message 2 deleted\r\n",
                   "+OK Message 3 deleted\r\n",
                   "+OK pop.test POP3 server signing off (maildrop empty)\r\n"}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=3"},
      .want_left = {},
  });
  all.push_back({
      .name = "connection drop before quit commits nothing",
      .client = kLogin + "DELE 1\r\nDELE 2\r\nRETR 3\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK Message 1 deleted\r\n", "+OK Message 2 deleted\r\n",
                   "+OK " + n(kMsg3.size()) + " octets\r\n", kWire3}),
      .want_events = {"auth user_pass alice:secret"},
  });
  all.push_back({
      .name = "commit failure",
      .client = kLogin + "DELE 2\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK Message 2 deleted\r\n",
                   "-ERR [SYS/TEMP] Some deleted messages not removed\r\n"}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0 update_failed"},
      .mailbox_setup = [](MemoryMailbox& m) { m.fail_commit = true; },
  });
  all.push_back({
      .name = "in use: stays in authorization",
      .client = kLogin + "STAT\r\nAPOP alice " + std::string(kDigest) + "\r\nQUIT\r\n",
      .want =
          cat({kGreeting, "+OK\r\n", "-ERR [IN-USE] Maildrop is locked by another POP3 session\r\n",
               kWrongState, "-ERR [IN-USE] Maildrop is locked by another POP3 session\r\n", kBye}),
      .want_events = {"auth user_pass alice:secret", "auth apop alice:" + std::string(kDigest),
                      "ended deleted=0"},
      .mailbox_setup = [](MemoryMailbox& m) { m.locked = true; },
      .want_locked = true,
  });
  all.push_back({
      .name = "storage failures: lock, then reads",
      .client = kLogin + kLogin + "RETR 1\r\nTOP 1 0\r\nQUIT\r\n",
      .want = cat({kGreeting, "+OK\r\n", "-ERR [SYS/TEMP] Unable to open maildrop\r\n", "+OK\r\n",
                   "-ERR [SYS/TEMP] Unable to open maildrop\r\n", kWrongState, kWrongState, kBye}),
      .want_events = {"auth user_pass alice:secret", "auth user_pass alice:secret",
                      "ended deleted=0"},
      .mailbox_setup = [](MemoryMailbox& m) { m.fail_lock = true; },
  });
  all.push_back({
      .name = "read failure",
      .client = kLogin + "RETR 1\r\nTOP 1 0\r\nLIST 1\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "-ERR [SYS/TEMP] Unable to read message\r\n",
                   "-ERR [SYS/TEMP] Unable to read message\r\n",
                   "+OK 1 " + n(kMsg1.size()) + "\r\n", kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .mailbox_setup = [](MemoryMailbox& m) { m.fail_reads = true; },
  });
  all.push_back({
      .name = "malformed unique-id in the store",
      .client = kLogin + "QUIT\r\n",
      .want = cat(
          {kGreeting, "+OK\r\n", "-ERR [SYS/PERM] Maildrop has a malformed unique-id\r\n", kBye}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .want_left = {"uid-1", "bad id"},
      .mailbox_setup =
          [](MemoryMailbox& m) {
            m.messages = {{"uid-1", kMsg1}, {"bad id", kMsg2}};
          },
  });
}

void add_error_conversations(std::vector<Conversation>& all) {
  all.push_back({
      .name = "wrong state and unknown commands",
      .client = "STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nTOP 1 1\r\nUIDL\r\n"
                "PASS secret\r\nXYZZY\r\n\r\nLAST\r\nUSER a\rb\r\nUSER a" +
                std::string(1, '\0') + "b\r\n" + kLogin +
                "USER bob\r\nPASS x\r\nAPOP a b\r\nAUTH PLAIN\r\nSTLS\r\nLAST\r\nQUIT\r\n",
      .want = cat({kGreeting,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   "-ERR Send USER first\r\n",
                   kUnknown,
                   kUnknown,
                   kUnknown,
                   "-ERR Syntax: NUL or CR in command line\r\n",
                   "-ERR Syntax: NUL or CR in command line\r\n",
                   kLoggedIn,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kWrongState,
                   kUnknown,
                   kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .setup = [](SessionOptions& o) { o.limits.errors_max = 30; },
  });
  all.push_back({
      .name = "syntax errors",
      .client = kLogin +
                "LIST a\r\nLIST 1 2\r\nRETR\r\nRETR -1\r\nRETR +1\r\nRETR 0\r\nRETR 4\r\n"
                "RETR 99999999999999999999999\r\nTOP 1\r\nTOP 1 x\r\nTOP 1 -1\r\nDELE\r\n"
                "DELE 0\r\nSTAT x\r\nNOOP x\r\nUIDL 1 2\r\nUSER\r\nQUIT now\r\nLIST  2 \r\n"
                "QUIT\r\n",
      .want = cat({kGreeting,
                   kLoggedIn,
                   "-ERR Syntax: message number expected\r\n",
                   "-ERR Syntax: LIST [msg]\r\n",
                   "-ERR Syntax: RETR msg\r\n",
                   "-ERR Syntax: message number expected\r\n",
                   "-ERR Syntax: message number expected\r\n",
                   kNoSuch,
                   kNoSuch,
                   kNoSuch,
                   "-ERR Syntax: TOP msg lines\r\n",
                   "-ERR Syntax: TOP msg lines\r\n",
                   "-ERR Syntax: TOP msg lines\r\n",
                   "-ERR Syntax: DELE msg\r\n",
                   kNoSuch,
                   "-ERR Syntax: no arguments expected\r\n",
                   "-ERR Syntax: no arguments expected\r\n",
                   "-ERR Syntax: UIDL [msg]\r\n",
                   kWrongState,
                   "-ERR Syntax: no arguments expected\r\n",
                   "+OK 2 " + n(kMsg2.size()) + "\r\n",
                   kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "command line too long",
      .client = "QUIT " + std::string(2000, 'x') + "\r\nNOOP " + std::string(1017, 'y') +
                "\r\nNOOP " + std::string(1018, 'z') + "\r\nAUTH PLAIN\r\n" +
                std::string(1100, 'A') + "\r\nQUIT\r\n",
      .want = cat({kGreeting, "-ERR Line too long\r\n", kWrongState, "-ERR Line too long\r\n",
                   "+ \r\n", "-ERR Line too long\r\n", kBye}),
      .want_events = {"ended deleted=0"},
  });
}

void add_tls_conversations(std::vector<Conversation>& all) {
  all.push_back({
      .name = "capa in both states, plaintext allowed",
      .client = "CAPA\r\n" + kLogin + "CAPA\r\nQUIT\r\n",
      .want =
          cat({kGreeting, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n",
               kCapaTail, kLoggedIn,
               "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n", kCapaTail,
               kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
  });
  all.push_back({
      .name = "plaintext disallowed until stls; stls discards pipelined input and resets",
      .client = "CAPA\r\nUSER alice\r\nPASS secret\r\nAUTH PLAIN " + std::string(kPlainAlice) +
                "\r\nAUTH\r\nUSER alice\r\nSTLS\r\nPASS secret\r\nSTAT\r\n",
      .want = cat({kGreeting, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\n", kCapaTail,
                   kPlaintext, kPlaintext, kPlaintext, kPlaintext, kPlaintext,
                   "+OK Begin TLS negotiation\r\n",
                   "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n",
                   kCapaTail, "-ERR Send USER first\r\n", "-ERR Already using TLS\r\n", kLoggedIn,
                   "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n",
                   kCapaTail, kByeAll}),
      .want_events = {"stls", "auth user_pass alice:secret", "ended deleted=0"},
      .client_after_tls = "CAPA\r\nPASS secret\r\nSTLS\r\n" + kLogin + "CAPA\r\nQUIT\r\n",
      .setup =
          [](SessionOptions& o) {
            o.stls = true;
            o.plaintext_auth_allowed = false;
          },
  });
  all.push_back({
      .name = "stls never completes: everything after it is dropped",
      .client = "STLS\r\nUSER alice\r\nQUIT\r\n",
      .want = cat({kGreeting, "+OK Begin TLS negotiation\r\n"}),
      .want_events = {"stls"},
      .setup = [](SessionOptions& o) { o.stls = true; },
  });
  all.push_back({
      .name = "stls not offered, implicit tls",
      .client = "STLS\r\nSTLS x\r\nCAPA\r\nQUIT\r\n",
      .want =
          cat({kGreeting, "-ERR STLS not available\r\n", "-ERR Syntax: no arguments expected\r\n",
               "+OK Capability list follows\r\nTOP\r\nUIDL\r\n", kCapaTail, kBye}),
      .want_events = {"ended deleted=0"},
      .setup = [](SessionOptions& o) { o.plaintext_auth_allowed = false; },
  });
  all.push_back({
      .name = "implicit tls",
      .client = "STLS\r\nCAPA\r\n" + kLogin + "QUIT\r\n",
      .want = cat({kGreeting, "-ERR Already using TLS\r\n",
                   "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n",
                   kCapaTail, kLoggedIn, kByeAll}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .setup =
          [](SessionOptions& o) {
            o.tls = true;
            o.stls = true;
            o.plaintext_auth_allowed = false;
          },
  });
}

void add_limit_conversations(std::vector<Conversation>& all) {
  all.push_back({
      .name = "three failed logins end the session",
      .client = "USER alice\r\nPASS a\r\nUSER alice\r\nPASS b\r\nAPOP bob " + std::string(kDigest) +
                "\r\nQUIT\r\n",
      .want = cat({kGreeting, "+OK\r\n", kAuthFailed, "+OK\r\n", kAuthFailed, kAuthFailed}),
      .want_events = {"auth user_pass alice:a", "auth user_pass alice:b",
                      "auth apop bob:" + std::string(kDigest), "ended deleted=0"},
  });
  all.push_back({
      .name = "too many errors end the session",
      .client = kLogin + "DELE 1\r\nX\r\nX\r\nX\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK Message 1 deleted\r\n", kUnknown, kUnknown, kUnknown,
                   "-ERR Too many errors\r\n"}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=0"},
      .setup = [](SessionOptions& o) { o.limits.errors_max = 3; },
  });
  all.push_back({
      .name = "pipelined retrs stream through a tiny output chunk",
      .client = kLogin + "RETR 1\r\nTOP 2 1\r\nRETR 2\r\nDELE 3\r\nRETR 3\r\nQUIT\r\n",
      .want = cat({kGreeting, kLoggedIn, "+OK " + n(kMsg1.size()) + " octets\r\n", kWire1,
                   "+OK Top of message follows\r\n", "Subject: two\r\n\r\n...two dots\r\n.\r\n",
                   "+OK " + n(kMsg2.size()) + " octets\r\n", kWire2, "+OK Message 3 deleted\r\n",
                   kNoSuch, "+OK pop.test POP3 server signing off (2 messages left)\r\n"}),
      .want_events = {"auth user_pass alice:secret", "ended deleted=1"},
      .want_left = {"uid-1", "uid-2"},
      .setup = [](SessionOptions& o) { o.limits.output_chunk_bytes = 3; },
  });
}

std::vector<Conversation> conversations() {
  std::vector<Conversation> all;
  add_login_conversations(all);
  add_transaction_conversations(all);
  add_error_conversations(all);
  add_tls_conversations(all);
  add_limit_conversations(all);
  return all;
}

TEST(Pop3Session, ConversationsAtEverySplit) {
  for (const Conversation& c : conversations()) {
    SCOPED_TRACE(c.name);
    const std::size_t size = c.client.size() + c.client_after_tls.size();
    std::vector<std::vector<std::size_t>> plans = {{}};
    for (std::size_t i = 1; i < size; ++i) plans.push_back({i});
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 1; i < size; ++i) bytewise.push_back(i);
    plans.push_back(bytewise);
    for (const std::vector<std::size_t>& plan : plans) {
      const Transcript got = converse(c, plan);
      const std::string where = plan.empty()       ? "whole"
                                : plan.size() == 1 ? "split at " + n(plan[0])
                                                   : "bytewise";
      EXPECT_EQ(escape(got.output), escape(c.want)) << where;
      EXPECT_EQ(got.events, c.want_events) << where;
      EXPECT_EQ(got.left, c.want_left) << where;
      EXPECT_EQ(got.locked, c.want_locked) << where;
      if (got.output != c.want || got.events != c.want_events || got.left != c.want_left ||
          got.locked != c.want_locked) {
        break;  // one failing plan per conversation is enough output
      }
    }
  }
}

// Drains output in pieces of `write_bytes`, answering logins, until nothing more comes.
std::string drain_in_writes(Session& session, MemoryMailbox& mailbox, std::size_t write_bytes,
                            std::size_t* buffered_max = nullptr) {
  std::string out;
  for (;;) {
    bool progressed = false;
    while (std::optional<Event> event = session.next_event()) {
      progressed = true;
      if (std::holds_alternative<AuthRequested>(*event)) {
        session.complete_auth(std::make_unique<MemoryMaildrop>(mailbox));
      }
    }
    if (buffered_max) *buffered_max = std::max(*buffered_max, session.buffered_bytes());
    const std::string_view pending = session.bytes_to_send();
    if (!pending.empty()) {
      progressed = true;
      const std::size_t count = std::min(write_bytes, pending.size());
      out += pending.substr(0, count);
      session.on_sent(count);
    }
    if (!progressed) return out;
  }
}

TEST(Pop3Session, RefusedAuthIsSysTempAndCounts) {
  Session session(base_options());
  std::string out(session.bytes_to_send());
  session.on_sent(out.size());
  for (const char* command :
       {"USER alice\r\nPASS secret\r\n", "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        "USER alice\r\nPASS secret\r\n"}) {
    session.on_bytes(command);
    bool asked = false;
    while (auto event = session.next_event()) {
      asked = asked || std::holds_alternative<AuthRequested>(*event);
    }
    ASSERT_TRUE(asked) << command;
    session.refuse_auth();
    out += session.bytes_to_send();
    session.on_sent(session.bytes_to_send().size());
  }
  const std::string refused =
      "-ERR [SYS/TEMP] Temporary authentication failure, try again later\r\n";
  EXPECT_EQ(out, cat({kGreeting, "+OK\r\n", refused, refused, "+OK\r\n", refused}));
  EXPECT_TRUE(session.ended());
  EXPECT_EQ(session.state(), State::authorization);
}

TEST(Pop3Session, TenMegabyteLineGetsErrWithBoundedMemory) {
  MemoryMailbox mailbox = fixture();
  Session session(base_options());
  std::string out = drain_in_writes(session, mailbox, 1 << 20);
  session.on_bytes("CAPA ");
  const std::string block(64 * 1024, 'x');
  std::size_t buffered_max = 0;
  for (int i = 0; i < 160; ++i) {
    session.on_bytes(block);
    buffered_max = std::max(buffered_max, session.buffered_bytes());
  }
  session.on_bytes("\r\n" + kLogin + "QUIT\r\n");
  out += drain_in_writes(session, mailbox, 1 << 20);
  EXPECT_EQ(out, cat({kGreeting, "-ERR Line too long\r\n", kLoggedIn, kByeAll}));
  EXPECT_LE(buffered_max, 1024u);
}

// A 10 MB message: RETR streams it in output_chunk_bytes pieces (never whole in the output
// buffer), TOP n 99999999 sends exactly the same octets, and pipelined commands wait.
TEST(Pop3Session, TenMegabyteMessageStreamsInChunksAndTopAllEqualsRetr) {
  std::string big = "Subject: big\r\n\r\n";
  std::string wire = big;
  while (big.size() < 10 * 1024 * 1024) {
    big += ".starts with a dot\r\nplain line of text\r\n";
    wire += "..starts with a dot\r\nplain line of text\r\n";
  }
  wire += ".\r\n";
  MemoryMailbox mailbox;
  mailbox.messages = {{"big", big}};
  Session session(base_options());
  std::string out = drain_in_writes(session, mailbox, 1 << 20);
  session.on_bytes(kLogin);
  out += drain_in_writes(session, mailbox, 1 << 20);
  out.clear();
  std::size_t buffered_max = 0;
  session.on_bytes("RETR 1\r\nTOP 1 99999999\r\nQUIT\r\n");
  EXPECT_LE(session.buffered_bytes(), 64 * 1024 + 128);
  out += drain_in_writes(session, mailbox, 48 * 1024 + 7, &buffered_max);
  EXPECT_LE(buffered_max, 64 * 1024 + 128);
  const std::string retr = "+OK " + n(big.size()) + " octets\r\n" + wire;
  const std::string top = "+OK Top of message follows\r\n" + wire;
  const std::string bye = "+OK pop.test POP3 server signing off (1 message left)\r\n";
  ASSERT_EQ(out.size(), retr.size() + top.size() + bye.size());
  EXPECT_TRUE(out.substr(0, retr.size()) == retr);
  EXPECT_TRUE(out.substr(retr.size(), top.size()) == top);
  EXPECT_EQ(out.substr(retr.size() + top.size()), bye);
}

// The output is the same however the caller's writes are cut.
TEST(Pop3Session, PartialWritesGiveTheSameOutput) {
  const std::string input = kLogin + "RETR 1\r\nRETR 2\r\nLIST\r\nTOP 3 0\r\nQUIT\r\n";
  std::string want;
  for (std::size_t write_bytes : {1u << 20, 1u, 2u, 5u, 13u}) {
    for (std::size_t chunk : {1u, 4u, 64u * 1024}) {
      SCOPED_TRACE("write " + n(write_bytes) + " chunk " + n(chunk));
      MemoryMailbox mailbox = fixture();
      SessionOptions options = base_options();
      options.limits.output_chunk_bytes = chunk;
      Session session(options);
      std::string out = drain_in_writes(session, mailbox, write_bytes);
      session.on_bytes(input);
      out += drain_in_writes(session, mailbox, write_bytes);
      if (want.empty()) want = out;
      EXPECT_EQ(escape(out), escape(want));
      EXPECT_TRUE(session.ended());
    }
  }
  EXPECT_NE(want.find(kWire2), std::string::npos);
}

TEST(Pop3Session, SecondSessionSeesInUseUntilTheFirstQuits) {
  MemoryMailbox mailbox = fixture();
  Session first(base_options());
  Session second(base_options());
  drain_in_writes(first, mailbox, 1 << 20);
  drain_in_writes(second, mailbox, 1 << 20);
  first.on_bytes(kLogin + "DELE 1\r\n");
  EXPECT_EQ(drain_in_writes(first, mailbox, 1 << 20), kLoggedIn + "+OK Message 1 deleted\r\n");
  EXPECT_EQ(first.state(), State::transaction);
  EXPECT_EQ(first.user(), "alice");
  second.on_bytes(kLogin);
  EXPECT_EQ(drain_in_writes(second, mailbox, 1 << 20),
            "+OK\r\n-ERR [IN-USE] Maildrop is locked by another POP3 session\r\n");
  EXPECT_EQ(second.state(), State::authorization);
  EXPECT_TRUE(second.user().empty());
  first.on_bytes("QUIT\r\n");
  drain_in_writes(first, mailbox, 1 << 20);
  EXPECT_EQ(first.state(), State::update);
  EXPECT_FALSE(mailbox.locked);
  second.on_bytes(kLogin + "UIDL\r\n");
  EXPECT_EQ(drain_in_writes(second, mailbox, 1 << 20),
            "+OK\r\n+OK Maildrop has 2 messages (" + n(kMsg2.size() + kMsg3.size()) +
                " octets)\r\n+OK Unique-id listing follows\r\n1 uid-2\r\n2 uid-3\r\n.\r\n");
}

// Logins wait for complete_auth(); commands pipelined behind them wait too, and run after.
TEST(Pop3Session, CommandsWaitForTheLoginDecision) {
  MemoryMailbox mailbox = fixture();
  Session session(base_options());
  session.on_bytes(kLogin + "STAT\r\n");
  session.on_bytes("QUIT\r\n");
  EXPECT_EQ(session.bytes_to_send(), cat({kGreeting, "+OK\r\n"}));
  ASSERT_TRUE(session.awaiting_auth());
  std::optional<Event> event = session.next_event();
  ASSERT_TRUE(event && std::holds_alternative<AuthRequested>(*event));
  EXPECT_EQ(session.buffered_bytes(), kGreeting.size() + 5 + 12);
  session.complete_auth(std::make_unique<MemoryMaildrop>(mailbox));
  EXPECT_EQ(session.bytes_to_send(),
            cat({kGreeting, kLoggedIn, "+OK 3 " + kTotal + "\r\n", kByeAll}));
  EXPECT_TRUE(session.ended());
}

TEST(Pop3Session, StlsCountsDiscardedBytes) {
  SessionOptions options = base_options();
  options.stls = true;
  Session session(options);
  session.on_bytes("STLS\r\nUSER evil\r\n");
  session.on_bytes("PASS x\r\n");
  EXPECT_EQ(session.discarded_bytes(), 19u);
  std::optional<Event> event = session.next_event();
  ASSERT_TRUE(event && std::holds_alternative<StartTlsRequested>(*event));
  session.tls_started();
  EXPECT_TRUE(session.tls());
  session.on_bytes("PASS x\r\n");
  EXPECT_EQ(session.bytes_to_send(),
            cat({kGreeting, "+OK Begin TLS negotiation\r\n", "-ERR Send USER first\r\n"}));
}

// A caller that keeps reading while a message is unsent fills the held input; past the bound
// the session answers what it held and then ends.
TEST(Pop3Session, TooMuchPipelinedInputEndsTheSession) {
  MemoryMailbox mailbox = fixture();
  SessionOptions options = base_options();
  options.limits.output_chunk_bytes = 4;
  options.limits.pending_input_bytes_max = 20;
  Session session(options);
  drain_in_writes(session, mailbox, 1 << 20);
  session.on_bytes(kLogin);
  drain_in_writes(session, mailbox, 1 << 20);
  session.on_bytes("RETR 1\r\n");  // stalls: nothing is written
  for (int i = 0; i < 10; ++i) session.on_bytes("NOOP\r\n");
  EXPECT_LE(session.buffered_bytes(), 20u + 32u);
  const std::string out = drain_in_writes(session, mailbox, 1 << 20);
  EXPECT_EQ(out, cat({"+OK " + n(kMsg1.size()) + " octets\r\n", kWire1,
                      "+OK\r\n+OK\r\n+OK\r\n-ERR Too much pipelined input\r\n"}));
  EXPECT_TRUE(session.ended());
  EXPECT_FALSE(mailbox.locked);
}

TEST(Pop3Session, DestroyedMidStreamUnlocksAndDeletesNothing) {
  MemoryMailbox mailbox = fixture();
  {
    SessionOptions options = base_options();
    options.limits.output_chunk_bytes = 4;
    Session session(options);
    session.on_bytes(kLogin);
    drain_in_writes(session, mailbox, 1 << 20);
    session.on_bytes("DELE 2\r\nRETR 1\r\nQUIT\r\n");
    EXPECT_TRUE(mailbox.locked);
  }
  EXPECT_FALSE(mailbox.locked);
  EXPECT_EQ(mailbox.messages.size(), 3u);
  EXPECT_EQ(mailbox.commits, 0u);
}

TEST(Pop3Errc, Messages) {
  EXPECT_EQ(std::error_code(Errc::in_use).message(), "maildrop in use by another session");
  EXPECT_STREQ(std::error_code(Errc::storage_failed).category().name(), "pop3");
}

}  // namespace
}  // namespace mta::pop3
