// `outpost inject`: reads the message (FILE or stdin) or a prepared JSON request, posts it to
// POST /v1/messages through app/http_client.h with the API key as a Bearer token, and prints
// the ids of a 202, one per line, or the API's error message. The daemon answers 202 only
// once every message is durable, so exit 0 means the queue owns them.
#include "app/inject_command.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "app/http_client.h"
#include "base/concat.h"
#include "base/envelope_address.h"
#include "loadgen/units.h"
#include "proto/http/json.h"

namespace mta::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

constexpr std::string_view usage =
    R"(Usage: outpost inject [--url URL] [--key KEY] --from ADDRESS --to ADDRESS [--to ...] [FILE]
       outpost inject [--url URL] [--key KEY] --json REQUEST.json

Submits an RFC 5322 message (from FILE, or standard input) to the daemon's HTTP injection API
(POST /v1/messages) and prints the id of each message queued, one per line. The daemon
answers only once the messages are durable.

Options:
  --url URL        the API's base URL (default http://127.0.0.1:8025: [http] listen)
  --key KEY        an API key of [[http.api_key]] (default: $OUTPOST_API_KEY)
  --from ADDRESS   envelope sender (MAIL FROM); "" for a null sender
  --to ADDRESS     envelope recipient (RCPT TO); repeat for several
  --json FILE      post this prepared request (raw, structured or bulk; see
                   injection/openapi.yaml) as it is, "-" for standard input; prints its ids
  --timeout D      how long to wait for the connection and the answer (default 60s)

Exit codes: 0 queued, 1 refused or failed (the API's message on stderr), 2 usage.
)";

struct Options {
  std::string url = "http://127.0.0.1:8025";
  std::string key;
  std::optional<std::string> from;
  std::vector<std::string> to;
  std::string json_path;
  std::string file;  // empty: standard input
  std::chrono::seconds timeout{60};
};

Result<Options> parse_args(std::span<const std::string_view> args) {
  Options o;
  auto bad = [](std::string text) {
    return unexpected(std::make_error_code(std::errc::invalid_argument), std::move(text));
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (has_value && arg == "--url") {
      o.url = std::string(args[++i]);
    } else if (has_value && arg == "--key") {
      o.key = std::string(args[++i]);
    } else if (has_value && arg == "--from") {
      o.from = std::string(args[++i]);
    } else if (has_value && arg == "--to") {
      o.to.emplace_back(args[++i]);
    } else if (has_value && arg == "--json") {
      o.json_path = std::string(args[++i]);
    } else if (has_value && arg == "--timeout") {
      auto timeout = loadgen::parse_duration(args[++i]);
      if (!timeout || *timeout < std::chrono::seconds(1)) {
        return bad("--timeout takes a duration of at least 1s, e.g. 30s or 2m");
      }
      o.timeout = std::chrono::duration_cast<std::chrono::seconds>(*timeout);
    } else if (o.file.empty() && (arg == "-" || !arg.starts_with("-"))) {
      o.file = std::string(arg);
    } else {
      return bad(concat({"unknown argument ", arg}));
    }
  }
  if (o.json_path.empty()) {
    if (!o.from) return bad("--from is required (or --json)");
    if (o.to.empty()) return bad("at least one --to is required (or --json)");
    // The API checks them too; said here, the message names the option.
    for (std::size_t i = 0; i <= o.to.size(); ++i) {
      const std::string& address = i < o.to.size() ? o.to[i] : *o.from;
      if (i == o.to.size() && address.empty()) break;  // the null sender
      auto canonical = canonical_address(address);
      if (!canonical) {
        return bad(concat({i < o.to.size() ? "--to " : "--from ", "\"", address,
                           "\": not an address: ", canonical.error().detail}));
      }
    }
  } else if (o.from || !o.to.empty() || !o.file.empty()) {
    return bad("--json goes alone: the request file holds the envelope and the message");
  }
  if (o.key.empty()) {
    const char* env = std::getenv("OUTPOST_API_KEY");
    if (env != nullptr) o.key = env;
  }
  if (o.key.empty()) return bad("no API key: give --key or set OUTPOST_API_KEY");
  return o;
}

// The whole of FILE, or of standard input for "" and "-".
Result<std::string> read_input(const std::string& path) {
  const bool stdin_input = path.empty() || path == "-";
  std::FILE* file = stdin_input ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return unexpected(std::error_code(errno, std::system_category()),
                      concat({"cannot open ", path}));
  }
  std::string text;
  char buffer[64 * 1024];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  if (!stdin_input) std::fclose(file);
  if (failed) {
    return unexpected(std::make_error_code(std::errc::io_error),
                      concat({"cannot read ", stdin_input ? "standard input" : path}));
  }
  return text;
}

