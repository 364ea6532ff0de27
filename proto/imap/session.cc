// Session: frames client bytes with CommandReader, runs each command against the Backend in
// the RFC 3501 §3 state machine, and keeps the selected folder's message list (sequence
// numbers, flags, \Recent) in step with the backend through its change counter. Responses
// follow Dovecot's wording where RFC 3501 leaves it open, so operators and clients recognise
// them.
#include "proto/imap/session.h"

#include <algorithm>
#include <map>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/base64.h"
#include "proto/imap/errc.h"
#include "proto/imap/fetch.h"
#include "proto/imap/response.h"
#include "proto/imap/search.h"
#include "proto/mime/structure.h"

namespace mta::imap {
namespace {

constexpr std::string_view kSystemFlags = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)";
constexpr std::size_t kPatternBytesMax = 1024;

// LIST wildcards (RFC 3501 §6.3.8): "*" matches anything, "%" anything but the delimiter.
// A set-of-positions match, O(name × pattern), with no recursion. INBOX matches in any case.
bool wildcard_match(std::string_view pattern, std::string_view name) {
  const bool fold = name == "INBOX";
  std::vector<char> cur(pattern.size() + 1, 0), next(pattern.size() + 1, 0);
  const auto close = [&](std::vector<char>& set) {
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (set[i] && (pattern[i] == '*' || pattern[i] == '%')) set[i + 1] = 1;
    }
  };
  cur[0] = 1;
  close(cur);
  for (char ch : name) {
    std::fill(next.begin(), next.end(), 0);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (!cur[i]) continue;
      const char p = pattern[i];
      if (p == '*' || (p == '%' && ch != kHierarchyDelimiter)) {
        next[i] = 1;
      } else if (p == ch || (fold && ascii_lower(p) == ascii_lower(ch))) {
        next[i + 1] = 1;
      }
    }
    close(next);
    cur.swap(next);
  }
  return cur[pattern.size()] != 0;
}

// The response code for a backend refusal.
std::string_view code_of(const Error& error) {
  if (error.code == Errc::no_such_folder) return "[NONEXISTENT] ";
  if (error.code == Errc::folder_exists) return "[ALREADYEXISTS] ";
  if (error.code == Errc::cannot) return "[CANNOT] ";
  if (error.code == Errc::over_quota) return "[OVERQUOTA] ";
  if (error.code == Errc::no_such_message) return "[EXPUNGEISSUED] ";
  return "[SERVERBUG] ";
}

std::string refusal(const Error& error) {
  std::string text(code_of(error));
  if (error.code == Errc::no_such_folder) {
    text += "Mailbox does not exist";
  } else if (error.code == Errc::folder_exists) {
    text += "Mailbox already exists";
  } else {
    text += error.code.message();
  }
  return text;
}

bool needs_bytes(const FetchAttribute& att) {
  using K = FetchAttribute::Kind;
  return att.kind == K::envelope || att.kind == K::rfc822 || att.kind == K::rfc822_header ||
         att.kind == K::rfc822_text || att.kind == K::body || att.kind == K::bodystructure ||
         att.kind == K::body_section;
}

bool sets_seen(const FetchAttribute& att) {
  using K = FetchAttribute::Kind;
  return att.kind == K::rfc822 || att.kind == K::rfc822_text ||
         (att.kind == K::body_section && !att.peek);
}

}  // namespace

Session::Session(SessionOptions options, Backend& backend)
    : options_(std::move(options)), backend_(&backend), reader_(options_.limits.command) {
  MTA_ASSERT(options_.limits.errors_max >= 1);
  MTA_ASSERT(options_.limits.auth_failures_max >= 1);
  tls_ = options_.tls;
  untagged("OK [CAPABILITY " + capabilities() + "] " + options_.hostname +
           " Outpost IMAP4rev1 ready");
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

bool Session::login_allowed() const {
  return tls_ || options_.plaintext_login.value_or(!options_.starttls);
}

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1";
  if (state_ == State::not_authenticated) {
    if (options_.starttls && !tls_) caps += " STARTTLS";
    caps += login_allowed() ? " AUTH=PLAIN SASL-IR" : " LOGINDISABLED";
  }
  caps += " LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN APPENDLIMIT=";
  caps += std::to_string(options_.limits.command.append_bytes_max);
  return caps;
}

bool Session::input_paused() const {
  return wait_ == Wait::auth_decision || wait_ == Wait::tls || wait_ == Wait::fetch || ended_;
}

std::size_t Session::buffered_bytes() const {
  return reader_.buffered_bytes() + pending_.size() + (out_.size() - out_sent_);
}

std::optional<SessionEvent> Session::next_event() {
  if (events_.empty()) return std::nullopt;
  SessionEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void Session::on_sent(std::size_t byte_count) {
  MTA_ASSERT(byte_count <= out_.size() - out_sent_);
  out_sent_ += byte_count;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ >= 4096 && out_sent_ * 2 >= out_.size()) {
    out_.erase(0, out_sent_);
    out_sent_ = 0;
  }
  if (wait_ == Wait::fetch && !in_process_ &&
      out_.size() - out_sent_ <= options_.limits.output_bytes_soft_max / 2) {
    continue_fetch();
  }
}

void Session::untagged(std::string_view text) {
  out_ += "* ";
  out_ += text;
  out_ += "\r\n";
}

void Session::bye(std::string_view text) { untagged("BYE " + std::string(text)); }

