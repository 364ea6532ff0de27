// ServerSession: splits client bytes into command lines (or hands them to a DataReader during
// DATA and BDAT chunks), applies the RFC 5321 §4.1.4 command order, and queues replies. Replies
// follow Postfix's wording so operators recognise them; enhanced codes follow RFC 3463.
#include "proto/smtp/server_session.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/envelope_address.h"
#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

// esmtp-value of SIZE (RFC 1870): 1*20DIGIT. A number too big for size_t is simply too big.
std::optional<std::size_t> parse_size(std::string_view value, std::size_t too_big) {
  if (value.empty() || value.size() > 20) {
    return std::nullopt;
  }
  std::size_t size = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (end != value.data() + value.size()) {
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range) {
    return too_big;
  }
  if (ec != std::errc()) {
    return std::nullopt;
  }
  return size;
}

constexpr std::string_view kHelp = "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP";
constexpr std::string_view kVrfy = "Cannot VRFY user, but will accept message and attempt delivery";

}  // namespace

ServerSession::ServerSession(ServerOptions options)
    : options_(std::move(options)),
      size_keyword_("SIZE " + std::to_string(options_.limits.message_bytes_max)) {
  for (const std::string& mechanism : options_.auth_mechanisms) auth_keyword_ += " " + mechanism;
  auth_keyword_.insert(0, "AUTH");
  MTA_ASSERT(options_.limits.command_line_bytes_max >= 3);
  MTA_ASSERT(options_.limits.errors_max >= 1);
  tls_ = options_.tls;
  reply_line("220 " + options_.hostname + " ESMTP Outpost");
}

// The single list of EHLO capabilities (RFC 5321 §4.1.1.1).
std::vector<std::string_view> ServerSession::ehlo_keywords() const {
  std::vector<std::string_view> keywords;
  if (options_.pipelining) {
    keywords.emplace_back("PIPELINING");
  }
  keywords.emplace_back(size_keyword_);
  if (options_.eight_bit_mime) {
    keywords.emplace_back("8BITMIME");
  }
  if (options_.enhanced_status_codes) {
    keywords.emplace_back("ENHANCEDSTATUSCODES");
  }
  if (options_.smtputf8) {
    keywords.emplace_back("SMTPUTF8");
  }
  if (options_.chunking) {
    keywords.emplace_back("CHUNKING");  // never BINARYMIME: see ServerOptions::chunking
  }
  if (options_.starttls && !tls_) {
    keywords.emplace_back("STARTTLS");
  }
  if (auth_offered()) {
    keywords.emplace_back(auth_keyword_);
  }
  return keywords;
}

std::size_t ServerSession::buffered_bytes() const {
  return line_.size() + pending_.size() + (data_reader_ ? data_reader_->body_bytes() : 0) +
         (out_.size() - out_sent_);
}

void ServerSession::on_sent(std::size_t byte_count) {
  MTA_ASSERT(byte_count <= out_.size() - out_sent_);
  out_sent_ += byte_count;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ >= 4096 && out_sent_ * 2 >= out_.size()) {
    out_.erase(0, out_sent_);  // reclaim once the sent prefix dominates
    out_sent_ = 0;
  }
}