// The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629 §4:
// shortest form, no surrogates, at most U+10FFFF), or npos.
std::size_t invalid_utf8_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the second byte's range
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      length = 3;
      if (b == 0xE0) low = 0xA0;
      if (b == 0xED) high = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      length = 4;
      if (b == 0xF0) low = 0x90;
      if (b == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < 0x80 || next > 0xBF) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::string> raw_request_json(std::string_view message, std::string_view mail_from,
                                     const std::vector<std::string>& rcpt_to) {
  if (const std::size_t at = invalid_utf8_at(message); at != std::string_view::npos) {
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      concat({"the message is not UTF-8 (byte ", std::to_string(at),
                              "): the JSON API carries text only; encode 8-bit parts as "
                              "quoted-printable or base64"}));
  }
  http::JsonWriter json;
  json.reserve(message.size() + message.size() / 8 + 256);
  json.begin_object();
  json.key("raw");
  json.value(message);
  json.key("envelope");
  json.begin_object();
  json.key("mail_from");
  json.value(mail_from);
  json.key("rcpt_to");
  json.begin_array();
  for (const auto& address : rcpt_to) json.value(address);
  json.end_array();
  json.end_object();
  json.end_object();
  return json.take();
}

Result<std::vector<std::string>> accepted_ids(std::string_view body) {
  auto bad = [](std::string_view why) {
    return unexpected(std::make_error_code(std::errc::bad_message),
                      concat({"unexpected 202 answer: ", why}));
  };
  auto parsed = http::parse_json(body);
  if (!parsed) return bad(parsed.error().detail);
  const http::JsonValue* messages = parsed->find("messages");
  if (messages == nullptr || !messages->is_array()) return bad("no \"messages\" array");
  std::vector<std::string> ids;
  for (const auto& message : messages->as_array()) {
    const http::JsonValue* id = message.find("id");
    if (id == nullptr || !id->is_string()) return bad("a message without a string \"id\"");
    ids.push_back(id->as_string());
  }
  return ids;
}

std::string refusal_text(int status, std::string_view body, std::string_view retry_after) {
  std::string text = std::to_string(status);
  std::string message;
  if (auto parsed = http::parse_json(body)) {
    const http::JsonValue* error = parsed->find("error");
    const http::JsonValue* line = error != nullptr ? error->find("message") : nullptr;
    if (line != nullptr && line->is_string()) message = line->as_string();
  }
  if (message.empty()) {
    // Not the API's error document (a proxy's page, an older daemon): its first line.
    const std::string_view first = body.substr(0, body.find_first_of("\r\n"));
    message = std::string(first.substr(0, 200));
  }
  if (!message.empty()) text += concat({" ", message});
  if (!retry_after.empty()) text += concat({" (retry after ", retry_after, " s)"});
  return text;
}

int inject_command(std::span<const std::string_view> args) {
  for (const auto arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage.data(), stdout);
      return exit_ok;
    }
  }
  auto options = parse_args(args);
  if (!options) {
    std::fprintf(stderr, "outpost inject: %s\n%s", options.error().detail.c_str(), usage.data());
    return exit_usage;
  }
  auto url = parse_http_url(options->url);
  if (!url) {
    std::fprintf(stderr, "outpost inject: %s\n", url.error().detail.c_str());
    return exit_usage;
  }

  std::string body;
  if (!options->json_path.empty()) {
    auto text = read_input(options->json_path);
    if (!text) {
      std::fprintf(stderr, "outpost inject: %s\n", text.error().message().c_str());
      return exit_failed;
    }
    body = std::move(text).value();
  } else {
    auto message = read_input(options->file);
    if (!message) {
      std::fprintf(stderr, "outpost inject: %s\n", message.error().message().c_str());
      return exit_failed;
    }
    if (message->empty()) {
      std::fputs("outpost inject: the message is empty\n", stderr);
      return exit_failed;
    }
    auto json = raw_request_json(*message, *options->from, options->to);
    if (!json) {
      std::fprintf(stderr, "outpost inject: %s\n", json.error().detail.c_str());
      return exit_failed;
    }
    body = std::move(json).value();
  }

  auto address = resolve(*url);
  if (!address) {
    std::fprintf(stderr, "outpost inject: %s\n", address.error().detail.c_str());
    return exit_failed;
  }
  HttpClientRequest request;
  request.method = "POST";
  request.target = url->path + "/v1/messages";
  request.host = url->authority;
  request.headers = {{"Authorization", "Bearer " + options->key},
                     {"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  request.body = std::move(body);
  request.timeout = options->timeout;
  auto response = http_request(*address, request);
  if (!response) {
    std::fprintf(stderr, "outpost inject: %s\n", response.error().detail.c_str());
    return exit_failed;
  }
  if (response->status != 202) {
    const std::string text = refusal_text(response->status, response->body,
                                          response->header("Retry-After").value_or(""));
    std::fprintf(stderr, "outpost inject: %s\n", text.c_str());
    return exit_failed;
  }
  auto ids = accepted_ids(response->body);
  if (!ids) {
    std::fprintf(stderr, "outpost inject: %s\n", ids.error().detail.c_str());
    return exit_failed;
  }
  for (const auto& id : *ids) std::printf("%s\n", id.c_str());
  return exit_ok;
}

}  // namespace mta::app