void Session::end() {
  if (ended_) return;
  ended_ = true;
  state_ = State::logout;
  wait_ = Wait::none;
  fetch_.reset();
  selected_.reset();
  pending_.clear();
  events_.emplace_back(SessionEnded{});
}

void Session::finish(const std::string& tag, std::string_view status, std::string_view text,
                     bool allow_expunge) {
  if (state_ == State::selected) resync(allow_expunge);
  if (ended_) return;
  out_ += tag;
  out_ += ' ';
  out_ += status;
  out_ += ' ';
  out_ += text;
  out_ += "\r\n";
}

void Session::bad(const std::string& tag, std::string_view text) {
  out_ += tag;
  out_ += " BAD ";
  out_ += text;
  out_ += "\r\n";
  if (++errors_ >= options_.limits.errors_max) {
    bye("Too many invalid commands");
    end();
  }
}

void Session::on_bytes(std::string_view from_client) {
  if (ended_) return;
  if (wait_ == Wait::tls) {
    discarded_bytes_ += from_client.size();
    return;
  }
  if (input_paused() || !pending_.empty() || in_process_) {
    hold(from_client);
    return;
  }
  process(from_client);
}

void Session::hold(std::string_view bytes) {
  if (pending_.size() + bytes.size() > options_.limits.pending_input_bytes_max) {
    bye("Too much pipelined input");
    end();
    return;
  }
  pending_.append(bytes);
}

// Reads commands until the input is used up or the session stops reading (an auth decision,
// a FETCH waiting for output to drain, STARTTLS). Input that arrived meanwhile sits in
// pending_ and is read when the wait ends (complete_auth(), continue_fetch()).
void Session::process(std::string_view bytes) {
  MTA_ASSERT(!in_process_);
  in_process_ = true;
  std::string held;  // owns input taken from pending_
  while (!ended_) {
    if (wait_ == Wait::tls) {
      // RFC 3501 §6.2.1: nothing sent before the handshake may be obeyed after it.
      discarded_bytes_ += bytes.size() + pending_.size();
      pending_.clear();
      break;
    }
    if (wait_ == Wait::auth_decision || wait_ == Wait::fetch) {
      MTA_ASSERT(pending_.empty());
      if (!bytes.empty()) hold(bytes);
      break;
    }
    if (bytes.empty()) {
      if (pending_.empty()) break;
      held = std::exchange(pending_, {});
      bytes = held;
      continue;
    }
    const std::size_t used = reader_.feed(bytes);
    bytes.remove_prefix(used);
    if (std::optional<ReaderEvent> event = reader_.take()) on_event(std::move(*event));
  }
  in_process_ = false;
}

void Session::on_event(ReaderEvent event) {
  if (auto* complete = std::get_if<CommandComplete>(&event)) {
    if (complete->text.empty()) return;  // stray CRLFs between commands are ignored
    Result<Command> parsed = parse_command(complete->text, options_.limits.command);
    if (!parsed) {
      bad(command_tag(complete->text), parsed.error().detail);
      return;
    }
    on_command(std::move(*parsed));
  } else if (std::holds_alternative<ContinuationNeeded>(event)) {
    out_ += "+ Ready for literal data\r\n";
  } else if (auto* line = std::get_if<LineComplete>(&event)) {
    on_line(line->line);
  } else if (auto* refused = std::get_if<CommandRefused>(&event)) {
    std::string tag = refused->tag;
    if (wait_ == Wait::auth_response || wait_ == Wait::idle) {
      reader_.set_line_mode(false);
      wait_ = Wait::none;
      tag = wait_tag_;
    }
    if (refused->close) {
      // Before login, a non-synchronizing literal too large to take or a line too long: its
      // octets are coming anyway, and reading them all would be the client's to decide.
      // Answer and hang up.
      const bool line = refused->code == Errc::line_too_long;
      if (tag != "*") {
        out_ += tag + (line ? " BAD Command line too long before authentication\r\n"
                            : " BAD Literal refused before authentication\r\n");
      }
      bye(line ? "Command line too long before authentication"
               : "Literal too large before authentication");
      end();
    } else if (refused->code == Errc::literal_too_big && state_ == State::not_authenticated) {
      bad(tag, "Literal refused before authentication");
    } else if (refused->code == Errc::literal_too_big && refused->append) {
      finish(tag, "NO", "[TOOBIG] Message too large");
    } else if (refused->code == Errc::literal_too_big) {
      bad(tag, "Literal too large");
    } else {
      bad(tag, "Command line too long");
    }
  }
}

void Session::on_line(const std::string& line) {
  reader_.set_line_mode(false);
  const Wait was = std::exchange(wait_, Wait::none);
  if (was == Wait::auth_response) {
    if (line == "*") {
      out_ += wait_tag_ + " BAD Authentication cancelled\r\n";
      return;
    }
    auth_plain(wait_tag_, line);
    return;
  }
  MTA_ASSERT(was == Wait::idle);
  if (iequals(line, "DONE")) {
    finish(wait_tag_, "OK", "IDLE terminated");
  } else {
    bad(wait_tag_, "Expected DONE");
  }
}

// ---------------------------------------------------------------------------------------------
// Commands.

