// ClientSession scripted conversations. Each conversation is a table row: server bytes and
// client actions in order, the exact writes wanted and the events wanted. Every row is also
// replayed with the server bytes split at every byte offset and one byte at a time: the bytes
// written and the events must not change.
#include "proto/smtp/client_session.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

struct Server {
  std::string bytes;
};
struct Begin {
  Envelope envelope;
  std::string message;
};
struct Quit {};
struct TlsUp {};    // the caller's handshake succeeded: tls_started()
struct Refused {};  // a transaction asked for now is refused with Errc::not_ready
using Step = std::variant<Server, Begin, Quit, TlsUp, Refused>;

std::string describe(const SessionEvent& event) {
  struct Visitor {
    std::string operator()(const SessionReady& e) const {
      // What the server advertised; the writes show whether the session used it.
      return std::string("ready pipelining=") + (e.capabilities.pipelining ? "1" : "0") +
             (e.tls ? " tls" : "") +
             (e.starttls_refused ? " starttls_refused=" + e.starttls_refused->to_string() : "");
    }
    std::string operator()(const StartTlsAccepted&) const { return "starttls"; }
    std::string operator()(const RecipientResult& e) const {
      return "rcpt " + std::to_string(e.index) + " " + e.reply.to_string();
    }
    std::string operator()(const TransactionResult& e) const {
      std::string out =
          std::string("tx delivered=") + (e.delivered ? "1 " : "0 ") + e.reply.to_string() + " |";
      for (const Reply& r : e.recipient_replies) {
        out += ' ';
        out += r.to_string();
        out += ',';
      }
      return out;
    }
    std::string operator()(const SessionFailed& e) const {
      return "failed " + e.reply.to_string() + ": " + e.reason;
    }
    std::string operator()(const SessionClosed&) const { return "closed"; }
  };
  return std::visit(Visitor{}, event);
}

struct Transcript {
  std::vector<std::string> writes;  // one entry per non-empty drain of bytes_to_send
  std::string written;              // all writes concatenated
  std::vector<std::string> events;  // described events, plus "error <errc>" for on_bytes errors
};

Envelope envelope_of_refused() { return Envelope{"a@x", {"late@y"}}; }

// Runs `steps`; a Server step's bytes are fed in pieces cut at the offsets `cut` returns for
// that step (a sorted list of cut points inside the step's bytes).
template <typename Cut>
Transcript run(const std::vector<Step>& steps, ClientOptions options, Cut cut) {
  ClientSession session(std::move(options));
  Transcript out;
  auto drain = [&] {
    while (auto event = session.next_event()) out.events.push_back(describe(*event));
    std::string_view pending = session.bytes_to_send();
    if (!pending.empty()) {
      out.writes.emplace_back(pending);
      out.written.append(pending);
      session.on_sent(pending.size());
    }
  };
  std::size_t offset = 0;  // of the current server step within all server bytes
  for (const Step& step : steps) {
    if (const auto* server = std::get_if<Server>(&step)) {
      std::string_view bytes = server->bytes;
      std::size_t start = 0;
      std::vector<std::size_t> cuts = cut(offset, bytes.size());
      cuts.push_back(bytes.size());
      for (std::size_t end : cuts) {
        Result<void> fed = session.on_bytes(bytes.substr(start, end - start));
        start = end;
        drain();
        if (!fed) {
          out.events.push_back("error " + fed.error().code.message());
          return out;  // a real caller closes the connection here
        }
      }
      offset += bytes.size();
    } else if (const auto* begin = std::get_if<Begin>(&step)) {
      EXPECT_TRUE(session.ready_for_transaction());
      if (!session.ready_for_transaction()) return out;
      EXPECT_TRUE(session.begin_transaction(begin->envelope, begin->message).has_value());
      drain();
    } else if (std::holds_alternative<TlsUp>(step)) {
      session.tls_started();
      drain();
    } else if (std::holds_alternative<Refused>(step)) {
      EXPECT_FALSE(session.ready_for_transaction());
      Result<void> begun = session.begin_transaction(envelope_of_refused(), "m");
      out.events.push_back(begun ? std::string("begun")
                                 : "refused " + begun.error().code.message());
      drain();
    } else {
      session.quit();
      drain();
    }
  }
  return out;
}

struct Conversation {
  std::string name;
  std::vector<Step> steps;
  std::vector<std::string> want_writes;
  std::vector<std::string> want_events;
  ClientOptions options = {};
  // A reply that makes the session write and a 421 behind it in one read: split between the
  // two, the write goes out before the 421 fails the session. Only the events must not change.
  bool writes_depend_on_split = false;
};

const std::string kGreeting = "220 mx.example.com ESMTP\r\n";
const std::string kEhloPipelining =
    "250-mx.example.com\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n";
const std::string kEhloPlain = "250-mx.example.com\r\n250 8BITMIME\r\n";
const std::string kEhlo = "EHLO localhost\r\n";
const std::string kMessage = "Subject: hi\n\nline one\n.dot line\n";
const std::string kStuffed = "Subject: hi\r\n\r\nline one\r\n..dot line\r\n.\r\n";

Envelope envelope(std::string from, std::vector<std::string> to) {
  return Envelope{std::move(from), std::move(to)};
}

