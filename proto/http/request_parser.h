// RequestParser: the incremental HTTP/1.1 request parser (RFC 9112) for the server side, on
// Debian's http-parser with our stricter checks on top. Bytes go in as they arrive, split
// anywhere; out come "need more", "headers complete" (time to send 100 Continue or reject
// early), a complete Request, or an error whose status_for() is the status to answer. No
// sockets or clocks: the caller moves bytes and writes responses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/http/errc.h"

namespace mta::http {

struct Header {
  std::string name;   // as received (case preserved)
  std::string value;  // leading and trailing OWS removed

  friend bool operator==(const Header&, const Header&) = default;
};

struct QueryParam {
  std::string name;   // percent-decoded, '+' as space
  std::string value;  // percent-decoded, '+' as space; empty for "?flag"

  friend bool operator==(const QueryParam&, const QueryParam&) = default;
};

// How the request delimited its body (RFC 9112 §6.3). `none` means the body is empty because
// the request had neither Content-Length nor Transfer-Encoding: a route that needs a body can
// answer 411 Length Required itself.
enum class BodyFraming { none, content_length, chunked };

struct Request {
  std::string method;             // case-sensitive token, e.g. "GET"
  std::string target;             // request-target as received
  std::string path;               // percent-decoded, without query; "*" for OPTIONS *
  std::vector<QueryParam> query;  // in order; empty pairs ("a=1&&b") skipped
  int version_minor = 1;          // HTTP/1.<minor>: 0 or 1
  std::vector<Header> headers;    // every field line, in order
  BodyFraming framing = BodyFraming::none;
  std::string body;  // decoded (chunked framing removed, trailers dropped)

  // The first field line named `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  // Every field line named `name`, in order.
  std::vector<std::string_view> header_values(std::string_view name) const;
  // The first query parameter named `name` (case-sensitive), if any.
  std::optional<std::string_view> query_param(std::string_view name) const;
  // HTTP/1.1: yes unless Connection lists "close". HTTP/1.0: only if Connection lists
  // "keep-alive" and not "close".
  bool keep_alive() const;
  // Expect lists "100-continue" in an HTTP/1.1 request (RFC 9110 §10.1.1 says to ignore it in
  // HTTP/1.0).
  bool expects_continue() const;