std::optional<ServerEvent> ServerSession::next_event() {
  if (events_.empty()) {
    return std::nullopt;
  }
  ServerEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void ServerSession::on_bytes(std::string_view from_client) {
  if (ended_) {
    return;
  }
  if (awaiting_decision_ || awaiting_auth_) {
    hold(from_client);
    return;
  }
  process(from_client);
}

void ServerSession::complete_message(std::string_view reply_line_text) {
  MTA_ASSERT(awaiting_decision_);
  MTA_ASSERT(!ended_);
  reply_line(reply_line_text);
  awaiting_decision_ = false;
  if (pending_overflow_) {
    end_with_421("Error: too much pipelined input");
    return;
  }
  // process() may start awaiting again and hold the rest in pending_, so work on a copy.
  const std::string held = std::exchange(pending_, {});
  process(held);
}

void ServerSession::hold(std::string_view bytes) {
  const std::size_t room = options_.limits.pending_input_bytes_max - pending_.size();
  if (bytes.size() > room) {
    pending_overflow_ = true;  // the caller did not stop reading; answered after the decision
    bytes = bytes.substr(0, room);
  }
  pending_.append(bytes);
}

// Command lines are split at LF; a CR before it is dropped. A line longer than
// command_line_bytes_max (counting its line end) is never buffered: Mode::discard_line skips
// to its LF and then answers 500 once, in order with the commands around it.
void ServerSession::process(std::string_view bytes) {
  const std::size_t line_max = options_.limits.command_line_bytes_max;
  while (!bytes.empty() && !ended_ && !awaiting_decision_ && !awaiting_auth_) {
    switch (mode_) {
      case Mode::tls_wait:
        discarded_bytes_ += bytes.size();
        return;
      case Mode::auth_response: {
        // One base64 line per challenge (RFC 4954 §4), within the command line limit.
        const std::size_t lf = bytes.find('\n');
        if (lf == std::string_view::npos) {
          if (line_.size() + bytes.size() >= line_max) {
            line_.clear();
            mode_ = Mode::discard_line;
            auth_.reset();
            return;
          }
          line_.append(bytes);
          return;
        }
        line_.append(bytes.substr(0, lf));
        bytes.remove_prefix(lf + 1);
        std::string line = std::exchange(line_, {});
        if (!line.empty() && line.back() == '\r') line.pop_back();
        on_auth_response(line);
        break;
      }
      case Mode::data: {
        bytes.remove_prefix(data_reader_->feed(bytes));
        if (data_reader_->done()) {
          on_data_done();
        }
        break;
      }
      case Mode::chunk: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, bytes.size()));
        if (chunk_fate_ == ChunkFate::body) {
          data_reader_->feed_chunk(bytes.substr(0, n));
        }
        bytes.remove_prefix(n);
        chunk_left_ -= n;
        if (chunk_left_ == 0) {
          on_chunk_done();
        }
        break;
      }
      case Mode::discard_line: {
        const std::size_t lf = bytes.find('\n');
        if (lf == std::string_view::npos) {
          return;
        }
        bytes.remove_prefix(lf + 1);
        mode_ = Mode::command;
        reply_error("500", "5.5.2", "Error: line too long");
        break;
      }
      case Mode::command: {
        const std::size_t lf = bytes.find('\n');
        if (lf == std::string_view::npos) {
          if (line_.size() + bytes.size() >= line_max) {  // cannot end within the limit now
            line_.clear();
            mode_ = Mode::discard_line;
            return;
          }
          line_.append(bytes);
          return;
        }
        if (line_.size() + lf + 1 > line_max) {
          line_.clear();
          bytes.remove_prefix(lf + 1);
          reply_error("500", "5.5.2", "Error: line too long");
          break;
        }
        std::string_view line = bytes.substr(0, lf);
        if (!line_.empty()) {
          line_.append(line);
          line = line_;
        }
        bytes.remove_prefix(lf + 1);
        if (line.ends_with('\r')) {
          line.remove_suffix(1);
        }
        on_line(line);
        line_.clear();
        break;
      }
    }
  }
  if ((awaiting_decision_ || awaiting_auth_) && !bytes.empty()) {
    hold(bytes);
  }
}