// A 421 right behind each kind of reply (a receiver that closes after N messages, or
// restarts): the session is failed after the read, whatever events came before the failure,
// and a transaction asked for then is refused. Before the fix, a caller acting on the
// TransactionResult (or SessionReady) ahead of the failure began a transaction on the failed
// session and the daemon aborted (issue 21).
void add_421_after_every_reply(std::vector<Conversation>& out) {
  const std::string bye = "421 4.3.2 shutting down\r\n";
  const std::string failed = "failed 421 4.3.2 shutting down: server is closing the connection";
  const std::string refused = "refused session not ready for a transaction";
  const Envelope one = envelope("a@x", {"b@y"});
  const std::string mail_one = "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n";
  const ClientOptions tls{.starttls = true};
  const std::string ehlo_tls = "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

  out.push_back({"421_after_greeting",
                 {Server{kGreeting + bye}, Refused{}},
                 {},
                 {failed, refused},
                 {},
                 true});
  out.push_back({"421_after_ehlo",
                 {Server{kGreeting}, Server{kEhloPipelining + bye}, Refused{}},
                 {kEhlo},
                 {"ready pipelining=1", failed, refused}});
  out.push_back(
      {"421_after_helo",
       {Server{kGreeting}, Server{"502 5.5.2 no\r\n"}, Server{"250 mx\r\n" + bye}, Refused{}},
       {kEhlo, "HELO localhost\r\n"},
       {"ready pipelining=0", failed, refused}});
  out.push_back(
      {"421_after_starttls_refused",
       {Server{kGreeting}, Server{ehlo_tls}, Server{"454 4.7.0 no TLS\r\n" + bye}, Refused{}},
       {kEhlo, "STARTTLS\r\n"},
       {"ready pipelining=1 starttls_refused=454 4.7.0 no TLS", failed, refused},
       tls});
  // After the 220 to STARTTLS the 421 is plaintext the server must not send: dropped.
  out.push_back({"421_after_starttls_220_is_dropped",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n" + bye}, Refused{},
                  TlsUp{}, Server{"250 mx\r\n"}, Begin{one, "m"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo, "MAIL FROM:<a@x>\r\n"},
                 {"starttls", refused, "ready pipelining=0 tls"},
                 tls});
  out.push_back({"421_after_auth",
                 {Server{kGreeting}, Server{"250-mx\r\n250 AUTH PLAIN\r\n"},
                  Server{"235 2.7.0 ok\r\n" + bye}, Refused{}},
                 {kEhlo, "AUTH PLAIN AHUAcA==\r\n"},
                 {"ready pipelining=0", failed, refused},
                 ClientOptions{.auth_plain = "AHUAcA=="}});
  out.push_back({"421_after_mail",
                 {Server{kGreeting}, Server{kEhloPlain}, Begin{one, "m"},
                  Server{"250 Ok\r\n" + bye}, Refused{}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n"},
                 {"ready pipelining=0", failed, refused},
                 {},
                 true});
  out.push_back({"421_after_rcpt",
                 {Server{kGreeting}, Server{kEhloPlain}, Begin{one, "m"}, Server{"250 Ok\r\n"},
                  Server{"250 Ok\r\n" + bye}, Refused{}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n"},
                 {"ready pipelining=0", "rcpt 0 250 Ok", failed, refused},
                 {},
                 true});
  out.push_back({"421_after_data_354",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
                  Server{"250 Ok\r\n250 Ok\r\n354 go\r\n" + bye}, Refused{}},
                 {kEhlo, mail_one},
                 {"ready pipelining=1", "rcpt 0 250 Ok", failed, refused},
                 {},
                 true});
  out.push_back({"421_after_data_rejected",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
                  Server{"250 Ok\r\n250 Ok\r\n554 5.6.0 no\r\n" + bye}, Refused{}},
                 {kEhlo, mail_one},
                 {"ready pipelining=1", "rcpt 0 250 Ok", "tx delivered=0 554 5.6.0 no | 250 Ok,",
                  failed, refused}});
  // The crash of issue 21: the message is delivered (its TransactionResult stands), and the
  // session is failed before the caller could begin the next one.
  out.push_back(
      {"421_after_body_250_in_one_read",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
        Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 2.0.0 queued\r\n" + bye}, Refused{}},
       {kEhlo, mail_one, "m\r\n.\r\n"},
       {"ready pipelining=1", "rcpt 0 250 Ok", "tx delivered=1 250 2.0.0 queued | 250 Ok,", failed,
        refused}});
  out.push_back({"421_after_body_250_lock_step",
                 {Server{kGreeting}, Server{kEhloPlain}, Begin{one, "m"}, Server{"250 Ok\r\n"},
                  Server{"250 Ok\r\n"}, Server{"354 go\r\n"}, Server{"250 2.0.0 queued\r\n" + bye},
                  Refused{}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "DATA\r\n", "m\r\n.\r\n"},
                 {"ready pipelining=0", "rcpt 0 250 Ok",
                  "tx delivered=1 250 2.0.0 queued | 250 Ok,", failed, refused}});
  // In two reads, the next message begun in between: it gets no TransactionResult (its
  // recipients are the caller's to retry).
  out.push_back(
      {"421_after_body_250_in_the_next_read",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
        Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 2.0.0 queued\r\n"},
        Begin{envelope("a@x", {"c@z"}), "n"}, Server{bye}, Refused{}},
       {kEhlo, mail_one, "m\r\n.\r\n", "RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<c@z>\r\nDATA\r\n"},
       {"ready pipelining=1", "rcpt 0 250 Ok", "tx delivered=1 250 2.0.0 queued | 250 Ok,", failed,
        refused}});
  out.push_back({"421_after_rset",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
                  Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 queued\r\n"},
                  Begin{one, "n"}, Server{"250 reset\r\n" + bye}, Refused{}},
                 {kEhlo, mail_one, "m\r\n.\r\n", "RSET\r\n" + mail_one},
                 {"ready pipelining=1", "rcpt 0 250 Ok", "tx delivered=1 250 queued | 250 Ok,",
                  failed, refused}});
  // After QUIT's reply nothing the server says matters.
  out.push_back(
      {"421_after_quit_221_is_ignored",
       {Server{kGreeting}, Server{kEhloPlain}, Quit{}, Server{"221 Bye\r\n" + bye}, Refused{}},
       {kEhlo, "QUIT\r\n"},
       {"ready pipelining=0", "closed", refused}});
}

