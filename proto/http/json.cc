// JSON reading and writing (RFC 8259). Parsing is simdjson's (Debian's libsimdjson): its DOM
// parser validates the text (structure, UTF-8, escapes, numbers) and this file copies the DOM
// into JsonValue. Writing is ours: JsonWriter escapes strings, replaces invalid UTF-8 and formats
// numbers with std::to_chars (locale-free, shortest round trip).
#include "proto/http/json.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "base/assert.h"

namespace mta::http {
namespace {

// One step of UTF-8 decoding (RFC 3629 §4):
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) / %xED %x80-9F UTF8-tail /
//            %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) / %xF4 %x80-8F 2( UTF8-tail )
// For an invalid sequence `length` is its maximal subpart (at least 1 byte), the span that
// Unicode §3.9 recommends replacing with one U+FFFD.
struct Utf8Step {
  bool valid;
  std::size_t length;
};

Utf8Step utf8_step(const unsigned char* p, std::size_t available) {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {true, 1};
  std::size_t tail = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    tail = 1;
  } else if (lead == 0xe0) {
    tail = 2;
    low = 0xa0;
  } else if ((lead >= 0xe1 && lead <= 0xec) || lead == 0xee || lead == 0xef) {
    tail = 2;
  } else if (lead == 0xed) {
    tail = 2;
    high = 0x9f;  // no UTF-16 surrogates
  } else if (lead == 0xf0) {
    tail = 3;
    low = 0x90;
  } else if (lead >= 0xf1 && lead <= 0xf3) {
    tail = 3;
  } else if (lead == 0xf4) {
    tail = 3;
    high = 0x8f;  // nothing above U+10FFFF
  } else {
    return {false, 1};
  }
  for (std::size_t i = 1; i <= tail; ++i) {
    if (i >= available) return {false, i};
    const unsigned char byte = p[i];
    const unsigned char lo = i == 1 ? low : 0x80;
    const unsigned char hi = i == 1 ? high : 0xbf;
    if (byte < lo || byte > hi) return {false, i};
  }
  return {true, tail + 1};
}

constexpr double two_pow_63 = 9223372036854775808.0;
constexpr double two_pow_64 = 18446744073709551616.0;

// The thread's dom::parser keeps its buffers for the next call: about 15 bytes per byte of the
// largest text it has parsed (structural index, tape, string copies, padded input copy). After
// a text above this size the parser is dropped, so one large batch does not pin some 250 MiB
// per thread for good; below it the buffers are reused and simdjson allocates nothing per call.
constexpr std::size_t retained_text_bytes_max = 1024 * 1024;

// simdjson's DOM parser reports what went wrong but not where, so the detail is its message.
Unexpected<Error> failure(simdjson::error_code code) {
  std::string detail = simdjson::error_message(code);
  switch (code) {
    case simdjson::DEPTH_ERROR:
      return unexpected(Errc::json_too_deep, std::move(detail));
    case simdjson::CAPACITY:
      return unexpected(Errc::json_too_large, std::move(detail));
    case simdjson::MEMALLOC:
      // Not the peer's fault: a 500, not a 400.
      return unexpected(std::make_error_code(std::errc::not_enough_memory), std::move(detail));
    default:
      return unexpected(Errc::json_syntax, std::move(detail));
  }
}

}  // namespace

// Copies simdjson's DOM (a tape inside the thread's parser, valid until its next parse) into
// JsonValues that own their data. A friend of JsonValue so it builds values in place.
class JsonParser {
 public:
  explicit JsonParser(std::size_t depth_max) : depth_max_(depth_max) {}

