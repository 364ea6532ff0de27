// CommandReader (framing by lines and literals) and parse_command (RFC 3501 §9 grammar, by
// recursive descent over the framed text). The grammar rules are quoted beside the code that
// reads them. The parser counts tokens and nesting against CommandLimits, so no input makes it
// recurse or allocate without bound.
#include "proto/imap/command.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "proto/imap/errc.h"

namespace mta::imap {

// ---------------------------------------------------------------------------------------------
// Small helpers.

bool SequenceSet::contains(std::uint32_t value, std::uint32_t largest) const {
  for (const Range& range : ranges) {
    const std::uint32_t a = range.first == kStar ? largest : range.first;
    const std::uint32_t b = range.last == kStar ? largest : range.last;
    if (value >= std::min(a, b) && value <= std::max(a, b)) return true;
  }
  return false;
}

// Howard Hinnant's days_from_civil.
Day day_from_civil(int year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

Day day_of(std::int64_t unix_seconds) {
  std::int64_t days = unix_seconds / 86400;
  if (unix_seconds % 86400 < 0) --days;
  return static_cast<Day>(days);
}

namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int year;
  unsigned month, day;
};

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2 ? 1 : 0)), m, d};
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ATOM-CHAR = <any CHAR except atom-specials>; atom-specials = "(" / ")" / "{" / SP / CTL /
// list-wildcards / quoted-specials / resp-specials. Octets over 0x7f are accepted too: some
// clients send UTF-8 mailbox names and search strings as atoms.
bool is_atom_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}
// ASTRING-CHAR = ATOM-CHAR / resp-specials
bool is_astring_char(char c) { return c == ']' || is_atom_char(c); }
// list-char = ATOM-CHAR / list-wildcards / resp-specials
bool is_list_char(char c) { return c == '%' || c == '*' || is_astring_char(c); }
// tag = 1*<any ASTRING-CHAR except "+">
bool is_tag_char(char c) { return c != '+' && is_astring_char(c); }

std::optional<unsigned> month_of(std::string_view name) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (iequals(name, kMonths[i])) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

template <typename T>
std::optional<T> parse_uint(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
  }
  T value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<Day> parse_date(std::string_view text) {
  // date-text = date-day "-" date-month "-" date-year; date-day = 1*2DIGIT
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 2) return std::nullopt;
  const std::optional<unsigned> day = parse_uint<unsigned>(text.substr(0, dash));
  text.remove_prefix(dash + 1);
  if (text.size() != 8 || text[3] != '-') return std::nullopt;
  const std::optional<unsigned> month = month_of(text.substr(0, 3));
  const std::optional<unsigned> year = parse_uint<unsigned>(text.substr(4));
  if (!day || !month || !year || *day < 1 || *day > 31) return std::nullopt;
  return day_from_civil(static_cast<int>(*year), *month, *day);
}

std::optional<std::int64_t> parse_date_time(std::string_view text) {
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
  // date-day-fixed = (SP DIGIT) / 2DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT;
  // zone = ("+" / "-") 4DIGIT. (Here without the quotes.)
  if (text.size() != 26) return std::nullopt;
  if (text[2] != '-' || text[6] != '-' || text[11] != ' ' || text[14] != ':' || text[17] != ':' ||
      text[20] != ' ' || (text[21] != '+' && text[21] != '-')) {
    return std::nullopt;
  }
  const std::string_view day_text = text[0] == ' ' ? text.substr(1, 1) : text.substr(0, 2);
  const std::optional<unsigned> day = parse_uint<unsigned>(day_text);
  const std::optional<unsigned> month = month_of(text.substr(3, 3));
  const std::optional<unsigned> year = parse_uint<unsigned>(text.substr(7, 4));
  const std::optional<unsigned> hour = parse_uint<unsigned>(text.substr(12, 2));
  const std::optional<unsigned> minute = parse_uint<unsigned>(text.substr(15, 2));
  const std::optional<unsigned> second = parse_uint<unsigned>(text.substr(18, 2));
  const std::optional<unsigned> zone_h = parse_uint<unsigned>(text.substr(22, 2));
  const std::optional<unsigned> zone_m = parse_uint<unsigned>(text.substr(24, 2));
  if (!day || !month || !year || !hour || !minute || !second || !zone_h || !zone_m) {
    return std::nullopt;
  }
  if (*day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60 || *zone_m > 59) {
    return std::nullopt;
  }
  const std::int64_t zone =
      static_cast<std::int64_t>(*zone_h * 3600 + *zone_m * 60) * (text[21] == '-' ? -1 : 1);
  const std::int64_t days = day_from_civil(static_cast<int>(*year), *month, *day);
  return days * 86400 + static_cast<std::int64_t>(*hour * 3600 + *minute * 60 + *second) - zone;
}

std::string format_date_time(std::int64_t unix_seconds) {
  const Day days = day_of(unix_seconds);
  const std::int64_t in_day = unix_seconds - static_cast<std::int64_t>(days) * 86400;
  const Civil civil = civil_from_days(days);
  char buffer[64];
  const int n =
      std::snprintf(buffer, sizeof buffer, "%02u-%s-%04d %02d:%02d:%02d +0000", civil.day,
                    kMonths[civil.month - 1].data(), civil.year, static_cast<int>(in_day / 3600),
                    static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60));
  return std::string(buffer, static_cast<std::size_t>(std::max(n, 0)));
}

