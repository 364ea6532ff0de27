// HttpResponseReader: status line, field lines, then a body by Content-Length or to EOF
// (RFC 9112 §6.3 rules 1, 2, 5, 6 and 8; rule 4, chunked, is refused). Line ends are CRLF or
// bare LF (RFC 9112 §2.2 lets a recipient accept LF); a CR anywhere else in the head is an
// error.
#include "loadgen/http_response_reader.h"

#include <algorithm>
#include <charconv>

#include "base/ascii.h"
#include "base/concat.h"

namespace mta::loadgen {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
//       / "~" / DIGIT / ALPHA                                           (RFC 9110 §5.6.2)
bool is_tchar(char c) {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Calls `each` with every element of a comma-separated list (#rule, RFC 9110 §5.6.1), OWS
// trimmed and empty elements skipped.
template <typename F>
void for_each_element(std::string_view list, F each) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) each(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& field : headers) {
    if (iequals(field.name, name)) return std::string_view(field.value);
  }
  return std::nullopt;
}

HttpResponseReader::HttpResponseReader(ResponseLimits limits) : limits_(limits) {}

bool HttpResponseReader::in_progress() const {
  return state_ == State::body_length || state_ == State::body_eof ||
         (state_ == State::head && pos_ < in_.size());
}

Result<bool> HttpResponseReader::feed(std::string_view bytes) {
  if (state_ == State::failed) return unexpected(error_.code, error_.detail);
  in_.append(bytes);
  if (state_ == State::complete) return true;
  return parse();
}

Result<bool> HttpResponseReader::finish() {
  switch (state_) {
    case State::failed:
      return unexpected(error_.code, error_.detail);
    case State::complete:
      return true;
    case State::body_eof:
      state_ = State::complete;
      return true;
    case State::head:
      if (pos_ == in_.size()) return false;
      return fail(http::Errc::bad_request, "connection closed inside a response head");
    case State::body_length:
      break;
  }
  return fail(
      http::Errc::bad_request,
      concat({"connection closed with ", std::to_string(remaining_), " body bytes still to come"}));
}

Result<bool> HttpResponseReader::next() {
  if (state_ == State::failed) return unexpected(error_.code, error_.detail);
  response_ = HttpResponse{};
  state_ = State::head;
  head_bytes_ = 0;
  have_status_ = false;
  compact();
  return parse();
}

HttpResponse HttpResponseReader::take() {
  HttpResponse out = std::move(response_);
  response_ = HttpResponse{};
  return out;
}

Result<bool> HttpResponseReader::fail(http::Errc code, std::string detail) {
  state_ = State::failed;
  error_ = Error{make_error_code(code), std::move(detail)};
  return unexpected(error_.code, error_.detail);
}

Result<bool> HttpResponseReader::parse() {
  while (state_ == State::head) {
    const std::size_t lf = in_.find('\n', pos_);
    if (lf == std::string::npos) {
      if (head_bytes_ + (in_.size() - pos_) > limits_.head_bytes_max) {
        return fail(http::Errc::headers_too_large, "response head over its limit");
      }
      return false;
    }
    head_bytes_ += lf + 1 - pos_;
    if (head_bytes_ > limits_.head_bytes_max) {
      return fail(http::Errc::headers_too_large, "response head over its limit");
    }
    std::string_view line(in_.data() + pos_, lf - pos_);
    pos_ = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      return fail(http::Errc::bad_request, "CR inside a response head line");
    }
    if (!have_status_) {
      if (auto parsed = parse_status_line(line); !parsed) return fail_error(parsed.error());
      have_status_ = true;
    } else if (line.empty()) {
      auto done = finish_head();
      if (!done) return done;
    } else if (auto parsed = parse_field_line(line); !parsed) {
      return fail_error(parsed.error());
    }
  }
  if (state_ == State::body_length) {
    const std::size_t take_bytes = std::min(remaining_, in_.size() - pos_);
    response_.body.append(in_, pos_, take_bytes);
    pos_ += take_bytes;
    remaining_ -= take_bytes;
    if (remaining_ == 0) state_ = State::complete;
  } else if (state_ == State::body_eof) {
    if (response_.body.size() + (in_.size() - pos_) > limits_.body_bytes_max) {
      return fail(http::Errc::body_too_large, "response body over its limit");
    }
    response_.body.append(in_, pos_, std::string::npos);
    pos_ = in_.size();
  }
  compact();
  return state_ == State::complete;
}