bool Session::state_allows(const Command& command) const {
  using N = CommandName;
  switch (command.name) {
    case N::capability:
    case N::noop:
    case N::logout:
    case N::id:
      return true;
    case N::starttls:
    case N::authenticate:
    case N::login:
      return state_ == State::not_authenticated;
    case N::select:
    case N::examine:
    case N::create:
    case N::delete_:
    case N::rename:
    case N::subscribe:
    case N::unsubscribe:
    case N::list:
    case N::lsub:
    case N::status:
    case N::append:
    case N::idle:
    case N::enable:
    case N::namespace_:
      return state_ == State::authenticated || state_ == State::selected;
    case N::check:
    case N::close:
    case N::expunge:
    case N::search:
    case N::fetch:
    case N::store:
    case N::copy:
    case N::move:
    case N::unselect:
      return state_ == State::selected;
  }
  return false;
}

void Session::on_command(Command c) {
  using N = CommandName;
  if (!state_allows(c)) {
    const bool login = c.name == N::login || c.name == N::authenticate || c.name == N::starttls;
    bad(c.tag, login                                ? "Already authenticated"
               : state_ == State::not_authenticated ? "Not authenticated"
                                                    : "No mailbox selected");
    return;
  }
  switch (c.name) {
    case N::capability:
      untagged("CAPABILITY " + capabilities());
      finish(c.tag, "OK", "CAPABILITY completed");
      return;
    case N::noop:
      finish(c.tag, "OK", "NOOP completed");
      return;
    case N::check:
      finish(c.tag, "OK", "CHECK completed");
      return;
    case N::logout:
      bye("Logging out");
      out_ += c.tag + " OK LOGOUT completed\r\n";
      end();
      return;
    case N::id:
      untagged("ID (\"name\" \"Outpost\")");
      finish(c.tag, "OK", "ID completed");
      return;
    case N::enable:
      untagged("ENABLED");  // nothing this server can enable changes what it sends
      finish(c.tag, "OK", "ENABLE completed");
      return;
    case N::namespace_:
      untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
      finish(c.tag, "OK", "NAMESPACE completed");
      return;
    case N::starttls:
      if (!options_.starttls || tls_) {
        bad(c.tag, "STARTTLS not available");
        return;
      }
      out_ += c.tag + " OK Begin TLS negotiation now\r\n";
      wait_ = Wait::tls;
      reader_.reset();
      events_.emplace_back(StartTlsRequested{});
      return;
    case N::login:
      do_login(c);
      return;
    case N::authenticate:
      do_authenticate(c);
      return;
    case N::select:
    case N::examine:
      do_select(c);
      return;
    case N::create:
      do_create(c);
      return;
    case N::delete_:
      do_delete(c);
      return;
    case N::rename:
      do_rename(c);
      return;
    case N::subscribe:
    case N::unsubscribe: {
      const Result<void> done = backend_->set_subscribed(c.mailbox, c.name == N::subscribe);
      if (!done) {
        finish(c.tag, "NO", refusal(done.error()));
        return;
      }
      finish(c.tag, "OK", c.name == N::subscribe ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
      return;
    }
    case N::list:
    case N::lsub:
      do_list(c);
      return;
    case N::status:
      do_status(c);
      return;
    case N::append:
      do_append(c);
      return;
    case N::close:
    case N::unselect:
      do_close(c);
      return;
    case N::expunge:
      do_expunge(c);
      return;
    case N::search:
      do_search(c);
      return;
    case N::fetch:
      do_fetch(std::move(c));
      return;
    case N::store:
      do_store(c);
      return;
    case N::copy:
    case N::move:
      do_copy(c);
      return;
    case N::idle:
      do_idle(c);
      return;
  }
}

void Session::do_login(const Command& c) {
  if (!login_allowed()) {
    finish(c.tag, "NO", "[PRIVACYREQUIRED] Plaintext authentication disallowed, use STARTTLS");
    return;
  }
  wait_ = Wait::auth_decision;
  wait_tag_ = c.tag;
  pending_user_ = c.user;
  events_.emplace_back(AuthRequested{"LOGIN", c.user, c.password});
}

void Session::do_authenticate(const Command& c) {
  if (!login_allowed()) {
    finish(c.tag, "NO", "[PRIVACYREQUIRED] Plaintext authentication disallowed, use STARTTLS");
    return;
  }
  if (c.mechanism != "PLAIN") {
    finish(c.tag, "NO", "Unsupported authentication mechanism");
    return;
  }
  if (c.initial_response) {
    auth_plain(c.tag, *c.initial_response == "=" ? std::string_view() : *c.initial_response);
    return;
  }
  out_ += "+ \r\n";  // RFC 4616: PLAIN has no challenge
  wait_ = Wait::auth_response;
  wait_tag_ = c.tag;
  reader_.set_line_mode(true);
}

// PLAIN (RFC 4616): message = [authzid] NUL authcid NUL passwd
void Session::auth_plain(const std::string& tag, std::string_view base64) {
  const std::optional<std::string> decoded = base64_decode_strict(base64);
  if (!decoded) {
    bad(tag, "Invalid base64 data");
    return;
  }
  const std::size_t first = decoded->find('\0');
  const std::size_t second =
      first == std::string::npos ? std::string::npos : decoded->find('\0', first + 1);
  if (second == std::string::npos || decoded->find('\0', second + 1) != std::string::npos) {
    bad(tag, "Invalid PLAIN response");
    return;
  }
  const std::string authzid = decoded->substr(0, first);
  std::string authcid = decoded->substr(first + 1, second - first - 1);
  std::string password = decoded->substr(second + 1);
  if (!authzid.empty() && authzid != authcid) {
    finish(tag, "NO", "[AUTHORIZATIONFAILED] Cannot act as another user");
    return;
  }
  wait_ = Wait::auth_decision;
  wait_tag_ = tag;
  pending_user_ = authcid;
  events_.emplace_back(AuthRequested{"PLAIN", std::move(authcid), std::move(password)});
}

void Session::complete_auth(bool ok, Backend* backend) {
  MTA_ASSERT(wait_ == Wait::auth_decision);
  MTA_ASSERT(!ended_);
  wait_ = Wait::none;
  if (ok) {
    state_ = State::authenticated;
    reader_.set_authenticated(true);
    user_ = std::move(pending_user_);
    if (backend != nullptr) backend_ = backend;
    out_ += wait_tag_ + " OK [CAPABILITY " + capabilities() + "] Logged in\r\n";
  } else {
    return auth_failed("NO [AUTHENTICATIONFAILED] Authentication failed");
  }
  if (!in_process_) process({});
}

void Session::refuse_auth() {
  MTA_ASSERT(wait_ == Wait::auth_decision);
  MTA_ASSERT(!ended_);
  wait_ = Wait::none;
  auth_failed("NO [UNAVAILABLE] Temporary authentication failure, try again later");
}

void Session::auth_failed(std::string_view response) {
  out_ += wait_tag_;
  out_ += ' ';
  out_ += response;
  out_ += "\r\n";
  if (++auth_failures_ >= options_.limits.auth_failures_max) {
    bye("Too many authentication failures");
    end();
    return;
  }
  if (!in_process_) process({});
}

void Session::deselect() {
  selected_.reset();
  if (state_ == State::selected) state_ = State::authenticated;
}

void Session::do_select(const Command& c) {
  const bool examine = c.name == CommandName::examine;
  deselect();  // RFC 3501 §6.3.1: even when this SELECT fails
  Result<FolderView> view = backend_->open(c.mailbox, !examine);
  if (!view) {
    finish(c.tag, "NO", refusal(view.error()));
    return;
  }
  Selected s;
  s.folder = c.mailbox;
  s.read_only = examine;
  s.uidvalidity = view->uidvalidity;
  s.uidnext = view->uidnext;
  s.change_counter = view->change_counter;
  std::uint32_t recent = 0;
  std::optional<std::size_t> first_unseen;
  s.slots.reserve(view->messages.size());
  for (MessageInfo& m : view->messages) {
    Slot slot;
    slot.uid = m.uid;
    slot.flags = std::move(m.flags);
    slot.internal_date = m.internal_date;
    slot.size = m.size;
    slot.recent = m.uid >= view->recent_uid_min;
    if (slot.recent) ++recent;
    if (!first_unseen && (slot.flags.system & kSeen) == 0) first_unseen = s.slots.size() + 1;
    s.uid_seen_max = std::max(s.uid_seen_max, m.uid);
    s.slots.push_back(std::move(slot));
  }
  untagged("FLAGS " + std::string(kSystemFlags));
  untagged(examine ? "OK [PERMANENTFLAGS ()] Read-only mailbox"
                   : "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
                     "Flags permitted");
  untagged(std::to_string(s.slots.size()) + " EXISTS");
  untagged(std::to_string(recent) + " RECENT");
  if (first_unseen) untagged("OK [UNSEEN " + std::to_string(*first_unseen) + "] First unseen");
  untagged("OK [UIDVALIDITY " + std::to_string(s.uidvalidity) + "] UIDs valid");
  untagged("OK [UIDNEXT " + std::to_string(s.uidnext) + "] Predicted next UID");
  selected_ = std::move(s);
  state_ = State::selected;
  finish(c.tag, "OK", examine ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

void Session::do_create(const Command& c) {
  std::string name = c.mailbox;
  while (!name.empty() && name.back() == kHierarchyDelimiter) name.pop_back();
  if (name.empty()) {
    finish(c.tag, "NO", "[CANNOT] Invalid mailbox name");
    return;
  }
  if (iequals(name, "INBOX")) {
    finish(c.tag, "NO", "[ALREADYEXISTS] Mailbox already exists");
    return;
  }
  // The name itself first: a CREATE answered NO changes nothing, not even its parents.
  const Result<void> created = backend_->create_folder(name);
  if (!created) {
    finish(c.tag, "NO", refusal(created.error()));
    return;
  }
  // RFC 3501 §6.3.3: superior names are created as needed (those that exist stay as they are).
  for (std::size_t slash = name.find(kHierarchyDelimiter); slash != std::string::npos;
       slash = name.find(kHierarchyDelimiter, slash + 1)) {
    if (slash == 0) continue;
    (void)backend_->create_folder(std::string_view(name).substr(0, slash));
  }
  finish(c.tag, "OK", "CREATE completed");
}

void Session::do_delete(const Command& c) {
  if (c.mailbox == "INBOX") {
    finish(c.tag, "NO", "[CANNOT] INBOX cannot be deleted");
    return;
  }
  const Result<void> deleted = backend_->delete_folder(c.mailbox);
  if (!deleted) {
    finish(c.tag, "NO", refusal(deleted.error()));
    return;
  }
  if (selected_ && selected_->folder == c.mailbox) deselect();
  finish(c.tag, "OK", "DELETE completed");
}

void Session::do_rename(const Command& c) {
  const Result<void> renamed = backend_->rename_folder(c.mailbox, c.new_mailbox);
  if (!renamed) {
    finish(c.tag, "NO", refusal(renamed.error()));
    return;
  }
  if (selected_ && c.mailbox != "INBOX") {
    std::string& folder = selected_->folder;
    if (folder == c.mailbox) {
      folder = c.new_mailbox;
    } else if (folder.size() > c.mailbox.size() && folder.starts_with(c.mailbox) &&
               folder[c.mailbox.size()] == kHierarchyDelimiter) {
      folder = c.new_mailbox + folder.substr(c.mailbox.size());
    }
  }
  finish(c.tag, "OK", "RENAME completed");
}

void Session::do_list(const Command& c) {
  const bool lsub = c.name == CommandName::lsub;
  if (c.pattern.empty() && !lsub) {
    // RFC 3501 §6.3.8: the hierarchy delimiter and the root of the reference.
    untagged("LIST (\\Noselect) \"/\" \"\"");
    finish(c.tag, "OK", "LIST completed");
    return;
  }
  const std::string pattern = c.reference + c.pattern;
  if (pattern.size() > kPatternBytesMax) {
    bad(c.tag, "Pattern too long");
    return;
  }
  Result<std::vector<FolderInfo>> folders = backend_->list_folders();
  if (!folders) {
    finish(c.tag, "NO", refusal(folders.error()));
    return;
  }
  struct Entry {
    bool exists = false, subscribed = false, children = false;
  };
  std::map<std::string, Entry, std::less<>> names;
  for (const FolderInfo& folder : *folders) {
    Entry& entry = names[folder.name];
    entry.exists = folder.exists;
    entry.subscribed = folder.subscribed;
    if (!folder.exists) continue;  // a subscription only: no children for LIST to show
    for (std::size_t slash = folder.name.find(kHierarchyDelimiter); slash != std::string::npos;
         slash = folder.name.find(kHierarchyDelimiter, slash + 1)) {
      names[folder.name.substr(0, slash)].children = true;
    }
  }
  const auto emit = [&](const std::string& name, const Entry& entry) {
    if (!wildcard_match(pattern, name)) return;
    std::string line = lsub ? "LSUB (" : "LIST (";
    if (lsub) {
      if (!entry.subscribed) return;
    } else {
      if (!entry.exists && !entry.children) return;  // a subscription to nothing
      if (!entry.exists) line += "\\Noselect ";
      line += entry.children ? "\\HasChildren" : "\\HasNoChildren";
    }
    line += ") \"/\" ";
    append_astring(line, name);
    untagged(line);
  };
  if (const auto inbox = names.find("INBOX"); inbox != names.end())
    emit(inbox->first, inbox->second);
  for (const auto& [name, entry] : names) {
    if (name != "INBOX") emit(name, entry);
  }
  finish(c.tag, "OK", lsub ? "LSUB completed" : "LIST completed");
}

void Session::do_status(const Command& c) {
  const Result<FolderStatus> status = backend_->status(c.mailbox);
  if (!status) {
    finish(c.tag, "NO", refusal(status.error()));
    return;
  }
  std::string line = "STATUS ";
  append_astring(line, c.mailbox);
  line += " (";
  for (std::size_t i = 0; i < c.status_items.size(); ++i) {
    if (i != 0) line += ' ';
    switch (c.status_items[i]) {
      case StatusItem::messages:
        line += "MESSAGES " + std::to_string(status->messages);
        break;
      case StatusItem::recent:
        line += "RECENT " + std::to_string(status->recent);
        break;
      case StatusItem::uidnext:
        line += "UIDNEXT " + std::to_string(status->uidnext);
        break;
      case StatusItem::uidvalidity:
        line += "UIDVALIDITY " + std::to_string(status->uidvalidity);
        break;
      case StatusItem::unseen:
        line += "UNSEEN " + std::to_string(status->unseen);
        break;
    }
  }
  line += ')';
  untagged(line);
  finish(c.tag, "OK", "STATUS completed");
}

void Session::do_append(const Command& c) {
  if (c.message.empty()) {
    finish(c.tag, "NO", "Cannot append an empty message");
    return;
  }
  const Result<AppendResult> appended =
      backend_->append(c.mailbox, c.flags, c.internal_date, c.message);
  if (!appended) {
    if (appended.error().code == Errc::no_such_folder) {
      finish(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    } else {
      finish(c.tag, "NO", refusal(appended.error()));
    }
    return;
  }
  finish(c.tag, "OK",
         "[APPENDUID " + std::to_string(appended->uidvalidity) + " " +
             std::to_string(appended->uid) + "] APPEND completed");
}

void Session::do_close(const Command& c) {
  const bool close = c.name == CommandName::close;
  if (close && !selected_->read_only) {
    // RFC 3501 §6.4.2: expunge silently.
    std::vector<std::uint32_t> uids;
    for (const Slot& slot : selected_->slots) {
      if (slot.flags.system & kDeleted) uids.push_back(slot.uid);
    }
    if (!uids.empty()) (void)backend_->expunge(selected_->folder, uids);
  }
  deselect();
  finish(c.tag, "OK", close ? "CLOSE completed" : "UNSELECT completed");
}

void Session::do_expunge(const Command& c) {
  if (selected_->read_only) {
    finish(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
    return;
  }
  resync(true);  // act on the flags as they are now
  if (ended_) return;
  std::optional<std::vector<std::size_t>> in_set;
  if (c.uid) in_set = resolve(c.set, true);
  std::vector<std::uint32_t> uids;
  const auto consider = [&](std::size_t i) {
    const Slot& slot = selected_->slots[i];
    if (!slot.gone && (slot.flags.system & kDeleted)) uids.push_back(slot.uid);
  };
  if (in_set) {
    for (std::size_t i : *in_set) consider(i);
  } else {
    for (std::size_t i = 0; i < selected_->slots.size(); ++i) consider(i);
  }
  if (!uids.empty()) {
    const Result<std::vector<std::uint32_t>> removed = backend_->expunge(selected_->folder, uids);
    if (!removed) {
      finish(c.tag, "NO", refusal(removed.error()));
      return;
    }
    std::vector<std::size_t> indices;
    for (std::uint32_t uid : *removed) {
      const std::size_t i = index_of_uid(uid);
      if (i < selected_->slots.size()) indices.push_back(i);
    }
    std::sort(indices.begin(), indices.end());
    send_expunges(std::move(indices));
  }
  finish(c.tag, "OK", "EXPUNGE completed");
}

void Session::do_search(const Command& c) {
  resync(c.uid);  // answer from the current state (no EXPUNGE before a non-UID SEARCH)
  if (ended_) return;
  if (c.charset && *c.charset != "UTF-8" && *c.charset != "US-ASCII") {
    finish(c.tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset", c.uid);
    return;
  }
  const std::vector<Slot>& slots = selected_->slots;
  std::string line = "SEARCH";
  SearchSubject subject;
  subject.seq_max = static_cast<std::uint32_t>(slots.size());
  subject.uid_max = slots.empty() ? 0 : slots.back().uid;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const Slot& slot = slots[i];
    subject.seq = static_cast<std::uint32_t>(i + 1);
    subject.uid = slot.uid;
    subject.flags = &slot.flags;
    subject.recent = slot.recent;
    subject.internal_date = slot.internal_date;
    subject.size = slot.size;
    subject.load = [this, &slot]() -> std::optional<std::string_view> {
      Result<std::string_view> bytes = backend_->message(selected_->folder, slot.uid);
      if (!bytes) return std::nullopt;
      return *bytes;
    };
    if (search_matches(c.search, subject)) {
      line += ' ';
      line += std::to_string(c.uid ? slot.uid : subject.seq);
    }
  }
  untagged(line);
  finish(c.tag, "OK", "SEARCH completed", c.uid);
}

std::optional<std::vector<std::size_t>> Session::resolve(const SequenceSet& set, bool uid) const {
  const std::vector<Slot>& slots = selected_->slots;
  const std::size_t n = slots.size();
  std::vector<char> mark(n, 0);
  const std::uint32_t largest =
      uid ? (n == 0 ? 0 : slots.back().uid) : static_cast<std::uint32_t>(n);
  for (const SequenceSet::Range& range : set.ranges) {
    const std::uint32_t a = range.first == SequenceSet::kStar ? largest : range.first;
    const std::uint32_t b = range.last == SequenceSet::kStar ? largest : range.last;
    const std::uint32_t lo = std::min(a, b), hi = std::max(a, b);
    if (!uid) {
      if (hi > n) return std::nullopt;
      if (lo == 0) continue;  // "*" in an empty mailbox
      std::fill(mark.begin() + (lo - 1), mark.begin() + hi, 1);
    } else {
      const auto first = std::lower_bound(slots.begin(), slots.end(), lo,
                                          [](const Slot& s, std::uint32_t v) { return s.uid < v; });
      const auto last = std::upper_bound(slots.begin(), slots.end(), hi,
                                         [](std::uint32_t v, const Slot& s) { return v < s.uid; });
      if (first < last)
        std::fill(mark.begin() + (first - slots.begin()), mark.begin() + (last - slots.begin()), 1);
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (mark[i]) out.push_back(i);
  }
  return out;
}

std::size_t Session::index_of_uid(std::uint32_t uid) const {
  const std::vector<Slot>& slots = selected_->slots;
  const auto it = std::lower_bound(slots.begin(), slots.end(), uid,
                                   [](const Slot& s, std::uint32_t v) { return s.uid < v; });
  if (it == slots.end() || it->uid != uid) return slots.size();
  return static_cast<std::size_t>(it - slots.begin());
}

void Session::do_fetch(Command c) {
  resync(c.uid);
  if (ended_) return;
  std::optional<std::vector<std::size_t>> indices = resolve(c.set, c.uid);
  if (!indices) {
    bad(c.tag, "Invalid message sequence number");
    return;
  }
  fetch_ = FetchJob{std::move(c), std::move(*indices), 0};
  wait_ = Wait::fetch;
  continue_fetch();
}

// Sends FETCH responses until the job is done or output_bytes_soft_max is unsent; on_sent()
// calls back when the output drains. The selected folder cannot change meanwhile: no command
// runs and resync() happens only in finish().
void Session::continue_fetch() {
  MTA_ASSERT(fetch_.has_value());
  while (fetch_->next < fetch_->indices.size()) {
    if (out_.size() - out_sent_ > options_.limits.output_bytes_soft_max) return;
    const std::size_t index = fetch_->indices[fetch_->next++];
    fetch_one(fetch_->command, index);
    if (ended_) return;
  }
  FetchJob job = std::move(*fetch_);
  fetch_.reset();
  wait_ = Wait::none;
  finish(job.command.tag, "OK", "FETCH completed", job.command.uid);
  if (!in_process_) process({});
}

bool Session::fetch_one(const Command& c, std::size_t index) {
  Slot& slot = selected_->slots[index];
  const bool bytes_needed = std::any_of(c.fetch.begin(), c.fetch.end(), needs_bytes);
  if (slot.gone && bytes_needed) return false;  // RFC 2180 §4.1.3: say nothing of it
  bool flags_changed = false;
  if (!selected_->read_only && (slot.flags.system & kSeen) == 0 &&
      std::any_of(c.fetch.begin(), c.fetch.end(), sets_seen)) {
    Flags seen;
    seen.system = kSeen;
    const std::uint32_t uid = slot.uid;
    Result<std::vector<FlagUpdate>> updated =
        backend_->store_flags(selected_->folder, std::span(&uid, 1), StoreMode::add, seen);
    if (updated && !updated->empty()) {
      slot.flags = std::move(updated->front().flags);
      flags_changed = true;
    }
  }
  std::string_view bytes;
  std::optional<mime::Part> root;
  if (bytes_needed) {
    Result<std::string_view> read = backend_->message(selected_->folder, slot.uid);
    if (!read) return false;
    bytes = *read;
    root = mime::parse_structure(bytes);
  }
  std::string& out = out_;
  out += "* " + std::to_string(index + 1) + " FETCH (";
  bool first = true;
  const auto item = [&](std::string_view name) {
    if (!first) out += ' ';
    first = false;
    out += name;
  };
  using K = FetchAttribute::Kind;
  const bool uid_listed = std::any_of(c.fetch.begin(), c.fetch.end(),
                                      [](const FetchAttribute& a) { return a.kind == K::uid; });
  if (c.uid && !uid_listed) item("UID " + std::to_string(slot.uid));
  bool flags_sent = false;
  std::string scratch;
  for (const FetchAttribute& att : c.fetch) {
    switch (att.kind) {
      case K::flags:
        item("FLAGS ");
        append_flags(out, slot.flags, slot.recent);
        flags_sent = true;
        break;
      case K::uid:
        item("UID " + std::to_string(slot.uid));
        break;
      case K::internaldate:
        item("INTERNALDATE \"" + format_date_time(slot.internal_date) + "\"");
        break;
      case K::rfc822_size:
        item("RFC822.SIZE " + std::to_string(slot.size));
        break;
      case K::envelope:
        item("ENVELOPE ");
        append_envelope(out,
                        bytes.substr(root->header_begin, root->header_end - root->header_begin));
        break;
      case K::body:
      case K::bodystructure:
        item(att.kind == K::body ? "BODY " : "BODYSTRUCTURE ");
        append_body_structure(out, bytes, *root, att.kind == K::bodystructure);
        break;
      case K::rfc822:
        item("RFC822 ");
        append_literal(out, bytes);
        break;
      case K::rfc822_header:
        item("RFC822.HEADER ");
        append_literal(out,
                       bytes.substr(root->header_begin, root->header_end - root->header_begin));
        break;
      case K::rfc822_text:
        item("RFC822.TEXT ");
        append_literal(out, bytes.substr(root->body_begin));
        break;
      case K::body_section: {
        item("BODY[");
        append_section_spec(out, att.section);
        out += ']';
        const std::optional<std::string_view> octets =
            section_octets(bytes, *root, att.section, scratch);
        if (att.partial) out += "<" + std::to_string(att.partial->first) + ">";
        out += ' ';
        if (!octets) {
          out += "NIL";
          break;
        }
        std::string_view data = *octets;
        if (att.partial) {
          data = data.substr(std::min<std::size_t>(att.partial->first, data.size()),
                             att.partial->second);
        }
        append_literal(out, data);
        break;
      }
    }
  }
  if (flags_changed && !flags_sent) {
    item("FLAGS ");
    append_flags(out, slot.flags, slot.recent);
  }
  out += ")\r\n";
  return true;
}

void Session::send_flags(std::size_t index, bool with_uid) {
  const Slot& slot = selected_->slots[index];
  std::string line = std::to_string(index + 1) + " FETCH (";
  if (with_uid) line += "UID " + std::to_string(slot.uid) + " ";
  line += "FLAGS ";
  append_flags(line, slot.flags, slot.recent);
  line += ')';
  untagged(line);
}

void Session::do_store(const Command& c) {
  if (selected_->read_only) {
    finish(c.tag, "NO", "[READ-ONLY] Mailbox is read-only", c.uid);
    return;
  }
  resync(c.uid);
  if (ended_) return;
  const std::optional<std::vector<std::size_t>> indices = resolve(c.set, c.uid);
  if (!indices) {
    bad(c.tag, "Invalid message sequence number");
    return;
  }
  std::vector<std::uint32_t> uids;
  for (std::size_t i : *indices) {
    if (!selected_->slots[i].gone) uids.push_back(selected_->slots[i].uid);
  }
  if (!uids.empty()) {
    Result<std::vector<FlagUpdate>> updates =
        backend_->store_flags(selected_->folder, uids, c.store_mode, c.flags);
    if (!updates) {
      finish(c.tag, "NO", refusal(updates.error()), c.uid);
      return;
    }
    for (FlagUpdate& update : *updates) {
      const std::size_t i = index_of_uid(update.uid);
      if (i == selected_->slots.size()) continue;
      selected_->slots[i].flags = std::move(update.flags);
      if (!c.silent) send_flags(i, c.uid);
    }
  }
  finish(c.tag, "OK", "STORE completed", c.uid);
}

void Session::do_copy(const Command& c) {
  const bool move = c.name == CommandName::move;
  if (move && selected_->read_only) {
    finish(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
    return;
  }
  resync(true);
  if (ended_) return;
  const std::optional<std::vector<std::size_t>> indices = resolve(c.set, c.uid);
  if (!indices) {
    bad(c.tag, "Invalid message sequence number");
    return;
  }
  std::vector<std::uint32_t> uids;
  for (std::size_t i : *indices) {
    if (!selected_->slots[i].gone) uids.push_back(selected_->slots[i].uid);
  }
  const std::string_view done = move ? "MOVE completed" : "COPY completed";
  if (uids.empty()) {
    finish(c.tag, "OK", done, c.uid || move);
    return;
  }
  Result<CopyResult> copied = move ? backend_->move(selected_->folder, uids, c.mailbox)
                                   : backend_->copy(selected_->folder, uids, c.mailbox);
  if (!copied) {
    if (copied.error().code == Errc::no_such_folder) {
      finish(c.tag, "NO", "[TRYCREATE] Mailbox does not exist", c.uid || move);
    } else {
      finish(c.tag, "NO", refusal(copied.error()), c.uid || move);
    }
    return;
  }
  std::string code;
  if (!copied->dest_uids.empty()) {
    code = "[COPYUID " + std::to_string(copied->uidvalidity) + " ";
    append_uid_set(code, copied->source_uids);
    code += ' ';
    append_uid_set(code, copied->dest_uids);
    code += "] ";
  }
  if (!move) {
    finish(c.tag, "OK", code + std::string(done), c.uid);
    return;
  }
  // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
  if (!code.empty()) untagged("OK " + code + "Moved");
  std::vector<std::size_t> moved;
  for (std::uint32_t uid : copied->source_uids) {
    const std::size_t i = index_of_uid(uid);
    if (i < selected_->slots.size()) moved.push_back(i);
  }
  std::sort(moved.begin(), moved.end());
  send_expunges(std::move(moved));
  finish(c.tag, "OK", done);
}

void Session::do_idle(const Command& c) {
  out_ += "+ idling\r\n";
  wait_ = Wait::idle;
  wait_tag_ = c.tag;
  reader_.set_line_mode(true);
  if (state_ == State::selected) resync(true);
}

void Session::poll() {
  if (ended_ || wait_ != Wait::idle || state_ != State::selected) return;
  resync(true);
}

void Session::close(std::string_view text) {
  if (ended_) return;
  bye(text);
  end();
}

void Session::tls_started() {
  MTA_ASSERT(wait_ == Wait::tls);
  MTA_ASSERT(!ended_);
  tls_ = true;
  wait_ = Wait::none;
  reader_.reset();
}

// ---------------------------------------------------------------------------------------------
// Keeping the selected folder in step.

void Session::send_expunges(std::vector<std::size_t> indices) {
  std::vector<Slot>& slots = selected_->slots;
  for (auto it = indices.rbegin(); it != indices.rend(); ++it) {
    untagged(std::to_string(*it + 1) + " EXPUNGE");
    slots[*it].uid = 0;  // marks it for removal below (no live slot has uid 0)
  }
  std::erase_if(slots, [](const Slot& s) { return s.uid == 0; });
}

void Session::resync(bool allow_expunge) {
  if (!selected_ || ended_) return;
  Selected& s = *selected_;
  const Result<std::uint64_t> counter = backend_->change_counter(s.folder);
  if (!counter) {
    bye("Selected mailbox was deleted or renamed");
    end();
    return;
  }
  if (*counter == s.change_counter && !(allow_expunge && s.expunges_pending)) return;
  std::vector<std::size_t> flag_changes;
  std::size_t added = 0;
  if (*counter != s.change_counter) {
    Result<FolderView> view = backend_->open(s.folder, !s.read_only);
    if (!view || view->uidvalidity != s.uidvalidity) {
      bye("Selected mailbox was deleted or renamed");
      end();
      return;
    }
    // Both lists ascend by uid: one merge pass.
    const std::vector<MessageInfo>& messages = view->messages;
    std::size_t j = 0;
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
      Slot& slot = s.slots[i];
      while (j < messages.size() && messages[j].uid < slot.uid) ++j;
      if (j < messages.size() && messages[j].uid == slot.uid) {
        if (!slot.gone && messages[j].flags != slot.flags) {
          slot.flags = messages[j].flags;
          flag_changes.push_back(i);
        }
      } else {
        slot.gone = true;
      }
    }
    for (const MessageInfo& m : messages) {
      if (m.uid <= s.uid_seen_max) continue;
      Slot slot;
      slot.uid = m.uid;
      slot.flags = m.flags;
      slot.internal_date = m.internal_date;
      slot.size = m.size;
      slot.recent = m.uid >= view->recent_uid_min;
      s.uid_seen_max = m.uid;
      s.slots.push_back(std::move(slot));
      ++added;
    }
    s.change_counter = view->change_counter;
    s.uidnext = view->uidnext;
  }
  for (std::size_t i : flag_changes) send_flags(i, false);
  std::vector<std::size_t> gone;
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    if (s.slots[i].gone) gone.push_back(i);
  }
  if (allow_expunge) {
    send_expunges(std::move(gone));
    s.expunges_pending = false;
  } else {
    s.expunges_pending = !gone.empty();
  }
  if (added != 0) {
    untagged(std::to_string(s.slots.size()) + " EXISTS");
    const auto recent =
        std::count_if(s.slots.begin(), s.slots.end(), [](const Slot& slot) { return slot.recent; });
    untagged(std::to_string(recent) + " RECENT");
  }
}

}  // namespace mta::imap
