// RequestParser: HTTP/1.1 request framing (RFC 9112) on top of Debian's http-parser 2.9.4
// (nodejs/http-parser), which tokenizes the request line and fields and delimits bodies
// (Content-Length, chunked) through callbacks. Debian builds it non-strict, so every line it
// consumes is checked again here, in stream order, against the rules and limits of
// request_parser.h; body bytes are copied once, from the caller's buffer when possible.
#include "proto/http/request_parser.h"

#include <http_parser.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <utility>

#include "base/ascii.h"

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

// http-parser's state and the callbacks that feed this class. Callbacks only collect tokens and
// note where things end; the checks run in RequestParser, on the bytes http-parser consumed.
struct RequestParser::Impl {
  http_parser parser{};

  static RequestParser& self(http_parser* p) { return *static_cast<RequestParser*>(p->data); }
  static std::vector<Header>& fields(RequestParser& s) {
    return s.state_ == State::trailers ? s.trailers_ : s.request_.headers;
  }
  // A check that failed inside a callback: the parser fails and http-parser stops at once.
  static int check(RequestParser& s, const Result<void>& ok) {
    if (ok) return 0;
    s.state_ = State::failed;
    s.error_ = ok.error();
    return -1;
  }

  static int on_url(http_parser* p, const char* at, std::size_t n) {
    self(p).request_.target.append(at, n);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    RequestParser& s = self(p);
    std::vector<Header>& out = fields(s);
    if (!s.in_field_name_) out.emplace_back();
    s.in_field_name_ = true;
    out.back().name.append(at, n);
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    RequestParser& s = self(p);
    std::vector<Header>& out = fields(s);
    s.in_field_name_ = false;
    if (!out.empty()) out.back().value.append(at, n);
    return 0;
  }
  // Pauses on the byte that ends the header section, so the head is checked before any body.
  static int on_headers_complete(http_parser* p) {
    self(p).pause_ = Pause::head;
    http_parser_pause(p, 1);
    return 0;
  }
  static int on_body(http_parser* p, const char* at, std::size_t n) {
    RequestParser& s = self(p);
    s.request_.body.append(at, n);
    if (s.state_ == State::chunk_data) {
      s.chunk_left_ -= n;
      if (s.chunk_left_ == 0) {
        s.span_start_ = s.offset_of(static_cast<std::size_t>(at + n - s.in_.data()));
        s.state_ = State::chunk_data_end;
      }
    }
    return 0;
  }
  // Pauses after the request, so pipelined bytes stay buffered for next().
  static int on_message_complete(http_parser* p) {
    self(p).pause_ = Pause::message;
    http_parser_pause(p, 1);
    return 0;
  }
  static int on_chunk_header(http_parser* p) {
    RequestParser& s = self(p);
    return check(s, s.finish_chunk_size_line());
  }
  static int on_chunk_complete(http_parser* p) {
    RequestParser& s = self(p);
    return check(s, s.finish_chunk_data());
  }

  static const http_parser_settings& settings() {
    static const http_parser_settings settings = [] {
      http_parser_settings s;
      http_parser_settings_init(&s);
      s.on_url = on_url;
      s.on_header_field = on_header_field;
      s.on_header_value = on_header_value;
      s.on_headers_complete = on_headers_complete;
      s.on_body = on_body;
      s.on_message_complete = on_message_complete;
      s.on_chunk_header = on_chunk_header;
      s.on_chunk_complete = on_chunk_complete;
      return s;
    }();
    return settings;
  }
};

RequestParser::RequestParser(ParserLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>()) {
  start_message();
}

RequestParser::~RequestParser() = default;
RequestParser::RequestParser(RequestParser&&) noexcept = default;
RequestParser& RequestParser::operator=(RequestParser&&) noexcept = default;

void RequestParser::start_message() {
  http_parser_init(&impl_->parser, HTTP_REQUEST);
  state_ = State::head;
  pause_ = Pause::none;
  trailers_.clear();
  in_field_name_ = false;
  head_start_ = section_start_ = line_start_ = scan_ = offset_of(pos_);
  span_start_ = 0;
  request_line_done_ = false;
  section_done_ = false;
  field_lines_ = 0;
  chunk_left_ = 0;
}

bool RequestParser::headers_done() const {
  return state_ != State::head && state_ != State::failed;
}

bool RequestParser::started() const {
  return state_ != State::head || offset_of(in_.size()) > head_start_;
}

