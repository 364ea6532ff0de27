// `outpost inject`: submits one RFC 5322 message (or a prepared JSON request) to the daemon's
// HTTP injection API, POST /v1/messages (injection/openapi.yaml), and prints the ids of the
// messages queued. The request and answer handling are pure functions, tested without a
// daemon.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::app {

// args are the words after `outpost inject`. Returns the process exit code: 0 queued, 1
// refused or failed, 2 usage.
int inject_command(std::span<const std::string_view> args);

// The raw shape: {"raw": message, "envelope": {"mail_from": from, "rcpt_to": [to...]}}.
// The message must be valid UTF-8 (a JSON string carries text only): otherwise an
// invalid_argument error naming the first bad byte's offset.
Result<std::string> raw_request_json(std::string_view message, std::string_view mail_from,
                                     const std::vector<std::string>& rcpt_to);

// The ids of a 202 answer's {"messages": [{"id": ...}, ...]}, in order.
Result<std::vector<std::string>> accepted_ids(std::string_view body);

// One line for a refused request: "<status> <message>" from the API's
// {"error": {"status", "message"}}, "(retry after N s)" when `retry_after` is set, or the
// first line of a body that is not that JSON.
std::string refusal_text(int status, std::string_view body, std::string_view retry_after);

}  // namespace mta::app