  // `depth` counts the arrays and objects around `out`. False when a container would sit
  // deeper than depth_max: simdjson's own limit lets an empty one through one level deeper
  // (see parse_json), so this check is the exact one.
  bool convert(simdjson::dom::element element, JsonValue& out, std::size_t depth) {
    using Type = simdjson::dom::element_type;
    switch (element.type()) {
      case Type::ARRAY: {
        if (depth >= depth_max_) return false;
        const simdjson::dom::array array = element.get_array().value_unsafe();
        out.type_ = JsonType::array;
        JsonArray& items = out.data_.emplace<JsonArray>();
        items.reserve(array.size());
        for (const simdjson::dom::element item : array) {
          if (!convert(item, items.emplace_back(), depth + 1)) return false;
        }
        return true;
      }
      case Type::OBJECT: {
        if (depth >= depth_max_) return false;
        const simdjson::dom::object object = element.get_object().value_unsafe();
        out.type_ = JsonType::object;
        JsonObject& members = out.data_.emplace<JsonObject>();
        members.reserve(object.size());
        // The tape keeps members in document order, duplicates included.
        for (const simdjson::dom::key_value_pair field : object) {
          JsonMember& member = members.emplace_back();
          member.key.assign(field.key);
          if (!convert(field.value, member.value, depth + 1)) return false;
        }
        return true;
      }
      case Type::INT64:
        // An integer literal that fits int64, read exactly. "-0" arrives here as 0: the
        // tape has no negative integer zero.
        out.set_integer(element.get_int64().value_unsafe());
        return true;
      case Type::UINT64:
        // simdjson uses this type only above INT64_MAX; no int64, the nearest double.
        out.set_number(static_cast<double>(element.get_uint64().value_unsafe()));
        return true;
      case Type::DOUBLE:
        out.set_number(element.get_double().value_unsafe());
        return true;
      case Type::STRING:
        out.type_ = JsonType::string;
        out.data_.emplace<std::string>(element.get_string().value_unsafe());
        return true;
      case Type::BOOL:
        out.type_ = JsonType::boolean;
        out.bool_ = element.get_bool().value_unsafe();
        return true;
      case Type::NULL_VALUE:
        return true;
    }
    return true;
  }

 private:
  std::size_t depth_max_;
};

JsonValue::JsonValue() = default;
JsonValue::~JsonValue() = default;
JsonValue::JsonValue(const JsonValue& other) = default;
JsonValue::JsonValue(JsonValue&& other) noexcept = default;
JsonValue& JsonValue::operator=(const JsonValue& other) = default;
JsonValue& JsonValue::operator=(JsonValue&& other) noexcept = default;

JsonValue JsonValue::boolean(bool value) {
  JsonValue json;
  json.type_ = JsonType::boolean;
  json.bool_ = value;
  return json;
}

JsonValue JsonValue::number(double value) {
  JsonValue json;
  json.set_number(value);
  return json;
}

JsonValue JsonValue::integer(std::int64_t value) {
  JsonValue json;
  json.set_integer(value);
  return json;
}

void JsonValue::set_number(double value) {
  type_ = JsonType::number;
  number_ = value;
  integral_ = std::isfinite(value) && std::trunc(value) == value && value >= -two_pow_63 &&
              value < two_pow_63;
  integer_ = integral_ ? static_cast<std::int64_t>(value) : 0;
}

void JsonValue::set_integer(std::int64_t value) {
  type_ = JsonType::number;
  number_ = static_cast<double>(value);
  integral_ = true;
  integer_ = value;
}

JsonValue JsonValue::string(std::string value) {
  JsonValue json;
  json.type_ = JsonType::string;
  json.data_ = std::move(value);
  return json;
}

JsonValue JsonValue::array() { return array(JsonArray{}); }

JsonValue JsonValue::object() { return object(JsonObject{}); }

JsonValue JsonValue::array(JsonArray items) {
  JsonValue json;
  json.type_ = JsonType::array;
  json.data_ = std::move(items);
  return json;
}

JsonValue JsonValue::object(JsonObject members) {
  JsonValue json;
  json.type_ = JsonType::object;
  json.data_ = std::move(members);
  return json;
}

bool JsonValue::as_bool() const {
  MTA_ASSERT(type_ == JsonType::boolean);
  return bool_;
}

double JsonValue::as_double() const {
  MTA_ASSERT(type_ == JsonType::number);
  return number_;
}

std::optional<std::int64_t> JsonValue::as_int64() const {
  MTA_ASSERT(type_ == JsonType::number);
  if (!integral_) return std::nullopt;
  return integer_;
}

const std::string& JsonValue::as_string() const {
  MTA_ASSERT(type_ == JsonType::string);
  return std::get<std::string>(data_);
}