std::size_t RequestParser::execute(const char* data, std::size_t size) {
  impl_->parser.data = this;  // set on every call: the parser may have moved
  exec_end_ = data + size;
  return http_parser_execute(&impl_->parser, &Impl::settings(), data, size);
}

Result<ParseEvent> RequestParser::feed(std::string_view bytes) {
  if (state_ == State::failed) return unexpected(error_);
  // (Never with no bytes: http-parser takes an empty run for the end of the stream.)
  if (state_ == State::body && pos_ == in_.size() && !bytes.empty()) {
    // Fast path for Content-Length bodies: with nothing buffered, body bytes go from `bytes`
    // straight into the body, and only what follows the request is buffered.
    in_base_ += in_.size();
    in_.clear();
    pos_ = 0;
    const std::size_t n = execute(bytes.data(), bytes.size());
    const auto err = HTTP_PARSER_ERRNO(&impl_->parser);
    if (err != HPE_OK && err != HPE_PAUSED) return fail(Errc::bad_request, http_errno_name(err));
    in_base_ += n;
    bytes.remove_prefix(n);
    if (pause_ == Pause::message) state_ = State::complete;
  }
  in_.append(bytes);
  Result<ParseEvent> result = parse();
  compact();
  return result;
}

Result<ParseEvent> RequestParser::next() {
  // A driver that asks for the next request while this one is still arriving has lost track
  // of the parser's state; the bytes it fed are not a reason to abort the process.
  if (state_ == State::failed) return unexpected(error_);
  if (state_ != State::complete) {
    return fail(Errc::out_of_order, "next() while the request is incomplete");
  }
  request_.method.clear();
  request_.target.clear();
  request_.path.clear();
  request_.query.clear();
  request_.version_minor = 1;
  request_.headers.clear();
  request_.framing = BodyFraming::none;
  request_.body.clear();
  start_message();
  Result<ParseEvent> result = parse();
  compact();
  return result;
}

Request RequestParser::take_request() {
  Request out = std::move(request_);
  request_ = Request{};
  return out;
}

Result<ParseEvent> RequestParser::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = Error{make_error_code(code), std::move(detail)};
  return unexpected(error_);
}

Result<ParseEvent> RequestParser::fail_with(const Error& error) {
  state_ = State::failed;
  error_ = error;
  return unexpected(error_);
}

// Runs http-parser over the buffered bytes until it needs more, pauses at the end of the head
// or of the request, or fails. After each run the lines it consumed are checked in order, each
// against its limit first, then the partial line against the limit: so whatever breaks first in
// the stream is reported, however the bytes were split.
Result<ParseEvent> RequestParser::parse() {
  bool head_now = false;
  while (true) {
    if (state_ == State::failed) return unexpected(error_);
    if (state_ == State::complete) return ParseEvent::complete;
    if (pos_ == in_.size()) return head_now ? ParseEvent::headers_complete : ParseEvent::need_more;
    pause_ = Pause::none;
    const std::string_view data(in_.data() + pos_, in_.size() - pos_);
    const std::size_t n = execute(data.data(), data.size());
    if (state_ == State::failed) return unexpected(error_);  // a check in a callback
    const auto err = HTTP_PARSER_ERRNO(&impl_->parser);
    if (err != HPE_OK && err != HPE_PAUSED) {
      // http-parser stopped at data[n] without consuming it.
      const std::uint64_t at = offset_of(pos_ + n);
      if (Result<void> ok = check_lines(at, at + 1); !ok) return fail_with(ok.error());
      return fail(errc_for_parser_error(data, n), http_errno_description(err));
    }
    pos_ += n;
    const std::uint64_t end = offset_of(pos_);
    if (pause_ == Pause::head) {
      // Paused on the byte that ends the header section, not yet consumed.
      if (Result<void> ok = check_lines(end + 1, end + 1); !ok) return fail_with(ok.error());
      if (Result<void> ok = finish_head(); !ok) return fail_with(ok.error());
      http_parser_pause(&impl_->parser, 0);
      head_now = true;
      continue;
    }
    if (Result<void> ok = check_lines(end, end); !ok) return fail_with(ok.error());
    if (pause_ == Pause::message) {
      if (request_.framing == BodyFraming::chunked && !(section_done_ && line_start_ == end)) {
        return fail(Errc::bad_chunk, "trailer section not ended by CRLF");
      }
      state_ = State::complete;
      return ParseEvent::complete;
    }
  }
}

