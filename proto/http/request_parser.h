// RequestParser: the incremental HTTP/1.1 request parser (RFC 9112) for the server side. Bytes
// go in as they arrive, split anywhere; out come "need more", "headers complete" (time to send
// 100 Continue or reject early), a complete Request, or an error whose status_for() is the
// status to answer. No sockets or clocks: the caller moves bytes and writes responses.
#pragma once

#include <cstddef>
#include <cstdint>
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
// each chunk size as it arrives.
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
// Choices the RFCs leave open, made strict where framing is at stake (request smuggling):
// - Bare LF ends the request line and field lines (RFC 9112 §2.2 allows recipients to accept
//   it; curl never sends it, hand-typed requests do). A CR anywhere else in them is a 400.
//   Inside chunked framing (size lines, data ends, trailers) only CRLF is accepted.
// - Empty lines before the request line are skipped (RFC 9112 §2.2), counted against
//   request_line_bytes_max.
// - 400: obs-fold, whitespace before the colon, a field value with CTLs, Content-Length with
//   Transfer-Encoding, differing Content-Length values ("5, 5" is one value), Transfer-Encoding
//   in HTTP/1.0, chunked not last or twice, HTTP/1.1 without exactly one Host.
// - 501: any transfer coding other than chunked. 505: any version other than 1.0 and 1.1.
// - A POST or PUT with neither Content-Length nor Transfer-Encoding has an empty body (RFC 9112
//   §6.3 rule 7), framing none: no 411 here; the route decides.
// - The target is origin-form, absolute-form (path taken from it), "*" for OPTIONS, or
//   authority-form for CONNECT (empty path). Bytes outside 0x21..0x7E and '#' are a 400;
//   "%zz" and "%00" in the path are a 400.
class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Buffers `bytes` and parses as far as they go. Bytes past the end of a complete request
  // stay buffered for next().
  Result<ParseEvent> feed(std::string_view bytes);
  // Drops the current (complete) request and parses the next one from the buffered bytes.
  Result<ParseEvent> next();

  // The request so far: method, target, path, query, version and headers are set from
  // headers_complete on; body once complete.
  const Request& request() const { return request_; }
  // Moves the complete request out; request() is empty afterwards until next().
  Request take_request();

  bool headers_done() const;
  bool complete() const { return state_ == State::complete; }
  bool failed() const { return state_ == State::failed; }
  // Bytes received and not yet consumed by a request (the start of pipelined requests).
  std::size_t buffered_bytes() const { return in_.size() - pos_; }

 private:
  enum class State {
    leading_lines,  // before and at the request line (empty lines before it are skipped)
    headers,
    body_length,  // Content-Length body
    chunk_size,
    chunk_data,
    chunk_data_end,  // the CRLF after chunk data
    trailers,
    complete,
    failed,
  };

  Result<ParseEvent> parse();
  Result<ParseEvent> fail(Errc code, std::string detail);
  Result<ParseEvent> fail_with(const Error& error);
  // The next complete line (without its LF) from the buffer, or nullopt if it has not fully
  // arrived. `over` is set when the line, arrived or not, exceeds `bytes_max` (LF counted).
  std::optional<std::string_view> take_line(std::size_t bytes_max, bool& over);
  Result<void> parse_request_line(std::string_view line);
  Result<void> parse_field_line(std::string_view line, std::vector<Header>* out);
  Result<void> finish_head();
  Result<void> parse_chunk_size(std::string_view line);
  void compact();

  ParserLimits limits_;
  State state_ = State::leading_lines;
  Request request_;
  std::string in_;  // received bytes; [pos_, end) not yet consumed
  std::size_t pos_ = 0;
  std::size_t scan_ = 0;        // where the search for the next LF resumes
  std::size_t head_bytes_ = 0;  // request line excluded; trailers count separately
  std::size_t field_count_ = 0;
  std::uint64_t remaining_ = 0;  // body or chunk bytes still to read
  Error error_;
};

}  // namespace mta::http
