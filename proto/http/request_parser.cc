// RequestParser: HTTP/1.1 request framing (RFC 9112) over a buffer fed in arbitrary pieces.
// Lines are found with memchr from where the last search stopped, so a request fed one byte at
// a time costs the same as one fed whole; body bytes are copied once, straight into the body.
#include "proto/http/request_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "base/assert.h"

namespace mta::http {
namespace {

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
//       / "~" / DIGIT / ALPHA                                        (RFC 9110 §5.6.2)
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// OWS = *( SP / HTAB )                                               (RFC 9110 §5.6.3)
std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// #element lists (RFC 9110 §5.6.1): elements separated by commas with OWS; empty elements are
// ignored. Calls fn(element) for each non-empty one; stops early when fn returns false.
template <typename Fn>
void for_each_element(std::string_view list, Fn&& fn) {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty() && !fn(element)) return;
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// pct-encoded = "%" HEXDIG HEXDIG                                    (RFC 3986 §2.1)
// Appends the decoded `text` to `out`; false on a malformed escape, or on a decoded NUL when
// `allow_nul` is false.
bool percent_decode(std::string_view text, bool plus_as_space, bool allow_nul, std::string& out) {
  out.reserve(out.size() + text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3) return false;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return false;
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0' && !allow_nul) return false;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// query = *( pchar / "/" / "?" ), split as application/x-www-form-urlencoded pairs.
bool parse_query(std::string_view query, std::vector<QueryParam>& out) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      QueryParam param;
      if (!percent_decode(pair.substr(0, eq), true, true, param.name)) return false;
      if (eq != std::string_view::npos &&
          !percent_decode(pair.substr(eq + 1), true, true, param.value)) {
        return false;
      }
      out.push_back(std::move(param));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return true;
}

// Content-Length = 1*DIGIT, saturating at the uint64 maximum (over any body limit anyway).
std::optional<std::uint64_t> parse_length(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      value = std::numeric_limits<std::uint64_t>::max();
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Request::header_values(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Header& h : headers) {
    if (iequals(h.name, name)) values.push_back(h.value);
  }
  return values;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  for (const QueryParam& q : query) {
    if (q.name == name) return q.value;
  }
  return std::nullopt;
}

// Connection = #connection-option                                    (RFC 9110 §7.6.1)
bool Request::keep_alive() const {
  bool close = false;
  bool keep_alive = false;
  for (const Header& h : headers) {
    if (!iequals(h.name, "Connection")) continue;
    for_each_element(h.value, [&](std::string_view option) {
      close = close || iequals(option, "close");
      keep_alive = keep_alive || iequals(option, "keep-alive");
      return true;
    });
  }
  if (close) return false;
  return version_minor >= 1 || keep_alive;
}

// Expect = #expectation; expectation = token [ "=" ... ]            (RFC 9110 §10.1.1)
bool Request::expects_continue() const {
  if (version_minor < 1) return false;
  bool found = false;
  for (const Header& h : headers) {
    if (!iequals(h.name, "Expect")) continue;
    for_each_element(h.value, [&](std::string_view expectation) {
      found = found || iequals(expectation, "100-continue");
      return !found;
    });
  }
  return found;
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

bool RequestParser::headers_done() const {
  switch (state_) {
    case State::leading_lines:
    case State::headers:
    case State::failed:
      return false;
    default:
      return true;
  }
}

Result<ParseEvent> RequestParser::feed(std::string_view bytes) {
  if (state_ == State::failed) return unexpected(error_);
  // Fast path for bodies: with nothing buffered, body bytes go straight into the body.
  if (pos_ == in_.size() && (state_ == State::body_length || state_ == State::chunk_data)) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
    request_.body.append(bytes.substr(0, n));
    remaining_ -= n;
    bytes.remove_prefix(n);
    if (remaining_ == 0) {
      state_ = state_ == State::body_length ? State::complete : State::chunk_data_end;
    }
  }
  in_.append(bytes);
  Result<ParseEvent> result = parse();
  compact();
  return result;
}

Result<ParseEvent> RequestParser::next() {
  MTA_ASSERT(state_ == State::complete);
  request_.method.clear();
  request_.target.clear();
  request_.path.clear();
  request_.query.clear();
  request_.version_minor = 1;
  request_.headers.clear();
  request_.framing = BodyFraming::none;
  request_.body.clear();
  state_ = State::leading_lines;
  head_bytes_ = 0;
  field_count_ = 0;
  remaining_ = 0;
  Result<ParseEvent> result = parse();
  compact();
  return result;
}

Request RequestParser::take_request() {
  MTA_ASSERT(state_ == State::complete);
  Request out = std::move(request_);
  request_ = Request{};
  return out;
}

Result<ParseEvent> RequestParser::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = Error{make_error_code(code), std::move(detail)};
  return unexpected(error_);
}

std::optional<std::string_view> RequestParser::take_line(std::size_t bytes_max, bool& over) {
  over = false;
  const void* lf = std::memchr(in_.data() + scan_, '\n', in_.size() - scan_);
  if (lf == nullptr) {
    scan_ = in_.size();
    over = in_.size() - pos_ > bytes_max;
    return std::nullopt;
  }
  const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - in_.data());
  if (end - pos_ + 1 > bytes_max) {
    over = true;
    return std::nullopt;
  }
  const std::string_view line(in_.data() + pos_, end - pos_);
  pos_ = end + 1;
  scan_ = pos_;
  return line;
}