// The Errc for an http-parser error at data[at] where no check of ours failed first.
Errc RequestParser::errc_for_parser_error(std::string_view data, std::size_t at) const {
  const http_parser& p = impl_->parser;
  const char offending = at < data.size() ? data[at] : '\0';
  const bool chunked = state_ == State::chunk_size_line || state_ == State::chunk_data ||
                       state_ == State::chunk_data_end;
  switch (HTTP_PARSER_ERRNO(&p)) {
    case HPE_HEADER_OVERFLOW:  // its own cap (HTTP_MAX_HEADER_SIZE, 80 KiB) under larger limits
      if (chunked) return Errc::bad_chunk;
      return state_ == State::head && !request_line_done_ ? Errc::uri_too_long
                                                          : Errc::headers_too_large;
    case HPE_INVALID_URL:
    case HPE_INVALID_HOST:
    case HPE_INVALID_PORT:
    case HPE_INVALID_PATH:
    case HPE_INVALID_QUERY_STRING:
    case HPE_INVALID_FRAGMENT:
      return Errc::bad_target;
    case HPE_INVALID_CONTENT_LENGTH:
      // In a chunk-size line: the size overflowed 64 bits, over any body limit.
      if (chunked) return Errc::body_too_large;
      // 1*DIGIT that overflowed (http-parser stops short of 2^64): over any body limit too.
      if (offending >= '0' && offending <= '9' && p.content_length != ULLONG_MAX &&
          p.content_length > (ULLONG_MAX - 10) / 10) {
        return Errc::body_too_large;
      }
      // "5, 5" or "5, 6": a list of lengths, one value or not.
      if (offending == ',') return Errc::ambiguous_framing;
      return Errc::bad_content_length;
    case HPE_UNEXPECTED_CONTENT_LENGTH:  // a second Content-Length, or one with chunked
    case HPE_INVALID_TRANSFER_ENCODING:
      return Errc::ambiguous_framing;
    case HPE_INVALID_CHUNK_SIZE:
      return Errc::bad_chunk;
    default:
      return chunked ? Errc::bad_chunk : Errc::bad_request;
  }
}

// Checks each line of the head or trailer section that http-parser has consumed up to
// `lines_end`, then the partial line against the section's limit with the bytes up to
// `seen_end`. In a chunk-size line only its limit is checked here (the line itself when
// http-parser reports it).
Result<void> RequestParser::check_lines(std::uint64_t lines_end, std::uint64_t seen_end) {
  if (state_ == State::chunk_size_line) {
    if (seen_end - span_start_ > limits_.chunk_line_bytes_max) {
      return unexpected(Errc::bad_chunk, "chunk-size line over its limit");
    }
    return {};
  }
  if (state_ != State::head && state_ != State::trailers) return {};
  while (!section_done_ && scan_ < lines_end) {
    const std::size_t from = index_of(scan_);
    const void* lf = std::memchr(in_.data() + from, '\n', index_of(lines_end) - from);
    if (lf == nullptr) {
      scan_ = lines_end;
      break;
    }
    const auto lf_index = static_cast<std::size_t>(static_cast<const char*>(lf) - in_.data());
    const std::size_t start = index_of(line_start_);
    const std::string_view line(in_.data() + start, lf_index - start);
    const std::uint64_t line_end = offset_of(lf_index + 1);
    line_start_ = scan_ = line_end;
    if (Result<void> ok = check_section_limit(line_end); !ok) return ok;
    if (Result<void> ok = check_line(line, line_end); !ok) return ok;
  }
  if (section_done_) return {};
  return check_section_limit(seen_end);
}

// The limit of the line or section in progress, with its bytes up to `end`.
Result<void> RequestParser::check_section_limit(std::uint64_t end) const {
  if (state_ == State::head && !request_line_done_) {
    if (end - head_start_ > limits_.request_line_bytes_max) {
      return unexpected(Errc::uri_too_long, "request line over its limit");
    }
    return {};
  }
  if (end - section_start_ > limits_.header_bytes_max) {
    return unexpected(Errc::headers_too_large, state_ == State::trailers
                                                   ? "trailer section over its limit"
                                                   : "header section over its limit");
  }
  return {};
}

