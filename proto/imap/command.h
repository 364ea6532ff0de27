// IMAP4rev1 commands as the server reads them (RFC 3501 §6, §9; LITERAL+ RFC 7888; UIDPLUS
// RFC 4315; MOVE RFC 6851; IDLE RFC 2177; ENABLE RFC 5161; ID RFC 2971; SASL-IR RFC 4959).
// CommandReader frames client bytes into whole commands (lines with their literals, asking for
// "+" continuations); parse_command turns one framed command into a typed Command. Pure: the
// session decides what a command means in its state and how it is answered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "proto/imap/errc.h"

namespace mta::imap {

struct CommandLimits {
  // A command's own text (tag, name, arguments, the CRLFs between literals), literals excluded.
  std::size_t line_bytes_max = 64 * 1024;
  // All literal octets of one command other than APPEND (LOGIN passwords, SEARCH strings).
  std::size_t literal_bytes_max = 64 * 1024;
  // All literal octets of one APPEND command: the largest message the mailbox accepts.
  std::size_t append_bytes_max = 50 * 1024 * 1024;
  std::size_t nesting_max = 16;      // parenthesised lists, SEARCH groups, NOT/OR chains
  std::size_t arguments_max = 1000;  // tokens (atoms, strings, sequence ranges, search keys)
  // Before authentication nobody may make the server hold much: a command's text is capped
  // lower, and only LOGIN may carry literals (its user name and password, these octets in
  // all); any other command's literal is refused before its octets are read.
  std::size_t preauth_line_bytes_max = 8 * 1024;
  std::size_t preauth_literal_bytes_max = 1024;
};

// ---------------------------------------------------------------------------------------------
// Arguments.

// A sequence set (RFC 3501 §9 sequence-set): ranges of message sequence numbers or UIDs. "*"
// is kStar; "5:3" stays as written (Range::first may exceed Range::last).
struct SequenceSet {
  static constexpr std::uint32_t kStar = 0;  // 0 is never a valid number, so it stands for "*"
  struct Range {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const Range&) const = default;
  };
  std::vector<Range> ranges;

  // Whether `value` is in the set, with "*" meaning `largest` (the highest number in use).
  bool contains(std::uint32_t value, std::uint32_t largest) const;
  bool operator==(const SequenceSet&) const = default;
};

// A calendar day as days since 1970-01-01 (negative before), for SEARCH's date keys.
using Day = std::int32_t;
Day day_from_civil(int year, unsigned month, unsigned day);
// The UTC day of a time in seconds since the epoch.
Day day_of(std::int64_t unix_seconds);

// One search-key (RFC 3501 §6.4.4). NOT has one child, OR two, a parenthesised group (and the
// top-level list) any number, all of which must match.
struct SearchKey {
  enum class Kind {
    all,
    answered,
    bcc,
    before,
    body,
    cc,
    deleted,
    draft,
    flagged,
    from,
    header,
    keyword,
    larger,
    new_,
    not_,
    old,
    on,
    or_,
    recent,
    seen,
    sentbefore,
    senton,
    sentsince,
    since,
    smaller,
    subject,
    text,
    to,
    uid,
    unanswered,
    undeleted,
    undraft,
    unflagged,
    unkeyword,
    unseen,
    sequence_set,  // a bare sequence set: message numbers
    group,         // "(" search-key *(SP search-key) ")"
  };
  Kind kind = Kind::all;
  std::string field;         // HEADER's field name
  std::string value;         // the string of BCC, BODY, ..., HEADER; the flag of (UN)KEYWORD
  std::uint64_t number = 0;  // LARGER, SMALLER
  Day day = 0;               // BEFORE, ON, SINCE, SENT*
  SequenceSet set;           // UID, sequence_set
  std::vector<SearchKey> children;

  bool operator==(const SearchKey&) const = default;
};

// A section of BODY[...] (RFC 3501 §6.4.5 section-spec).
struct Section {
  enum class Text { none, header, header_fields, header_fields_not, text, mime };
  std::vector<std::uint32_t> part;  // "1.2" -> {1, 2}; empty = the whole message
  Text text = Text::none;
  std::vector<std::string> fields;  // HEADER.FIELDS (...) names, as written

  bool operator==(const Section&) const = default;
};