std::string_view to_string(CommandName name) {
  switch (name) {
    case CommandName::capability:
      return "CAPABILITY";
    case CommandName::noop:
      return "NOOP";
    case CommandName::logout:
      return "LOGOUT";
    case CommandName::starttls:
      return "STARTTLS";
    case CommandName::authenticate:
      return "AUTHENTICATE";
    case CommandName::login:
      return "LOGIN";
    case CommandName::select:
      return "SELECT";
    case CommandName::examine:
      return "EXAMINE";
    case CommandName::create:
      return "CREATE";
    case CommandName::delete_:
      return "DELETE";
    case CommandName::rename:
      return "RENAME";
    case CommandName::subscribe:
      return "SUBSCRIBE";
    case CommandName::unsubscribe:
      return "UNSUBSCRIBE";
    case CommandName::list:
      return "LIST";
    case CommandName::lsub:
      return "LSUB";
    case CommandName::status:
      return "STATUS";
    case CommandName::append:
      return "APPEND";
    case CommandName::check:
      return "CHECK";
    case CommandName::close:
      return "CLOSE";
    case CommandName::expunge:
      return "EXPUNGE";
    case CommandName::search:
      return "SEARCH";
    case CommandName::fetch:
      return "FETCH";
    case CommandName::store:
      return "STORE";
    case CommandName::copy:
      return "COPY";
    case CommandName::move:
      return "MOVE";
    case CommandName::idle:
      return "IDLE";
    case CommandName::enable:
      return "ENABLE";
    case CommandName::namespace_:
      return "NAMESPACE";
    case CommandName::unselect:
      return "UNSELECT";
    case CommandName::id:
      return "ID";
  }
  return "UNKNOWN";
}

std::string command_tag(std::string_view text) {
  const std::size_t end = std::min(text.find(' '), text.size());
  const std::string_view tag = text.substr(0, end);
  if (tag.empty() || !std::all_of(tag.begin(), tag.end(), is_tag_char)) return "*";
  return std::string(tag);
}

std::optional<std::pair<std::uint64_t, bool>> literal_at_end(std::string_view line) {
  // literal = "{" number64 ["+"] "}" CRLF *CHAR8
  if (!line.ends_with('}')) return std::nullopt;
  line.remove_suffix(1);
  bool non_sync = false;
  if (line.ends_with('+')) {
    non_sync = true;
    line.remove_suffix(1);
  }
  const std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  const std::optional<std::uint64_t> n = parse_uint<std::uint64_t>(line.substr(open + 1));
  if (!n || line.size() - open - 1 > 20) return std::nullopt;
  return std::make_pair(*n, non_sync);
}

// ---------------------------------------------------------------------------------------------
// Parser.

namespace {

constexpr std::size_t kTagBytesMax = 64;

class Parser {
 public:
  Parser(std::string_view text, const CommandLimits& limits) : s_(text), limits_(limits) {}

  Result<Command> run();