const JsonArray& JsonValue::as_array() const {
  MTA_ASSERT(type_ == JsonType::array);
  return std::get<JsonArray>(data_);
}

JsonArray& JsonValue::as_array() {
  MTA_ASSERT(type_ == JsonType::array);
  return std::get<JsonArray>(data_);
}

const JsonObject& JsonValue::as_object() const {
  MTA_ASSERT(type_ == JsonType::object);
  return std::get<JsonObject>(data_);
}

JsonObject& JsonValue::as_object() {
  MTA_ASSERT(type_ == JsonType::object);
  return std::get<JsonObject>(data_);
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (type_ != JsonType::object) return nullptr;
  const JsonObject& members = std::get<JsonObject>(data_);
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

bool operator==(const JsonValue& a, const JsonValue& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case JsonType::null:
      return true;
    case JsonType::boolean:
      return a.bool_ == b.bool_;
    case JsonType::number:
      return a.number_ == b.number_ && a.integral_ == b.integral_ &&
             (!a.integral_ || a.integer_ == b.integer_);
    case JsonType::string:
      return a.data_ == b.data_;
    case JsonType::array:
      return a.data_ == b.data_;
    case JsonType::object:
      return a.data_ == b.data_;
  }
  return false;
}

Result<JsonValue> parse_json(std::string_view text, JsonLimits limits) {
  if (text.size() > limits.bytes_max) {
    return unexpected(Errc::json_too_large, "text of " + std::to_string(text.size()) + " bytes");
  }
  if (text.empty()) return failure(simdjson::EMPTY);  // and no null pointer reaches memcpy

  // One parser per thread, reused: its buffers are the fast path (simdjson's advice). Every
  // shard is one thread, and parse_json never runs inside itself, so no locking.
  thread_local simdjson::dom::parser parser;

  // simdjson counts depth its own way: a non-empty array or object must sit less than
  // max_depth deep, an empty one may sit at max_depth. Asking for depth_max + 1 accepts every
  // text we accept and bounds the tape (and so the recursion in convert) at depth_max + 1;
  // convert() then refuses exactly what lies deeper than depth_max. A text of n bytes nests at
  // most n / 2 containers, which keeps the allocation simdjson sizes by max_depth reasonable.
  const std::size_t simdjson_depth_max = std::min(limits.depth_max, limits.bytes_max / 2) + 1;
  if (parser.max_depth() != simdjson_depth_max) {
    const simdjson::error_code error =
        parser.allocate(std::max(parser.capacity(), text.size()), simdjson_depth_max);
    if (error != simdjson::SUCCESS) return failure(error);
  }

  // The text is copied into the parser's padded buffer (simdjson reads past the end in
  // 64-byte blocks), so callers need not pad theirs.
  simdjson::dom::element root;
  const simdjson::error_code error =
      parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root);
  JsonValue value;
  const bool converted =
      error == simdjson::SUCCESS && JsonParser(limits.depth_max).convert(root, value, 0);
  if (parser.capacity() > retained_text_bytes_max) parser = simdjson::dom::parser{};
  if (error != simdjson::SUCCESS) return failure(error);
  if (!converted) return failure(simdjson::DEPTH_ERROR);
  return value;
}

void JsonWriter::before_value() {
  if (stack_.empty()) {
    MTA_ASSERT(!wrote_top_);  // one document per writer
    wrote_top_ = true;
    return;
  }
  Frame& top = stack_.back();
  switch (top) {
    case Frame::array_first:
      top = Frame::array_next;
      break;
    case Frame::array_next:
      out_.push_back(',');
      break;
    case Frame::key:
      top = Frame::object_next;
      break;
    case Frame::object_first:
    case Frame::object_next:
      MTA_ASSERT(false && "a value inside an object needs key() first");
  }
}

void JsonWriter::begin_object() {
  before_value();
  out_.push_back('{');
  stack_.push_back(Frame::object_first);
}

void JsonWriter::end_object() {
  MTA_ASSERT(!stack_.empty());
  MTA_ASSERT(stack_.back() == Frame::object_first || stack_.back() == Frame::object_next);
  stack_.pop_back();
  out_.push_back('}');
}

void JsonWriter::begin_array() {
  before_value();
  out_.push_back('[');
  stack_.push_back(Frame::array_first);
}