// One fetch-att (RFC 3501 §6.4.5). The macros ALL, FAST and FULL are expanded when parsed.
struct FetchAttribute {
  enum class Kind {
    envelope,
    flags,
    internaldate,
    rfc822,
    rfc822_header,
    rfc822_size,
    rfc822_text,
    body,  // BODY without a section: the non-extensible BODYSTRUCTURE
    bodystructure,
    uid,
    body_section,  // BODY[...] and BODY.PEEK[...]
  };
  Kind kind = Kind::flags;
  bool peek = false;  // BODY.PEEK: do not set \Seen
  Section section;
  // "<origin.octets>": the partial range of the section's octets.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> partial;

  bool operator==(const FetchAttribute&) const = default;
};

// System flags as a bit set plus keywords, as messages carry them (\Recent is session state,
// never stored: see backend.h).
enum SystemFlag : std::uint8_t {
  kSeen = 1,
  kAnswered = 2,
  kFlagged = 4,
  kDeleted = 8,
  kDraft = 16,
};
struct Flags {
  std::uint8_t system = 0;
  std::vector<std::string> keywords;  // as written; compared case-insensitively

  bool operator==(const Flags&) const = default;
};

// STATUS data items (RFC 3501 §6.3.10).
enum class StatusItem { messages, recent, uidnext, uidvalidity, unseen };

enum class StoreMode { replace, add, remove };

// ---------------------------------------------------------------------------------------------
// Commands.

enum class CommandName {
  capability,
  noop,
  logout,
  starttls,
  authenticate,
  login,
  select,
  examine,
  create,
  delete_,
  rename,
  subscribe,
  unsubscribe,
  list,
  lsub,
  status,
  append,
  check,
  close,
  expunge,
  search,
  fetch,
  store,
  copy,
  move,
  idle,
  enable,
  namespace_,
  unselect,
  id,
};

// "CAPABILITY", "NOOP", ...: for responses ("SELECT completed") and logs.
std::string_view to_string(CommandName name);

struct Command {
  std::string tag;
  CommandName name = CommandName::noop;
  bool uid = false;  // "UID FETCH", "UID SEARCH", "UID STORE", "UID COPY", "UID MOVE",
                     // "UID EXPUNGE"

  // LOGIN: user and password.
  std::string user, password;
  // AUTHENTICATE: the mechanism (upper-cased) and the SASL-IR initial response (RFC 4959),
  // still base64 ("=" is an empty response).
  std::string mechanism;
  std::optional<std::string> initial_response;
  // SELECT, EXAMINE, CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND, COPY, MOVE: the
  // mailbox (the destination for COPY and MOVE); RENAME's old name. "INBOX" in any case is
  // returned as "INBOX".
  std::string mailbox;
  std::string new_mailbox;  // RENAME
  // LIST and LSUB: reference and mailbox pattern (with % and *).
  std::string reference, pattern;
  std::vector<StatusItem> status_items;
  // APPEND: flags, optional date-time (seconds since the epoch, UTC) and the message.
  Flags flags;  // also STORE's flags
  std::optional<std::int64_t> internal_date;
  std::string message;
  // FETCH, STORE, COPY, MOVE, UID EXPUNGE: the set; SEARCH: its keys (implicitly ANDed).
  SequenceSet set;
  std::vector<FetchAttribute> fetch;
  StoreMode store_mode = StoreMode::replace;
  bool silent = false;  // STORE ...FLAGS.SILENT
  std::vector<SearchKey> search;
  std::optional<std::string> charset;     // SEARCH CHARSET, upper-cased
  std::vector<std::string> capabilities;  // ENABLE, upper-cased

  bool operator==(const Command&) const = default;
};

// Parses one whole command as CommandReader frames it: the text without its final CRLF, each
// literal as "{n}" or "{n+}", CRLF and its n octets, exactly as sent. Command names, UID and
// keywords are case-insensitive. Errors: Errc::bad_command (detail is the text of the BAD
// response, e.g. "Unknown command"), Errc::too_complex (over nesting_max or arguments_max).
Result<Command> parse_command(std::string_view text, const CommandLimits& limits = {});