 private:
  // Failure bookkeeping: the first failure wins; every parse function returns false or
  // nullopt after recording one.
  bool fail(std::string_view text) {
    if (error_.empty()) error_ = text;
    return false;
  }
  bool token() {
    if (++tokens_ > limits_.arguments_max) {
      complex_ = true;
      return fail("Too many arguments");
    }
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool expect(char c, std::string_view what) { return eat(c) || fail(what); }
  bool sp() { return expect(' ', "Missing space"); }
  bool end() { return at_end() || fail("Unexpected characters at end of command"); }
  // Reads a run of chars satisfying pred (maybe empty).
  template <typename Pred>
  std::string_view run_of(Pred pred) {
    const std::size_t begin = pos_;
    while (pos_ < s_.size() && pred(s_[pos_])) ++pos_;
    return s_.substr(begin, pos_ - begin);
  }
  // Nesting depth guard for "(" lists and recursive search keys.
  bool enter() {
    if (++depth_ > limits_.nesting_max) {
      complex_ = true;
      return fail("Too deeply nested");
    }
    return true;
  }
  void leave() { --depth_; }

  std::optional<std::string_view> atom();
  std::optional<std::string> quoted();
  std::optional<std::string> literal();
  std::optional<std::string> string();
  std::optional<std::string> astring();
  std::optional<std::string> mailbox();
  std::optional<std::string> list_mailbox();
  std::optional<std::uint32_t> number(bool nonzero);
  std::optional<std::uint64_t> number64();
  std::optional<SequenceSet> sequence_set();
  bool flag(Flags& flags);
  std::optional<Flags> flag_list();
  std::optional<Day> date();
  std::optional<SearchKey> search_key();
  bool fetch_att(std::vector<FetchAttribute>& out);
  bool section(FetchAttribute& att);
  bool skip_id_params();

  bool command_body(Command& command, std::string_view name);
  // The arguments of one command, after its name.
  bool authenticate_args(Command& command);
  bool login_args(Command& command);
  bool status_args(Command& command);
  bool append_args(Command& command);
  bool search_args(Command& command);
  bool fetch_args(Command& command);
  bool store_args(Command& command);

  std::string_view s_;
  const CommandLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t tokens_ = 0;
  std::size_t depth_ = 0;
  std::string error_;
  bool complex_ = false;
};

// atom = 1*ATOM-CHAR
std::optional<std::string_view> Parser::atom() {
  const std::string_view a = run_of(is_atom_char);
  if (a.empty()) {
    fail("Expected an atom");
    return std::nullopt;
  }
  if (!token()) return std::nullopt;
  return a;
}

// quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> /
// "\" quoted-specials
std::optional<std::string> Parser::quoted() {
  if (!eat('"')) return std::nullopt;
  if (!token()) return std::nullopt;
  std::string out;
  while (!at_end()) {
    const char c = s_[pos_++];
    if (c == '"') return out;
    if (c == '\r' || c == '\n' || c == '\0') break;
    if (c == '\\') {
      if (at_end() || (s_[pos_] != '"' && s_[pos_] != '\\')) break;
      out += s_[pos_++];
      continue;
    }
    out += c;
  }
  fail("Bad quoted string");
  return std::nullopt;
}

// literal = "{" number64 ["+"] "}" CRLF *CHAR8 (the framing put CRLF after the brace)
std::optional<std::string> Parser::literal() {
  if (!eat('{')) return std::nullopt;
  if (!token()) return std::nullopt;
  const std::optional<std::uint64_t> n = parse_uint<std::uint64_t>(run_of(is_digit));
  eat('+');
  if (!n || !eat('}') || !eat('\r') || !eat('\n')) {
    fail("Bad literal");
    return std::nullopt;
  }
  if (*n > s_.size() - pos_) {
    fail("Literal longer than the command");
    return std::nullopt;
  }
  std::string out(s_.substr(pos_, static_cast<std::size_t>(*n)));
  pos_ += static_cast<std::size_t>(*n);
  return out;
}

// string = quoted / literal
std::optional<std::string> Parser::string() {
  if (peek() == '"') return quoted();
  if (peek() == '{') return literal();
  fail("Expected a string");
  return std::nullopt;
}

// astring = 1*ASTRING-CHAR / string
std::optional<std::string> Parser::astring() {
  if (peek() == '"' || peek() == '{') return string();
  const std::string_view a = run_of(is_astring_char);
  if (a.empty()) {
    fail("Expected a string");
    return std::nullopt;
  }
  if (!token()) return std::nullopt;
  return std::string(a);
}

// mailbox = "INBOX" / astring (INBOX is case-insensitive)
std::optional<std::string> Parser::mailbox() {
  std::optional<std::string> name = astring();
  if (name && iequals(*name, "INBOX")) *name = "INBOX";
  return name;
}

// list-mailbox = 1*list-char / string
std::optional<std::string> Parser::list_mailbox() {
  if (peek() == '"' || peek() == '{') return string();
  const std::string_view a = run_of(is_list_char);
  if (a.empty()) {
    fail("Expected a mailbox pattern");
    return std::nullopt;
  }
  if (!token()) return std::nullopt;
  return std::string(a);
}

// number = 1*DIGIT (32 bits); nz-number = digit-nz *DIGIT
std::optional<std::uint32_t> Parser::number(bool nonzero) {
  const std::optional<std::uint32_t> n = parse_uint<std::uint32_t>(run_of(is_digit));
  if (!n || (nonzero && *n == 0)) {
    fail("Expected a number");
    return std::nullopt;
  }
  return n;
}

std::optional<std::uint64_t> Parser::number64() {
  const std::optional<std::uint64_t> n = parse_uint<std::uint64_t>(run_of(is_digit));
  if (!n) {
    fail("Expected a number");
    return std::nullopt;
  }
  return n;
}

// sequence-set = (seq-number / seq-range) ["," sequence-set]; seq-range = seq-number ":"
// seq-number; seq-number = nz-number / "*"
std::optional<SequenceSet> Parser::sequence_set() {
  SequenceSet set;
  const auto seq_number = [&]() -> std::optional<std::uint32_t> {
    if (eat('*')) return SequenceSet::kStar;
    return number(true);
  };
  do {
    if (!token()) return std::nullopt;
    const std::optional<std::uint32_t> first = seq_number();
    if (!first) return fail("Bad sequence set"), std::nullopt;
    std::uint32_t last = *first;
    if (eat(':')) {
      const std::optional<std::uint32_t> second = seq_number();
      if (!second) return fail("Bad sequence set"), std::nullopt;
      last = *second;
    }
    set.ranges.push_back({*first, last});
  } while (eat(','));
  return set;
}

// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword /
// flag-extension. \Recent cannot be stored and other flag-extensions are ignored.
bool Parser::flag(Flags& flags) {
  const bool system = eat('\\');
  const std::optional<std::string_view> name = atom();
  if (!name) return fail("Bad flag");
  if (!system) {
    const bool known = std::any_of(flags.keywords.begin(), flags.keywords.end(),
                                   [&](const std::string& k) { return iequals(k, *name); });
    if (!known) flags.keywords.emplace_back(*name);
    return true;
  }
  static constexpr std::pair<std::string_view, std::uint8_t> kSystem[] = {{"Seen", kSeen},
                                                                          {"Answered", kAnswered},
                                                                          {"Flagged", kFlagged},
                                                                          {"Deleted", kDeleted},
                                                                          {"Draft", kDraft}};
  for (const auto& [text, bit] : kSystem) {
    if (iequals(*name, text)) flags.system |= bit;
  }
  return true;
}

// flag-list = "(" [flag *(SP flag)] ")"
std::optional<Flags> Parser::flag_list() {
  if (!expect('(', "Expected a flag list")) return std::nullopt;
  Flags flags;
  if (!eat(')')) {
    do {
      if (!flag(flags)) return std::nullopt;
    } while (eat(' '));
    if (!expect(')', "Bad flag list")) return std::nullopt;
  }
  return flags;
}

// date = date-text / DQUOTE date-text DQUOTE
std::optional<Day> Parser::date() {
  const bool quoted = eat('"');
  const std::string_view text =
      run_of([](char c) { return is_digit(c) || is_alpha(c) || c == '-'; });
  if (quoted && !eat('"')) return fail("Bad date"), std::nullopt;
  const std::optional<Day> day = parse_date(text);
  if (!day) return fail("Bad date"), std::nullopt;
  if (!token()) return std::nullopt;
  return day;
}

std::optional<SearchKey> Parser::search_key() {
  if (!enter()) return std::nullopt;
  struct Leave {
    Parser* p;
    ~Leave() { p->leave(); }
  } leave_guard{this};
  SearchKey key;
  if (eat('(')) {
    key.kind = SearchKey::Kind::group;
    do {
      std::optional<SearchKey> child = search_key();
      if (!child) return std::nullopt;
      key.children.push_back(std::move(*child));
    } while (eat(' '));
    if (!expect(')', "Unbalanced parentheses")) return std::nullopt;
    return key;
  }
  if (is_digit(peek()) || peek() == '*') {
    key.kind = SearchKey::Kind::sequence_set;
    std::optional<SequenceSet> set = sequence_set();
    if (!set) return std::nullopt;
    key.set = std::move(*set);
    return key;
  }
  const std::optional<std::string_view> name = atom();
  if (!name) return fail("Bad search key"), std::nullopt;
  using K = SearchKey::Kind;
  enum class Arg { none, astring, date, number, keyword, header, key, two_keys, set };
  struct Entry {
    std::string_view name;
    K kind;
    Arg arg;
  };
  static constexpr Entry kKeys[] = {
      {"ALL", K::all, Arg::none},
      {"ANSWERED", K::answered, Arg::none},
      {"BCC", K::bcc, Arg::astring},
      {"BEFORE", K::before, Arg::date},
      {"BODY", K::body, Arg::astring},
      {"CC", K::cc, Arg::astring},
      {"DELETED", K::deleted, Arg::none},
      {"DRAFT", K::draft, Arg::none},
      {"FLAGGED", K::flagged, Arg::none},
      {"FROM", K::from, Arg::astring},
      {"HEADER", K::header, Arg::header},
      {"KEYWORD", K::keyword, Arg::keyword},
      {"LARGER", K::larger, Arg::number},
      {"NEW", K::new_, Arg::none},
      {"NOT", K::not_, Arg::key},
      {"OLD", K::old, Arg::none},
      {"ON", K::on, Arg::date},
      {"OR", K::or_, Arg::two_keys},
      {"RECENT", K::recent, Arg::none},
      {"SEEN", K::seen, Arg::none},
      {"SENTBEFORE", K::sentbefore, Arg::date},
      {"SENTON", K::senton, Arg::date},
      {"SENTSINCE", K::sentsince, Arg::date},
      {"SINCE", K::since, Arg::date},
      {"SMALLER", K::smaller, Arg::number},
      {"SUBJECT", K::subject, Arg::astring},
      {"TEXT", K::text, Arg::astring},
      {"TO", K::to, Arg::astring},
      {"UID", K::uid, Arg::set},
      {"UNANSWERED", K::unanswered, Arg::none},
      {"UNDELETED", K::undeleted, Arg::none},
      {"UNDRAFT", K::undraft, Arg::none},
      {"UNFLAGGED", K::unflagged, Arg::none},
      {"UNKEYWORD", K::unkeyword, Arg::keyword},
      {"UNSEEN", K::unseen, Arg::none},
  };
  const Entry* entry = nullptr;
  for (const Entry& e : kKeys) {
    if (iequals(*name, e.name)) entry = &e;
  }
  if (entry == nullptr) return fail("Unknown search key"), std::nullopt;
  key.kind = entry->kind;
  switch (entry->arg) {
    case Arg::none:
      return key;
    case Arg::astring: {
      if (!sp()) return std::nullopt;
      std::optional<std::string> value = astring();
      if (!value) return std::nullopt;
      key.value = std::move(*value);
      return key;
    }
    case Arg::date: {
      if (!sp()) return std::nullopt;
      const std::optional<Day> day = date();
      if (!day) return std::nullopt;
      key.day = *day;
      return key;
    }
    case Arg::number: {
      if (!sp() || !token()) return std::nullopt;
      const std::optional<std::uint64_t> n = number64();
      if (!n) return std::nullopt;
      key.number = *n;
      return key;
    }
    case Arg::keyword: {
      if (!sp()) return std::nullopt;
      const std::optional<std::string_view> keyword = atom();
      if (!keyword) return std::nullopt;
      key.value = std::string(*keyword);
      return key;
    }
    case Arg::header: {
      if (!sp()) return std::nullopt;
      std::optional<std::string> field = astring();
      if (!field || !sp()) return std::nullopt;
      std::optional<std::string> value = astring();
      if (!value) return std::nullopt;
      key.field = std::move(*field);
      key.value = std::move(*value);
      return key;
    }
    case Arg::key:
    case Arg::two_keys: {
      for (int i = 0; i < (entry->arg == Arg::key ? 1 : 2); ++i) {
        if (!sp()) return std::nullopt;
        std::optional<SearchKey> child = search_key();
        if (!child) return std::nullopt;
        key.children.push_back(std::move(*child));
      }
      return key;
    }
    case Arg::set: {
      if (!sp()) return std::nullopt;
      std::optional<SequenceSet> set = sequence_set();
      if (!set) return std::nullopt;
      key.set = std::move(*set);
      return key;
    }
  }
  return key;
}

// section = "[" [section-spec] "]"; section-spec = section-msgtext / (section-part ["."
// section-text]); section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
// "TEXT"; section-part = nz-number *("." nz-number); section-text = section-msgtext / "MIME";
// header-list = "(" header-fld-name *(SP header-fld-name) ")"
bool Parser::section(FetchAttribute& att) {
  if (!expect('[', "Expected a section")) return false;
  Section& section = att.section;
  while (is_digit(peek())) {
    if (!token() || section.part.size() >= 64) return fail("Bad section");
    const std::optional<std::uint32_t> n = number(true);
    if (!n) return false;
    section.part.push_back(*n);
    if (!eat('.')) break;
    if (!is_digit(peek()) && !is_alpha(peek())) return fail("Bad section");
  }
  const std::string_view text = run_of([](char c) { return is_alpha(c) || c == '.'; });
  if (!text.empty()) {
    if (iequals(text, "HEADER")) {
      section.text = Section::Text::header;
    } else if (iequals(text, "TEXT")) {
      section.text = Section::Text::text;
    } else if (iequals(text, "MIME") && !section.part.empty()) {
      section.text = Section::Text::mime;
    } else if (iequals(text, "HEADER.FIELDS") || iequals(text, "HEADER.FIELDS.NOT")) {
      section.text =
          text.size() == 13 ? Section::Text::header_fields : Section::Text::header_fields_not;
      if (!sp() || !expect('(', "Expected a header list")) return false;
      do {
        std::optional<std::string> field = astring();
        if (!field) return false;
        section.fields.push_back(std::move(*field));
      } while (eat(' '));
      if (!expect(')', "Bad header list")) return false;
    } else {
      return fail("Bad section");
    }
  }
  if (!expect(']', "Bad section")) return false;
  if (eat('<')) {
    const std::optional<std::uint32_t> origin = number(false);
    if (!origin || !expect('.', "Bad partial")) return false;
    const std::optional<std::uint32_t> octets = number(true);
    if (!octets || !expect('>', "Bad partial")) return false;
    att.partial = std::make_pair(*origin, *octets);
  }
  return true;
}

// fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" /
// ".TEXT"] / "BODY" ["STRUCTURE"] / "UID" / "BODY" section ["<" number "." nz-number ">"] /
// "BODY.PEEK" section ["<" number "." nz-number ">"]
bool Parser::fetch_att(std::vector<FetchAttribute>& out) {
  if (!token()) return false;
  const std::string_view name =
      run_of([](char c) { return is_alpha(c) || is_digit(c) || c == '.'; });
  using K = FetchAttribute::Kind;
  FetchAttribute att;
  if (peek() == '[' && (iequals(name, "BODY") || iequals(name, "BODY.PEEK"))) {
    att.kind = K::body_section;
    att.peek = name.size() == 9;
    if (!section(att)) return false;
    out.push_back(std::move(att));
    return true;
  }
  static constexpr std::pair<std::string_view, K> kSimple[] = {
      {"ENVELOPE", K::envelope},           {"FLAGS", K::flags},
      {"INTERNALDATE", K::internaldate},   {"RFC822", K::rfc822},
      {"RFC822.HEADER", K::rfc822_header}, {"RFC822.SIZE", K::rfc822_size},
      {"RFC822.TEXT", K::rfc822_text},     {"BODY", K::body},
      {"BODYSTRUCTURE", K::bodystructure}, {"UID", K::uid},
  };
  for (const auto& [text, kind] : kSimple) {
    if (iequals(name, text)) {
      att.kind = kind;
      out.push_back(std::move(att));
      return true;
    }
  }
  return fail("Unknown fetch attribute");
}

// id-params-list = "(" *( string SP nstring ) ")" / nil. The values are not used.
bool Parser::skip_id_params() {
  if (!eat('(')) {
    const std::optional<std::string_view> nil = atom();
    return (nil && iequals(*nil, "NIL")) || fail("Bad ID parameters");
  }
  if (eat(')')) return true;
  do {
    if (!string() || !sp()) return false;
    if (peek() == '"' || peek() == '{') {
      if (!string()) return false;
    } else {
      const std::optional<std::string_view> nil = atom();
      if (!nil || !iequals(*nil, "NIL")) return fail("Bad ID parameters");
    }
  } while (eat(' '));
  return expect(')', "Bad ID parameters");
}

namespace {

// The command a name (any case) stands for, or nothing for an unknown one.
std::optional<CommandName> command_named(std::string_view name) {
  static constexpr std::pair<std::string_view, CommandName> kNames[] = {
      {"CAPABILITY", CommandName::capability},
      {"NOOP", CommandName::noop},
      {"LOGOUT", CommandName::logout},
      {"STARTTLS", CommandName::starttls},
      {"AUTHENTICATE", CommandName::authenticate},
      {"LOGIN", CommandName::login},
      {"SELECT", CommandName::select},
      {"EXAMINE", CommandName::examine},
      {"CREATE", CommandName::create},
      {"DELETE", CommandName::delete_},
      {"RENAME", CommandName::rename},
      {"SUBSCRIBE", CommandName::subscribe},
      {"UNSUBSCRIBE", CommandName::unsubscribe},
      {"LIST", CommandName::list},
      {"LSUB", CommandName::lsub},
      {"STATUS", CommandName::status},
      {"APPEND", CommandName::append},
      {"CHECK", CommandName::check},
      {"CLOSE", CommandName::close},
      {"EXPUNGE", CommandName::expunge},
      {"SEARCH", CommandName::search},
      {"FETCH", CommandName::fetch},
      {"STORE", CommandName::store},
      {"COPY", CommandName::copy},
      {"MOVE", CommandName::move},
      {"IDLE", CommandName::idle},
      {"ENABLE", CommandName::enable},
      {"NAMESPACE", CommandName::namespace_},
      {"UNSELECT", CommandName::unselect},
      {"ID", CommandName::id},
  };
  for (const auto& [text, value] : kNames) {
    if (iequals(name, text)) return value;
  }
  return std::nullopt;
}

}  // namespace

bool Parser::command_body(Command& c, std::string_view name) {
  using N = CommandName;
  const std::optional<CommandName> named = command_named(name);
  if (!named) return fail("Unknown command");
  c.name = *named;
  if (c.uid && c.name != N::fetch && c.name != N::search && c.name != N::store &&
      c.name != N::copy && c.name != N::move && c.name != N::expunge) {
    return fail("Unknown UID command");
  }
  switch (c.name) {
    case N::capability:
    case N::noop:
    case N::logout:
    case N::starttls:
    case N::check:
    case N::close:
    case N::idle:
    case N::namespace_:
    case N::unselect:
      return end();
    case N::expunge: {
      if (c.uid) {
        if (!sp()) return false;
        std::optional<SequenceSet> set = sequence_set();
        if (!set) return false;
        c.set = std::move(*set);
      }
      return end();
    }
    case N::authenticate:
      return authenticate_args(c);
    case N::login:
      return login_args(c);
    case N::select:
    case N::examine:
    case N::create:
    case N::delete_:
    case N::subscribe:
    case N::unsubscribe: {
      if (!sp()) return false;
      std::optional<std::string> mailbox = this->mailbox();
      if (!mailbox) return false;
      c.mailbox = std::move(*mailbox);
      return end();
    }
    case N::rename: {
      if (!sp()) return false;
      std::optional<std::string> from = mailbox();
      if (!from || !sp()) return false;
      std::optional<std::string> to = mailbox();
      if (!to) return false;
      c.mailbox = std::move(*from);
      c.new_mailbox = std::move(*to);
      return end();
    }
    case N::list:
    case N::lsub: {
      // list = "LIST" SP mailbox SP list-mailbox
      if (!sp()) return false;
      std::optional<std::string> reference = mailbox();
      if (!reference || !sp()) return false;
      std::optional<std::string> pattern = list_mailbox();
      if (!pattern) return false;
      c.reference = std::move(*reference);
      c.pattern = std::move(*pattern);
      return end();
    }
    case N::status:
      return status_args(c);
    case N::append:
      return append_args(c);
    case N::search:
      return search_args(c);
    case N::fetch:
      return fetch_args(c);
    case N::store:
      return store_args(c);
    case N::copy:
    case N::move: {
      if (!sp()) return false;
      std::optional<SequenceSet> set = sequence_set();
      if (!set || !sp()) return false;
      c.set = std::move(*set);
      std::optional<std::string> mailbox = this->mailbox();
      if (!mailbox) return false;
      c.mailbox = std::move(*mailbox);
      return end();
    }
    case N::enable: {
      // enable = "ENABLE" 1*(SP capability)
      if (!sp()) return false;
      do {
        const std::optional<std::string_view> capability = atom();
        if (!capability) return false;
        c.capabilities.push_back(upper(*capability));
      } while (eat(' '));
      return end();
    }
    case N::id: {
      // id = "ID" SP id-params-list
      if (!sp() || !skip_id_params()) return false;
      return end();
    }
  }
  return fail("Unknown command");
}

bool Parser::authenticate_args(Command& c) {
  // authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
  if (!sp()) return false;
  const std::optional<std::string_view> mechanism = atom();
  if (!mechanism) return false;
  c.mechanism = upper(*mechanism);
  if (eat(' ')) {
    const std::optional<std::string_view> response = atom();
    if (!response) return false;
    c.initial_response = std::string(*response);
  }
  return end();
}

bool Parser::login_args(Command& c) {
  // login = "LOGIN" SP userid SP password
  if (!sp()) return false;
  std::optional<std::string> user = astring();
  if (!user || !sp()) return false;
  std::optional<std::string> password = astring();
  if (!password) return false;
  c.user = std::move(*user);
  c.password = std::move(*password);
  return end();
}

bool Parser::status_args(Command& c) {
  // status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
  if (!sp()) return false;
  std::optional<std::string> mailbox = this->mailbox();
  if (!mailbox || !sp() || !expect('(', "Expected status items")) return false;
  c.mailbox = std::move(*mailbox);
  do {
    const std::optional<std::string_view> item = atom();
    if (!item) return false;
    static constexpr std::pair<std::string_view, StatusItem> kItems[] = {
        {"MESSAGES", StatusItem::messages},
        {"RECENT", StatusItem::recent},
        {"UIDNEXT", StatusItem::uidnext},
        {"UIDVALIDITY", StatusItem::uidvalidity},
        {"UNSEEN", StatusItem::unseen}};
    bool found = false;
    for (const auto& [text, value] : kItems) {
      if (iequals(*item, text)) {
        c.status_items.push_back(value);
        found = true;
      }
    }
    if (!found) return fail("Unknown status item");
  } while (eat(' '));
  if (!expect(')', "Bad status items")) return false;
  return end();
}

bool Parser::append_args(Command& c) {
  // append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
  if (!sp()) return false;
  std::optional<std::string> mailbox = this->mailbox();
  if (!mailbox || !sp()) return false;
  c.mailbox = std::move(*mailbox);
  if (peek() == '(') {
    std::optional<Flags> flags = flag_list();
    if (!flags || !sp()) return false;
    c.flags = std::move(*flags);
  }
  if (peek() == '"') {
    const std::optional<std::string> text = quoted();
    if (!text) return false;
    c.internal_date = parse_date_time(*text);
    if (!c.internal_date) return fail("Bad date-time");
    if (!sp()) return false;
  }
  if (peek() != '{') return fail("Expected a literal");
  std::optional<std::string> message = literal();
  if (!message) return false;
  c.message = std::move(*message);
  return end();
}

bool Parser::search_args(Command& c) {
  // search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
  if (!sp()) return false;
  const std::size_t mark = pos_;
  const std::string_view word = run_of(is_alpha);
  if (iequals(word, "CHARSET") && peek() == ' ') {
    ++pos_;
    std::optional<std::string> charset = astring();
    if (!charset || !sp()) return false;
    c.charset = upper(*charset);
  } else {
    pos_ = mark;
  }
  do {
    std::optional<SearchKey> key = search_key();
    if (!key) return false;
    c.search.push_back(std::move(*key));
  } while (eat(' '));
  return end();
}

bool Parser::fetch_args(Command& c) {
  // fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "("
  // fetch-att *(SP fetch-att) ")")
  if (!sp()) return false;
  std::optional<SequenceSet> set = sequence_set();
  if (!set || !sp()) return false;
  c.set = std::move(*set);
  using K = FetchAttribute::Kind;
  const auto simple = [](K kind) {
    FetchAttribute att;
    att.kind = kind;
    return att;
  };
  if (eat('(')) {
    do {
      if (!fetch_att(c.fetch)) return false;
    } while (eat(' '));
    if (!expect(')', "Unbalanced parentheses")) return false;
    return end();
  }
  const std::size_t mark = pos_;
  const std::string_view word = run_of(is_alpha);
  if (at_end() && (iequals(word, "ALL") || iequals(word, "FAST") || iequals(word, "FULL"))) {
    c.fetch = {simple(K::flags), simple(K::internaldate), simple(K::rfc822_size)};
    if (!iequals(word, "FAST")) c.fetch.push_back(simple(K::envelope));
    if (iequals(word, "FULL")) c.fetch.push_back(simple(K::body));
    return true;
  }
  pos_ = mark;
  if (!fetch_att(c.fetch)) return false;
  return end();
}

bool Parser::store_args(Command& c) {
  // store = "STORE" SP sequence-set SP store-att-flags; store-att-flags = (["+" / "-"]
  // "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
  if (!sp()) return false;
  std::optional<SequenceSet> set = sequence_set();
  if (!set || !sp()) return false;
  c.set = std::move(*set);
  if (eat('+')) {
    c.store_mode = StoreMode::add;
  } else if (eat('-')) {
    c.store_mode = StoreMode::remove;
  }
  const std::string_view item = run_of([](char ch) { return is_alpha(ch) || ch == '.'; });
  if (iequals(item, "FLAGS.SILENT")) {
    c.silent = true;
  } else if (!iequals(item, "FLAGS")) {
    return fail("Expected FLAGS");
  }
  if (!sp()) return false;
  if (peek() == '(') {
    std::optional<Flags> flags = flag_list();
    if (!flags) return false;
    c.flags = std::move(*flags);
  } else {
    do {
      if (!flag(c.flags)) return false;
    } while (eat(' '));
  }
  return end();
}

Result<Command> Parser::run() {
  Command c;
  // tag SP command
  const std::string_view tag = run_of(is_tag_char);
  if (tag.empty() || tag.size() > kTagBytesMax) {
    return unexpected(Errc::bad_command, "Missing or bad tag");
  }
  c.tag = std::string(tag);
  if (!eat(' ')) return unexpected(Errc::bad_command, "Missing command");
  std::string_view name = run_of(is_alpha);
  if (iequals(name, "UID") && peek() == ' ') {
    ++pos_;
    c.uid = true;
    name = run_of(is_alpha);
  }
  if (name.empty()) return unexpected(Errc::bad_command, "Missing command");
  if (!command_body(c, name)) {
    return unexpected(complex_ ? Errc::too_complex : Errc::bad_command, error_);
  }
  return c;
}

}  // namespace

Result<Command> parse_command(std::string_view text, const CommandLimits& limits) {
  Parser parser(text, limits);
  return parser.run();
}

// ---------------------------------------------------------------------------------------------
// Framing.

namespace {
constexpr std::size_t kTailBytes = 24;  // "{" + 20 digits + "+}" fits
}  // namespace

CommandReader::CommandReader(CommandLimits limits) : limits_(limits) {
  MTA_ASSERT(limits_.line_bytes_max >= 16);
  MTA_ASSERT(limits_.preauth_line_bytes_max >= 16);
}

void CommandReader::set_line_mode(bool on) {
  MTA_ASSERT(text_.empty());
  line_mode_ = on;
}

void CommandReader::reset() {
  mode_ = Mode::line;
  text_.clear();
  text_bytes_ = 0;
  literal_total_ = 0;
  literal_left_ = 0;
  line_begin_ = 0;
  tail_.clear();
  event_.reset();
}

std::optional<ReaderEvent> CommandReader::take() { return std::exchange(event_, std::nullopt); }

bool CommandReader::is_command(std::string_view name) const {
  // tag SP name SP
  const std::size_t space = text_.find(' ');
  if (space == std::string::npos) return false;
  const std::string_view rest = std::string_view(text_).substr(space + 1);
  return rest.size() > name.size() && iequals(rest.substr(0, name.size()), name) &&
         rest[name.size()] == ' ';
}

std::size_t CommandReader::line_max() const {
  return authenticated_ ? limits_.line_bytes_max
                        : std::min(limits_.line_bytes_max, limits_.preauth_line_bytes_max);
}

// Before authentication only LOGIN needs literals (RFC 3501 §6.2.3 userid and password are
// astrings); anything else an unauthenticated client wraps in one is refused unread, so an
// APPEND {52428800} before login costs the server nothing.
std::size_t CommandReader::literal_max() const {
  if (!authenticated_) return is_command("LOGIN") ? limits_.preauth_literal_bytes_max : 0;
  return is_command("APPEND") ? limits_.append_bytes_max : limits_.literal_bytes_max;
}

bool CommandReader::refuse(Errc code) {
  event_ = CommandRefused{command_tag(text_), code, !line_mode_ && is_command("APPEND")};
  text_.clear();
  text_bytes_ = 0;
  literal_total_ = 0;
  line_begin_ = 0;
  tail_.clear();
  return true;
}

void CommandReader::on_line_end() {
  if (text_.size() > line_begin_ && text_.back() == '\r') {
    text_.pop_back();
    --text_bytes_;
  }
  if (line_mode_) {
    event_ = LineComplete{std::exchange(text_, {})};
    text_bytes_ = 0;
    line_begin_ = 0;
    return;
  }
  const std::optional<std::pair<std::uint64_t, bool>> marker =
      literal_at_end(std::string_view(text_).substr(line_begin_));
  if (!marker) {
    event_ = CommandComplete{std::exchange(text_, {})};
    text_bytes_ = 0;
    literal_total_ = 0;
    line_begin_ = 0;
    return;
  }
  const auto [n, non_sync] = *marker;
  const std::size_t max = literal_max();
  if (literal_total_ > max || n > max - literal_total_) {
    refuse(Errc::literal_too_big);
    if (non_sync && !authenticated_) {
      // Its octets are already on the way, as many as the client likes: stop reading.
      std::get<CommandRefused>(*event_).close = true;
      mode_ = Mode::closed;
    } else if (non_sync) {
      // RFC 7888 §4: the client sends the octets anyway; they and the rest of the command are
      // read and dropped.
      mode_ = Mode::skip_literal;
      literal_left_ = n;
    }
    return;
  }
  literal_total_ += static_cast<std::size_t>(n);
  text_ += "\r\n";
  text_bytes_ += 2;
  literal_left_ = n;
  mode_ = n == 0 ? Mode::line : Mode::literal;
  line_begin_ = text_.size();
  if (!non_sync) event_ = ContinuationNeeded{};
}

std::size_t CommandReader::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && !event_) {
    const std::string_view rest = bytes.substr(used);
    switch (mode_) {
      case Mode::closed:
        used = bytes.size();
        break;
      case Mode::literal: {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, rest.size()));
        text_.append(rest.substr(0, n));
        literal_left_ -= n;
        used += n;
        if (literal_left_ == 0) {
          mode_ = Mode::line;
          line_begin_ = text_.size();
        }
        break;
      }
      case Mode::skip_literal: {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, rest.size()));
        literal_left_ -= n;
        used += n;
        if (literal_left_ == 0) {
          mode_ = Mode::skip_line;
          tail_.clear();
        }
        break;
      }
      case Mode::line: {
        const std::size_t lf = rest.find('\n');
        const std::size_t chunk = lf == std::string_view::npos ? rest.size() : lf;
        // Counting the LF, the line must fit what remains of line_bytes_max.
        const std::size_t line_bytes_max = line_max();
        const std::size_t room = text_bytes_ >= line_bytes_max ? 0 : line_bytes_max - text_bytes_;
        if (chunk + (lf == std::string_view::npos ? 0 : 1) > room) {
          // Keep enough of the line to find the tag, then refuse and skip the rest.
          if (text_.size() <= kTagBytesMax) {
            text_.append(rest.substr(0, std::min(chunk, kTagBytesMax + 1 - text_.size())));
          }
          refuse(Errc::line_too_long);
          if (!authenticated_) {
            // Before login no command needs a line this long: skipping it would let a stranger
            // make the server read as many octets as it likes. Stop reading instead.
            std::get<CommandRefused>(*event_).close = true;
            mode_ = Mode::closed;
            break;
          }
          mode_ = Mode::skip_line;
          break;  // the skip mode consumes the line
        }
        text_.append(rest.substr(0, chunk));
        text_bytes_ += chunk;
        used += chunk;
        if (lf != std::string_view::npos) {
          ++used;
          on_line_end();
        }
        break;
      }
      case Mode::skip_line: {
        const std::size_t lf = rest.find('\n');
        const std::size_t chunk = lf == std::string_view::npos ? rest.size() : lf;
        tail_.append(
            rest.substr(chunk > kTailBytes ? chunk - kTailBytes : 0, std::min(chunk, kTailBytes)));
        if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
        used += chunk;
        if (lf == std::string_view::npos) break;
        ++used;
        if (tail_.ends_with('\r')) tail_.pop_back();
        const std::optional<std::pair<std::uint64_t, bool>> marker =
            line_mode_ ? std::nullopt : literal_at_end(tail_);
        tail_.clear();
        if (marker && marker->second && !authenticated_) {
          // A refused line announcing a non-synchronizing literal before login: as above.
          event_ = CommandRefused{"*", Errc::literal_too_big, false, true};
          mode_ = Mode::closed;
        } else if (marker && marker->second) {
          mode_ = Mode::skip_literal;
          literal_left_ = marker->first;
        } else {
          mode_ = Mode::line;  // a synchronizing literal was refused: the client sends none
        }
        break;
      }
    }
  }
  return used;
}

}  // namespace mta::imap
