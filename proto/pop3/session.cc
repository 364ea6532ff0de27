// Session: splits client bytes into command lines, applies RFC 1939's AUTHORIZATION /
// TRANSACTION / UPDATE states, and queues replies. RETR and TOP are dot-stuffed straight from
// the Maildrop's view into the output, a chunk at a time. Reply texts follow Dovecot's where
// clients or operators might recognise them; response codes are RFC 2449 §8 and RFC 3206.
#include "proto/pop3/session.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/base64.h"
#include "proto/pop3/errc.h"

namespace mta::pop3 {
namespace {

constexpr std::string_view kUnknown = "-ERR Unknown command";
constexpr std::string_view kWrongState = "-ERR Command not valid in this state";
constexpr std::string_view kNoSuchMessage = "-ERR No such message";
constexpr std::string_view kPlaintextDisallowed =
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure connection";
constexpr std::string_view kAuthFailed = "-ERR [AUTH] Authentication failed";

enum class Verb {
  capa,
  quit,
  user,
  pass,
  apop,
  auth,
  stls,
  stat,
  list,
  retr,
  dele,
  noop,
  rset,
  top,
  uidl,
  unknown
};

// RFC 1939 §3: keywords are three or four characters, case-insensitive.
Verb verb_of(std::string_view keyword) {
  static constexpr std::pair<std::string_view, Verb> kVerbs[] = {
      {"CAPA", Verb::capa}, {"QUIT", Verb::quit}, {"USER", Verb::user}, {"PASS", Verb::pass},
      {"APOP", Verb::apop}, {"AUTH", Verb::auth}, {"STLS", Verb::stls}, {"STAT", Verb::stat},
      {"LIST", Verb::list}, {"RETR", Verb::retr}, {"DELE", Verb::dele}, {"NOOP", Verb::noop},
      {"RSET", Verb::rset}, {"TOP", Verb::top},   {"UIDL", Verb::uidl},
  };
  for (const auto& [name, verb] : kVerbs) {
    if (iequals(keyword, name)) return verb;
  }
  return Verb::unknown;
}

bool authorization_only(Verb verb) {
  return verb == Verb::user || verb == Verb::pass || verb == Verb::apop || verb == Verb::auth ||
         verb == Verb::stls;
}

bool transaction_only(Verb verb) {
  return verb == Verb::stat || verb == Verb::list || verb == Verb::retr || verb == Verb::dele ||
         verb == Verb::noop || verb == Verb::rset || verb == Verb::top || verb == Verb::uidl;
}

// Arguments are separated by SP (RFC 1939 §3); runs of spaces are tolerated.
std::vector<std::string_view> arguments(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    out.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  return out;
}

// 1*DIGIT, saturating: a number too big for uint64 is simply huge (no message has it, and
// "TOP n 99999999999999999999" means the whole body).
std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// RFC 1939 §7: unique-id = 1*70 of 0x21-0x7E.
bool valid_unique_id(std::string_view id) {
  if (id.empty() || id.size() > 70) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The end of what "TOP n lines" sends (RFC 1939 §7): the header up to and including the empty
// line that ends it, then at most `lines` lines of body. Without an empty line the message is
// all header and is sent whole.
std::size_t top_end(std::string_view text, std::uint64_t lines) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t lf = text.find('\n', pos);
    if (lf == std::string_view::npos) return text.size();
    const std::string_view line = text.substr(pos, lf - pos);
    pos = lf + 1;
    if (line.empty() || line == "\r") break;
  }
  for (std::uint64_t n = 0; n < lines && pos < text.size(); ++n) {
    const std::size_t lf = text.find('\n', pos);
    if (lf == std::string_view::npos) return text.size();
    pos = lf + 1;
  }
  return pos;
}

std::string count_and_octets(std::size_t count, std::uint64_t octets) {
  return std::to_string(count) + (count == 1 ? " message (" : " messages (") +
         std::to_string(octets) + " octets)";
}

}  // namespace

Session::Session(SessionOptions options) : options_(std::move(options)) {
  const SessionLimits& limits = options_.limits;
  MTA_ASSERT(limits.command_line_bytes_max >= 8);
  MTA_ASSERT(limits.output_chunk_bytes >= 1);
  MTA_ASSERT(limits.errors_max >= 1);
  MTA_ASSERT(limits.auth_failures_max >= 1);
  MTA_ASSERT(options_.hostname.find_first_of("\r\n") == std::string::npos);
  MTA_ASSERT(options_.apop_banner.find_first_of("\r\n ") == std::string::npos);
  tls_ = options_.tls;
  std::string greeting = "+OK " + options_.hostname + " POP3 ready";
  if (!options_.apop_banner.empty()) greeting += " " + options_.apop_banner;
  reply(greeting);
}