  friend bool operator==(const Request&, const Request&) = default;
};

// Every limit breaks with its own status: 414, 431, 431, 413. The body limit is checked
// against Content-Length when the headers complete, before any body byte is read, and against
// each chunk size as its line arrives. http-parser's own cap, 80 KiB for the request line and
// header section together (and for a chunk-size line, and for the trailer section), applies on
// top: larger limits stop there, with 414 in the request line and 431 after it.
struct ParserLimits {
  std::size_t request_line_bytes_max = 8 * 1024;  // line end included
  std::size_t header_bytes_max = 32 * 1024;       // all field lines and the empty line
  std::size_t header_count_max = 100;
  std::size_t body_bytes_max = 16 * 1024 * 1024;  // decoded body
  std::size_t chunk_line_bytes_max = 4 * 1024;    // chunk-size line with extensions (400)
};

enum class ParseEvent {
  need_more,         // feed more bytes
  headers_complete,  // once per request, when the head is in and the body is still to come
  complete,          // request() holds the whole request; call next() for the one after it
};

// One parser per connection. Lifecycle per request: feed() until complete (or an error), use
// or take_request(), then next(), which starts the following request from the bytes already
// buffered (pipelining). After an error the parser stays failed: every call returns the same
// error and the caller answers it with `Connection: close` and closes.
//
// headers_complete is returned by the feed() that completes the head when the body has not
// fully arrived with it. That is when to write continue_100() if request().expects_continue(),
// or to answer 401/413 early and close without reading the body. If the whole request came at
// once, feed() returns complete and no 100 Continue is needed (RFC 9110 §10.1.1).
//
// Debian's http-parser 2.9.4 (nodejs/http-parser, built non-strict) tokenizes the request and
// delimits the body; every rule below that it is laxer about is checked on top of it, on the
// bytes it consumed. Choices the RFCs leave open, made strict where framing is at stake (request
// smuggling):
// - Methods are the ones http-parser knows (RFC 9110's, WebDAV's, PATCH, PURGE, ...), case-
//   sensitive; any other token is a 400.
// - Bare LF ends the request line and field lines (RFC 9112 §2.2 allows recipients to accept
//   it; curl never sends it, hand-typed requests do). A CR anywhere else in them is a 400.
//   Inside chunked framing (size lines, data ends, trailers) only CRLF is accepted.
// - Empty lines before the request line are skipped (RFC 9112 §2.2), counted against
//   request_line_bytes_max.
// - 400: obs-fold, whitespace before the colon, a field value with CTLs, Content-Length with
//   Transfer-Encoding, more than one Content-Length value (equal ones too: "5, 5", or two lines
//   of "5"; RFC 9112 §6.3 lets a recipient reject them), Transfer-Encoding in HTTP/1.0, chunked
//   not last or twice, HTTP/1.1 without exactly one Host, a CONNECT with a body.
// - 501: any transfer coding other than chunked. 505: any version other than 1.0 and 1.1.
// - A POST or PUT with neither Content-Length nor Transfer-Encoding has an empty body (RFC 9112
//   §6.3 rule 7), framing none: no 411 here; the route decides.
// - The target is origin-form, absolute-form (path taken from it), "*" for OPTIONS, or
//   authority-form for CONNECT (empty path). Bytes outside 0x21..0x7E and '#' are a 400;
//   "%zz" and "%00" in the path are a 400.
// - In a chunk-size line, the whitespace before ";" may be SP, not HTAB (http-parser's rule).
class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});
  ~RequestParser();
  RequestParser(RequestParser&&) noexcept;
  RequestParser& operator=(RequestParser&&) noexcept;

  // Buffers `bytes` and parses as far as they go. Bytes past the end of a complete request
  // stay buffered for next(). While a request is complete (until next()), feed() only
  // buffers and returns complete again: it is still the same request.
  Result<ParseEvent> feed(std::string_view bytes);
  // Drops the current (complete) request and parses the next one from the buffered bytes.
  // Called while the request is not complete, it fails the parser with Errc::out_of_order
  // (answered 500): any order of calls gives a value, never an abort.
  Result<ParseEvent> next();

  // The request so far: method, target, path, query, version and headers are set from
  // headers_complete on; body once complete.
  const Request& request() const { return request_; }
  // Moves the request out (complete, or whatever has been parsed of it); request() is empty
  // afterwards until next().
  Request take_request();

  bool headers_done() const;
  // Bytes of the current request have arrived (leading empty lines count), or it is complete:
  // when a server's deadline for the request head starts.
  bool started() const;
  bool complete() const { return state_ == State::complete; }
  bool failed() const { return state_ == State::failed; }
  // Bytes received and not yet consumed by a request (the start of pipelined requests).
  std::size_t buffered_bytes() const { return in_.size() - held_from(); }

 private:
  struct Impl;  // http-parser's state and the callbacks into this class (request_parser.cc)
  friend struct Impl;

  enum class State {
    head,             // request line and header section (leading empty lines skipped)
    body,             // Content-Length body, or none
    chunk_size_line,  // chunk-size [ chunk-ext ] CRLF
    chunk_data,
    chunk_data_end,  // the CRLF after chunk data
    trailers,
    complete,
    failed,
  };
  enum class Pause { none, head, message };  // why http-parser stopped

  void start_message();
  std::size_t execute(const char* data, std::size_t size);
  Result<ParseEvent> parse();
  Result<ParseEvent> fail(Errc code, std::string detail);
  Result<ParseEvent> fail_with(const Error& error);
  Errc errc_for_parser_error(std::string_view data, std::size_t at) const;
  Result<void> check_lines(std::uint64_t lines_end, std::uint64_t seen_end);
  Result<void> check_section_limit(std::uint64_t end) const;
  Result<void> check_line(std::string_view line, std::uint64_t line_end);
  Result<void> check_request_line(std::string_view line);
  Result<void> check_field_line(std::string_view line, std::vector<Header>& fields);
  Result<void> finish_head();
  Result<void> finish_chunk_size_line();
  Result<void> finish_chunk_data();
  std::size_t held_from() const;  // index of the first byte in_ must keep
  void compact();
  // Stream offset (bytes since the connection began) of in_[index], and back.
  std::uint64_t offset_of(std::size_t index) const { return in_base_ + index; }
  std::size_t index_of(std::uint64_t offset) const {
    return static_cast<std::size_t>(offset - in_base_);
  }

  ParserLimits limits_;
  std::unique_ptr<Impl> impl_;
  State state_ = State::head;
  Pause pause_ = Pause::none;
  Request request_;
  std::vector<Header> trailers_;  // tokenized only to check them; dropped
  std::string in_;                // received bytes; [pos_, end) not yet given to http-parser
  std::size_t pos_ = 0;
  std::uint64_t in_base_ = 0;       // stream offset of in_[0]
  const char* exec_end_ = nullptr;  // end of the bytes http-parser is running over
  bool in_field_name_ = false;      // the last field callback was a name
  // Line checks (stream offsets): head_start_ is where the request's bytes begin (leading
  // empty lines included), section_start_ where the header or trailer section begins.
  std::uint64_t head_start_ = 0;
  std::uint64_t section_start_ = 0;
  std::uint64_t line_start_ = 0;  // start of the line not yet checked
  std::uint64_t scan_ = 0;        // where the search for its LF resumes
  std::uint64_t span_start_ = 0;  // chunk-size line, or the CRLF after chunk data
  bool request_line_done_ = false;
  bool section_done_ = false;  // the empty line ending the header or trailer section is in
  std::size_t field_lines_ = 0;
  std::uint64_t chunk_left_ = 0;  // chunk-data bytes still to come
  Error error_;
};

}  // namespace mta::http
