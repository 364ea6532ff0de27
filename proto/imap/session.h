// Session: the server half of one IMAP4rev1 connection (RFC 3501) with LITERAL+ (RFC 7888),
// SASL-IR (RFC 4959), IDLE (RFC 2177), UIDPLUS (RFC 4315), MOVE (RFC 6851), ENABLE (RFC 5161),
// NAMESPACE (RFC 2342), UNSELECT (RFC 3691), ID (RFC 2971), CHILDREN (RFC 3348) and
// APPENDLIMIT (RFC 7889). Client bytes in; response bytes and events (credentials to check,
// STARTTLS, the end) out. Mail lives behind a Backend; sockets, TLS, password checks and
// timeouts belong to the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/imap/backend.h"
#include "proto/imap/command.h"

namespace mta::imap {

struct SessionLimits {
  CommandLimits command;              // line, literal and APPEND sizes, nesting, arguments
  std::size_t errors_max = 50;        // tagged/untagged BADs, then "* BYE" and the end
  std::size_t auth_failures_max = 3;  // failed LOGIN/AUTHENTICATE, then "* BYE"
  // Client bytes held while the session does not read (awaiting an auth decision, streaming a
  // FETCH, waiting for TLS). The caller stops reading while input_paused(), so this covers
  // one read; past it the session answers "* BYE" and ends.
  std::size_t pending_input_bytes_max = 256 * 1024;
  // A FETCH stops producing responses while more than this is unsent and resumes from
  // on_sent(). Output is bounded by this plus one message's response (RFC822 or BODY[] of the
  // largest message, append_bytes_max).
  std::size_t output_bytes_soft_max = 256 * 1024;
};

struct SessionOptions {
  std::string hostname = "localhost";
  // STARTTLS can be offered (the caller has a certificate), while the connection is plaintext.
  bool starttls = false;
  // The connection is TLS from its first byte (port 993).
  bool tls = false;
  // LOGIN and AUTHENTICATE before TLS. Unset: allowed only when TLS is unavailable (no
  // starttls and not tls); when refused, LOGINDISABLED is advertised (RFC 3501 §6.2.3).
  std::optional<bool> plaintext_login;
  SessionLimits limits;
};

// LOGIN or AUTHENTICATE PLAIN gathered credentials: the caller checks them (on a worker) and
// calls complete_auth(). No further command is read meanwhile.
struct AuthRequested {
  std::string mechanism;  // "LOGIN" or "PLAIN"
  std::string user;       // authentication identity
  std::string password;
};
// STARTTLS answered with OK: the caller writes what is unsent, runs the handshake and calls
// tls_started() (or closes). Bytes the client pipelined after STARTTLS are discarded (RFC 3501
// §6.2.1; the CVE-2011-0411 class).
struct StartTlsRequested {};
// LOGOUT answered, or the session gave up ("* BYE" sent): flush and close.
struct SessionEnded {};
using SessionEvent = std::variant<AuthRequested, StartTlsRequested, SessionEnded>;

// Lifecycle: construct (the greeting is queued); then loop: on_bytes() with what the socket
// read, write bytes_to_send() and report on_sent() (then look at bytes_to_send() again: a long
// FETCH continues from on_sent()), drain next_event(). Read from the socket only while
// !input_paused(). Once ended(), flush and close. One thread at a time: the thread of the
// Backend, which all sessions sharing it use.
//
// Change notification: other sessions' appends, flag changes and expunges reach this one
// through the Backend's change counter. The session looks at it after every command (and in
// NOOP and CHECK) and sends EXISTS, RECENT, FETCH FLAGS and EXPUNGE as RFC 3501 §7.4.1 allows
// (no EXPUNGE after FETCH, STORE or SEARCH: those wait for a later command; UID variants
// may). While idling (RFC 2177) the caller calls poll() whenever the store may have changed
// (after any session's command that changed it, or on a timer); the updates go out at once.
//
// Memory: the reader's partial command (CommandLimits; before login only the small preauth_*
// caps, with literals refused unread but LOGIN's), held input (pending_input_bytes_max),
// one message's bytes while it is fetched, the selected folder's message list (uid, flags,
// date, size per message) and unsent output (see output_bytes_soft_max). buffered_bytes()
// reports input and output held.
class Session {
 public:
  Session(SessionOptions options, Backend& backend);

  // Consumes all of from_client (held when paused, ignored once ended()).
  void on_bytes(std::string_view from_client);
  std::string_view bytes_to_send() const { return std::string_view(out_).substr(out_sent_); }
  void on_sent(std::size_t byte_count);
  std::optional<SessionEvent> next_event();

