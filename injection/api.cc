// HttpApi: authentication and limits first, then the request body is read into messages
// (raw, structured or bulk), and the messages go to the Injector as one group, so a request is
// stored all or none and answered once. Every refusal is a JSON error naming the field.
#include "injection/api.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "base/concat.h"
#include "base/envelope_address.h"
#include "base/log.h"
#include "base/rfc3339.h"
#include "dkim/crypto.h"
#include "injection/tags.h"
#include "proto/http/json.h"
#include "proto/mime/address.h"
#include "proto/mime/compose.h"
#include "proto/mime/encoding.h"
#include "proto/mime/header.h"
#include "proto/mime/template.h"
#include "queue/errc.h"
#include "queue/query.h"

namespace mta::injection {

using http::JsonValue;

struct HttpApi::Caller {
  std::string name;      // the key's name, or "loopback"
  std::string tenant;    // the key's tenant: its messages are that tenant's ("" = any)
  RateLimiter* limiter;  // never null
  std::string client_ip;
};

namespace {

// A refusal: the status, what is wrong, and the field at fault ("" = the request as a whole).
struct ApiError {
  int status = 400;
  std::string message;
  std::string field;
  Clock::Duration retry_after{};  // 429/503: the Retry-After value
};

http::Response error_response(const http::Request& request, const ApiError& error) {
  http::Response response = http::Response::for_request(request);
  response.status = error.status;
  response.content_type = "application/json";
  http::JsonWriter json;
  json.begin_object();
  json.key("error");
  json.begin_object();
  json.key("status");
  json.value(static_cast<std::int64_t>(error.status));
  json.key("message");
  json.value(error.field.empty() ? error.message : error.field + ": " + error.message);
  if (!error.field.empty()) {
    json.key("field");
    json.value(error.field);
  }
  json.end_object();
  json.end_object();
  response.body = json.take();
  response.body += "\n";
  if (error.status == 401) response.bearer_challenge = true;
  if (error.retry_after > Clock::Duration::zero()) {
    const auto seconds = static_cast<std::int64_t>(
        std::ceil(std::chrono::duration<double>(error.retry_after).count()));
    response.headers.push_back({"Retry-After", std::to_string(std::max<std::int64_t>(1, seconds))});
  }
  return response;
}

std::string index_field(std::string_view name, std::size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

bool constant_time_equal(const std::array<std::uint8_t, 32>& a,
                         const std::array<std::uint8_t, 32>& b) {
  std::uint8_t difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<std::uint8_t>(a[i] ^ b[i]);
  return difference == 0;
}

// The fields each request shape may carry; anything else is a 400 naming it.
constexpr std::array<std::string_view, 18> known_fields = {
    "raw",        "envelope",      "from",   "to",       "cc",      "bcc",
    "reply_to",   "subject",       "text",   "html",     "headers", "attachments",
    "recipients", "substitutions", "tenant", "campaign", "class",   "pool"};

// Fields of every request shape, raw included: how the messages are scheduled (tags.h).
constexpr std::array<std::string_view, 4> tag_fields = {"tenant", "campaign", "class", "pool"};

// Reads the body of one request into messages, or says what is wrong with it.
class RequestReader {
 public:
  // `seed` makes this request's MIME boundaries differ from every other request's.
  RequestReader(const JsonValue& root, const ApiOptions& options, std::string seed)
      : root_(root), options_(options), seed_(std::move(seed)) {}

  std::optional<ApiError> read(std::vector<Inbound>& out) {
    if (!root_.is_object()) return bad("", "the request body must be a JSON object");
    for (const auto& member : root_.as_object()) {
      if (std::find(known_fields.begin(), known_fields.end(), member.key) == known_fields.end()) {
        return bad(member.key, "unknown field");
      }
    }
    Tags tags;
    if (auto error = read_tags(tags)) return error;
    const std::size_t first = out.size();
    std::optional<ApiError> error;
    if (root_.find("raw") != nullptr) {
      error = read_raw(out);
    } else if (root_.find("recipients") != nullptr) {
      error = read_bulk(out);
    } else {
      error = read_structured(out);
    }
    if (error) return error;
    for (std::size_t i = first; i < out.size(); ++i) out[i].tags = tags;
    return std::nullopt;
  }

 private:
  static ApiError bad(std::string field, std::string message) {
    return ApiError{.status = 400, .message = std::move(message), .field = std::move(field)};
  }

  // tenant, campaign, pool: names (valid_tag); class: "transactional" or "bulk".
  std::optional<ApiError> read_tags(Tags& tags) const {
    for (const std::string_view name : tag_fields) {
      const JsonValue* value = root_.find(name);
      if (value == nullptr || value->is_null()) continue;
      if (!value->is_string()) return bad(std::string(name), "must be a string");
      const std::string& text = value->as_string();
      if (name == "class") {
        tags.traffic_class = parse_traffic_class(text);
        if (!tags.traffic_class) return bad("class", "must be \"transactional\" or \"bulk\"");
        continue;
      }
      if (!valid_tag(text)) {
        return bad(std::string(name), "must be 1 to 64 letters, digits, '.', '_' or '-'");
      }
      (name == "tenant" ? tags.tenant : name == "campaign" ? tags.campaign : tags.pool) = text;
    }
    return std::nullopt;
  }

  // An optional string field; error when present with another type.
  std::optional<ApiError> string_field(std::string_view name, std::string& out) const {
    const JsonValue* value = root_.find(name);
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (!value->is_string()) return bad(std::string(name), "must be a string");
    out = value->as_string();
    return std::nullopt;
  }

  // A mailbox ("Name <a@b>" or "a@b"); its addr-spec, in canonical form, goes to `address`
  // when asked for. White space around the whole is refused as well: it is a header form, but
  // nobody means it, and the envelope must not differ from what the caller sees.
  static std::optional<ApiError> mailbox(const JsonValue& value, const std::string& field,
                                         std::string* address) {
    if (!value.is_string()) return bad(field, "must be a string");
    const std::string& text = value.as_string();
    if (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      return bad(field, "not an address: leading white space");
    }
    if (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
      return bad(field, "not an address: trailing white space");
    }
    auto parsed = mime::parse_mailbox(text);
    if (!parsed) return bad(field, "not an address: " + parsed.error().detail);
    auto canonical = canonical_address(parsed->address);
    if (!canonical) return bad(field, "not an address: " + canonical.error().detail);
    if (address != nullptr) *address = std::move(*canonical);
    return std::nullopt;
  }

  // A bare envelope address (RFC 5321 Mailbox), kept in canonical form.
  static std::optional<ApiError> envelope_address(const JsonValue& value, const std::string& field,
                                                  std::string& address) {
    if (!value.is_string()) return bad(field, "must be a string");
    auto canonical = canonical_address(value.as_string());
    if (!canonical) return bad(field, "not an address: " + canonical.error().detail);
    address = std::move(*canonical);
    return std::nullopt;
  }

  // A list of mailboxes: the header forms into `forms`, the addr-specs into `addresses`.
  std::optional<ApiError> mailbox_list(std::string_view name, std::vector<std::string>& forms,
                                       std::vector<std::string>& addresses) const {
    const JsonValue* value = root_.find(name);
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (value->is_string()) {  // one address given without the array
      std::string address;
      if (auto error = mailbox(*value, std::string(name), &address)) return error;
      forms.push_back(value->as_string());
      addresses.push_back(std::move(address));
      return std::nullopt;
    }
    if (!value->is_array()) return bad(std::string(name), "must be an array of addresses");
    const auto& items = value->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string address;
      if (auto error = mailbox(items[i], index_field(name, i), &address)) return error;
      forms.push_back(items[i].as_string());
      addresses.push_back(std::move(address));
    }
    return std::nullopt;
  }

  // envelope: {"mail_from": "a@b" or "", "rcpt_to": ["c@d", ...]}.
  std::optional<ApiError> envelope(std::optional<std::string>& mail_from,
                                   std::vector<std::string>& rcpt_to) const {
    const JsonValue* value = root_.find("envelope");
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (!value->is_object()) return bad("envelope", "must be an object");
    for (const auto& member : value->as_object()) {
      if (member.key != "mail_from" && member.key != "rcpt_to") {
        return bad("envelope." + member.key, "unknown field");
      }
    }
    if (const JsonValue* from = value->find("mail_from"); from != nullptr) {
      if (!from->is_string()) return bad("envelope.mail_from", "must be a string");
      std::string address;  // "" is the null sender
      if (!from->as_string().empty()) {
        if (auto error = envelope_address(*from, "envelope.mail_from", address)) return error;
      }
      mail_from = std::move(address);
    }
    if (const JsonValue* to = value->find("rcpt_to"); to != nullptr) {
      if (!to->is_array()) return bad("envelope.rcpt_to", "must be an array of addresses");
      const auto& items = to->as_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        std::string address;
        if (auto error = envelope_address(items[i], index_field("envelope.rcpt_to", i), address)) {
          return error;
        }
        rcpt_to.push_back(std::move(address));
      }
    }
    return std::nullopt;
  }

