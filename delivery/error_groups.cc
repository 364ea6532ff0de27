// ErrorGroups: a map under a mutex. Eviction scans for the least recently seen group; it runs
// only when a new group arrives over a cap, and the caps are a few hundred.
#include "delivery/error_groups.h"

#include <algorithm>
#include <utility>

#include "base/ascii.h"

namespace mta::delivery {
namespace {

constexpr std::size_t kNormalizedMax = 300;
constexpr std::size_t kExampleMax = 512;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// What a word is made of; everything else separates words and is kept as it is.
bool in_word(char c) {
  return is_digit(c) || is_alpha(c) || c == '.' || c == '@' || c == '_' || c == '-' || c == '+' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_ipv4(std::string_view word) {
  int dots = 0;
  for (char c : word) {
    if (c == '.') {
      ++dots;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  return dots == 3;
}

// The placeholder for a word, or the word itself.
std::string_view placeholder(std::string_view word) {
  if (word.find('@') != std::string_view::npos) return "<address>";
  if (is_ipv4(word)) return "<ip>";
  std::size_t digits = 0;
  std::size_t letters = 0;
  std::size_t hex = 0;
  for (char c : word) {
    digits += is_digit(c) ? 1 : 0;
    letters += is_alpha(c) ? 1 : 0;
    hex += is_hex(c) ? 1 : 0;
  }
  if (digits == 0) return word;
  if (letters == 0) return "<n>";  // 12345, 4.7.1, 2026-12-07, 3.5
  if (word.size() >= 6 || (hex == word.size() && word.size() >= 8)) return "<id>";
  return word;  // short words with a digit: "ipv6", "gsmtp2", "x509"
}

}  // namespace

std::string normalize_reply(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  bool space = false;
  while (i < text.size() && out.size() < kNormalizedMax) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      ++i;
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (!in_word(c)) {
      out += c;
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && in_word(text[end])) ++end;
    std::string_view word = text.substr(i, end - i);
    // A trailing '.' or '-' ends the sentence, not the word ("queued as 4F3A.").
    std::size_t kept = word.size();
    while (kept > 0 && (word[kept - 1] == '.' || word[kept - 1] == '-')) --kept;
    const std::string_view shown = placeholder(word.substr(0, kept));
    // An address in angle brackets reads <address>, not <<address>>.
    if (shown == "<address>" && kept == word.size() && !out.empty() && out.back() == '<' &&
        end < text.size() && text[end] == '>') {
      out.pop_back();
      ++end;
    }
    out += shown;
    out += word.substr(kept);
    i = end;
  }
  if (out.size() > kNormalizedMax) out.resize(kNormalizedMax);
  return out;
}

ErrorGroups::ErrorGroups(std::size_t groups_max, std::size_t per_destination_max)
    : groups_max_(std::max<std::size_t>(groups_max, 1)),
      per_destination_max_(std::max<std::size_t>(per_destination_max, 1)) {}

void ErrorGroups::on_outcome(std::uint32_t /*shard*/, const RecipientOutcome& outcome) {
  const auto state = outcome.recipient.state;
  if (state != queue::RecipientState::deferred && state != queue::RecipientState::bounced) return;
  add(outcome.envelope.destination, state == queue::RecipientState::bounced,
      outcome.recipient.last_reply, outcome.at);
}

void ErrorGroups::add(std::string_view destination, bool bounced, std::string_view reply,
                      Clock::WallTime at) {
  const SplitReply split = split_reply(reply);
  Key key{ascii_lowercase(destination), bounced, split.code, std::string(split.enhanced),
          normalize_reply(split.text)};
  std::lock_guard lock(mutex_);
  auto found = groups_.find(key);
  if (found == groups_.end()) {
    const std::string& name = std::get<0>(key);
    auto counted = per_destination_.find(name);
    if (counted != per_destination_.end() && counted->second >= per_destination_max_) {
      evict_one(&name);
    } else if (groups_.size() >= groups_max_) {
      evict_one(nullptr);
    }
    ErrorGroup group{.destination = name,
                     .bounced = bounced,
                     .code = split.code,
                     .enhanced = std::get<3>(key),
                     .text = std::get<4>(key),
                     .first_seen = at};
    found = groups_.emplace(std::move(key), std::move(group)).first;
    ++per_destination_[found->second.destination];
  }
  ErrorGroup& group = found->second;
  ++group.count;
  group.last_seen = std::max(group.last_seen, at);
  group.first_seen = std::min(group.first_seen, at);
  group.example = std::string(reply.substr(0, kExampleMax));
}

void ErrorGroups::evict_one(const std::string* destination) {
  auto oldest = groups_.end();
  for (auto it = groups_.begin(); it != groups_.end(); ++it) {
    if (destination != nullptr && it->second.destination != *destination) continue;
    if (oldest == groups_.end() || it->second.last_seen < oldest->second.last_seen) oldest = it;
  }
  if (oldest == groups_.end()) return;
  auto counted = per_destination_.find(oldest->second.destination);
  if (counted != per_destination_.end() && --counted->second == 0) per_destination_.erase(counted);
  groups_.erase(oldest);
}

std::vector<ErrorGroup> ErrorGroups::snapshot(std::size_t limit) const {
  std::vector<ErrorGroup> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(groups_.size());
    for (const auto& [key, group] : groups_) out.push_back(group);
  }
  std::stable_sort(out.begin(), out.end(), [](const ErrorGroup& a, const ErrorGroup& b) {
    return a.last_seen > b.last_seen;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::size_t ErrorGroups::size() const {
  std::lock_guard lock(mutex_);
  return groups_.size();
}

}  // namespace mta::delivery