Result<bool> HttpResponseReader::fail_error(const Error& error) {
  state_ = State::failed;
  error_ = error;
  return unexpected(error_.code, error_.detail);
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ]        (RFC 9112 §4)
// HTTP-version = "HTTP/" DIGIT "." DIGIT;  status-code = 3DIGIT
// The SP after the code is required by the grammar; a bare "HTTP/1.1 200" is accepted too,
// as the RFC asks recipients to be lenient about an empty reason.
Result<void> HttpResponseReader::parse_status_line(std::string_view line) {
  if (line.size() < 12 || !line.starts_with("HTTP/") || !is_digit(line[5]) || line[6] != '.' ||
      !is_digit(line[7]) || line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) ||
      !is_digit(line[11]) || (line.size() > 12 && line[12] != ' ')) {
    return unexpected(http::Errc::bad_request,
                      concat({"malformed status line \"", line.substr(0, 64), "\""}));
  }
  if (line[5] != '1') {
    return unexpected(http::Errc::version_not_supported,
                      concat({"HTTP version ", line.substr(5, 3), " is not 1.x"}));
  }
  response_.version_minor = line[7] - '0';
  response_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (response_.status < 100) {
    return unexpected(http::Errc::bad_request, "status code below 100");
  }
  return {};
}

// field-line = field-name ":" OWS field-value OWS                      (RFC 9112 §5)
Result<void> HttpResponseReader::parse_field_line(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return unexpected(http::Errc::bad_request, "field line without a name and colon");
  }
  const std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), is_tchar)) {
    // Also catches obs-fold (a line starting with SP) and whitespace before the colon.
    return unexpected(http::Errc::bad_request,
                      concat({"bad field name \"", name.substr(0, 64), "\""}));
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  const bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  });
  if (control) return unexpected(http::Errc::bad_request, "control character in a field value");
  response_.headers.push_back(http::Header{std::string(name), std::string(value)});
  return {};
}

Result<bool> HttpResponseReader::finish_head() {
  const int status = response_.status;
  if (status >= 100 && status < 200) {
    if (status == 101) return fail(http::Errc::bad_request, "unexpected 101 Switching Protocols");
    // An interim response (100 Continue, 103 Early Hints): the final one follows.
    response_ = HttpResponse{};
    head_bytes_ = 0;
    have_status_ = false;
    return false;
  }
  bool keep_alive = false;
  std::optional<std::size_t> length;
  for (const auto& field : response_.headers) {
    if (iequals(field.name, "Transfer-Encoding")) {
      return fail(http::Errc::unsupported_transfer_coding,
                  concat({"Transfer-Encoding ", field.value, " is not supported"}));
    }
    if (iequals(field.name, "Connection")) {
      for_each_element(field.value, [&](std::string_view option) {
        if (iequals(option, "close")) response_.close = true;
        if (iequals(option, "keep-alive")) keep_alive = true;
      });
    } else if (iequals(field.name, "Content-Length")) {
      // Content-Length = 1*DIGIT; a list of identical values is one value (RFC 9110 §8.6).
      bool bad = false;
      for_each_element(field.value, [&](std::string_view element) {
        std::size_t value = 0;
        const auto [end, error] =
            std::from_chars(element.data(), element.data() + element.size(), value);
        if (error != std::errc{} || end != element.data() + element.size() ||
            !std::all_of(element.begin(), element.end(), is_digit) ||
            (length && *length != value)) {
          bad = true;
        }
        length = value;
      });
      if (bad || !length) {
        return fail(http::Errc::bad_content_length,
                    concat({"bad Content-Length \"", field.value, "\""}));
      }
    }
  }
  if (response_.version_minor == 0 && !keep_alive) response_.close = true;
  // 204 and 304 never have a body, whatever their fields say (RFC 9112 §6.3 rule 1).
  if (status == 204 || status == 304) {
    state_ = State::complete;
    return true;
  }
  if (length) {
    if (*length > limits_.body_bytes_max) {
      return fail(http::Errc::body_too_large,
                  concat({"response body of ", std::to_string(*length), " bytes over its limit"}));
    }
    response_.body.reserve(*length);
    remaining_ = *length;
    state_ = *length == 0 ? State::complete : State::body_length;
    return state_ == State::complete;
  }
  // Neither length nor chunked: the body runs to the end of the connection (rule 8).
  response_.close = true;
  state_ = State::body_eof;
  return false;
}

void HttpResponseReader::compact() {
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024 && pos_ > in_.size() / 2) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
}

}  // namespace mta::loadgen
