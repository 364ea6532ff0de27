// ServerSession: the server half of one SMTP connection (RFC 5321, PIPELINING RFC 2920, SIZE
// RFC 1870, 8BITMIME RFC 6152, ENHANCEDSTATUSCODES RFC 2034/3463, SMTPUTF8 RFC 6531, STARTTLS
// RFC 3207, AUTH RFC 4954, CHUNKING RFC 3030). Bytes from the client in; reply bytes and events
// (a received message, the end) out. It owns no socket, clock or thread: timeouts, TLS and the
// durable write belong to the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/smtp/command.h"
#include "proto/smtp/data_reader.h"

namespace mta::smtp {

struct ServerLimits {
  std::size_t command_line_bytes_max = 512;  // RFC 5321 §4.5.3.1.4 (incl. CRLF)
  std::size_t text_line_bytes_max = 1000;    // §4.5.3.1.6 (incl. CRLF)
  std::size_t message_bytes_max = 50 * 1024 * 1024;
  std::size_t recipients_max = 1000;
  std::size_t errors_max = 20;  // then 421 and close
  // Client bytes held while a message awaits the application's decision. The caller stops
  // reading while awaiting_decision(), so this only has to cover one read; more than this is
  // dropped and the session ends with 421 after the decision's reply.
  std::size_t pending_input_bytes_max = 64 * 1024;
};

struct ServerOptions {
  std::string hostname = "localhost";
  ServerLimits limits;
  bool pipelining = true, eight_bit_mime = true, enhanced_status_codes = true, smtputf8 = true;
  // Offer STARTTLS while the connection is plaintext (the caller has a certificate).
  bool starttls = false;
  // The connection is TLS from its first byte (implicit TLS, port 465 style).
  bool tls = false;
  // SASL mechanisms offered by AUTH (RFC 4954), e.g. {"PLAIN", "LOGIN"}; empty = no AUTH.
  // Offered only over TLS unless auth_without_tls: credentials never cross in the clear.
  std::vector<std::string> auth_mechanisms;
  bool auth_without_tls = false;
  // Offer CHUNKING (BDAT, RFC 3030). BINARYMIME is never offered: chunks carry the same 7bit or
  // 8bit text as DATA, with the same line limit. ServerSession::ehlo_keywords() is the one
  // place that turns these options into EHLO capabilities.
  bool chunking = true;
};

// End of DATA (CRLF "." CRLF) or BDAT LAST with a valid message.
struct MessageReceived {
  std::string mail_from;  // "" = null sender
  std::vector<std::string> recipients;
  // Dot-unstuffed (DATA) or the chunks joined (BDAT), with CRLF line ends only: bare LF and
  // bare CR were repaired (see data_reader.h). Ends with CRLF unless empty.
  std::string body;
  std::size_t bare_line_endings_repaired = 0;  // bare LF or CR turned into CRLF
  bool chunked = false;                        // arrived by BDAT, not DATA
};
// QUIT answered, or the session gave up (too many errors, protocol abuse).
struct SessionEnded {};
// STARTTLS answered with 220: the caller writes what is unsent, then runs the TLS handshake
// and calls tls_started() (or closes when it fails). Client bytes that came after the
// STARTTLS line, before TLS, are discarded (RFC 3207 §4.2; the CVE-2011-0411 class).
struct StartTlsRequested {};
// AUTH gathered the client's SASL responses: the caller checks them and answers with
// complete_auth(). Responses are as sent, base64 (RFC 4954 §4): PLAIN has one
// (authzid NUL authcid NUL password), LOGIN two (user name, password). "=" is an empty one.
struct AuthRequested {
  std::string mechanism;  // upper-cased, one of ServerOptions::auth_mechanisms
  std::vector<std::string> responses;
};
using ServerEvent = std::variant<MessageReceived, SessionEnded, StartTlsRequested, AuthRequested>;

// Lifecycle: construct (the 220 greeting is queued), then loop: on_bytes() with what the
// socket read, write bytes_to_send() and report on_sent(), drain next_event(). After a
// MessageReceived the session answers nothing more until complete_message(); the caller should
// stop reading meanwhile. Once ended(), flush bytes_to_send() and close. One thread (the
// connection's shard) at a time.
//
// Pipelining: every complete command line in a read is answered in order, at once, so a client
// sending MAIL, RCPT..., DATA in one packet gets its replies in one write. Replies are small
// (under 200 bytes per command line), so output per on_bytes() is bounded by a small multiple
// of its input; the caller should not read more while much output is unsent.
//
// CHUNKING (RFC 3030): "BDAT <size> [LAST]" is followed by exactly <size> octets, read as they
// come (no dots, no lines) and never taken for commands, so pipelined commands may follow in
// the same read. Each chunk is answered once its octets are in: "250 2.0.0 <size> octets
// received", or for LAST the MessageReceived and then complete_message(), as for DATA. The
// octets of a BDAT that cannot join a transaction are still read, then answered: 503 without
// MAIL or RCPT; after a chunk broke a limit (552 message size, 554 line length, answered to
// that chunk, which also ends the transaction), every further chunk up to LAST gets the same
// answer without counting as an error (§2: the client may have pipelined them). DATA after
// BDAT in one transaction is 503. A BDAT line that does not parse gets 501 and then 421: the
// session cannot know where that chunk's octets end, so nothing after it can be trusted as a
// command. RSET, QUIT and the rest work between chunks. With chunking off, BDAT is 502 (a
// malformed one 501) and nothing after it is read as a chunk.
//
// Memory: a partial command line (at most command_line_bytes_max; a longer line is discarded
// as it arrives and answered with 500), the message body (at most message_bytes_max across
// all chunks, else it is discarded as it arrives and answered with 552), input held while
// awaiting a decision (at most pending_input_bytes_max), and unsent output. buffered_bytes()
// reports their sum.
//
// Errors: 500/501/502/503/555 replies count as errors; after errors_max of them the session
// answers "421 4.7.0 <host> Error: too many errors" and ends. Policy rejections from the hooks,
// 452 (too many recipients) and 552/554 after DATA or a chunk are verdicts, not client errors,
// and do not count.
class ServerSession {
 public:
  explicit ServerSession(ServerOptions options);

