// Fuzzes RequestParser differentially: the input (after a control byte) is parsed whole and
// again in three pieces at offsets derived from the control byte (and byte by byte when
// short); the complete requests and the final error must agree. The control byte's top bit
// selects tiny limits so the 413/414/431 paths are reached too. A lazy driver that serves
// at most a few requests per piece (bytes pile up behind a complete request, as behind a busy
// HTTP connection) must agree too, and stray next() calls must give values, never abort.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/assert.h"
#include "proto/http/errc.h"
#include "proto/http/request_parser.h"
#include "proto/http/response.h"

namespace {

using mta::http::ParseEvent;
using mta::http::ParserLimits;
using mta::http::Request;
using mta::http::RequestParser;

struct Outcome {
  std::vector<Request> requests;
  std::optional<std::error_code> error;

  friend bool operator==(const Outcome&, const Outcome&) = default;
};

void check_error(const mta::Error& error) {
  const int status = mta::http::status_for(error.code);
  MTA_ASSERT(status == 400 || status == 413 || status == 414 || status == 431 || status == 501 ||
             status == 505);
  MTA_ASSERT(!mta::http::serialize(mta::http::Response::for_error(error)).empty());
}

// `serve_max`: requests taken per piece (0 = all); the rest are taken after the last piece.
Outcome run(const std::vector<std::string_view>& pieces, const ParserLimits& limits,
            unsigned serve_max = 0) {
  Outcome outcome;
  RequestParser parser(limits);
  mta::Result<ParseEvent> event = ParseEvent::need_more;
  auto serve = [&](unsigned max) {
    for (unsigned served = 0; event && *event == ParseEvent::complete; ++served) {
      if (max != 0 && served == max) return;
      const Request& request = parser.request();
      MTA_ASSERT(!request.method.empty());
      MTA_ASSERT(request.version_minor == 0 || request.version_minor == 1);
      MTA_ASSERT(request.body.size() <= limits.body_bytes_max);
      MTA_ASSERT(request.headers.size() <= limits.header_count_max);
      outcome.requests.push_back(parser.take_request());
      event = parser.next();
    }
  };
  for (const std::string_view piece : pieces) {
    event = parser.feed(piece);
    serve(serve_max);
    if (!event) break;
  }
  serve(0);
  if (!event) {
    check_error(event.error());
    outcome.error = event.error().code;
  }
  return outcome;
}

// next() at arbitrary points, complete or not: every call returns a value.
void run_stray(std::string_view input, unsigned control) {
  RequestParser parser;
  for (std::size_t at = 0; at < input.size();) {
    const std::size_t piece = 1 + (control + at) % 61;
    (void)parser.feed(input.substr(at, piece));
    at += piece;
    if (((control + at) & 3) == 0) (void)parser.take_request();
    if (((control + at) & 1) == 0) {
      const mta::Result<ParseEvent> event = parser.next();
      if (!event) MTA_ASSERT(parser.failed());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  ParserLimits limits;
  if ((control & 0x80) != 0) {
    limits.request_line_bytes_max = 48;
    limits.header_bytes_max = 96;
    limits.header_count_max = 4;
    limits.body_bytes_max = 32;
    limits.chunk_line_bytes_max = 16;
  }
  std::size_t a = (control * 31u) % (input.size() + 1);
  std::size_t b = (control * 131u + 7u) % (input.size() + 1);
  if (a > b) std::swap(a, b);

  const Outcome whole = run({input}, limits);
  const Outcome split = run({input.substr(0, a), input.substr(a, b - a), input.substr(b)}, limits);
  MTA_ASSERT(whole == split);
  if (input.size() <= 512) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    MTA_ASSERT(run(bytes, limits) == whole);
  }
  MTA_ASSERT(run({input.substr(0, a), input.substr(a, b - a), input.substr(b)}, limits,
                 1 + (control & 3)) == whole);
  run_stray(input, control);
  return 0;
}