Session::~Session() { release_maildrop(); }

std::size_t Session::buffered_bytes() const {
  return line_.size() + (pending_.size() - pending_pos_) + (out_.size() - out_sent_);
}

void Session::on_sent(std::size_t byte_count) {
  MTA_ASSERT(byte_count <= out_.size() - out_sent_);
  out_sent_ += byte_count;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ >= 4096 && out_sent_ * 2 >= out_.size()) {
    out_.erase(0, out_sent_);  // reclaim once the sent prefix dominates
    out_sent_ = 0;
  }
  if (!ended_) drive();
}

std::optional<Event> Session::next_event() {
  if (events_.empty()) return std::nullopt;
  Event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void Session::on_bytes(std::string_view from_client) {
  if (ended_) return;
  if (mode_ == Mode::tls_wait) {
    discarded_bytes_ += from_client.size();
    return;
  }
  if (awaiting_auth_ || stream_ || pending_pos_ < pending_.size()) {
    hold(from_client);  // behind what waits already
  } else {
    // The common case reads straight from the caller's bytes: no copy, and a huge line is
    // skipped as it arrives.
    hold(from_client.substr(process(from_client)));
  }
  drive();
}

void Session::hold(std::string_view bytes) {
  if (bytes.empty() || pending_overflow_) return;  // after a gap, nothing can be trusted
  if (pending_pos_ == pending_.size()) {
    pending_.clear();
    pending_pos_ = 0;
  } else if (pending_pos_ >= 4096 && pending_pos_ * 2 >= pending_.size()) {
    pending_.erase(0, pending_pos_);
    pending_pos_ = 0;
  }
  const std::size_t held = pending_.size() - pending_pos_;
  const std::size_t max = options_.limits.pending_input_bytes_max;
  const std::size_t room = max > held ? max - held : 0;
  if (bytes.size() > room) {
    pending_overflow_ = true;  // the caller did not stop reading; answered when reached
    bytes = bytes.substr(0, room);
  }
  pending_.append(bytes);
}

// The one loop that resumes work: it copies a message out while there is room, then runs
// held commands until one makes the session wait again. Callers of process() never recurse
// into it, so pipelined RETRs cost no stack.
void Session::drive() {
  while (!ended_) {
    if (stream_) {
      fill_output();
      if (stream_) return;  // the output is full: on_sent() comes back here
    }
    if (awaiting_auth_) return;
    if (mode_ == Mode::tls_wait) {
      discarded_bytes_ += pending_.size() - pending_pos_;
      pending_.clear();
      pending_pos_ = 0;
      pending_overflow_ = false;  // those bytes are dropped anyway
      return;
    }
    if (pending_pos_ == pending_.size()) {
      pending_.clear();
      pending_pos_ = 0;
      if (pending_overflow_) {
        reply("-ERR Too much pipelined input");
        end();
      }
      return;
    }
    // process() only appends to out_ and events_, never to pending_, so the view holds.
    const std::size_t used = process(std::string_view(pending_).substr(pending_pos_));
    if (!ended_) pending_pos_ += used;  // end() has dropped what was held
  }
}

// Command lines end at LF; a CR before it is dropped. A line longer than
// command_line_bytes_max (counting its line end) is never buffered: Mode::discard_line skips
// to its LF and then answers once, in order with the commands around it. An over-long AUTH
// response is answered the same way, which also fails the AUTH.
std::size_t Session::process(std::string_view bytes) {
  const std::size_t line_max = options_.limits.command_line_bytes_max;
  std::size_t used = 0;
  while (used < bytes.size()) {
    if (ended_) return bytes.size();
    if (awaiting_auth_ || stream_) return used;
    const std::string_view rest = bytes.substr(used);
    switch (mode_) {
      case Mode::tls_wait:
        discarded_bytes_ += rest.size();
        return bytes.size();
      case Mode::discard_line: {
        const std::size_t lf = rest.find('\n');
        if (lf == std::string_view::npos) return bytes.size();
        used += lf + 1;
        mode_ = Mode::command;
        reply_error("-ERR Line too long");
        break;
      }
      case Mode::command:
      case Mode::auth_response: {
        const std::size_t lf = rest.find('\n');
        if (lf == std::string_view::npos) {
          if (line_.size() + rest.size() >= line_max) {  // cannot end within the limit now
            line_.clear();
            mode_ = Mode::discard_line;
          } else {
            line_.append(rest);
          }
          return bytes.size();
        }
        used += lf + 1;
        if (line_.size() + lf + 1 > line_max) {
          line_.clear();
          mode_ = Mode::command;
          reply_error("-ERR Line too long");
          break;
        }
        std::string_view line = rest.substr(0, lf);
        if (!line_.empty()) {
          line_.append(line);
          line = line_;
        }
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (mode_ == Mode::auth_response) {
          on_auth_response(line);
        } else {
          on_line(line);
        }
        line_.clear();
        break;
      }
    }
  }
  return used;
}

void Session::on_line(std::string_view line) {
  // Command lines are printable text (RFC 1939 §3); a NUL or bare CR would reach user names
  // and passwords, where a C-string lookup might cut them short.
  if (line.find_first_of(std::string_view("\0\r", 2)) != std::string_view::npos) {
    return reply_error("-ERR Syntax: NUL or CR in command line");
  }
  const std::size_t space = line.find(' ');
  const Verb verb = verb_of(line.substr(0, space));
  const std::string_view rest =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  if (verb == Verb::unknown) return reply_error(kUnknown);
  if ((state_ == State::authorization && transaction_only(verb)) ||
      (state_ == State::transaction && authorization_only(verb))) {
    return reply_error(kWrongState);
  }
  const bool takes_no_argument = verb == Verb::capa || verb == Verb::quit || verb == Verb::stls ||
                                 verb == Verb::stat || verb == Verb::noop || verb == Verb::rset;
  if (takes_no_argument && !arguments(rest).empty()) {
    return reply_error("-ERR Syntax: no arguments expected");
  }
  switch (verb) {
    case Verb::capa:
      return on_capa();
    case Verb::quit:
      return on_quit();
    case Verb::user:
      return on_user(rest);
    case Verb::pass:
      return on_pass(rest);
    case Verb::apop:
      return on_apop(rest);
    case Verb::auth:
      return on_auth(rest);
    case Verb::stls:
      return on_stls(rest);
    case Verb::stat: {
      std::size_t count = 0;
      std::uint64_t octets = 0;
      for (const Listed& m : messages_) {
        if (m.deleted) continue;
        ++count;
        octets += m.info.size_octets;
      }
      return reply("+OK " + std::to_string(count) + " " + std::to_string(octets));
    }
    case Verb::list:
      return on_list(rest, /*unique_ids=*/false);
    case Verb::uidl:
      return on_list(rest, /*unique_ids=*/true);
    case Verb::retr:
      return on_retr(rest);
    case Verb::top:
      return on_top(rest);
    case Verb::dele:
      return on_dele(rest);
    case Verb::noop:
      return reply("+OK");
    case Verb::rset:
      return on_rset();
    case Verb::unknown:
      break;
  }
  MTA_ASSERT(false);
}

// RFC 2449 §5: what is offered in AUTHORIZATION is announced in both states, except STLS,
// which RFC 2595 §4 allows in AUTHORIZATION only. USER and SASL appear only where they would
// be accepted (see SessionOptions::plaintext_auth_allowed), so clients take STLS first.
void Session::on_capa() {
  out_.append("+OK Capability list follows\r\nTOP\r\nUIDL\r\n");
  if (password_auth_allowed()) out_.append("USER\r\nSASL PLAIN\r\n");
  if (options_.stls && !tls_ && state_ == State::authorization) out_.append("STLS\r\n");
  out_.append("RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION Outpost\r\n.\r\n");
}

// RFC 1939 §7: USER name, then PASS string. The name is everything after "USER ".
void Session::on_user(std::string_view rest) {
  if (!password_auth_allowed()) return reply_error(kPlaintextDisallowed);
  if (rest.empty()) return reply_error("-ERR Syntax: USER name");
  user_given_ = std::string(rest);
  reply("+OK");
}

// The password is the rest of the line, spaces included (RFC 1939 §7 PASS discussion).
void Session::on_pass(std::string_view rest) {
  if (!password_auth_allowed()) return reply_error(kPlaintextDisallowed);
  if (!user_given_) return reply_error("-ERR Send USER first");
  std::string user = std::move(*user_given_);
  request_auth({.mechanism = AuthMechanism::user_pass,
                .user = std::move(user),
                .secret = std::string(rest),
                .authzid = {}});
}

// RFC 1939 §7: APOP name digest, digest = 32 hex digits of MD5(timestamp + secret).
void Session::on_apop(std::string_view rest) {
  if (options_.apop_banner.empty()) return reply_error("-ERR APOP not available");
  const std::vector<std::string_view> args = arguments(rest);
  if (args.size() != 2 || args[1].size() != 32) return reply_error("-ERR Syntax: APOP name digest");
  std::string digest = ascii_lowercase(args[1]);
  if (!std::all_of(digest.begin(), digest.end(), is_hex_digit)) {
    return reply_error("-ERR Syntax: APOP name digest");
  }
  request_auth({.mechanism = AuthMechanism::apop,
                .user = std::string(args[0]),
                .secret = std::move(digest),
                .authzid = {}});
}

// RFC 5034 §4: AUTH mechanism [initial-response]; "=" is an empty initial response. A bare
// "AUTH" lists the mechanisms, as pre-RFC 5034 clients expect.
void Session::on_auth(std::string_view rest) {
  if (!password_auth_allowed()) return reply_error(kPlaintextDisallowed);
  const std::vector<std::string_view> args = arguments(rest);
  if (args.empty()) {
    out_.append("+OK\r\nPLAIN\r\n.\r\n");
    return;
  }
  if (!iequals(args[0], "PLAIN")) return reply_error("-ERR Unsupported authentication mechanism");
  if (args.size() > 2) return reply_error("-ERR Syntax: AUTH mechanism [initial-response]");
  if (args.size() == 2) return on_plain_response(args[1] == "=" ? std::string_view() : args[1]);
  reply("+ ");  // PLAIN's challenge is empty
  mode_ = Mode::auth_response;
}

void Session::on_auth_response(std::string_view line) {
  mode_ = Mode::command;
  if (line == "*") return reply_error("-ERR Authentication cancelled");  // RFC 5034 §4
  on_plain_response(line);
}

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd, each 1*SAFE (no NUL).
void Session::on_plain_response(std::string_view encoded) {
  const std::optional<std::string> decoded = base64_decode_strict(encoded);
  if (!decoded) return reply_error("-ERR Invalid base64 in SASL response");
  const std::string_view message = *decoded;
  const std::size_t first = message.find('\0');
  const std::size_t second =
      first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string::npos ||
      second == first + 1 || message.find_first_of("\r\n") != std::string_view::npos) {
    return reply_error("-ERR Malformed SASL PLAIN response");
  }
  request_auth({.mechanism = AuthMechanism::plain,
                .user = std::string(message.substr(first + 1, second - first - 1)),
                .secret = std::string(message.substr(second + 1)),
                .authzid = std::string(message.substr(0, first))});
}