Result<ParseEvent> RequestParser::parse() {
  bool head_finished_now = false;
  while (true) {
    bool over = false;
    switch (state_) {
      case State::failed:
        return unexpected(error_);
      case State::complete:
        return ParseEvent::complete;

      // HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
      // (RFC 9112 §2.1). A line ends at LF; a CR right before it is dropped (§2.2).
      case State::leading_lines: {
        const std::optional<std::string_view> raw =
            take_line(limits_.request_line_bytes_max - head_bytes_, over);
        if (over) return fail(Errc::uri_too_long, "request line over its limit");
        if (!raw) return ParseEvent::need_more;
        std::string_view line = *raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find('\r') != std::string_view::npos) {
          return fail(Errc::bad_request, "bare CR in request line");
        }
        if (line.empty()) {
          head_bytes_ += raw->size() + 1;  // an empty line before the request line (§2.2)
          continue;
        }
        head_bytes_ = 0;
        if (Result<void> ok = parse_request_line(line); !ok) return fail_with(ok.error());
        state_ = State::headers;
        break;
      }

      case State::headers: {
        const std::optional<std::string_view> raw =
            take_line(limits_.header_bytes_max - head_bytes_, over);
        if (over) return fail(Errc::headers_too_large, "header section over its limit");
        if (!raw) return ParseEvent::need_more;
        head_bytes_ += raw->size() + 1;
        std::string_view line = *raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
          if (Result<void> ok = finish_head(); !ok) return fail_with(ok.error());
          head_finished_now = true;
          break;
        }
        if (++field_count_ > limits_.header_count_max) {
          return fail(Errc::headers_too_large, "too many header fields");
        }
        if (Result<void> ok = parse_field_line(line, &request_.headers); !ok) {
          return fail_with(ok.error());
        }
        break;
      }

      case State::body_length:
      case State::chunk_data: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in_.size() - pos_));
        request_.body.append(in_, pos_, n);
        pos_ += n;
        scan_ = pos_;
        remaining_ -= n;
        if (remaining_ > 0) {
          return head_finished_now ? ParseEvent::headers_complete : ParseEvent::need_more;
        }
        state_ = state_ == State::body_length ? State::complete : State::chunk_data_end;
        break;
      }

      // chunked-body = *chunk last-chunk trailer-section CRLF
      // chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF   (RFC 9112 §7.1)
      case State::chunk_size: {
        const std::optional<std::string_view> raw = take_line(limits_.chunk_line_bytes_max, over);
        if (over) return fail(Errc::bad_chunk, "chunk-size line over its limit");
        if (!raw) return head_finished_now ? ParseEvent::headers_complete : ParseEvent::need_more;
        if (raw->empty() || raw->back() != '\r') return fail(Errc::bad_chunk, "bare LF in chunk");
        if (Result<void> ok = parse_chunk_size(raw->substr(0, raw->size() - 1)); !ok) {
          return fail_with(ok.error());
        }
        break;
      }

      case State::chunk_data_end: {
        const std::size_t available = in_.size() - pos_;
        if (available >= 1 && in_[pos_] != '\r') return fail(Errc::bad_chunk, "no CRLF after data");
        if (available >= 2 && in_[pos_ + 1] != '\n') {
          return fail(Errc::bad_chunk, "no CRLF after data");
        }
        if (available < 2) {
          return head_finished_now ? ParseEvent::headers_complete : ParseEvent::need_more;
        }
        pos_ += 2;
        scan_ = pos_;
        state_ = State::chunk_size;
        break;
      }

      // trailer-section = *( field-line CRLF ); parsed like header fields, then dropped.
      case State::trailers: {
        const std::optional<std::string_view> raw =
            take_line(limits_.header_bytes_max - head_bytes_, over);
        if (over) return fail(Errc::headers_too_large, "trailer section over its limit");
        if (!raw) return head_finished_now ? ParseEvent::headers_complete : ParseEvent::need_more;
        head_bytes_ += raw->size() + 1;
        if (raw->empty() || raw->back() != '\r') {
          return fail(Errc::bad_chunk, "bare LF in trailer section");
        }
        const std::string_view line = raw->substr(0, raw->size() - 1);
        if (line.empty()) {
          state_ = State::complete;
          break;
        }
        if (++field_count_ > limits_.header_count_max) {
          return fail(Errc::headers_too_large, "too many trailer fields");
        }
        if (Result<void> ok = parse_field_line(line, nullptr); !ok) return fail_with(ok.error());
        break;
      }
    }
  }
}