  // Consumes all of from_client (ignored once ended()).
  void on_bytes(std::string_view from_client);
  std::string_view bytes_to_send() const { return std::string_view(out_).substr(out_sent_); }
  void on_sent(std::size_t byte_count);
  std::optional<ServerEvent> next_event();

  // Answers the message of the last MessageReceived with reply_line (without CRLF, e.g.
  // "250 2.0.0 Ok: queued as 0000..." or "451 4.3.0 ..." on a failed write), then resumes
  // with any pipelined input held meanwhile. Only valid while awaiting_decision().
  void complete_message(std::string_view reply_line);
  bool awaiting_decision() const { return awaiting_decision_ || awaiting_auth_; }
  // Answers the last AuthRequested: `user` on success (235), nullopt on bad credentials (535,
  // counted as an error). Only valid after an AuthRequested, before anything else.
  void complete_auth(std::optional<std::string> user);
  // Answers the last AuthRequested without a verdict on the credentials: "454 4.7.0
  // Temporary authentication failure" (RFC 4954 §6; the client's address is locked out for a
  // while). Counted as an error, so a client that keeps trying is disconnected. Same rules as
  // complete_auth().
  void refuse_auth();
  // What the client said in its last HELO/EHLO (for the Received field), and whether EHLO.
  const std::string& client_name() const { return client_name_; }
  bool extended() const { return extended_; }
  // The user the client authenticated as; empty = not authenticated.
  const std::string& authenticated_user() const { return user_; }
  // After QUIT's 221 (or a 421): the caller flushes bytes_to_send() and then closes.
  bool ended() const { return ended_; }

  // Bytes held in memory now: partial line, DATA body, held input and unsent output.
  std::size_t buffered_bytes() const;