void Session::request_auth(AuthRequested request) {
  user_given_.reset();
  auth_user_ = request.user;
  awaiting_auth_ = true;
  events_.push_back(std::move(request));
}

void Session::refuse_auth() {
  MTA_ASSERT(awaiting_auth_);
  MTA_ASSERT(!ended_);
  MTA_ASSERT(state_ == State::authorization);
  awaiting_auth_ = false;
  reply("-ERR [SYS/TEMP] Temporary authentication failure, try again later");
  if (++auth_failures_ >= options_.limits.auth_failures_max) end();
  drive();
}

void Session::complete_auth(std::unique_ptr<Maildrop> maildrop) {
  MTA_ASSERT(awaiting_auth_);
  MTA_ASSERT(!ended_);
  MTA_ASSERT(state_ == State::authorization);
  awaiting_auth_ = false;
  if (!maildrop) {
    reply(kAuthFailed);
    if (++auth_failures_ >= options_.limits.auth_failures_max) end();
    drive();
    return;
  }
  Result<std::vector<MessageInfo>> listed = maildrop->lock();
  if (!listed) {
    reply(listed.error().code == Errc::in_use
              ? "-ERR [IN-USE] Maildrop is locked by another POP3 session"
              : "-ERR [SYS/TEMP] Unable to open maildrop");
  } else if (!std::all_of(listed->begin(), listed->end(),
                          [](const MessageInfo& m) { return valid_unique_id(m.unique_id); })) {
    maildrop->unlock();  // the store broke its contract; no client can use this list
    reply("-ERR [SYS/PERM] Maildrop has a malformed unique-id");
  } else {
    messages_.clear();
    messages_.reserve(listed->size());
    for (MessageInfo& info : *listed) messages_.push_back({.info = std::move(info)});
    maildrop_ = std::move(maildrop);
    state_ = State::transaction;
    user_ = auth_user_;
    reply("+OK " + maildrop_summary());
  }
  drive();
}