Result<ParseEvent> RequestParser::fail_with(const Error& error) {
  state_ = State::failed;
  error_ = error;
  return unexpected(error_);
}

// request-line   = method SP request-target SP HTTP-version         (RFC 9112 §3)
// method         = token
// HTTP-version   = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP" (§2.3)
// request-target = origin-form / absolute-form / authority-form / asterisk-form (§3.2)
// origin-form    = absolute-path [ "?" query ]
Result<void> RequestParser::parse_request_line(std::string_view line) {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return unexpected(Errc::bad_request, "no SP after method");
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return unexpected(Errc::bad_request, "no HTTP version");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return unexpected(Errc::bad_request, "method is not a token");

  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) ||
      version[6] != '.' || !is_digit(version[7])) {
    return unexpected(Errc::bad_request, "malformed HTTP version");
  }
  if (version[5] != '1' || version[7] > '1') {
    return unexpected(Errc::version_not_supported, "only HTTP/1.0 and HTTP/1.1");
  }

  if (target.empty()) return unexpected(Errc::bad_target, "empty request-target");
  for (const char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '#') {
      return unexpected(Errc::bad_target, "invalid byte in request-target");
    }
  }

  std::string_view path;
  std::string_view query;
  bool has_query = false;
  const auto split_query = [&](std::string_view rest) {
    const std::size_t q = rest.find('?');
    path = rest.substr(0, q);
    if (q != std::string_view::npos) {
      query = rest.substr(q + 1);
      has_query = true;
    }
  };
  if (target.front() == '/') {
    split_query(target);
  } else if (target == "*") {
    // asterisk-form = "*", for OPTIONS only (§3.2.4).
    if (method != "OPTIONS") return unexpected(Errc::bad_target, "'*' outside OPTIONS");
    path = target;
  } else if (method == "CONNECT") {
    // authority-form = uri-host ":" port (§3.2.3); there is no path.
    if (target.find_first_of("/?@") != std::string_view::npos ||
        target.find(':') == std::string_view::npos) {
      return unexpected(Errc::bad_target, "CONNECT needs host:port");
    }
  } else {
    // absolute-form = absolute-URI (§3.2.2); scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" /
    // "." ) (RFC 3986 §3.1), then "//" authority path-abempty [ "?" query ].
    const std::size_t colon = target.find(':');
    if (colon == std::string_view::npos || colon == 0 || target.substr(colon + 1, 2) != "//") {
      return unexpected(Errc::bad_target, "request-target in no known form");
    }
    const std::string_view scheme = target.substr(0, colon);
    const auto is_scheme_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '-' || c == '.';
    };
    if (!std::all_of(scheme.begin(), scheme.end(), is_scheme_char) ||
        !((scheme[0] >= 'a' && scheme[0] <= 'z') || (scheme[0] >= 'A' && scheme[0] <= 'Z'))) {
      return unexpected(Errc::bad_target, "malformed URI scheme");
    }
    const std::string_view after = target.substr(colon + 3);
    const std::size_t path_start = after.find_first_of("/?");
    if (path_start == 0 || after.empty()) {
      return unexpected(Errc::bad_target, "empty authority");
    }
    split_query(path_start == std::string_view::npos ? std::string_view{}
                                                     : after.substr(path_start));
    if (path.empty()) path = "/";
  }

  request_.method.assign(method);
  request_.target.assign(target);
  request_.version_minor = version[7] - '0';
  if (!percent_decode(path, false, false, request_.path)) {
    return unexpected(Errc::bad_target, "bad percent-encoding in path");
  }
  if (has_query && !parse_query(query, request_.query)) {
    return unexpected(Errc::bad_target, "bad percent-encoding in query");
  }
  return {};
}