  // Answers the last AuthRequested. On success the session is authenticated as its user and
  // uses `backend` from now on when given (a per-user store), else the one it was built with.
  void complete_auth(bool ok, Backend* backend = nullptr);
  // Answers the last AuthRequested without a verdict: "NO [UNAVAILABLE]" (RFC 5530; the
  // client's address is locked out for a while). Counts toward auth_failures_max.
  void refuse_auth();
  bool awaiting_decision() const { return wait_ == Wait::auth_decision; }
  // The caller should not read: awaiting a decision or TLS, or a FETCH is being streamed.
  bool input_paused() const;

  // After StartTlsRequested, once the handshake succeeded.
  void tls_started();
  bool tls() const { return tls_; }
  std::size_t discarded_bytes() const { return discarded_bytes_; }

  // Looks at the selected folder's change counter and, while idling, sends what changed.
  void poll();
  bool idling() const { return wait_ == Wait::idle; }

  // Ends the session from the caller's side (idle timeout, shutdown): queues "* BYE <text>"
  // and SessionEnded; flush and close as after LOGOUT. No-op once ended().
  void close(std::string_view text);

  bool ended() const { return ended_; }
  const std::string& user() const { return user_; }
  std::size_t buffered_bytes() const;

 private:
  enum class State { not_authenticated, authenticated, selected, logout };
  enum class Wait { none, auth_decision, auth_response, idle, tls, fetch };

  // One message of the selected folder as this session shows it.
  struct Slot {
    std::uint32_t uid = 0;
    Flags flags;
    std::int64_t internal_date = 0;
    std::uint64_t size = 0;
    bool recent = false;
    bool gone = false;  // expunged in the backend, EXPUNGE not sent yet
  };
  struct Selected {
    std::string folder;
    bool read_only = false;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uidnext = 0;
    std::uint64_t change_counter = 0;
    std::uint32_t uid_seen_max = 0;  // highest uid ever in slots
    std::vector<Slot> slots;
    bool expunges_pending = false;
  };
  struct FetchJob {
    Command command;
    std::vector<std::size_t> indices;  // slots to send, ascending
    std::size_t next = 0;
  };

  void process(std::string_view bytes);
  void hold(std::string_view bytes);
  void on_event(ReaderEvent event);
  void on_command(Command command);
  void on_line(const std::string& line);
  bool state_allows(const Command& command) const;

  void do_authenticate(const Command& command);
  void auth_plain(const std::string& tag, std::string_view base64);
  void do_login(const Command& command);
  void auth_failed(std::string_view response);  // a tagged NO, counted; "* BYE" past the max
  void do_select(const Command& command);
  void do_create(const Command& command);
  void do_delete(const Command& command);
  void do_rename(const Command& command);
  void do_list(const Command& command);
  void do_status(const Command& command);
  void do_append(const Command& command);
  void do_close(const Command& command);
  void do_expunge(const Command& command);
  void do_search(const Command& command);
  void do_fetch(Command command);
  void continue_fetch();
  bool fetch_one(const Command& command, std::size_t index);
  void do_store(const Command& command);
  void do_copy(const Command& command);
  void do_idle(const Command& command);

  // The slots a sequence set names: by sequence number or by uid. nullopt for a sequence
  // number past the end (BAD, RFC 3501 §6.4.8 and §9 seq-number).
  std::optional<std::vector<std::size_t>> resolve(const SequenceSet& set, bool uid) const;
  std::size_t index_of_uid(std::uint32_t uid) const;  // slots.size() when absent
  void deselect();
  // Sends what changed in the backend since the last look (RFC 3501 §7.4.1 order); EXPUNGE
  // only when allowed. Ends the session when the folder vanished.
  void resync(bool allow_expunge);
  void send_expunges(std::vector<std::size_t> indices);  // ascending indices, sent highest first
  void send_flags(std::size_t index, bool with_uid);

  std::string capabilities() const;
  bool login_allowed() const;
  // Tagged completion: runs resync (when selected) and writes "tag status text".
  void finish(const std::string& tag, std::string_view status, std::string_view text,
              bool allow_expunge = true);
  void bad(const std::string& tag, std::string_view text);
  void untagged(std::string_view text);
  void bye(std::string_view text);
  void end();

  SessionOptions options_;
  Backend* backend_;
  CommandReader reader_;
  State state_ = State::not_authenticated;
  Wait wait_ = Wait::none;
  std::string pending_;  // input held while not reading
  std::string out_;
  std::size_t out_sent_ = 0;
  std::deque<SessionEvent> events_;
  std::optional<Selected> selected_;
  std::optional<FetchJob> fetch_;
  std::string wait_tag_;  // tag of the command an auth decision or IDLE belongs to
  std::string user_;
  std::string pending_user_;
  bool tls_ = false;
  bool ended_ = false;
  std::size_t errors_ = 0;
  std::size_t auth_failures_ = 0;
  std::size_t discarded_bytes_ = 0;
  bool in_process_ = false;  // process() is on the stack (completions re-enter)
};

}  // namespace mta::imap
