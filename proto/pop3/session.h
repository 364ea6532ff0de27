// Session: the server half of one POP3 connection (RFC 1939; CAPA and response codes RFC 2449;
// STLS RFC 2595; AUTH RFC 5034 with SASL PLAIN RFC 4616; [AUTH] and [SYS/*] codes RFC 3206).
// Bytes from the client in; reply bytes and events out. It owns no socket, clock or thread:
// TLS, credential checks (and the delay after a failure), APOP's MD5 and the store belong to
// the caller, which attaches a Maildrop once a login succeeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/pop3/maildrop.h"

namespace mta::pop3 {

struct SessionLimits {
  // RFC 2449 §4 caps a command line at 255 octets with its CRLF; clients overshoot with long
  // AUTH PLAIN responses and passwords, so we allow more. A longer line is skipped to its LF
  // without being buffered and answered "-ERR Line too long".
  std::size_t command_line_bytes_max = 1024;
  // Client bytes held while the session waits (for complete_auth(), or for a RETR/TOP to be
  // copied out). The caller should stop reading meanwhile; beyond this the input is dropped and
  // the session ends with "-ERR Too much pipelined input" once it reaches that point.
  std::size_t pending_input_bytes_max = 64 * 1024;
  // RETR and TOP are copied (dot-stuffed) into the output this much at a time, as the caller
  // reports bytes sent, so a 10 MB message never sits in the output buffer whole.
  std::size_t output_chunk_bytes = 64 * 1024;
  std::size_t errors_max = 20;        // unknown, malformed or out-of-state commands; then end
  std::size_t auth_failures_max = 3;  // failed logins; the third failure ends the session
};

struct SessionOptions {
  std::string hostname = "localhost";
  // The APOP timestamp (RFC 1939 §7), "<pid.clock@hostname>", made by the caller (the core
  // reads no clock) and unique per connection. Empty: no timestamp in the greeting, no APOP.
  std::string apop_banner;
  // Offer STLS while the connection is plaintext (the caller has a certificate).
  bool stls = false;
  // The connection is TLS from its first byte (pop3s, port 995).
  bool tls = false;
  // Whether USER/PASS and AUTH PLAIN are accepted before TLS. Over TLS they always are. When
  // false on a plaintext connection they answer "-ERR [AUTH] Plaintext authentication
  // disallowed on non-secure connection" and CAPA omits USER and SASL, so clients do STLS
  // first. APOP is accepted either way: the secret never crosses the wire.
  bool plaintext_auth_allowed = false;
  SessionLimits limits;
};

enum class State { authorization, transaction, update };

enum class AuthMechanism { user_pass, apop, plain };

// A login to check: the caller verifies it (slowly, off the byte path if it likes) and answers
// with complete_auth(). Fields are as the client sent them, any octet but NUL, CR and LF.
struct AuthRequested {
  AuthMechanism mechanism = AuthMechanism::user_pass;
  std::string user;  // USER name, APOP name, or the PLAIN authcid
  // user_pass and plain: the password. apop: the digest, 32 lower-case hex digits; the caller
  // checks it equals hex(MD5(SessionOptions::apop_banner + shared secret)).
  std::string secret;
  std::string authzid;  // plain only: the identity to act as; empty = the same as `user`
};
// STLS answered "+OK": the caller writes what is unsent, runs the TLS handshake and calls
// tls_started() (or closes if it fails). Client bytes after the STLS line and before TLS are
// discarded (RFC 2595 §4, the CVE-2011-0411 class).
struct StartTlsRequested {};
// QUIT answered (after the UPDATE state's commit, if any), or the session gave up (too many
// errors or failed logins, too much pipelined input). The caller flushes and closes.
struct SessionEnded {
  std::size_t messages_deleted = 0;  // committed at QUIT
  bool update_failed = false;        // commit_deletions() failed
};
using Event = std::variant<AuthRequested, StartTlsRequested, SessionEnded>;

// Lifecycle: construct (the greeting is queued), then loop: on_bytes() with what the socket
// read, write bytes_to_send() and report on_sent(), drain next_event() after each of these and
// after complete_auth() and tls_started(). One thread (the connection's shard) at a time.
//
// Login: USER+PASS, APOP or AUTH PLAIN each produce an AuthRequested and the session answers
// nothing more until complete_auth(maildrop): nullptr means bad credentials ("-ERR [AUTH]
// Authentication failed"; the caller delays that call, it owns the clock); a Maildrop means
// they were good, and the session locks it: IN-USE or a storage failure is answered and the
// session stays in AUTHORIZATION, else "+OK" and TRANSACTION. The session then owns the
// Maildrop: QUIT commits the DELEs (UPDATE state) and unlocks; destroying the session before
// QUIT (a dropped connection) unlocks and deletes nothing.
//
// Pipelining (RFC 2449 PIPELINING): every complete command line is answered in order. While a
// RETR or TOP is being copied out, later commands wait in a bounded buffer (the message view
// must stay valid, see Maildrop::message), so on_sent() may answer them, and may therefore
// queue events such as SessionEnded.
//
// Memory: a partial command line (<= command_line_bytes_max), held input
// (<= pending_input_bytes_max) and unsent output: replies, at most about output_chunk_bytes of
// a message, and LIST/UIDL listings (about 40 octets per message). buffered_bytes() is the sum.
class Session {
 public:
  explicit Session(SessionOptions options);
  ~Session();  // unlocks the maildrop if one is attached; never commits
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Consumes all of from_client (ignored once ended()).
  void on_bytes(std::string_view from_client);
  std::string_view bytes_to_send() const { return std::string_view(out_).substr(out_sent_); }
  void on_sent(std::size_t byte_count);
  std::optional<Event> next_event();