// field-line  = field-name ":" OWS field-value OWS                  (RFC 9112 §5)
// field-name  = token; no whitespace allowed before the colon (§5.1: 400)
// field-value = *field-content; field-vchar = VCHAR / obs-text; SP and HTAB inside
// obs-fold    = OWS CRLF RWS: rejected with 400 (§5.2)
Result<void> RequestParser::parse_field_line(std::string_view line, std::vector<Header>* out) {
  if (line.front() == ' ' || line.front() == '\t') {
    return unexpected(Errc::bad_request, "obs-fold or whitespace before a field line");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return unexpected(Errc::bad_request, "field without ':'");
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return unexpected(Errc::bad_request, "field name is not a token");
  const std::string_view value = trim_ows(line.substr(colon + 1));
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return unexpected(Errc::bad_request, "control character in field value");
    }
  }
  if (out != nullptr) out->push_back(Header{std::string(name), std::string(value)});
  return {};
}

// Message body length (RFC 9112 §6.3), strictest reading of each rule:
//   Transfer-Encoding with Content-Length: 400 (rule 3 lets a server reject it).
//   Transfer-Encoding ending in chunked: chunked (rule 4); not ending in chunked: 400.
//   Content-Length: that many bytes, all list members equal (rule 5); otherwise 400.
//   Neither: zero (rule 7).
Result<void> RequestParser::finish_head() {
  std::size_t hosts = 0;
  std::vector<std::string_view> transfer_encodings;
  std::vector<std::string_view> content_lengths;
  for (const Header& h : request_.headers) {
    if (iequals(h.name, "Host")) ++hosts;
    if (iequals(h.name, "Transfer-Encoding")) transfer_encodings.push_back(h.value);
    if (iequals(h.name, "Content-Length")) content_lengths.push_back(h.value);
  }
  // §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, and to any request
  // with more than one Host field line.
  if (hosts > 1 || (hosts == 0 && request_.version_minor == 1)) {
    return unexpected(Errc::missing_host, "need exactly one Host field");
  }

  if (!transfer_encodings.empty()) {
    if (request_.version_minor == 0) {
      return unexpected(Errc::ambiguous_framing, "Transfer-Encoding in HTTP/1.0");  // §6.1
    }
    if (!content_lengths.empty()) {
      return unexpected(Errc::ambiguous_framing, "both Content-Length and Transfer-Encoding");
    }
    std::size_t codings = 0;
    std::size_t chunked = 0;
    bool unknown = false;
    bool last_is_chunked = false;
    for (const std::string_view value : transfer_encodings) {
      for_each_element(value, [&](std::string_view coding) {
        ++codings;
        last_is_chunked = iequals(coding, "chunked");
        if (last_is_chunked) {
          ++chunked;
        } else {
          unknown = true;
        }
        return true;
      });
    }
    if (codings == 0) return unexpected(Errc::bad_request, "empty Transfer-Encoding");
    if (!last_is_chunked || chunked > 1) {
      return unexpected(Errc::ambiguous_framing, "chunked must be the last coding, once");
    }
    if (unknown) return unexpected(Errc::unsupported_transfer_coding, "only chunked");
    request_.framing = BodyFraming::chunked;
    state_ = State::chunk_size;
    head_bytes_ = 0;  // now counts the trailer section
    field_count_ = 0;
    return {};
  }

  if (!content_lengths.empty()) {
    std::optional<std::uint64_t> length;
    bool malformed = false;
    bool differing = false;
    for (const std::string_view value : content_lengths) {
      bool empty = true;
      for_each_element(value, [&](std::string_view element) {
        empty = false;
        const std::optional<std::uint64_t> parsed = parse_length(element);
        if (!parsed) {
          malformed = true;
        } else if (length && *length != *parsed) {
          differing = true;
        } else {
          length = parsed;
        }
        return !malformed;
      });
      // An empty value, or "," alone, is no 1*DIGIT either.
      if (empty) malformed = true;
      if (malformed) break;
    }
    if (malformed) return unexpected(Errc::bad_content_length, "Content-Length is not 1*DIGIT");
    if (differing) return unexpected(Errc::ambiguous_framing, "differing Content-Length values");
    if (*length > limits_.body_bytes_max) {
      return unexpected(Errc::body_too_large, "Content-Length over the body limit");
    }
    request_.framing = BodyFraming::content_length;
    remaining_ = *length;
    request_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, 1 << 20)));
    state_ = remaining_ == 0 ? State::complete : State::body_length;
    return {};
  }

  state_ = State::complete;
  return {};
}