  std::optional<ApiError> check_recipients(const std::vector<std::string>& recipients,
                                           std::string_view field) const {
    if (recipients.empty()) return bad(std::string(field), "no recipients");
    if (recipients.size() > options_.recipients_max) {
      return bad(std::string(field),
                 "more than " + std::to_string(options_.recipients_max) + " recipients");
    }
    return std::nullopt;
  }

  std::optional<ApiError> read_raw(std::vector<Inbound>& out) const {
    for (const auto& member : root_.as_object()) {
      if (member.key != "raw" && member.key != "envelope" &&
          std::find(tag_fields.begin(), tag_fields.end(), member.key) == tag_fields.end()) {
        return bad(member.key, "not allowed with raw (put the whole message in raw)");
      }
    }
    const JsonValue* raw = root_.find("raw");
    if (!raw->is_string() || raw->as_string().empty()) {
      return bad("raw", "must be a non-empty string holding an RFC 5322 message");
    }
    std::optional<std::string> mail_from;
    std::vector<std::string> rcpt_to;
    if (root_.find("envelope") == nullptr) {
      return bad("envelope", "required with raw: {\"mail_from\": ..., \"rcpt_to\": [...]}");
    }
    if (auto error = envelope(mail_from, rcpt_to)) return error;
    if (!mail_from) return bad("envelope.mail_from", "required with raw");
    if (auto error = check_recipients(rcpt_to, "envelope.rcpt_to")) return error;
    // LF and lone CR become CRLF, and the message ends with one: what SMTP would have carried.
    std::string body = mime::normalize_crlf(raw->as_string());
    if (!body.ends_with("\r\n")) body += "\r\n";
    if (body.size() > options_.message_bytes_max) {
      return ApiError{.status = 413,
                      .message = "the message is larger than " +
                                 std::to_string(options_.message_bytes_max) + " bytes",
                      .field = "raw"};
    }
    // A message needs a header section: at least one field before the empty line.
    if (const std::string_view head = mime::header_block(body); head.empty() || head == "\r\n") {
      return bad("raw", "no header section (want \"Name: value\" lines, an empty line, a body)");
    }
    out.push_back(Inbound{.mail_from = std::move(*mail_from),
                          .recipients = std::move(rcpt_to),
                          .body = std::move(body)});
    return std::nullopt;
  }