std::string Session::maildrop_summary() const {
  std::size_t count = 0;
  std::uint64_t octets = 0;
  for (const Listed& m : messages_) {
    if (m.deleted) continue;
    ++count;
    octets += m.info.size_octets;
  }
  return "Maildrop has " + count_and_octets(count, octets);
}

// RFC 2595 §4: "STLS" in AUTHORIZATION; +OK, then TLS. Pipelined commands after it are
// dropped unanswered: they were sent before TLS and must not count after it.
void Session::on_stls(std::string_view /*rest*/) {
  if (tls_) return reply_error("-ERR Already using TLS");
  if (!options_.stls) return reply_error("-ERR STLS not available");
  reply("+OK Begin TLS negotiation");
  user_given_.reset();
  mode_ = Mode::tls_wait;
  events_.push_back(StartTlsRequested{});
}

void Session::tls_started() {
  MTA_ASSERT(mode_ == Mode::tls_wait);
  MTA_ASSERT(!ended_);
  mode_ = Mode::command;
  tls_ = true;
  line_.clear();
  user_given_.reset();
}

// RFC 1939 §6: QUIT in TRANSACTION enters UPDATE and removes the deleted messages; in
// AUTHORIZATION it only ends the session.
void Session::on_quit() {
  if (state_ == State::authorization) {
    reply("+OK " + options_.hostname + " POP3 server signing off");
    return end();
  }
  state_ = State::update;
  std::vector<std::size_t> doomed;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (messages_[i].deleted) doomed.push_back(i);
  }
  SessionEnded ended;
  if (!doomed.empty()) {
    if (Result<void> committed = maildrop_->commit_deletions(doomed); !committed) {
      ended.update_failed = true;
    } else {
      ended.messages_deleted = doomed.size();
    }
  }
  if (ended.update_failed) {
    reply("-ERR [SYS/TEMP] Some deleted messages not removed");
  } else {
    const std::size_t left = messages_.size() - doomed.size();
    reply("+OK " + options_.hostname + " POP3 server signing off (" +
          (left == 0   ? std::string("maildrop empty")
           : left == 1 ? std::string("1 message left")
                       : std::to_string(left) + " messages left") +
          ")");
  }
  end(ended);
}