  // After StartTlsRequested, once the handshake succeeded: the session starts over, as RFC
  // 3207 §4.2 asks (no EHLO seen, no transaction), and STARTTLS is no longer offered.
  void tls_started();
  bool tls() const { return tls_; }
  // Client bytes dropped between the STARTTLS line and tls_started().
  std::size_t discarded_bytes() const { return discarded_bytes_; }

  // Optional policy hooks (empty = accept): return a full reply line (without CRLF) to refuse,
  // e.g. "451 4.7.1 Sender rate limit exceeded". check_sender runs for a MAIL command that
  // would otherwise be accepted (parsed, in sequence, parameters fine), so a rate limiter sees
  // only transactions that start; a refusal is sent instead of 250 and no transaction starts.
  // check_recipient does the same for RCPT. Neither refusal counts as a client error.
  std::function<std::optional<std::string>(std::string_view mail_from)> check_sender;
  std::function<std::optional<std::string>(std::string_view recipient)> check_recipient;

 private:
  enum class Mode { command, discard_line, data, chunk, tls_wait, auth_response };
  // What happens to the octets of the BDAT being read (Mode::chunk).
  enum class ChunkFate { body, need_mail, need_rcpt, failed };

  void process(std::string_view bytes);
  void on_line(std::string_view line);
  void on_helo(bool extended, std::string_view name);
  void on_mail(const Command& command);
  bool mail_parameter_supported(std::string_view keyword, std::string_view value) const;
  void on_rcpt(const Command& command);
  void on_data();
  void on_data_done();
  void on_bdat(const Command& command);
  void on_chunk_done();
  // 552 or 554 for a body that broke a limit.
  void reply_body_refused(DataOutcome outcome);
  void on_starttls(const Command& command);
  void on_auth(const Command& command);
  void on_auth_response(std::string_view line);
  void ask_auth();
  void resume_after_auth();  // after the answer to an AuthRequested: read what was held
  bool auth_offered() const;
  void reset_transaction();

  std::vector<std::string_view> ehlo_keywords() const;
  // "code enhanced text\r\n", or "code text\r\n" without enhanced status codes.
  void reply(std::string_view code, std::string_view enhanced, std::string_view text);
  // The same, for a client error: counted, and the session ends after errors_max of them.
  void reply_error(std::string_view code, std::string_view enhanced, std::string_view text);
  void reply_line(std::string_view line);
  void end_with_421(std::string_view text);
  void hold(std::string_view bytes);
  void end();

  ServerOptions options_;
  std::string size_keyword_;  // "SIZE <message_bytes_max>", built once
  std::string auth_keyword_;  // "AUTH PLAIN LOGIN", built once
  Mode mode_ = Mode::command;
  std::string line_;     // partial command line (Mode::command)
  std::string pending_;  // input held while awaiting a decision
  bool pending_overflow_ = false;
  // The body of a DATA command, or of a BDAT transaction from its first chunk to LAST.
  std::optional<DataReader> data_reader_;
  std::uint64_t chunk_bytes_ = 0;  // size of the BDAT being read
  std::uint64_t chunk_left_ = 0;   // its octets still to come
  bool chunk_last_ = false;
  ChunkFate chunk_fate_ = ChunkFate::body;
  // A chunk broke a limit: later chunks up to LAST are read and refused the same way.
  std::optional<DataOutcome> chunks_refused_;
  std::string out_;
  std::size_t out_sent_ = 0;
  std::deque<ServerEvent> events_;

  bool greeted_ = false;   // HELO or EHLO seen
  bool extended_ = false;  // it was EHLO
  std::string client_name_;
  bool tls_ = false;
  bool awaiting_auth_ = false;
  std::string user_;
  std::optional<AuthRequested> auth_;  // the exchange in progress (Mode::auth_response)
  std::size_t discarded_bytes_ = 0;
  std::optional<std::string> mail_from_;
  std::vector<std::string> recipients_;
  std::size_t errors_ = 0;
  bool awaiting_decision_ = false;
  bool ended_ = false;
};

}  // namespace mta::smtp
