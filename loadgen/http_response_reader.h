// HttpResponseReader: the client side's incremental HTTP/1.1 response reader (RFC 9112), for
// `outpost bench blast --http` and `outpost inject`. Bytes go in as they arrive, split
// anywhere; out comes "need more" or a complete response. Bodies are delimited by
// Content-Length or by the end of the connection; chunked responses are refused (Outpost's
// server never sends them). No sockets: the caller moves bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "proto/http/request_parser.h"

namespace mta::loadgen {

struct HttpResponse {
  int status = 0;                     // 100..599
  int version_minor = 1;              // HTTP/1.<minor>
  std::vector<http::Header> headers;  // every field line, in order
  std::string body;
  // The server will close after this response: `Connection: close`, HTTP/1.0 without
  // `Connection: keep-alive`, or a body delimited by the end of the connection.
  bool close = false;

  // The first field line named `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct ResponseLimits {
  std::size_t head_bytes_max = 64 * 1024;         // status line and field lines
  std::size_t body_bytes_max = 64 * 1024 * 1024;  // a longer body is body_too_large
};

// One reader per connection. Lifecycle per response: feed() until it returns true (or
// finish() at the peer's EOF), use or take() the response, then next(), which starts the
// following response from bytes already buffered. Interim 1xx responses (100 Continue) are
// skipped. After an error the reader stays failed and returns the same error; the caller
// closes the connection. Errors carry http::Errc codes: bad_request (syntax),
// bad_content_length, headers_too_large, body_too_large, unsupported_transfer_coding,
// version_not_supported.
class HttpResponseReader {
 public:
  explicit HttpResponseReader(ResponseLimits limits = {});

  // Buffers `bytes` and parses as far as they go: true once a response is complete.
  Result<bool> feed(std::string_view bytes);
  // The peer closed the connection: true when that completes a body delimited by EOF; an
  // error when it cuts a response short (false when no byte of a response had arrived).
  Result<bool> finish();
  // Drops the complete response and parses the next one from the buffered bytes.
  Result<bool> next();

  bool complete() const { return state_ == State::complete; }
  // Some byte of a response not yet complete has arrived.
  bool in_progress() const;
  const HttpResponse& response() const { return response_; }
  HttpResponse take();  // moves the complete response out

 private:
  enum class State { head, body_length, body_eof, complete, failed };

  Result<bool> parse();
  Result<bool> fail(http::Errc code, std::string detail);
  Result<bool> fail_error(const Error& error);
  Result<void> parse_status_line(std::string_view line);
  Result<void> parse_field_line(std::string_view line);
  Result<bool> finish_head();
  void compact();

  ResponseLimits limits_;
  State state_ = State::head;
  HttpResponse response_;
  std::string in_;  // received bytes; [pos_, end) not yet consumed
  std::size_t pos_ = 0;
  std::size_t head_bytes_ = 0;  // of the current head, line ends included
  bool have_status_ = false;    // the status line of the current head was read
  std::size_t remaining_ = 0;   // body bytes still to read (body_length)
  Error error_;
};

}  // namespace mta::loadgen