  // What structured and bulk requests share: the fields of the message besides its
  // recipients, read into `c` (templates are rendered later, per recipient).
  std::optional<ApiError> read_common(mime::Composition& c, std::string& from_address) const {
    const JsonValue* from = root_.find("from");
    if (from == nullptr) return bad("from", "required");
    if (auto error = mailbox(*from, "from", &from_address)) return error;
    c.from = from->as_string();
    if (const JsonValue* reply_to = root_.find("reply_to");
        reply_to != nullptr && !reply_to->is_null()) {
      if (auto error = mailbox(*reply_to, "reply_to", nullptr)) return error;
      c.reply_to = reply_to->as_string();
    }
    if (auto error = string_field("subject", c.subject)) return error;
    if (auto error = string_field("text", c.text)) return error;
    if (auto error = string_field("html", c.html)) return error;
    if (c.text.empty() && c.html.empty()) return bad("text", "text or html is required");
    if (const JsonValue* headers = root_.find("headers");
        headers != nullptr && !headers->is_null()) {
      if (!headers->is_object()) return bad("headers", "must be an object of name: value");
      for (const auto& member : headers->as_object()) {
        const std::string field = "headers." + member.key;
        if (!member.value.is_string()) return bad(field, "must be a string");
        if (auto valid = mime::validate_header_field(member.key, member.value.as_string());
            !valid) {
          return bad(field,
                     valid.error().detail.empty() ? valid.error().message() : valid.error().detail);
        }
        c.headers.emplace_back(member.key, member.value.as_string());
      }
    }
    if (const JsonValue* attachments = root_.find("attachments");
        attachments != nullptr && !attachments->is_null()) {
      if (!attachments->is_array()) return bad("attachments", "must be an array");
      const auto& items = attachments->as_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string field = index_field("attachments", i);
        if (!items[i].is_object()) return bad(field, "must be an object");
        mime::Attachment attachment;
        for (const auto& member : items[i].as_object()) {
          if (!member.value.is_string()) return bad(field + "." + member.key, "must be a string");
          if (member.key == "filename") {
            attachment.filename = member.value.as_string();
          } else if (member.key == "content_type") {
            attachment.content_type = member.value.as_string();
          } else if (member.key == "content") {
            auto decoded = dkim::base64_decode(member.value.as_string());
            if (!decoded) return bad(field + ".content", "not base64");
            attachment.content = std::move(*decoded);
          } else {
            return bad(field + "." + member.key, "unknown field");
          }
        }
        if (items[i].find("content") == nullptr) return bad(field + ".content", "required");
        if (attachment.content_type.empty()) attachment.content_type = "application/octet-stream";
        c.attachments.push_back(std::move(attachment));
      }
    }
    return std::nullopt;
  }