std::optional<std::size_t> Session::message_index(std::string_view argument) {
  const std::optional<std::uint64_t> number = parse_number(argument);
  if (!number) {
    reply_error("-ERR Syntax: message number expected");
    return std::nullopt;
  }
  if (*number == 0 || *number > messages_.size() || messages_[*number - 1].deleted) {
    reply(kNoSuchMessage);
    return std::nullopt;
  }
  return static_cast<std::size_t>(*number - 1);
}

// scan-listing = msg SP size; unique-id-listing = msg SP unique-id (RFC 1939 §5, §7).
// Deleted messages are left out of listings.
void Session::on_list(std::string_view rest, bool unique_ids) {
  const std::vector<std::string_view> args = arguments(rest);
  if (args.size() > 1) {
    return reply_error(unique_ids ? "-ERR Syntax: UIDL [msg]" : "-ERR Syntax: LIST [msg]");
  }
  const auto value = [&](std::size_t i) {
    return unique_ids ? messages_[i].info.unique_id : std::to_string(messages_[i].info.size_octets);
  };
  if (args.size() == 1) {
    const std::optional<std::size_t> index = message_index(args[0]);
    if (!index) return;
    return reply("+OK " + std::to_string(*index + 1) + " " + value(*index));
  }
  if (unique_ids) {
    out_.append("+OK Unique-id listing follows\r\n");
  } else {
    out_.append("+OK ").append(maildrop_summary()).append("\r\n");
  }
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (messages_[i].deleted) continue;
    out_.append(std::to_string(i + 1)).append(" ").append(value(i)).append("\r\n");
  }
  out_.append(".\r\n");
}