// One line (without its LF) of the head or the trailer section, as received. http-parser
// accepts a CR followed by any byte as a line end and skips stray CRs and LFs before the
// request line; here a line ends at LF, with one CR before it (required in trailers).
Result<void> RequestParser::check_line(std::string_view line, std::uint64_t line_end) {
  if (state_ == State::trailers) {
    if (line.empty() || line.back() != '\r') {
      return unexpected(Errc::bad_chunk, "bare LF in trailer section");
    }
    line.remove_suffix(1);
    if (line.empty()) {
      section_done_ = true;
      return {};
    }
    if (++field_lines_ > limits_.header_count_max) {
      return unexpected(Errc::headers_too_large, "too many trailer fields");
    }
    return check_field_line(line, trailers_);
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!request_line_done_) {
    if (line.empty()) return {};  // an empty line before the request line (RFC 9112 §2.2)
    request_line_done_ = true;
    section_start_ = line_end;
    return check_request_line(line);
  }
  if (line.empty()) {
    section_done_ = true;
    return {};
  }
  if (++field_lines_ > limits_.header_count_max) {
    return unexpected(Errc::headers_too_large, "too many header fields");
  }
  return check_field_line(line, request_.headers);
}

// request-line   = method SP request-target SP HTTP-version         (RFC 9112 §3)
// HTTP-version   = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP" (§2.3)
// request-target = origin-form / absolute-form / authority-form / asterisk-form (§3.2)
// origin-form    = absolute-path [ "?" query ]
// http-parser knows the method by name, skips repeated spaces, reads a line without a version
// as HTTP/0.9 and, built non-strict, takes any letters for "HTTP": so the line must be exactly
// the tokens it reported.
Result<void> RequestParser::check_request_line(std::string_view line) {
  const http_parser& p = impl_->parser;
  if (line.find('\r') != std::string_view::npos) {
    return unexpected(Errc::bad_request, "bare CR in request line");
  }
  const std::string_view method = http_method_str(static_cast<http_method>(p.method));
  const std::string_view target = request_.target;
  const char version[] = {'H', 'T',
                          'T', 'P',
                          '/', static_cast<char>('0' + p.http_major),
                          '.', static_cast<char>('0' + p.http_minor)};
  std::string_view rest = line;
  const auto take = [&](std::string_view part) {
    if (!rest.starts_with(part)) return false;
    rest.remove_prefix(part.size());
    return true;
  };
  if (!(take(method) && take(" ") && take(target) && take(" ") &&
        take(std::string_view(version, sizeof version)) && rest.empty())) {
    return unexpected(Errc::bad_request, "request line is not method SP target SP version");
  }
  if (p.http_major != 1 || p.http_minor > 1) {
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
  request_.version_minor = p.http_minor;
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
// obs-fold    = OWS CRLF RWS: rejected with 400 (§5.2)
// http-parser (non-strict) lets SP into field names and joins an obs-fold line to the value
// before it; it rejects control characters in values itself. The field tokenized from this
// line (the field_lines_-th) must be its name, then ':'.
Result<void> RequestParser::check_field_line(std::string_view line, std::vector<Header>& fields) {
  if (line.find('\r') != std::string_view::npos) {
    return unexpected(Errc::bad_request, "bare CR in a field line");
  }
  if (line.front() == ' ' || line.front() == '\t') {
    return unexpected(Errc::bad_request, "obs-fold or whitespace before a field line");
  }
  if (field_lines_ > fields.size()) return unexpected(Errc::bad_request, "field without a name");
  Header& field = fields[field_lines_ - 1];
  if (!is_token(field.name) || !line.starts_with(field.name) || line.size() == field.name.size() ||
      line[field.name.size()] != ':') {
    return unexpected(Errc::bad_request, "field name is not a token followed by ':'");
  }
  // http-parser drops the OWS before the value, not after it.
  while (!field.value.empty() && (field.value.back() == ' ' || field.value.back() == '\t')) {
    field.value.pop_back();
  }
  return {};
}

// Message body length (RFC 9112 §6.3), strictest reading of each rule:
//   Transfer-Encoding with Content-Length: 400 (rule 3 lets a server reject it).
//   Transfer-Encoding ending in chunked: chunked (rule 4); not ending in chunked: 400.
//   Content-Length: that many bytes (rule 5); http-parser rejects a second one or a list.
//   Neither: zero (rule 7).
// The framing must also be the one http-parser took, since it delimits the body.
Result<void> RequestParser::finish_head() {
  if (!section_done_ || line_start_ != offset_of(pos_ + 1)) {
    return unexpected(Errc::bad_request, "header section not ended by an empty line");
  }
  if (field_lines_ != request_.headers.size()) {
    return unexpected(Errc::bad_request, "field lines and fields differ");
  }
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

  const http_parser& p = impl_->parser;
  const bool parser_chunked = (p.flags & F_CHUNKED) != 0;
  // http-parser takes CONNECT as a tunnel and reads no body (RFC 9110 §9.3.6: it has none).
  const bool connect = request_.method == "CONNECT";
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
    if (!parser_chunked || connect) {
      return unexpected(Errc::ambiguous_framing, "chunked body http-parser would not read");
    }
    request_.framing = BodyFraming::chunked;
    state_ = State::chunk_size_line;
    span_start_ = offset_of(pos_ + 1);
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
    if (parser_chunked || p.content_length != *length || (connect && *length > 0)) {
      return unexpected(Errc::ambiguous_framing, "body length http-parser would not read");
    }
    request_.framing = BodyFraming::content_length;
    request_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, 1 << 20)));
    state_ = State::body;
    return {};
  }

  if (parser_chunked || p.uses_transfer_encoding != 0 || p.content_length != ULLONG_MAX) {
    return unexpected(Errc::ambiguous_framing, "body http-parser would read");
  }
  state_ = State::body;
  return {};
}

