// RFC 5322 helpers: header block extraction, date-time formatting and line folding.
// See header.h for the contracts; this file holds the grammar and the edge cases.
#include "proto/mime/header.h"

#include <chrono>
#include <cstdio>

#include "base/assert.h"

namespace mta::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Index of the whitespace before which `text` is folded, given that `room` octets fit on the
// current line and `hard_room` octets may if nothing better exists. A break point is a WSP at
// index i >= 1 with a non-WSP octet before it, so no physical line is only whitespace.
// Prefers the last break point within `room`, then the first one within `hard_room`;
// returns npos if there is none.
std::size_t fold_point(std::string_view text, std::size_t room, std::size_t hard_room) {
  std::size_t first_content = 0;
  while (first_content < text.size() && is_wsp(text[first_content])) ++first_content;
  std::size_t last = std::min(room, text.size() - 1);
  for (std::size_t i = last; i > first_content; --i) {
    if (is_wsp(text[i])) return i;
  }
  std::size_t hard_last = std::min(hard_room, text.size() - 1);
  for (std::size_t i = std::max(last, first_content) + 1; i <= hard_last; ++i) {
    if (is_wsp(text[i])) return i;
  }
  return std::string_view::npos;
}

}  // namespace

// RFC 5322 §2.1: header-section CRLF body; the empty line ends the header section. Bare LF
// is accepted as a line end because stored originals may use Unix line endings.
std::string_view header_block(std::string_view message, std::size_t bytes_max) {
  // Only the first `bytes_max` octets are ever examined, so the work is bounded too.
  std::string_view window = message.substr(0, bytes_max);
  std::size_t line_start = 0;
  while (line_start < window.size()) {
    std::size_t lf = window.find('\n', line_start);
    if (lf == std::string_view::npos) break;
    bool empty = lf == line_start || (lf == line_start + 1 && window[line_start] == '\r');
    if (empty) return message.substr(0, lf + 1);
    line_start = lf + 1;
  }
  if (message.size() <= bytes_max) return message;
  // Truncated: keep the complete lines that fit, or a bare prefix if no line ends in time.
  return message.substr(0, line_start > 0 ? line_start : bytes_max);
}

// RFC 5322 §3.3:
//   date-time   = [ day-of-week "," ] date time [CFWS]
//   date        = day month year          ; day = 1*2DIGIT, year = 4*DIGIT
//   time        = time-of-day zone        ; time-of-day = hour ":" minute [ ":" second ]
//   zone        = (FWS ( "+" / "-" ) 4DIGIT)
std::string rfc5322_date(Clock::WallTime time) {
  static constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  auto days = std::chrono::floor<std::chrono::days>(seconds);
  std::chrono::year_month_day ymd{days};
  std::chrono::weekday weekday{days};
  std::chrono::hh_mm_ss<std::chrono::seconds> hms{seconds - days};
  char buffer[64];
  int n =
      std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02d:%02d:%02d +0000",
                    kWeekdays[weekday.c_encoding()], static_cast<unsigned>(ymd.day()),
                    kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                    static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                    static_cast<int>(hms.seconds().count()));
  MTA_ASSERT(n > 0);
  MTA_ASSERT(static_cast<std::size_t>(n) < sizeof buffer);
  return std::string(buffer, static_cast<std::size_t>(n));
}

void append_folded(std::string& out, std::string_view line, std::size_t width) {
  MTA_ASSERT(width >= 2);
  MTA_ASSERT(width <= kLineBytesMax);
  // After a hard cut the next physical line starts with a space that is not in `line`.
  bool leading_space = false;
  while (true) {
    std::size_t prefix = leading_space ? 1 : 0;
    std::size_t room = width - prefix;
    if (line.size() <= room) break;
    std::size_t hard_room = kLineBytesMax - prefix;
    std::size_t cut = fold_point(line, room, hard_room);
    if (cut == std::string_view::npos && line.size() <= hard_room) break;
    if (leading_space) out += ' ';
    if (cut == std::string_view::npos) {
      // One unbreakable run longer than a line may be: cut it where the limit falls.
      out.append(line.substr(0, hard_room));
      line.remove_prefix(hard_room);
      leading_space = true;
    } else {
      out.append(line.substr(0, cut));
      line.remove_prefix(cut);  // The next line starts with the whitespace at `cut`.
      leading_space = false;
    }
    out += "\r\n";
  }
  if (leading_space) out += ' ';
  out.append(line);
  out += "\r\n";
}

}  // namespace mta::mime