  // Answers the last AuthRequested; see the class comment. Only valid while awaiting_auth().
  void complete_auth(std::unique_ptr<Maildrop> maildrop);
  // Answers the last AuthRequested without a verdict: "-ERR [SYS/TEMP]" (RFC 3206; the
  // client's address is locked out for a while). Counts toward auth_failures_max.
  void refuse_auth();
  bool awaiting_auth() const { return awaiting_auth_; }

  // After StartTlsRequested, once the handshake succeeded: back to a fresh AUTHORIZATION state
  // (no USER given) and STLS is no longer offered. Only valid after StartTlsRequested.
  void tls_started();
  bool tls() const { return tls_; }
  // Client bytes dropped between the STLS line and tls_started().
  std::size_t discarded_bytes() const { return discarded_bytes_; }

  State state() const { return state_; }
  // The `user` of the AuthRequested that led to TRANSACTION; empty before.
  const std::string& user() const { return user_; }
  // After QUIT's reply or a give-up: flush bytes_to_send() and close.
  bool ended() const { return ended_; }
  std::size_t buffered_bytes() const;

 private:
  enum class Mode { command, discard_line, auth_response, tls_wait };
  // A RETR or TOP being copied into out_: text[pos, end) is still to go.
  struct Stream {
    std::string_view text;
    std::size_t pos = 0;
    std::size_t end = 0;
    bool line_start = true;
  };
  struct Listed {
    MessageInfo info;
    bool deleted = false;
  };

  // Runs held input and streams until the session must wait for the caller.
  void drive();
  // Handles complete lines of `bytes` until the session must wait; returns the octets used.
  std::size_t process(std::string_view bytes);
  void on_line(std::string_view line);
  void on_capa();
  void on_user(std::string_view rest);
  void on_pass(std::string_view rest);
  void on_apop(std::string_view rest);
  void on_auth(std::string_view rest);
  void on_auth_response(std::string_view line);
  void on_plain_response(std::string_view encoded);
  void on_stls(std::string_view rest);
  void on_quit();
  void on_list(std::string_view rest, bool unique_ids);
  void on_retr(std::string_view rest);
  void on_top(std::string_view rest);
  void on_dele(std::string_view rest);
  void on_rset();
  // A message number argument naming a listed, undeleted message: its 0-based index. Answers
  // the -ERR itself otherwise.
  std::optional<std::size_t> message_index(std::string_view argument);
  void start_stream(std::size_t index, std::optional<std::uint64_t> body_lines);
  void fill_output();
  bool password_auth_allowed() const { return tls_ || options_.plaintext_auth_allowed; }
  void request_auth(AuthRequested request);
  std::string maildrop_summary() const;

  void reply(std::string_view line);
  // The same, for a client error: counted, and the session ends after errors_max of them.
  void reply_error(std::string_view line);
  void hold(std::string_view bytes);
  void release_maildrop();
  void end(SessionEnded ended = {});

  SessionOptions options_;
  State state_ = State::authorization;
  Mode mode_ = Mode::command;
  std::string line_;     // partial command line
  std::string pending_;  // held input; pending_[pending_pos_, size) is unread
  std::size_t pending_pos_ = 0;
  bool pending_overflow_ = false;
  std::string out_;
  std::size_t out_sent_ = 0;
  std::deque<Event> events_;
  std::optional<Stream> stream_;

  bool tls_ = false;
  bool awaiting_auth_ = false;
  std::optional<std::string> user_given_;  // USER seen, PASS expected
  std::string auth_user_;                  // of the AuthRequested being checked
  std::string user_;
  std::unique_ptr<Maildrop> maildrop_;  // locked, from TRANSACTION on
  std::vector<Listed> messages_;
  std::size_t errors_ = 0;
  std::size_t auth_failures_ = 0;
  std::size_t discarded_bytes_ = 0;
  bool ended_ = false;
};

}  // namespace mta::pop3