void ServerSession::on_line(std::string_view line) {
  Result<Command> parsed = parse_command(line, options_.limits.command_line_bytes_max);
  if (!parsed) {
    // The detail is "x.y.z text" (see command.h).
    const std::string& detail = parsed.error().detail;
    const std::size_t space = detail.find(' ');
    const std::string_view code =
        parsed.error().code == Errc::command_too_long ? std::string_view("500") : "501";
    reply_error(code, std::string_view(detail).substr(0, space),
                std::string_view(detail).substr(space + 1));
    if (parsed.error().code == Errc::bad_chunk_size && options_.chunking && !ended_) {
      // Octets of unknown length follow; reading them as commands would obey the client's data.
      end_with_421("Error: BDAT syntax, chunk boundary lost");
    }
    return;
  }
  const Command& command = *parsed;
  switch (command.verb) {
    case Verb::helo:
    case Verb::ehlo:
      on_helo(command.verb == Verb::ehlo, command.argument);
      return;
    case Verb::mail:
      on_mail(command);
      return;
    case Verb::rcpt:
      on_rcpt(command);
      return;
    case Verb::data:
      on_data();
      return;
    case Verb::rset:
      reset_transaction();
      reply("250", "2.0.0", "Ok");
      return;
    case Verb::noop:
      reply("250", "2.0.0", "Ok");
      return;
    case Verb::quit:
      reply("221", "2.0.0", "Bye");
      end();
      return;
    case Verb::vrfy:
      reply("252", "2.0.0", kVrfy);
      return;
    case Verb::help:
      reply("214", "2.0.0", kHelp);
      return;
    case Verb::starttls:
      on_starttls(command);
      return;
    case Verb::auth:
      on_auth(command);
      return;
    case Verb::bdat:
      if (options_.chunking) {
        on_bdat(command);
        return;
      }
      reply_error("502", "5.5.1", "Error: command not implemented");
      return;
    case Verb::expn:
      reply_error("502", "5.5.1", "Error: command not implemented");
      return;
    case Verb::unknown:
      reply_error("500", "5.5.2", "Error: command not recognized");
      return;
  }
}

// RFC 3207 §4: "STARTTLS" with no parameters; 220, then TLS. Pipelined commands after it
// are dropped, not answered: they were sent before TLS and must not count after it.
void ServerSession::on_starttls(const Command& command) {
  if (!options_.starttls || tls_) {
    if (tls_) {
      reply_error("503", "5.5.1", "Error: TLS already active");
    } else {
      reply_error("502", "5.5.1", "Error: command not implemented");
    }
    return;
  }
  if (!command.argument.empty()) {
    reply_error("501", "5.5.4", "Syntax: STARTTLS");
    return;
  }
  reply("220", "2.0.0", "Ready to start TLS");
  reset_transaction();
  line_.clear();
  mode_ = Mode::tls_wait;
  events_.push_back(StartTlsRequested{});
}

void ServerSession::tls_started() {
  MTA_ASSERT(mode_ == Mode::tls_wait);
  mode_ = Mode::command;
  tls_ = true;
  greeted_ = false;
  client_name_.clear();
  user_.clear();
}

bool ServerSession::auth_offered() const {
  return !options_.auth_mechanisms.empty() && (tls_ || options_.auth_without_tls);
}