// Replies of a class their command cannot have: the server and the session disagree on which
// reply answers which command. Taken at face value, the 250 that DATA got here would have
// ended a message whose body was never sent, as delivered.
void add_replies_of_the_wrong_class(std::vector<Conversation>& out) {
  const Envelope one = envelope("a@x", {"b@y"});
  const std::string mail_one = "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n";
  out.push_back(
      {"unsolicited_250_shifts_every_reply_and_fails_at_data",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
        Server{"250 2.0.0 unsolicited\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"}},
       {kEhlo, mail_one},
       {"ready pipelining=1", "rcpt 0 250 2.1.0 Ok",
        "failed 250 2.1.5 Ok: reply 250 2.1.5 Ok cannot answer DATA", "error protocol violation"}});
  out.push_back({"354_to_rcpt_fails",
                 {Server{kGreeting}, Server{kEhloPlain}, Begin{one, "m"}, Server{"250 Ok\r\n"},
                  Server{"354 go\r\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n"},
                 {"ready pipelining=0", "failed 354 go: reply 354 go cannot answer RCPT",
                  "error protocol violation"}});
  out.push_back({"354_to_the_body_fails",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{one, "m"},
                  Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"354 again\r\n"}},
                 {kEhlo, mail_one, "m\r\n.\r\n"},
                 {"ready pipelining=1", "rcpt 0 250 Ok",
                  "failed 354 again: reply 354 again cannot answer the message body",
                  "error protocol violation"}});
}

// What the transcript says when a session is ready, and the commands of a two-recipient
// transaction; shared by the conversations below.
const std::string kReadyPipelining = "ready pipelining=1";
const std::string kReadyNotPipelining = "ready pipelining=0";
const std::string kMailTwo = "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@z>\r\nDATA\r\n";