  std::optional<ApiError> compose_into(mime::Composition c, std::string mail_from,
                                       std::vector<std::string> recipients, std::string_view field,
                                       std::vector<Inbound>& out) const {
    c.boundary_seed = seed_ + "." + std::to_string(out.size());
    auto body = mime::compose(c);
    if (!body) {
      return bad(std::string(field),
                 body.error().detail.empty() ? body.error().message() : body.error().detail);
    }
    if (body->size() > options_.message_bytes_max) {
      return ApiError{.status = 413,
                      .message = "the message would be larger than " +
                                 std::to_string(options_.message_bytes_max) + " bytes",
                      .field = std::string(field)};
    }
    out.push_back(Inbound{
        .mail_from = std::move(mail_from), .recipients = std::move(recipients), .body = *body});
    return std::nullopt;
  }

  std::optional<ApiError> read_structured(std::vector<Inbound>& out) const {
    mime::Composition c;
    std::string from_address;
    if (auto error = read_common(c, from_address)) return error;
    std::vector<std::string> recipients;
    std::vector<std::string> bcc_forms;
    if (auto error = mailbox_list("to", c.to, recipients)) return error;
    if (auto error = mailbox_list("cc", c.cc, recipients)) return error;
    if (auto error = mailbox_list("bcc", bcc_forms, recipients)) return error;
    if (root_.find("substitutions") != nullptr) {
      return bad("substitutions", "only with recipients (a bulk request)");
    }
    std::optional<std::string> mail_from;
    std::vector<std::string> rcpt_to;
    if (auto error = envelope(mail_from, rcpt_to)) return error;
    if (!rcpt_to.empty()) recipients = std::move(rcpt_to);
    if (auto error = check_recipients(recipients, "to")) return error;
    return compose_into(c, mail_from.value_or(from_address), std::move(recipients), "", out);
  }