// The tag of a command's text for a tagged BAD when it does not parse: its first token if that
// is a valid tag, else "*" (RFC 3501 §7.1: an untagged BAD when the tag cannot be found).
std::string command_tag(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Framing.

// The reader found a whole command: its text for parse_command (final CRLF removed).
struct CommandComplete {
  std::string text;
};
// A synchronizing literal "{n}" within the limits ended a line: the session must send
// "+ Ready for literal data" and the reader goes on to read its octets.
struct ContinuationNeeded {};
// The command broke a limit and is refused whole; `tag` is its tag (or "*"). Nothing of it is
// buffered any more: the reader skips the rest of the command (its lines and the octets of its
// non-synchronizing literals) as it arrives. A refused synchronizing literal is never sent by
// the client (RFC 3501 §7.5: the tagged response replaces the continuation), so the reader
// reads the next line as a new command.
//
// Before authentication neither a refused non-synchronizing literal nor the rest of a line
// over preauth_line_bytes_max is skipped: their octets could be endless, so `close` is set and
// the reader reads nothing more; the session answers and ends the connection.
struct CommandRefused {
  std::string tag;
  Errc code;            // line_too_long or literal_too_big
  bool append = false;  // the command was APPEND (answered NO [TOOBIG] rather than BAD)
  bool close = false;   // before authentication: a non-synchronizing literal or a long line
};
// A line read in line mode (AUTHENTICATE responses, IDLE's DONE), without its CRLF.
struct LineComplete {
  std::string line;
};
using ReaderEvent = std::variant<CommandComplete, ContinuationNeeded, CommandRefused, LineComplete>;

// Frames a stream of client bytes into commands, one event at a time so the session can
// change modes between them (STARTTLS, AUTHENTICATE, IDLE).
//
// Usage: n = feed(bytes); then take() the event, if any; feed(bytes.substr(n)) again while
// bytes remain. feed() consumes bytes until it has an event (it then stops, even mid-read) or
// until the input is used up. A line ends at LF; a CR before it is dropped (so bare LF is
// accepted, as most servers do). A line ending in "{n}" or "{n+}" continues with n literal
// octets and then more of the same command.
//
// Memory: a command's text up to line_bytes_max plus its literals up to literal_bytes_max
// (APPEND: append_bytes_max); before set_authenticated(true), preauth_line_bytes_max plus
// preauth_literal_bytes_max (LOGIN only). Past a limit the command is refused at once and the
// rest of it skipped unbuffered (before authentication, a non-synchronizing literal ends the
// reading instead: CommandRefused::close).
class CommandReader {
 public:
  explicit CommandReader(CommandLimits limits = {});

  std::size_t feed(std::string_view bytes);
  std::optional<ReaderEvent> take();

  // Line mode: the next line (at most line_bytes_max; longer lines are cut there and the rest
  // of the line is dropped) is returned whole as LineComplete, literals not interpreted. Only
  // between commands.
  void set_line_mode(bool on);
  // Forgets any partial command (after STARTTLS).
  void reset();
  // The client has logged in: the full limits apply from the next command on. A reader starts
  // unauthenticated.
  void set_authenticated(bool on) { authenticated_ = on; }
  std::size_t buffered_bytes() const { return text_.size(); }

 private:
  enum class Mode { line, literal, skip_line, skip_literal, closed };

  void on_line_end();
  bool refuse(Errc code);
  bool is_command(std::string_view name) const;
  std::size_t line_max() const;
  std::size_t literal_max() const;

  CommandLimits limits_;
  Mode mode_ = Mode::line;
  bool line_mode_ = false;
  bool authenticated_ = false;
  std::string text_;            // the command so far (text and literals)
  std::size_t text_bytes_ = 0;  // non-literal bytes of it
  std::size_t literal_total_ = 0;
  std::uint64_t literal_left_ = 0;
  std::size_t line_begin_ = 0;  // offset in text_ of the current line
  std::string tail_;            // the last bytes of a skipped line, to spot "{n+}"
  std::optional<ReaderEvent> event_;
};

// Parses a literal marker "{n}" or "{n+}" at the end of `line`: n and whether it is
// non-synchronizing. nullopt when the line does not end in one (or n does not fit 64 bits).
std::optional<std::pair<std::uint64_t, bool>> literal_at_end(std::string_view line);

// "dd-Mon-yyyy" (RFC 3501 date, "d-Mon-yyyy" accepted) and the quoted INTERNALDATE date-time
// "dd-Mon-yyyy hh:mm:ss +zzzz" (to seconds since the epoch, UTC).
std::optional<Day> parse_date(std::string_view text);
std::optional<std::int64_t> parse_date_time(std::string_view text);
// The INTERNALDATE form of a UTC time, "17-Jul-1996 02:44:25 +0000" (without quotes).
std::string format_date_time(std::int64_t unix_seconds);

}  // namespace mta::imap