// RFC 4954 §4: AUTH mechanism [initial-response]; one AUTH per session, outside a transaction.
void ServerSession::on_auth(const Command& command) {
  if (options_.auth_mechanisms.empty()) {
    return reply_error("502", "5.5.1", "Error: command not implemented");
  }
  if (!auth_offered()) {
    return reply_error("538", "5.7.11",
                       "Encryption required for requested authentication mechanism");
  }
  if (!greeted_) return reply_error("503", "5.5.1", "Error: send HELO/EHLO first");
  if (!user_.empty()) return reply_error("503", "5.5.1", "Error: already authenticated");
  if (mail_from_) return reply_error("503", "5.5.1", "Error: MAIL transaction in progress");
  const std::string_view argument = command.argument;
  const std::size_t space = argument.find(' ');
  std::string mechanism(argument.substr(0, space));
  for (char& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (std::find(options_.auth_mechanisms.begin(), options_.auth_mechanisms.end(), mechanism) ==
      options_.auth_mechanisms.end()) {
    return reply_error("504", "5.5.4", "Unrecognized authentication type");
  }
  auth_ = AuthRequested{.mechanism = mechanism, .responses = {}};
  if (space != std::string_view::npos) {
    const std::string_view initial = argument.substr(space + 1);
    if (initial.empty() || initial.find(' ') != std::string_view::npos) {
      auth_.reset();
      return reply_error("501", "5.5.2", "Syntax: AUTH mechanism [initial-response]");
    }
    auth_->responses.emplace_back(initial);
  }
  ask_auth();
}

// Sends the next challenge, or hands the complete exchange to the caller.
void ServerSession::ask_auth() {
  const std::size_t needed = auth_->mechanism == "LOGIN" ? 2 : 1;
  if (auth_->responses.size() >= needed) {
    mode_ = Mode::command;
    awaiting_auth_ = true;
    events_.push_back(std::move(*auth_));
    auth_.reset();
    return;
  }
  mode_ = Mode::auth_response;
  if (auth_->mechanism != "LOGIN") {
    reply_line("334 ");
  } else {
    reply_line(auth_->responses.empty() ? "334 VXNlcm5hbWU6"
                                        : "334 UGFzc3dvcmQ6");  // Username: Password:
  }
}

void ServerSession::on_auth_response(std::string_view line) {
  mode_ = Mode::command;
  if (line == "*") {
    auth_.reset();
    return reply_error("501", "5.7.0", "Authentication cancelled");
  }
  auth_->responses.emplace_back(line);
  ask_auth();
}

void ServerSession::complete_auth(std::optional<std::string> user) {
  MTA_ASSERT(awaiting_auth_);
  MTA_ASSERT(!ended_);
  awaiting_auth_ = false;
  if (user && !user->empty()) {
    user_ = std::move(*user);
    reply("235", "2.7.0", "Authentication successful");
  } else {
    reply_error("535", "5.7.8", "Authentication credentials invalid");
  }
  resume_after_auth();
}

void ServerSession::refuse_auth() {
  MTA_ASSERT(awaiting_auth_);
  MTA_ASSERT(!ended_);
  awaiting_auth_ = false;
  reply_error("454", "4.7.0", "Temporary authentication failure, try again later");
  resume_after_auth();
}

void ServerSession::resume_after_auth() {
  if (ended_) return;
  if (pending_overflow_) {
    end_with_421("Error: too much pipelined input");
    return;
  }
  const std::string held = std::exchange(pending_, {});
  process(held);
}

// RFC 5321 §4.1.4: HELO/EHLO may come again at any time and then reset the transaction.
void ServerSession::on_helo(bool extended, std::string_view name) {
  reset_transaction();
  greeted_ = true;
  extended_ = extended;
  client_name_ = name.substr(0, 255);
  if (!extended) {
    reply_line("250 " + options_.hostname);
    return;
  }
  out_.append("250-").append(options_.hostname).append("\r\n");
  const std::vector<std::string_view> keywords = ehlo_keywords();
  for (std::size_t i = 0; i < keywords.size(); ++i) {
    out_.append(i + 1 == keywords.size() ? "250 " : "250-").append(keywords[i]).append("\r\n");
  }
}

// BODY=7BIT|8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531), when offered; SIZE is checked apart.
bool ServerSession::mail_parameter_supported(std::string_view keyword,
                                             std::string_view value) const {
  if (keyword == "BODY") {
    return iequals(value, "7BIT") || (options_.eight_bit_mime && iequals(value, "8BITMIME"));
  }
  if (keyword == "SMTPUTF8") {
    return options_.smtputf8 && value.empty();
  }
  if (keyword == "AUTH") {  // RFC 4954 §5: accepted, and not trusted (we relay for the session)
    return auth_offered();
  }
  return false;
}

void ServerSession::on_mail(const Command& command) {
  chunks_refused_.reset();  // the client has given up the refused BDAT transaction's chunks
  if (!greeted_) {
    return reply_error("503", "5.5.1", "Error: send HELO/EHLO first");
  }
  if (mail_from_) {
    return reply_error("503", "5.5.1", "Error: nested MAIL command");
  }
  for (const auto& [keyword, value] : command.parameters) {
    if (keyword == "SIZE") {
      const std::optional<std::size_t> size =
          parse_size(value, options_.limits.message_bytes_max + 1);
      if (!size) {
        return reply_error("501", "5.5.4", "Syntax: bad SIZE value");
      }
      if (*size > options_.limits.message_bytes_max) {
        return reply("552", "5.3.4", "Message size exceeds fixed limit");
      }
    } else if (!mail_parameter_supported(keyword, value)) {
      // RFC 5321 §4.1.1.11: parameters the server does not offer get 555.
      return reply_error("555", "5.5.4", "Unsupported option: " + keyword);
    }
  }
  // One spelling of every address from here on (base/envelope_address.h): the domain
  // lower-cased, needless quotes dropped, what parse_command lets through but no one should
  // send (white space at the edge of a quoted local part, invalid UTF-8) refused.
  std::string path;
  if (!command.path.empty()) {
    auto canonical = canonical_address(command.path);
    if (!canonical) {
      return reply_error("501", "5.1.7", "Bad sender address syntax: " + canonical.error().detail);
    }
    path = std::move(*canonical);
  }
  if (check_sender) {
    if (std::optional<std::string> rejection = check_sender(path)) {
      return reply_line(*rejection);
    }
  }
  mail_from_ = std::move(path);
  reply("250", "2.1.0", "Ok");
}

void ServerSession::on_rcpt(const Command& command) {
  if (!mail_from_) {
    return reply_error("503", "5.5.1", "Error: need MAIL command");
  }
  if (!command.parameters.empty()) {
    return reply_error("555", "5.5.4", "Unsupported option: " + command.parameters[0].first);
  }
  if (recipients_.size() >= options_.limits.recipients_max) {
    return reply("452", "4.5.3", "Error: too many recipients");  // RFC 5321 §4.5.3.1.10
  }
  std::string path = command.path;  // "Postmaster" alone (RFC 5321 §4.1.1.3) stays as it is
  if (path.find('@') != std::string::npos) {
    auto canonical = canonical_address(path);
    if (!canonical) {
      return reply_error("501", "5.1.3",
                         "Bad recipient address syntax: " + canonical.error().detail);
    }
    path = std::move(*canonical);
  }
  if (check_recipient) {
    if (std::optional<std::string> rejection = check_recipient(path)) {
      return reply_line(*rejection);
    }
  }
  recipients_.push_back(std::move(path));
  reply("250", "2.1.5", "Ok");
}

void ServerSession::on_data() {
  if (!mail_from_) {
    return reply_error("503", "5.5.1", "Error: need MAIL command");
  }
  if (recipients_.empty()) {
    return reply_error("503", "5.5.1", "Error: need RCPT command");
  }
  if (data_reader_) {  // RFC 3030 §3: DATA and BDAT do not mix in one transaction
    return reply_error("503", "5.5.1", "Error: DATA after BDAT");
  }
  reply_line("354 End data with <CR><LF>.<CR><LF>");  // 3xx carries no enhanced code
  data_reader_.emplace(BodyFraming::data, options_.limits.message_bytes_max,
                       options_.limits.text_line_bytes_max);
  mode_ = Mode::data;
}

// RFC 5321 §4.1.1.4: whatever the outcome, the end of data closes the transaction.
void ServerSession::on_data_done() {
  const DataOutcome outcome = data_reader_->outcome();
  mode_ = Mode::command;
  if (outcome == DataOutcome::ok) {
    events_.push_back(MessageReceived{
        .mail_from = std::move(*mail_from_),
        .recipients = std::move(recipients_),
        .body = data_reader_->take_body(),
        .bare_line_endings_repaired = data_reader_->bare_line_endings_repaired(),
    });
    awaiting_decision_ = true;
  } else {
    reply_body_refused(outcome);
  }
  reset_transaction();
}

void ServerSession::reply_body_refused(DataOutcome outcome) {
  switch (outcome) {
    case DataOutcome::too_large:
      return reply("552", "5.3.4", "Message size exceeds fixed limit");
    case DataOutcome::line_too_long:
      return reply("554", "5.5.6", "Error: message not accepted: line too long");
    case DataOutcome::ok:
    case DataOutcome::reading:
      break;
  }
  MTA_ASSERT(false);
}

// bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF (RFC 3030 §2; parsed in command.cc).
// The fate of the chunk's octets is settled here, before they arrive; the reply waits for the
// last of them (on_chunk_done), so replies stay in command order.
void ServerSession::on_bdat(const Command& command) {
  chunk_bytes_ = command.chunk_bytes;
  chunk_left_ = command.chunk_bytes;
  chunk_last_ = command.last_chunk;
  if (data_reader_) {
    chunk_fate_ = ChunkFate::body;  // the transaction's next chunk
  } else if (chunks_refused_) {
    chunk_fate_ = ChunkFate::failed;
  } else if (!mail_from_) {
    chunk_fate_ = ChunkFate::need_mail;
  } else if (recipients_.empty()) {
    chunk_fate_ = ChunkFate::need_rcpt;
  } else {
    chunk_fate_ = ChunkFate::body;
    data_reader_.emplace(BodyFraming::chunks, options_.limits.message_bytes_max,
                         options_.limits.text_line_bytes_max);
  }
  mode_ = Mode::chunk;
  if (chunk_left_ == 0) {  // "BDAT 0 LAST" is legal; "BDAT 0" merely odd
    on_chunk_done();
  }
}

void ServerSession::on_chunk_done() {
  mode_ = Mode::command;
  switch (chunk_fate_) {
    case ChunkFate::need_mail:
      return reply_error("503", "5.5.1", "Error: need MAIL command");
    case ChunkFate::need_rcpt:
      return reply_error("503", "5.5.1", "Error: need RCPT command");
    case ChunkFate::failed:
      reply_body_refused(*chunks_refused_);
      if (chunk_last_) {
        chunks_refused_.reset();
      }
      return;
    case ChunkFate::body:
      break;
  }
  if (chunk_last_) {
    data_reader_->finish_chunks();
  }
  const DataOutcome outcome = data_reader_->outcome();
  if (outcome == DataOutcome::too_large || outcome == DataOutcome::line_too_long) {
    reply_body_refused(outcome);
    reset_transaction();
    if (!chunk_last_) {
      chunks_refused_ = outcome;
    }
    return;
  }
  if (!chunk_last_) {
    return reply("250", "2.0.0", std::to_string(chunk_bytes_) + " octets received");
  }
  MTA_ASSERT(outcome == DataOutcome::ok);
  events_.push_back(MessageReceived{
      .mail_from = std::move(*mail_from_),
      .recipients = std::move(recipients_),
      .body = data_reader_->take_body(),
      .bare_line_endings_repaired = data_reader_->bare_line_endings_repaired(),
      .chunked = true,
  });
  awaiting_decision_ = true;
  reset_transaction();
}

void ServerSession::reset_transaction() {
  mail_from_.reset();
  recipients_.clear();
  data_reader_.reset();
  chunks_refused_.reset();
}

void ServerSession::reply(std::string_view code, std::string_view enhanced, std::string_view text) {
  out_.append(code).append(" ");
  if (options_.enhanced_status_codes) {
    out_.append(enhanced).append(" ");
  }
  out_.append(text).append("\r\n");
}

void ServerSession::reply_error(std::string_view code, std::string_view enhanced,
                                std::string_view text) {
  reply(code, enhanced, text);
  ++errors_;
  if (errors_ >= options_.limits.errors_max) {
    end_with_421("Error: too many errors");
  }
}

void ServerSession::reply_line(std::string_view line) {
  MTA_ASSERT(line.size() >= 3);
  MTA_ASSERT(line.find_first_of("\r\n") == std::string_view::npos);
  out_.append(line).append("\r\n");
}

void ServerSession::end_with_421(std::string_view text) {
  reply("421", "4.7.0", options_.hostname + " " + std::string(text));
  end();
}

void ServerSession::end() {
  ended_ = true;
  events_.push_back(SessionEnded{});
  pending_.clear();
  data_reader_.reset();
  mode_ = Mode::command;
}

}  // namespace mta::smtp