void Session::on_retr(std::string_view rest) {
  const std::vector<std::string_view> args = arguments(rest);
  if (args.size() != 1) return reply_error("-ERR Syntax: RETR msg");
  if (const std::optional<std::size_t> index = message_index(args[0])) {
    start_stream(*index, std::nullopt);
  }
}

void Session::on_top(std::string_view rest) {
  const std::vector<std::string_view> args = arguments(rest);
  const std::optional<std::uint64_t> lines =
      args.size() == 2 ? parse_number(args[1]) : std::nullopt;
  if (!lines) return reply_error("-ERR Syntax: TOP msg lines");
  if (const std::optional<std::size_t> index = message_index(args[0])) {
    start_stream(*index, lines);
  }
}

void Session::on_dele(std::string_view rest) {
  const std::vector<std::string_view> args = arguments(rest);
  if (args.size() != 1) return reply_error("-ERR Syntax: DELE msg");
  const std::optional<std::uint64_t> number = parse_number(args[0]);
  if (number && *number >= 1 && *number <= messages_.size() && messages_[*number - 1].deleted) {
    return reply("-ERR Message " + std::to_string(*number) + " already deleted");
  }
  if (const std::optional<std::size_t> index = message_index(args[0])) {
    messages_[*index].deleted = true;
    reply("+OK Message " + std::to_string(*index + 1) + " deleted");
  }
}

void Session::on_rset() {
  for (Listed& m : messages_) m.deleted = false;
  reply("+OK " + maildrop_summary());
}

// The reply line now; the text follows through fill_output() as room allows. Until it is all
// in out_, no other command runs, so nothing else calls the Maildrop and the view holds.
void Session::start_stream(std::size_t index, std::optional<std::uint64_t> body_lines) {
  const Result<std::string_view> text = maildrop_->message(index);
  if (!text) return reply("-ERR [SYS/TEMP] Unable to read message");
  if (text->size() != messages_[index].info.size_octets) {
    // The store broke its contract; sending would contradict LIST.
    return reply("-ERR [SYS/TEMP] Message changed since the maildrop was opened");
  }
  if (body_lines) {
    reply("+OK Top of message follows");
  } else {
    reply("+OK " + std::to_string(text->size()) + " octets");
  }
  stream_ = Stream{.text = *text,
                   .pos = 0,
                   .end = body_lines ? top_end(*text, *body_lines) : text->size(),
                   .line_start = true};
}

// RFC 1939 §3 multi-line responses: a line starting with "." gets one more "." in front, and
// the response ends with CRLF "." CRLF (a missing final CRLF is supplied).
void Session::fill_output() {
  const std::size_t chunk = options_.limits.output_chunk_bytes;
  while (stream_) {
    Stream& s = *stream_;
    const std::size_t unsent = out_.size() - out_sent_;
    if (unsent >= chunk) return;
    if (s.pos == s.end) {
      if (s.end > 0 && s.text[s.end - 1] != '\n') out_.append("\r\n");
      out_.append(".\r\n");
      stream_.reset();
      return;
    }
    if (s.line_start && s.text[s.pos] == '.') out_.push_back('.');
    const std::string_view window = s.text.substr(s.pos, std::min(s.end - s.pos, chunk - unsent));
    const std::size_t lf = window.find('\n');
    const std::size_t n = lf == std::string_view::npos ? window.size() : lf + 1;
    out_.append(window.substr(0, n));
    s.line_start = window[n - 1] == '\n';
    s.pos += n;
  }
}

void Session::reply(std::string_view line) {
  MTA_ASSERT(line.find_first_of("\r\n") == std::string_view::npos);
  out_.append(line).append("\r\n");
}

void Session::reply_error(std::string_view line) {
  reply(line);
  if (++errors_ >= options_.limits.errors_max) {
    reply("-ERR Too many errors");
    end();
  }
}

void Session::release_maildrop() {
  stream_.reset();
  if (maildrop_) {
    maildrop_->unlock();
    maildrop_.reset();
  }
}

void Session::end(SessionEnded ended) {
  ended_ = true;
  events_.push_back(ended);
  release_maildrop();
  pending_.clear();
  pending_pos_ = 0;
  line_.clear();
  mode_ = Mode::command;
}

}  // namespace mta::pop3