  // Substitution values: strings, or numbers and booleans written as JSON writes them.
  static std::optional<ApiError> substitutions(
      const JsonValue* value, const std::string& field,
      std::vector<std::pair<std::string, std::string>>& out) {
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (!value->is_object()) return bad(field, "must be an object of name: value");
    for (const auto& member : value->as_object()) {
      const JsonValue& v = member.value;
      std::string text;
      if (v.is_string()) {
        text = v.as_string();
      } else if (v.is_number()) {
        const auto integer = v.as_int64();
        text = integer ? std::to_string(*integer) : std::to_string(v.as_double());
      } else if (v.is_bool()) {
        text = v.as_bool() ? "true" : "false";
      } else {
        return bad(field + "." + member.key, "must be a string or a number");
      }
      out.emplace_back(member.key, std::move(text));
    }
    return std::nullopt;
  }

  // A placeholder the recipient `field` ("recipients[3]") has no value for, in neither
  // substitutions, and the template gives no default: the whole request is refused, since a
  // misspelt name would otherwise go out empty to every recipient.
  static ApiError unknown_placeholder(const std::string& field, const std::string& name,
                                      const std::string& where) {
    return bad(field,
               concat({field, ": unknown placeholder {{", name, "}} in ", where,
                       ": no substitution of that name and no default ({{", name, "|...}})"}));
  }

  std::optional<ApiError> read_bulk(std::vector<Inbound>& out) const {
    for (std::string_view field : {"to", "cc", "bcc", "envelope"}) {
      if (root_.find(field) != nullptr) {
        return bad(std::string(field), "not allowed with recipients (a bulk request)");
      }
    }
    mime::Composition c;
    std::string from_address;
    if (auto error = read_common(c, from_address)) return error;
    const JsonValue* recipients = root_.find("recipients");
    if (!recipients->is_array() || recipients->as_array().empty()) {
      return bad("recipients", "must be a non-empty array of {\"to\": ..., \"substitutions\": {}}");
    }
    const auto& items = recipients->as_array();
    if (items.size() > options_.bulk_recipients_max) {
      return bad("recipients",
                 "more than " + std::to_string(options_.bulk_recipients_max) + " recipients");
    }
    std::vector<std::pair<std::string, std::string>> defaults;
    if (auto error = substitutions(root_.find("substitutions"), "substitutions", defaults)) {
      return error;
    }
    // Parse each template once; render it per recipient.
    // The composition's field a template fills in, for each recipient's copy.
    using Target = std::function<std::string&(mime::Composition&)>;
    struct Part {
      Target target;
      mime::Template parsed;
      std::string field;  // "subject", "headers.X-Offer", ...
    };
    std::vector<Part> parts;
    auto compile = [&](Target target, const std::string& field) -> std::optional<ApiError> {
      const std::string& text = target(c);
      if (text.find("{{") == std::string::npos) return std::nullopt;
      auto parsed = mime::Template::parse(text);
      if (!parsed) return bad(field, "bad template: " + parsed.error().detail);
      parts.push_back(Part{std::move(target), std::move(*parsed), field});
      return std::nullopt;
    };
    if (auto error =
            compile([](mime::Composition& m) -> std::string& { return m.subject; }, "subject")) {
      return error;
    }
    if (auto error = compile([](mime::Composition& m) -> std::string& { return m.text; }, "text")) {
      return error;
    }
    if (auto error = compile([](mime::Composition& m) -> std::string& { return m.html; }, "html")) {
      return error;
    }
    for (std::size_t h = 0; h < c.headers.size(); ++h) {
      if (auto error =
              compile([h](mime::Composition& m) -> std::string& { return m.headers[h].second; },
                      "headers." + c.headers[h].first)) {
        return error;
      }
    }
    out.reserve(items.size());
    std::vector<std::pair<std::string, std::string>> values;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string field = index_field("recipients", i);
      const JsonValue& item = items[i];
      if (!item.is_object()) return bad(field, "must be an object");
      for (const auto& member : item.as_object()) {
        if (member.key != "to" && member.key != "substitutions") {
          return bad(field + "." + member.key, "unknown field");
        }
      }
      const JsonValue* to = item.find("to");
      if (to == nullptr) return bad(field + ".to", "required");
      std::string address;
      if (auto error = mailbox(*to, field + ".to", &address)) return error;
      values.clear();
      if (auto error =
              substitutions(item.find("substitutions"), field + ".substitutions", values)) {
        return error;
      }
      const auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [key, value] : values) {
          if (key == name) return std::string_view(value);
        }
        for (const auto& [key, value] : defaults) {
          if (key == name) return std::string_view(value);
        }
        return std::nullopt;
      };
      mime::Composition one = c;
      for (const Part& part : parts) {
        auto rendered = part.parsed.render(lookup);
        if (!rendered) return unknown_placeholder(field, rendered.error().detail, part.field);
        part.target(one) = std::move(*rendered);
      }
      one.to = {to->as_string()};
      if (auto error = compose_into(std::move(one), from_address, {address}, field, out)) {
        return error;
      }
    }
    return std::nullopt;
  }

  const JsonValue& root_;
  const ApiOptions& options_;
  std::string seed_;
};