// chunk-size = 1*HEXDIG
// chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// http-parser has read the size; it ends the line at the first CR and whatever byte follows,
// and skips any bytes after the size up to that CR. Here the line must end in CRLF, and the
// extensions, otherwise ignored, must start with ";" and hold no control characters but HTAB.
Result<void> RequestParser::finish_chunk_size_line() {
  const char* begin = in_.data() + index_of(span_start_);
  const auto* cr = static_cast<const char*>(
      std::memchr(begin, '\r', static_cast<std::size_t>(exec_end_ - begin)));
  if (cr == nullptr || cr + 1 >= exec_end_) {
    return unexpected(Errc::bad_chunk, "chunk-size line not ended by CRLF");
  }
  const std::uint64_t line_end = span_start_ + static_cast<std::uint64_t>(cr - begin) + 2;
  if (line_end - span_start_ > limits_.chunk_line_bytes_max) {
    return unexpected(Errc::bad_chunk, "chunk-size line over its limit");
  }
  const std::string_view line(begin, static_cast<std::size_t>(cr - begin));
  if (cr[1] != '\n' || line.find('\n') != std::string_view::npos) {
    return unexpected(Errc::bad_chunk, "chunk-size line not ended by CRLF");
  }
  const std::uint64_t size = impl_->parser.content_length;
  if (size > limits_.body_bytes_max - request_.body.size()) {
    return unexpected(Errc::body_too_large, "chunked body over the body limit");
  }
  std::size_t digits = 0;
  while (digits < line.size() && hex_value(line[digits]) >= 0) ++digits;
  if (digits == 0) return unexpected(Errc::bad_chunk, "chunk-size is not hex");
  std::string_view ext = line.substr(digits);
  while (!ext.empty() && (ext.front() == ' ' || ext.front() == '\t')) ext.remove_prefix(1);
  if (!ext.empty() && ext.front() != ';') return unexpected(Errc::bad_chunk, "junk after size");
  for (const char c : ext) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return unexpected(Errc::bad_chunk, "control character in chunk extension");
    }
  }
  span_start_ = line_end;
  if (size == 0) {
    // last-chunk; trailer-section = *( field-line CRLF ), tokenized by http-parser, checked
    // line by line like the head, then dropped.
    state_ = State::trailers;
    section_start_ = line_start_ = scan_ = line_end;
    section_done_ = false;
    field_lines_ = 0;
    in_field_name_ = false;
  } else {
    state_ = State::chunk_data;
    chunk_left_ = size;
  }
  return {};
}

// chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF: http-parser (non-strict) takes any two
// bytes after the data for the CRLF.
Result<void> RequestParser::finish_chunk_data() {
  if (state_ != State::chunk_data_end) return {};  // the end of the trailer section
  const char* at = in_.data() + index_of(span_start_);
  if (at[0] != '\r' || at[1] != '\n') return unexpected(Errc::bad_chunk, "no CRLF after data");
  span_start_ += 2;
  state_ = State::chunk_size_line;
  return {};
}

// Consumed bytes are kept while the line or chunk framing they belong to is still unchecked.
std::size_t RequestParser::held_from() const {
  switch (state_) {
    case State::head:
    case State::trailers:
      return std::min(pos_, index_of(line_start_));
    case State::chunk_size_line:
    case State::chunk_data_end:
      return std::min(pos_, index_of(span_start_));
    default:
      return pos_;
  }
}

void RequestParser::compact() {
  const std::size_t keep = held_from();
  if (keep == 0) return;
  if (keep == in_.size()) {
    in_.clear();
  } else if (keep >= 4096 && keep * 2 >= in_.size()) {
    in_.erase(0, keep);
  } else {
    return;
  }
  in_base_ += keep;
  pos_ -= keep;
}

}  // namespace mta::http
