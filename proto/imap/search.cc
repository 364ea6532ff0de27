// SEARCH evaluation: a Matcher per message caches what keys need (the bytes, the header's
// fields, the MIME tree, the decoded text) so each is computed at most once per message.
// Recursion over NOT, OR and groups is bounded by the parser's nesting_max.
#include "proto/imap/search.h"

#include <algorithm>
#include <memory>

#include "base/ascii.h"

namespace mta::imap {
namespace {

// ASCII case-insensitive substring search (other octets, UTF-8 included, compare exactly).
bool contains_ci(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  const auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                              [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
  return it != haystack.end();
}

bool has_keyword(const Flags& flags, std::string_view keyword) {
  return std::any_of(flags.keywords.begin(), flags.keywords.end(),
                     [&](const std::string& k) { return iequals(k, keyword); });
}

class Matcher {
 public:
  explicit Matcher(const SearchSubject& s) : s_(s) {}

  bool all(std::span<const SearchKey> keys) {
    return std::all_of(keys.begin(), keys.end(), [&](const SearchKey& k) { return match(k); });
  }

 private:
  bool load() {
    if (!loaded_) {
      loaded_ = true;
      if (s_.load) bytes_ = s_.load();
    }
    return bytes_.has_value();
  }
  std::string_view header() {
    if (!load()) return {};
    const mime::Part& r = root();
    return bytes_->substr(r.header_begin, r.header_end - r.header_begin);
  }
  const mime::Part& root() {
    if (!root_) root_ = std::make_unique<mime::Part>(mime::parse_structure(*bytes_));
    return *root_;
  }
  const std::vector<mime::HeaderField>& fields() {
    if (!fields_) fields_ = mime::parse_header_fields(header());
    return *fields_;
  }
  bool header_has(std::string_view name, std::string_view needle) {
    if (!load()) return false;
    for (const mime::HeaderField& f : fields()) {
      if (iequals(f.name, name) && contains_ci(mime::decode_words(f.value), needle)) return true;
    }
    return false;
  }
  void collect_text(const mime::Part& part, std::size_t depth) {
    if (depth > 64) return;
    if (part.is_multipart()) {
      for (const mime::Part& child : part.children) collect_text(child, depth + 1);
      return;
    }
    if (part.message) {
      text_ += bytes_->substr(part.message->header_begin,
                              part.message->header_end - part.message->header_begin);
      collect_text(*part.message, depth + 1);
      return;
    }
    if (part.content_type.type != "text" && part.content_type.type != "message") return;
    text_ += mime::decode_transfer(bytes_->substr(part.body_begin, part.body_end - part.body_begin),
                                   part.transfer_encoding);
    text_ += '\n';
  }
  bool body_has(std::string_view needle) {
    if (!load()) return false;
    if (!text_ready_) {
      text_ready_ = true;
      collect_text(root(), 0);
    }
    return contains_ci(text_, needle);
  }
  std::optional<Day> sent_day() {
    if (!load()) return std::nullopt;
    for (const mime::HeaderField& f : fields()) {
      if (iequals(f.name, "Date")) {
        if (const std::optional<Day> day = rfc5322_day(f.value)) return day;
        break;
      }
    }
    return day_of(s_.internal_date);
  }

  bool match(const SearchKey& key) {
    using K = SearchKey::Kind;
    const std::uint8_t sys = s_.flags != nullptr ? s_.flags->system : 0;
    const Day internal = day_of(s_.internal_date);
    switch (key.kind) {
      case K::all:
        return true;
      case K::answered:
        return sys & kAnswered;
      case K::deleted:
        return sys & kDeleted;
      case K::draft:
        return sys & kDraft;
      case K::flagged:
        return sys & kFlagged;
      case K::seen:
        return sys & kSeen;
      case K::unanswered:
        return !(sys & kAnswered);
      case K::undeleted:
        return !(sys & kDeleted);
      case K::undraft:
        return !(sys & kDraft);
      case K::unflagged:
        return !(sys & kFlagged);
      case K::unseen:
        return !(sys & kSeen);
      case K::recent:
        return s_.recent;
      case K::new_:
        return s_.recent && !(sys & kSeen);
      case K::old:
        return !s_.recent;
      case K::keyword:
        return s_.flags != nullptr && has_keyword(*s_.flags, key.value);
      case K::unkeyword:
        return s_.flags == nullptr || !has_keyword(*s_.flags, key.value);
      case K::larger:
        return s_.size > key.number;
      case K::smaller:
        return s_.size < key.number;
      case K::before:
        return internal < key.day;
      case K::on:
        return internal == key.day;
      case K::since:
        return internal >= key.day;
      case K::sentbefore: {
        const std::optional<Day> d = sent_day();
        return d && *d < key.day;
      }
      case K::senton: {
        const std::optional<Day> d = sent_day();
        return d && *d == key.day;
      }
      case K::sentsince: {
        const std::optional<Day> d = sent_day();
        return d && *d >= key.day;
      }
      case K::bcc:
        return header_has("Bcc", key.value);
      case K::cc:
        return header_has("Cc", key.value);
      case K::from:
        return header_has("From", key.value);
      case K::to:
        return header_has("To", key.value);
      case K::subject:
        return header_has("Subject", key.value);
      case K::header:
        return header_has(key.field, key.value);
      case K::body:
        return body_has(key.value);
      case K::text:
        return (load() && contains_ci(mime::decode_words(header()), key.value)) ||
               body_has(key.value);
      case K::uid:
        return key.set.contains(s_.uid, s_.uid_max);
      case K::sequence_set:
        return key.set.contains(s_.seq, s_.seq_max);
      case K::not_:
        return key.children.size() == 1 && !match(key.children[0]);
      case K::or_:
        return key.children.size() == 2 && (match(key.children[0]) || match(key.children[1]));
      case K::group:
        return all(key.children);
    }
    return false;
  }

  const SearchSubject& s_;
  bool loaded_ = false;
  std::optional<std::string_view> bytes_;
  std::unique_ptr<mime::Part> root_;
  std::optional<std::vector<mime::HeaderField>> fields_;
  bool text_ready_ = false;
  std::string text_;
};

}  // namespace

bool search_matches(std::span<const SearchKey> keys, const SearchSubject& subject) {
  Matcher matcher(subject);
  return matcher.all(keys);
}

std::optional<Day> rfc5322_day(std::string_view date) {
  // date-time = [ day-of-week "," ] date time; date = day month year
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  if (const std::size_t comma = date.find(','); comma != std::string_view::npos && comma < 12) {
    date.remove_prefix(comma + 1);
  }
  std::string_view tokens[3];
  std::size_t count = 0;
  std::size_t pos = 0;
  while (count < 3 && pos < date.size()) {
    while (pos < date.size() && (date[pos] == ' ' || date[pos] == '\t' || date[pos] == '-')) ++pos;
    const std::size_t begin = pos;
    while (pos < date.size() && date[pos] != ' ' && date[pos] != '\t' && date[pos] != '-') ++pos;
    if (pos > begin) tokens[count++] = date.substr(begin, pos - begin);
  }
  if (count < 3) return std::nullopt;
  const auto number = [](std::string_view t) -> std::optional<int> {
    if (t.empty() || t.size() > 4) return std::nullopt;
    int n = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  const std::optional<int> day = number(tokens[0]);
  std::optional<unsigned> month;
  for (std::size_t i = 0; i < 12; ++i) {
    if (tokens[1].size() >= 3 && iequals(tokens[1].substr(0, 3), kMonths[i])) {
      month = static_cast<unsigned>(i + 1);
    }
  }
  std::optional<int> year = number(tokens[2]);
  if (!day || !month || !year || *day < 1 || *day > 31) return std::nullopt;
  if (tokens[2].size() <= 2)
    *year += *year < 50 ? 2000 : 1900;  // RFC 5322 §4.3
  else if (tokens[2].size() == 3)
    *year += 1900;
  return day_from_civil(*year, *month, static_cast<unsigned>(*day));
}

}  // namespace mta::imap