void JsonWriter::end_array() {
  MTA_ASSERT(!stack_.empty());
  MTA_ASSERT(stack_.back() == Frame::array_first || stack_.back() == Frame::array_next);
  stack_.pop_back();
  out_.push_back(']');
}

void JsonWriter::key(std::string_view name) {
  MTA_ASSERT(!stack_.empty());
  Frame& top = stack_.back();
  MTA_ASSERT(top == Frame::object_first || top == Frame::object_next);
  if (top == Frame::object_next) out_.push_back(',');
  top = Frame::key;
  write_string(name);
  out_.push_back(':');
}

void JsonWriter::value(std::string_view text) {
  before_value();
  write_string(text);
}

void JsonWriter::value(bool flag) {
  before_value();
  out_.append(flag ? "true" : "false");
}

void JsonWriter::value(double number) {
  before_value();
  if (!std::isfinite(number)) {
    out_.append("null");
    return;
  }
  // The shortest form of a large integral double can be a plain integer literal
  // (1.8446744073709552e19 prints as 18446744073709552000). simdjson, like many parsers, refuses
  // integer literals outside int64 and uint64, so from there on the exponent form is written.
  const bool plain_integer_too_large = number >= two_pow_64 || number < -two_pow_63;
  char digits[32];
  const std::to_chars_result result =
      plain_integer_too_large
          ? std::to_chars(digits, digits + sizeof digits, number, std::chars_format::scientific)
          : std::to_chars(digits, digits + sizeof digits, number);
  MTA_ASSERT(result.ec == std::errc());
  out_.append(digits, result.ptr);
}

void JsonWriter::value(std::nullptr_t) {
  before_value();
  out_.append("null");
}

void JsonWriter::write_int(std::int64_t number) {
  before_value();
  char digits[24];
  const std::to_chars_result result = std::to_chars(digits, digits + sizeof digits, number);
  out_.append(digits, result.ptr);
}

void JsonWriter::write_uint(std::uint64_t number) {
  before_value();
  char digits[24];
  const std::to_chars_result result = std::to_chars(digits, digits + sizeof digits, number);
  out_.append(digits, result.ptr);
}

void JsonWriter::value(const JsonValue& json) {
  switch (json.type()) {
    case JsonType::null:
      value(nullptr);
      return;
    case JsonType::boolean:
      value(json.as_bool());
      return;
    case JsonType::number:
      if (const std::optional<std::int64_t> exact = json.as_int64()) {
        write_int(*exact);
      } else {
        value(json.as_double());
      }
      return;
    case JsonType::string:
      value(std::string_view(json.as_string()));
      return;
    case JsonType::array:
      begin_array();
      for (const JsonValue& item : json.as_array()) value(item);
      end_array();
      return;
    case JsonType::object:
      begin_object();
      for (const JsonMember& member : json.as_object()) {
        key(member.key);
        value(member.value);
      }
      end_object();
      return;
  }
}

// Escapes per RFC 8259 §7: quotation mark, reverse solidus and U+0000..U+001F must be
// escaped; everything else may pass as UTF-8.
void JsonWriter::write_string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out_.reserve(out_.size() + text.size() + 2);
  out_.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    const auto* run = p;
    while (p != end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
    out_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      out_.push_back('\\');
      out_.push_back(static_cast<char>(c));
      ++p;
    } else if (c < 0x20) {
      out_.append("\\u00");
      out_.push_back(hex[c >> 4]);
      out_.push_back(hex[c & 0xf]);
      ++p;
    } else {
      const Utf8Step step = utf8_step(p, static_cast<std::size_t>(end - p));
      if (step.valid) {
        out_.append(reinterpret_cast<const char*>(p), step.length);
      } else {
        out_.append("\xef\xbf\xbd");  // U+FFFD REPLACEMENT CHARACTER
      }
      p += step.length;
    }
  }
  out_.push_back('"');
}

std::string JsonWriter::take() {
  std::string out = std::move(out_);
  out_.clear();
  stack_.clear();
  wrote_top_ = false;
  return out;
}

std::string to_json(const JsonValue& json) {
  JsonWriter writer;
  writer.value(json);
  return writer.take();
}

}  // namespace mta::http