void add_transaction_conversations(std::vector<Conversation>& out) {
  const Envelope two = envelope("a@x", {"b@y", "c@z"});
  out.push_back({"pipelined_mixed_recipients_then_quit",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
                  Server{"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@z> unknown\r\n"
                         "354 End data with <CR><LF>.<CR><LF>\r\n"},
                  Server{"250 2.0.0 Ok: queued as ABC\r\n"}, Quit{}, Server{"221 2.0.0 Bye\r\n"}},
                 {kEhlo, kMailTwo, kStuffed, "QUIT\r\n"},
                 {kReadyPipelining, "rcpt 0 250 2.1.5 Ok", "rcpt 1 550 5.1.1 <c@z> unknown",
                  "tx delivered=1 250 2.0.0 Ok: queued as ABC | 250 2.1.5 Ok, 550 5.1.1 <c@z> "
                  "unknown,",
                  "closed"}});

  out.push_back({"pipelined_replies_in_one_packet_with_final",
                 {Server{kGreeting + kEhloPipelining}, Begin{envelope("a@x", {"b@y"}), "x"},
                  Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 Ok\r\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n", "x\r\n.\r\n"},
                 {kReadyPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 Ok | 250 Ok,"}});

  out.push_back(
      {"not_pipelined_one_command_at_a_time",
       {Server{kGreeting}, Server{kEhloPlain}, Begin{two, kMessage}, Server{"250 Ok\r\n"},
        Server{"250 Ok\r\n"}, Server{"550 no\r\n"}, Server{"354 go\r\n"}, Server{"250 queued\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "RCPT TO:<c@z>\r\n", "DATA\r\n",
        kStuffed},
       {kReadyNotPipelining, "rcpt 0 250 Ok", "rcpt 1 550 no",
        "tx delivered=1 250 queued | 250 Ok, 550 no,"}});

  out.push_back(
      {"pipelining_disabled_by_option",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{envelope("a@x", {"b@y"}), ""},
        Server{"250 Ok\r\n"}, Server{"250 Ok\r\n"}, Server{"354 go\r\n"}, Server{"250 Ok\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "DATA\r\n", ".\r\n"},
       {kReadyPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 Ok | 250 Ok,"},
       ClientOptions{"localhost", {}, false}});

  out.push_back({"pipelined_all_rejected_data_554",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
                  Server{"250 Ok\r\n550 5.1.1 no b\r\n450 4.2.0 greylisted\r\n"
                         "554 5.5.1 No valid recipients\r\n"}},
                 {kEhlo, kMailTwo},
                 {kReadyPipelining, "rcpt 0 550 5.1.1 no b", "rcpt 1 450 4.2.0 greylisted",
                  "tx delivered=0 550 5.1.1 no b | 550 5.1.1 no b, 450 4.2.0 greylisted,"}});

  out.push_back({"pipelined_all_rejected_but_354_sends_dot_only",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
                  Server{"250 Ok\r\n550 no b\r\n550 no c\r\n354 go\r\n"},
                  Server{"554 no valid recipients\r\n"}},
                 {kEhlo, kMailTwo, ".\r\n"},
                 {kReadyPipelining, "rcpt 0 550 no b", "rcpt 1 550 no c",
                  "tx delivered=0 550 no b | 550 no b, 550 no c,"}});

  out.push_back({"pipelined_all_rejected_354_then_250_still_undelivered",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{envelope("a@x", {"b@y"}), "m"},
                  Server{"250 Ok\r\n550 no b\r\n354 go\r\n"}, Server{"250 empty message ok\r\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n", ".\r\n"},
                 {kReadyPipelining, "rcpt 0 550 no b", "tx delivered=0 550 no b | 550 no b,"}});

  out.push_back(
      {"not_pipelined_all_rejected_sends_no_data",
       {Server{kGreeting}, Server{kEhloPlain}, Begin{two, kMessage}, Server{"250 Ok\r\n"},
        Server{"550 no b\r\n"}, Server{"550 no c\r\n"}, Quit{}, Server{"221 Bye\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "RCPT TO:<c@z>\r\n", "QUIT\r\n"},
       {kReadyNotPipelining, "rcpt 0 550 no b", "rcpt 1 550 no c",
        "tx delivered=0 550 no b | 550 no b, 550 no c,", "closed"}});

  out.push_back(
      {"pipelined_mail_rejected",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
        Server{"553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n"
               "503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n"}},
       {kEhlo, kMailTwo},
       {kReadyPipelining, "rcpt 0 553 5.7.1 sender rejected", "rcpt 1 553 5.7.1 sender rejected",
        "tx delivered=0 553 5.7.1 sender rejected | 553 5.7.1 sender rejected, "
        "553 5.7.1 sender rejected,"}});

  out.push_back({"not_pipelined_mail_rejected",
                 {Server{kGreeting}, Server{kEhloPlain}, Begin{two, kMessage},
                  Server{"451 4.3.0 try later\r\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n"},
                 {kReadyNotPipelining, "rcpt 0 451 4.3.0 try later", "rcpt 1 451 4.3.0 try later",
                  "tx delivered=0 451 4.3.0 try later | 451 4.3.0 try later, 451 4.3.0 try "
                  "later,"}});

  out.push_back(
      {"transient_after_body",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
        Server{"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"451 4.3.0 queue full\r\n"}},
       {kEhlo, kMailTwo, kStuffed},
       {kReadyPipelining, "rcpt 0 250 Ok", "rcpt 1 250 Ok",
        "tx delivered=0 451 4.3.0 queue full | 250 Ok, 250 Ok,"}});

  out.push_back(
      {"data_command_rejected",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{envelope("a@x", {"b@y"}), "m"},
        Server{"250 Ok\r\n250 Ok\r\n452 4.3.1 out of space\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"},
       {kReadyPipelining, "rcpt 0 250 Ok", "tx delivered=0 452 4.3.1 out of space | 250 Ok,"}});

  out.push_back({"second_transaction_pipelined_sends_rset",
                 {Server{kGreeting}, Server{kEhloPipelining},
                  Begin{envelope("a@x", {"b@y"}), "one"}, Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"},
                  Server{"250 first\r\n"}, Begin{envelope("", {"c@z"}), "two"},
                  Server{"250 reset\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 second\r\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n", "one\r\n.\r\n",
                  "RSET\r\nMAIL FROM:<>\r\nRCPT TO:<c@z>\r\nDATA\r\n", "two\r\n.\r\n"},
                 {kReadyPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 first | 250 Ok,",
                  "rcpt 0 250 Ok", "tx delivered=1 250 second | 250 Ok,"}});

  out.push_back(
      {"second_transaction_not_pipelined_waits_for_rset",
       {Server{kGreeting}, Server{kEhloPlain}, Begin{envelope("a@x", {"b@y"}), "one"},
        Server{"250 Ok\r\n"}, Server{"250 Ok\r\n"}, Server{"354 go\r\n"}, Server{"250 first\r\n"},
        Begin{envelope("a@x", {"c@z"}), "two"}, Server{"250 reset\r\n"}, Server{"250 Ok\r\n"},
        Server{"250 Ok\r\n"}, Server{"354 go\r\n"}, Server{"250 second\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "DATA\r\n", "one\r\n.\r\n", "RSET\r\n",
        "MAIL FROM:<a@x>\r\n", "RCPT TO:<c@z>\r\n", "DATA\r\n", "two\r\n.\r\n"},
       {kReadyNotPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 first | 250 Ok,", "rcpt 0 250 Ok",
        "tx delivered=1 250 second | 250 Ok,"}});

  out.push_back(
      {"ehlo_rejected_falls_back_to_helo",
       {Server{kGreeting}, Server{"502 5.5.2 command not recognized\r\n"},
        Server{"250 mx.example.com\r\n"}, Begin{envelope("a@x", {"b@y"}), "m"},
        Server{"250 Ok\r\n"}, Server{"250 Ok\r\n"}, Server{"354 go\r\n"}, Server{"250 Ok\r\n"}},
       {kEhlo, "HELO localhost\r\n", "MAIL FROM:<a@x>\r\n", "RCPT TO:<b@y>\r\n", "DATA\r\n",
        "m\r\n.\r\n"},
       {kReadyNotPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 Ok | 250 Ok,"}});
}

void add_failure_conversations(std::vector<Conversation>& out) {
  const Envelope two = envelope("a@x", {"b@y", "c@z"});
  out.push_back({"helo_rejected_fails",
                 {Server{kGreeting}, Server{"500 what\r\n"}, Server{"550 go away\r\n"}},
                 {kEhlo, "HELO localhost\r\n"},
                 {"failed 550 go away: HELO rejected"}});

  out.push_back({"greeting_421_fails_without_ehlo",
                 {Server{"421 4.3.2 mx busy, try later\r\n"}},
                 {},
                 {"failed 421 4.3.2 mx busy, try later: server is closing the connection"}});

  out.push_back({"greeting_554_fails",
                 {Server{"554 5.7.1 no service for you\r\n"}},
                 {},
                 {"failed 554 5.7.1 no service for you: greeting rejected"}});

  out.push_back({"ehlo_transient_fails",
                 {Server{kGreeting}, Server{"451 4.3.0 later\r\n"}},
                 {kEhlo},
                 {"failed 451 4.3.0 later: EHLO rejected"}});

  out.push_back({"421_mid_transaction_fails_session",
                 {Server{kGreeting}, Server{kEhloPipelining}, Begin{two, kMessage},
                  Server{"250 Ok\r\n250 Ok\r\n421 4.7.0 too many errors\r\n"}},
                 {kEhlo, kMailTwo},
                 {kReadyPipelining, "rcpt 0 250 Ok",
                  "failed 421 4.7.0 too many errors: server is closing the connection"}});

  out.push_back(
      {"reply_with_nothing_outstanding_is_an_error",
       {Server{kGreeting}, Server{kEhloPipelining}, Server{"250 surprise\r\n"}},
       {kEhlo},
       {kReadyPipelining, "failed 250 surprise: reply with no command outstanding: 250 surprise",
        "error unexpected reply"}});

  out.push_back({"garbage_reply_is_an_error",
                 {Server{kGreeting}, Server{"HTTP/1.0 200 OK\r\n"}},
                 {kEhlo},
                 {"failed 0: bad reply code: HTTP/1.0 200 OK", "error bad reply code"}});

  out.push_back(
      {"quit_during_transaction_waits_for_result",
       {Server{kGreeting}, Server{kEhloPipelining}, Begin{envelope("a@x", {"b@y"}), "m"}, Quit{},
        Server{"250 Ok\r\n250 Ok\r\n354 go\r\n"}, Server{"250 Ok\r\n"}, Server{"221 Bye\r\n"}},
       {kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n", "m\r\n.\r\n", "QUIT\r\n"},
       {kReadyPipelining, "rcpt 0 250 Ok", "tx delivered=1 250 Ok | 250 Ok,", "closed"}});

  out.push_back({"quit_before_ready_is_sent_after_ehlo",
                 {Quit{}, Server{kGreeting}, Server{kEhloPlain}, Server{"221 Bye\r\n"}},
                 {kEhlo, "QUIT\r\n"},
                 {kReadyNotPipelining, "closed"}});
}

void add_mail_parameter_conversations(std::vector<Conversation>& out) {
  out.push_back({"mail_parameters_size_8bitmime_smtputf8",
                 {Server{kGreeting},
                  Server{"250-mx\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                         "250 PIPELINING\r\n"},
                  Begin{envelope("", {"j\xc3\xbcrgen@x"}), "Subject: caf\xc3\xa9\n\nhi\n"}},
                 {kEhlo,
                  "MAIL FROM:<> SIZE=22 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<j\xc3\xbcrgen@x>\r\n"
                  "DATA\r\n"},
                 {kReadyPipelining}});

  out.push_back({"mail_parameters_8bit_body_only",
                 {Server{kGreeting}, Server{"250-mx\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"},
                  Begin{envelope("a@x", {"b@y"}), "Subject: x\n\ncaf\xc3\xa9\n"}},
                 {kEhlo, "MAIL FROM:<a@x> BODY=8BITMIME\r\n"},
                 {kReadyNotPipelining}});

  out.push_back({"mail_parameters_not_advertised",
                 {Server{kGreeting}, Server{"250 mx\r\n"},
                  Begin{envelope("a@x", {"b@y"}), "Subject: caf\xc3\xa9\n\n"}},
                 {kEhlo, "MAIL FROM:<a@x>\r\n"},
                 {kReadyNotPipelining}});

  out.push_back({"custom_helo_name",
                 {Server{kGreeting}},
                 {"EHLO mta1.example.net\r\n"},
                 {},
                 ClientOptions{"mta1.example.net", {}, true}});
}

// A user and password: PLAIN when offered, else LOGIN; never in plaintext unless allowed.
void add_credential_conversations(std::vector<Conversation>& out) {
  const std::string ehlo_tls = "250-mx\r\n250 STARTTLS\r\n";
  const ClientOptions login{
      .starttls = true, .auth_user = "u", .auth_password = "p"};  // "u" dQ==, "p" cA==
  out.push_back({"credentials_prefer_plain",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n"}, TlsUp{},
                  Server{"250-mx\r\n250 AUTH LOGIN PLAIN\r\n"}, Server{"235 2.7.0 ok\r\n"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo, "AUTH PLAIN AHUAcA==\r\n"},
                 {"starttls", "ready pipelining=0 tls"},
                 login});
  out.push_back({"credentials_use_login_when_plain_is_not_offered",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n"}, TlsUp{},
                  Server{"250-mx\r\n250 AUTH LOGIN\r\n"}, Server{"334 VXNlcm5hbWU6\r\n"},
                  Server{"334 UGFzc3dvcmQ6\r\n"}, Server{"235 2.7.0 ok\r\n"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo, "AUTH LOGIN\r\n", "dQ==\r\n", "cA==\r\n"},
                 {"starttls", "ready pipelining=0 tls"},
                 login});
  out.push_back({"credentials_login_rejected",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n"}, TlsUp{},
                  Server{"250-mx\r\n250 AUTH LOGIN\r\n"}, Server{"334 VXNlcm5hbWU6\r\n"},
                  Server{"334 UGFzc3dvcmQ6\r\n"}, Server{"535 5.7.8 no\r\n"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo, "AUTH LOGIN\r\n", "dQ==\r\n", "cA==\r\n"},
                 {"starttls", "failed 535 5.7.8 no: AUTH rejected"},
                 login});
  out.push_back({"credentials_never_sent_in_plaintext",
                 {Server{kGreeting}, Server{"250-mx\r\n250 AUTH PLAIN LOGIN\r\n"}},
                 {kEhlo},
                 {"failed 0: AUTH not sent: the connection is not encrypted"},
                 ClientOptions{.auth_user = "u", .auth_password = "p"}});
  out.push_back(
      {"credentials_in_plaintext_when_allowed",
       {Server{kGreeting}, Server{"250-mx\r\n250 AUTH PLAIN\r\n"}, Server{"235 2.7.0 ok\r\n"}},
       {kEhlo, "AUTH PLAIN AHUAcA==\r\n"},
       {"ready pipelining=0"},
       ClientOptions{.auth_user = "u", .auth_password = "p", .auth_without_tls = true}});
  out.push_back(
      {"credentials_over_implicit_tls_without_starttls",
       {Server{kGreeting}, Server{"250-mx\r\n250 AUTH PLAIN\r\n"}, Server{"235 2.7.0 ok\r\n"}},
       {kEhlo, "AUTH PLAIN AHUAcA==\r\n"},
       {"ready pipelining=0 tls"},
       ClientOptions{
           .starttls = true, .auth_user = "u", .auth_password = "p", .implicit_tls = true}});
  out.push_back({"credentials_with_no_mechanism_in_common",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n"}, TlsUp{},
                  Server{"250-mx\r\n250 AUTH CRAM-MD5\r\n"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo},
                 {"starttls", "failed 0: the server offers neither AUTH PLAIN nor AUTH LOGIN"},
                 login});
}

void add_tls_and_auth_conversations(std::vector<Conversation>& out) {
  // RFC 3207. The server's EHLO after TLS no longer offers STARTTLS.
  const ClientOptions tls{.starttls = true};
  const std::string ehlo_tls = "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
  out.push_back(
      {"starttls_then_ehlo_again_over_tls",
       {Server{kGreeting}, Server{ehlo_tls}, Server{"220 2.0.0 Ready to start TLS\r\n"}, TlsUp{},
        Server{"250-mx\r\n250 PIPELINING\r\n"}, Begin{envelope("a@x", {"b@y"}), "m\n"}},
       {kEhlo, "STARTTLS\r\n", kEhlo, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"},
       {"starttls", "ready pipelining=1 tls"},
       tls});
  // A man in the middle appends a reply to the 220 in plaintext: it must not be read as the
  // answer to the EHLO said over TLS (CVE-2011-0411 class, client side).
  out.push_back(
      {"plaintext_after_220_is_discarded",
       {Server{kGreeting}, Server{ehlo_tls}, Server{"220 Ready\r\n250-evil\r\n250 AUTH PLAIN\r\n"},
        TlsUp{}, Server{"250 mx\r\n"}},
       {kEhlo, "STARTTLS\r\n", kEhlo},
       {"starttls", "ready pipelining=0 tls"},
       tls});
  out.push_back({"starttls_refused_goes_on_in_plaintext",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"454 4.7.0 TLS not available\r\n"},
                  Begin{envelope("a@x", {"b@y"}), "m\n"}},
                 {kEhlo, "STARTTLS\r\n", "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"},
                 {"ready pipelining=1 starttls_refused=454 4.7.0 TLS not available"},
                 tls});
  out.push_back({"starttls_not_offered",
                 {Server{kGreeting}, Server{kEhloPlain}},
                 {kEhlo},
                 {kReadyNotPipelining},
                 tls});
  out.push_back({"starttls_offered_but_not_wanted",
                 {Server{kGreeting}, Server{ehlo_tls}},
                 {kEhlo},
                 {kReadyPipelining}});
  out.push_back({"quit_while_tls_starts_is_sent_over_tls",
                 {Server{kGreeting}, Server{ehlo_tls}, Server{"220 Ready\r\n"}, Quit{}, TlsUp{},
                  Server{"250 mx\r\n"}, Server{"221 Bye\r\n"}},
                 {kEhlo, "STARTTLS\r\n", kEhlo, "QUIT\r\n"},
                 {"starttls", "ready pipelining=0 tls", "closed"},
                 tls});
  // RFC 4954: AUTH PLAIN after TLS; ready only after 235.
  const ClientOptions auth{.starttls = true, .auth_plain = "AHUAcA=="};
  out.push_back(
      {"auth_plain_after_starttls",
       {Server{kGreeting}, Server{ehlo_tls}, Server{"220 go\r\n"}, TlsUp{},
        Server{"250-mx\r\n250 AUTH LOGIN PLAIN\r\n"},
        Server{"235 2.7.0 Authentication successful\r\n"}, Begin{envelope("a@x", {"b@y"}), "m\n"}},
       {kEhlo, "STARTTLS\r\n", kEhlo, "AUTH PLAIN AHUAcA==\r\n", "MAIL FROM:<a@x>\r\n"},
       {"starttls", "ready pipelining=0 tls"},
       auth});
  out.push_back({"auth_rejected_fails_the_session",
                 {Server{kGreeting}, Server{"250-mx\r\n250 AUTH PLAIN\r\n"},
                  Server{"535 5.7.8 Authentication credentials invalid\r\n"}},
                 {kEhlo, "AUTH PLAIN AHUAcA==\r\n"},
                 {"failed 535 5.7.8 Authentication credentials invalid: AUTH rejected"},
                 ClientOptions{.auth_plain = "AHUAcA=="}});
  out.push_back({"auth_not_offered_fails_the_session",
                 {Server{kGreeting}, Server{kEhloPlain}},
                 {kEhlo},
                 {"failed 0: AUTH PLAIN is not offered"},
                 ClientOptions{.auth_plain = "AHUAcA=="}});
  add_credential_conversations(out);
}

std::vector<Conversation> conversations() {
  std::vector<Conversation> out;
  add_transaction_conversations(out);
  add_failure_conversations(out);
  add_mail_parameter_conversations(out);
  add_tls_and_auth_conversations(out);
  add_421_after_every_reply(out);
  add_replies_of_the_wrong_class(out);
  return out;
}

void PrintTo(const Conversation& c, std::ostream* os) { *os << c.name; }

std::vector<std::size_t> no_cuts(std::size_t, std::size_t) { return {}; }

class Conversations : public ::testing::TestWithParam<Conversation> {};

TEST_P(Conversations, ExactBytesAndEvents) {
  const Conversation& c = GetParam();
  Transcript got = run(c.steps, c.options, no_cuts);
  EXPECT_EQ(got.writes, c.want_writes);
  EXPECT_EQ(got.events, c.want_events);
}

TEST_P(Conversations, ServerBytesSplitAtEveryOffset) {
  const Conversation& c = GetParam();
  const Transcript want = run(c.steps, c.options, no_cuts);
  std::size_t total = 0;
  for (const Step& step : c.steps) {
    if (const auto* server = std::get_if<Server>(&step)) total += server->bytes.size();
  }
  for (std::size_t split = 0; split < total; ++split) {
    auto cut_at = [split](std::size_t offset, std::size_t size) {
      std::vector<std::size_t> cuts;
      if (split > offset && split < offset + size) cuts.push_back(split - offset);
      return cuts;
    };
    Transcript got = run(c.steps, c.options, cut_at);
    if (!c.writes_depend_on_split) {
      EXPECT_EQ(got.written, want.written) << "split at " << split;
    }
    EXPECT_EQ(got.events, want.events) << "split at " << split;
  }
  auto every_byte = [](std::size_t, std::size_t size) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < size; ++i) cuts.push_back(i);
    return cuts;
  };
  Transcript got = run(c.steps, c.options, every_byte);
  if (!c.writes_depend_on_split) {
    EXPECT_EQ(got.written, want.written) << "byte by byte";
  }
  EXPECT_EQ(got.events, want.events) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Table, Conversations, ::testing::ValuesIn(conversations()),
                         [](const auto& info) { return info.param.name; });

TEST(ClientSession, CountsServerBytesDroppedBetween220AndTls) {
  ClientSession session(ClientOptions{.starttls = true});
  ASSERT_TRUE(session.on_bytes(kGreeting).has_value());
  ASSERT_TRUE(session.on_bytes("250-mx\r\n250 STARTTLS\r\n").has_value());
  EXPECT_EQ(session.bytes_to_send(), kEhlo + "STARTTLS\r\n");
  session.on_sent(session.bytes_to_send().size());
  // The 220, then 12 injected bytes in the same read, then 5 more in the next.
  ASSERT_TRUE(session.on_bytes("220 go\r\n250 evil\r\n").has_value());
  ASSERT_TRUE(session.on_bytes("250 x").has_value());
  EXPECT_EQ(session.discarded_bytes(), 5u);  // the parser's leftovers are dropped uncounted
  EXPECT_FALSE(session.tls());
  session.tls_started();
  EXPECT_TRUE(session.tls());
  EXPECT_EQ(session.bytes_to_send(), kEhlo);
}

TEST(ClientSession, StateAccessors) {
  ClientSession session(ClientOptions{});
  EXPECT_FALSE(session.ready_for_transaction());
  ASSERT_TRUE(session.on_bytes(kGreeting).has_value());
  EXPECT_EQ(session.bytes_to_send(), kEhlo);
  session.on_sent(4);
  EXPECT_EQ(session.bytes_to_send(), " localhost\r\n");
  session.on_sent(session.bytes_to_send().size());
  ASSERT_TRUE(session.on_bytes(kEhloPipelining).has_value());
  EXPECT_TRUE(session.ready_for_transaction());
  EXPECT_TRUE(session.capabilities().pipelining);
  EXPECT_TRUE(session.capabilities().enhanced_status_codes);
  ASSERT_TRUE(session.begin_transaction(envelope("a@x", {"b@y"}), "m").has_value());
  EXPECT_FALSE(session.ready_for_transaction());
  EXPECT_FALSE(session.failed());
  ASSERT_TRUE(session.on_bytes("250 Ok\r\n421 bye\r\n").has_value());
  EXPECT_TRUE(session.failed());
  EXPECT_TRUE(session.bytes_to_send().empty());
  session.on_sent(10);  // a late completion of a write issued before the failure
  Result<void> after = session.on_bytes("250 Ok\r\n");
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, Errc::session_failed);
}

// A server answering the body in the read that carried its 354 answers bytes it cannot have
// read (split between the two, the body goes out first and the reply stands).
TEST(ClientSession, BodyAnsweredBeforeItWasSentFails) {
  ClientSession session(ClientOptions{});
  ASSERT_TRUE(session.on_bytes(kGreeting + kEhloPipelining).has_value());
  session.on_sent(session.bytes_to_send().size());
  ASSERT_TRUE(session.begin_transaction(envelope("a@x", {"b@y"}), "m").has_value());
  session.on_sent(session.bytes_to_send().size());
  Result<void> fed = session.on_bytes("250 Ok\r\n250 Ok\r\n354 go\r\n250 2.0.0 queued\r\n");
  ASSERT_FALSE(fed.has_value());
  EXPECT_EQ(fed.error().code, Errc::protocol_violation);
  std::vector<std::string> events;
  while (auto event = session.next_event()) events.push_back(describe(*event));
  EXPECT_EQ(events, (std::vector<std::string>{
                        "ready pipelining=1", "rcpt 0 250 Ok",
                        "failed 250 2.0.0 queued: reply 250 2.0.0 queued to the message body "
                        "before it was sent"}));
  EXPECT_TRUE(session.bytes_to_send().empty());  // no body after the failure either
}

TEST(ClientSession, RefusesAddressesWithLineBreaks) {
  ClientSession session(ClientOptions{});
  ASSERT_TRUE(session.on_bytes(kGreeting + kEhloPipelining).has_value());
  session.on_sent(session.bytes_to_send().size());
  for (const Envelope& bad :
       {envelope("a@x\r\nRSET", {"b@y"}), envelope("a@x", {"b@y", "c@z\n"})}) {
    Result<void> begun = session.begin_transaction(bad, "m");
    ASSERT_FALSE(begun.has_value());
    EXPECT_EQ(begun.error().code, Errc::bad_address);
    EXPECT_TRUE(session.bytes_to_send().empty());
    EXPECT_TRUE(session.ready_for_transaction());  // nothing changed: the next one may go
  }
  EXPECT_TRUE(session.begin_transaction(envelope("a@x", {"b@y"}), "m").has_value());
}

TEST(ClientSession, BodyQueuedBehindUnsentBytes) {
  // The caller has not written the envelope yet when 354 arrives (it cannot happen on a real
  // socket, but the output buffer must keep order anyway).
  ClientSession session(ClientOptions{});
  ASSERT_TRUE(session.on_bytes(kGreeting + kEhloPipelining).has_value());
  session.on_sent(kEhlo.size());
  ASSERT_TRUE(session.begin_transaction(envelope("a@x", {"b@y"}), "body").has_value());
  ASSERT_TRUE(session.on_bytes("250 Ok\r\n250 Ok\r\n354 go\r\n").has_value());
  EXPECT_EQ(session.bytes_to_send(), "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nbody\r\n.\r\n");
}

}  // namespace
}  // namespace mta::smtp