// chunk-size = 1*HEXDIG
// chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// Extensions are ignored after checking they hold no control characters but HTAB.
Result<void> RequestParser::parse_chunk_size(std::string_view line) {
  std::size_t i = 0;
  std::uint64_t size = 0;
  const std::uint64_t room = limits_.body_bytes_max - request_.body.size();
  for (; i < line.size(); ++i) {
    const int digit = hex_value(line[i]);
    if (digit < 0) break;
    size = size * 16 + static_cast<std::uint64_t>(digit);
    if (size > room) return unexpected(Errc::body_too_large, "chunked body over the body limit");
  }
  if (i == 0) return unexpected(Errc::bad_chunk, "chunk-size is not hex");
  std::string_view ext = line.substr(i);
  while (!ext.empty() && (ext.front() == ' ' || ext.front() == '\t')) ext.remove_prefix(1);
  if (!ext.empty() && ext.front() != ';') return unexpected(Errc::bad_chunk, "junk after size");
  for (const char c : ext) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return unexpected(Errc::bad_chunk, "control character in chunk extension");
    }
  }
  if (size == 0) {
    state_ = State::trailers;  // last-chunk
  } else {
    remaining_ = size;
    state_ = State::chunk_data;
  }
  return {};
}

void RequestParser::compact() {
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
    scan_ = 0;
  } else if (pos_ >= 4096 && pos_ * 2 >= in_.size()) {
    in_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
}

}  // namespace mta::http