void write_messages_json(http::JsonWriter& json, const std::vector<MessageId>& ids,
                         const std::vector<Inbound>& recipients_of) {
  json.begin_object();
  json.key("messages");
  json.begin_array();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    json.begin_object();
    json.key("id");
    json.value(to_hex(ids[i]));
    json.key("recipients");
    json.begin_array();
    for (const auto& recipient : recipients_of[i].recipients) json.value(recipient);
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

std::string_view status_name(queue::RecipientState state) {
  switch (state) {
    case queue::RecipientState::pending:
      return "queued";
    case queue::RecipientState::deferred:
      return "deferred";
    case queue::RecipientState::delivered:
      return "delivered";
    case queue::RecipientState::bounced:
      return "bounced";
    case queue::RecipientState::suppressed:
      return "suppressed";
  }
  return "queued";
}

}  // namespace

namespace {

constexpr std::string_view kBearerScheme = "bearer ";

// "Bearer <something>", the scheme in any case.
bool has_bearer_scheme(std::optional<std::string_view> authorization) {
  return authorization && authorization->size() > kBearerScheme.size() &&
         std::equal(
             kBearerScheme.begin(), kBearerScheme.end(), authorization->begin(),
             [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

}  // namespace

std::string api_key_digest_hex(std::string_view key) {
  const auto digest = dkim::sha256(key);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const auto byte : digest) {
    out += hex[static_cast<std::uint8_t>(byte) >> 4];
    out += hex[static_cast<std::uint8_t>(byte) & 15];
  }
  return out;
}

HttpApi::HttpApi(engine::Shard& shard, Injector& injector, queue::GroupCommit& group_commit,
                 queue::Store& store, ApiOptions options)
    : shard_(shard),
      injector_(injector),
      group_commit_(group_commit),
      store_(store),
      options_(std::move(options)) {
  limiters_.reserve(options_.keys.size());
  for (const ApiKey& key : options_.keys) limiters_.emplace_back(key.rate);
}

std::optional<std::size_t> HttpApi::presented_key(
    std::optional<std::string_view> authorization) const {
  if (!has_bearer_scheme(authorization)) return std::nullopt;
  const auto digest = dkim::sha256(authorization->substr(kBearerScheme.size()));
  std::array<std::uint8_t, 32> presented{};
  std::copy_n(reinterpret_cast<const std::uint8_t*>(digest.data()), presented.size(),
              presented.begin());
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < options_.keys.size(); ++i) {
    if (constant_time_equal(options_.keys[i].sha256, presented)) found = i;  // no early exit
  }
  return found;
}

bool HttpApi::authenticates(const http::Request& head, const engine::SocketAddress& peer) const {
  if (options_.keys.empty()) return peer.is_loopback();
  return presented_key(head.header("Authorization")).has_value();
}

bool HttpApi::handle(http::Request& request, const engine::SocketAddress& peer,
                     const server::Respond& respond) {
  if (!request.path.starts_with("/v1/")) return false;
  const auto refuse = [&](ApiError error) { respond(error_response(request, error)); };
  // Who is calling: a bearer key, or (with no keys configured) a loopback client.
  Caller caller{.name = "", .tenant = "", .limiter = nullptr, .client_ip = peer.host()};
  const auto authorization = request.header("Authorization");
  if (options_.keys.empty()) {
    if (!peer.is_loopback()) {
      refuse({.status = 403,
              .message = "no API keys are configured ([[http.api_key]]); only loopback clients "
                         "may inject"});
      return true;
    }
    caller.name = "loopback";
    caller.limiter = &loopback_limiter_;
  } else {
    if (!has_bearer_scheme(authorization)) {
      refuse({.status = 401, .message = "missing API key (Authorization: Bearer <key>)"});
      return true;
    }
    const std::optional<std::size_t> key = presented_key(authorization);
    if (!key) {
      ++probe_.auth_failures;
      refuse({.status = 401, .message = "unknown API key"});
      return true;
    }
    caller.name = options_.keys[*key].name;
    caller.tenant = options_.keys[*key].tenant;
    caller.limiter = &limiters_[*key];
  }
  constexpr std::string_view messages = "/v1/messages";
  if (request.path == messages) {
    if (request.method != "POST") {
      http::Response response = error_response(
          request, {.status = 405, .message = "POST /v1/messages; GET /v1/messages/{id}"});
      response.allow = "POST";
      respond(std::move(response));
      return true;
    }
    post_messages(request, caller, respond);
    return true;
  }
  if (request.path.starts_with(std::string(messages) + "/")) {
    if (request.method != "GET" && request.method != "HEAD") {
      http::Response response =
          error_response(request, {.status = 405, .message = "GET /v1/messages/{id}"});
      response.allow = "GET, HEAD";
      respond(std::move(response));
      return true;
    }
    get_message(request, std::string_view(request.path).substr(messages.size() + 1), respond);
    return true;
  }
  refuse({.status = 404, .message = "no such route: " + request.path});
  return true;
}

void HttpApi::post_messages(http::Request& request, const Caller& caller,
                            const server::Respond& respond) {
  const auto refuse = [&](ApiError error) { respond(error_response(request, error)); };
  const auto type = request.header("Content-Type");
  if (!type || !type->starts_with("application/json")) {
    refuse({.status = 415, .message = "send Content-Type: application/json"});
    return;
  }
  // The disk is behind: ask the client to wait instead of holding its messages in memory.
  if (group_commit_.waiting() > options_.commit_waiting_max) {
    ++probe_.rate_limited;
    refuse({.status = 429,
            .message = "the queue is busy, retry later",
            .retry_after = std::chrono::seconds(1)});
    return;
  }
  auto root = http::parse_json(request.body);
  if (!root) {
    refuse({.status = 400, .message = "malformed JSON: " + root.error().detail});
    return;
  }
  std::vector<Inbound> built;
  const std::string seed = std::to_string(shard_.id().value()) + "." + std::to_string(++requests_) +
                           "." +
                           std::to_string(shard_.clock().wall_now().time_since_epoch().count());
  if (auto error = RequestReader(*root, options_, seed).read(built)) {
    if (error->status == 413) ++probe_.oversize;
    refuse(std::move(*error));
    return;
  }
  for (Inbound& message : built) message.bound_tenant = caller.tenant;
  const Clock::TimePoint now = shard_.clock().now();
  const auto cost = static_cast<double>(built.size());
  if (!caller.limiter->take(caller.name, now, cost)) {
    ++probe_.rate_limited;
    refuse({.status = 429,
            .message = "rate limit of key \"" + caller.name + "\" exceeded",
            .retry_after = caller.limiter->wait(caller.name, now, cost)});
    return;
  }
  // Recipients, to name them in the answer once the messages (moved into the injector) are
  // durable.
  auto answer = std::make_shared<std::vector<Inbound>>();
  answer->reserve(built.size());
  for (const Inbound& message : built) answer->push_back(Inbound{.recipients = message.recipients});
  auto facts = std::make_shared<std::string>(caller.client_ip);
  TraceFacts trace{.client_name = caller.name,
                   .client_ip = *facts,
                   .authenticated = caller.name != "loopback",
                   .protocol = "HTTP"};
  http::Response reply = http::Response::for_request(request);
  injector_.submit_all(
      std::move(built), &trace, probe_,
      [respond, reply = std::move(reply), answer](const Injected& result) mutable {
        if (result.status == Injected::Status::queued) {
          http::JsonWriter json;
          write_messages_json(json, result.ids, *answer);
          reply.status = 202;
          reply.content_type = "application/json";
          reply.body = json.take();
          reply.body += "\n";
          return respond(std::move(reply));
        }
        http::Request stand_in;  // error_response only reads the framing of the request
        ApiError error{.status = 503,
                       .message = result.detail + "; nothing was stored, retry later",
                       .retry_after = std::chrono::seconds(5)};
        if (result.status == Injected::Status::refused) {
          error = ApiError{.status = 400, .message = result.detail};
        }
        http::Response response = error_response(stand_in, error);
        response.close = reply.close;
        response.request_version_minor = reply.request_version_minor;
        respond(std::move(response));
      });
}

void HttpApi::get_message(const http::Request& request, std::string_view id_text,
                          const server::Respond& respond) {
  auto id = queue::parse_message_id(id_text);
  if (!id) {
    respond(error_response(request, {.status = 404, .message = "no such message"}));
    return;
  }
  struct Found {
    Result<std::vector<queue::Envelope>> live = std::vector<queue::Envelope>{};
    Result<std::vector<queue::Envelope>> done = std::vector<queue::Envelope>{};
  };
  auto found = std::make_shared<Found>();
  http::Response reply = http::Response::for_request(request);
  queue::Store& store = store_;
  const MessageId message = *id;
  // Store reads may wait for the disk: on the worker, not the reactor.
  shard_.offload(
      [found, &store, message] {
        // Live parts first: a part removed between the two reads is then in the history
        // (written in the same batch as the removal), and the history wins.
        found->live = store.read_message(message);
        found->done = store.read_history(message);
      },
      [found, respond, reply = std::move(reply), message]() mutable {
        if (!found->live || !found->done) {
          reply.status = 503;
          reply.content_type = "application/json";
          reply.body = "{\"error\":{\"status\":503,\"message\":\"queue read failed\"}}\n";
          return respond(std::move(reply));
        }
        std::vector<queue::Envelope> parts = std::move(*found->done);
        for (auto& part : *found->live) {
          if (std::none_of(parts.begin(), parts.end(),
                           [&](const queue::Envelope& e) { return e.part == part.part; })) {
            parts.push_back(std::move(part));
          }
        }
        if (parts.empty()) {
          reply.status = 404;
          reply.content_type = "application/json";
          reply.body = "{\"error\":{\"status\":404,\"message\":\"no such message\"}}\n";
          return respond(std::move(reply));
        }
        std::sort(parts.begin(), parts.end(),
                  [](const auto& a, const auto& b) { return a.part < b.part; });
        http::JsonWriter json;
        json.begin_object();
        json.key("id");
        json.value(to_hex(message));
        json.key("received_at");
        json.value(rfc3339(parts.front().received_at));
        json.key("recipients");
        json.begin_array();
        for (const auto& part : parts) {
          for (const auto& recipient : part.recipients) {
            json.begin_object();
            json.key("address");
            json.value(recipient.address);
            json.key("status");
            json.value(status_name(recipient.state));
            json.key("attempts");
            json.value(static_cast<std::int64_t>(recipient.attempts));
            json.key("last_reply");
            json.value(recipient.last_reply);
            json.end_object();
          }
        }
        json.end_array();
        json.end_object();
        reply.content_type = "application/json";
        reply.body = json.take();
        reply.body += "\n";
        respond(std::move(reply));
      });
}

}  // namespace mta::injection
