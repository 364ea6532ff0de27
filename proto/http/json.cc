// JSON reading and writing (RFC 8259). The parser is recursive descent with the depth bounded
// by JsonLimits::depth_max, so the stack is bounded too; strings are copied in runs, not byte
// by byte. Numbers go through std::from_chars/std::to_chars (locale-free, shortest round trip).
#include "proto/http/json.h"

#include <charconv>
#include <cmath>
#include <limits>
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

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

constexpr double two_pow_63 = 9223372036854775808.0;

}  // namespace

// Recursive descent over the text; a friend of JsonValue so it builds values in place.
class JsonParser {
 public:
  JsonParser(std::string_view text, JsonLimits limits)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), limits_(limits) {}

  // JSON-text = ws value ws
  Result<JsonValue> parse() {
    JsonValue value;
    if (!parse_value(value, 0)) return unexpected(std::move(error_));
    skip_ws();
    if (p_ != end_) return fail_at(Errc::json_syntax, "text after the value");
    return value;
  }

 private:
  Result<JsonValue> fail_at(Errc code, std::string_view what) {
    set_error(code, what);
    return unexpected(std::move(error_));
  }
  bool set_error(Errc code, std::string_view what) {
    error_ = Error{make_error_code(code),
                   "byte " + std::to_string(p_ - begin_) + ": " + std::string(what)};
    return false;
  }

  // ws = *( %x20 / %x09 / %x0A / %x0D )
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  // value = false / null / true / object / array / number / string
  // Values are built in place in `out` (a null on entry): no temporaries, no moves.
  bool parse_value(JsonValue& out, std::size_t depth) {
    skip_ws();
    if (p_ == end_) return set_error(Errc::json_syntax, "unexpected end of text");
    switch (*p_) {
      case '{':
        return parse_object(out, depth + 1);
      case '[':
        return parse_array(out, depth + 1);
      case '"':
        out.type_ = JsonType::string;
        return parse_string(out.data_.emplace<std::string>());
      case 't':
        out.type_ = JsonType::boolean;
        out.bool_ = true;
        return parse_literal("true");
      case 'f':
        out.type_ = JsonType::boolean;
        return parse_literal("false");
      case 'n':
        return parse_literal("null");
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return parse_number(out);
        return set_error(Errc::json_syntax, "unexpected character");
    }
  }

  bool parse_literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return set_error(Errc::json_syntax, "invalid literal");
    }
    p_ += word.size();
    return true;
  }

  // object = begin-object [ member *( value-separator member ) ] end-object
  // member = string name-separator value
  bool parse_object(JsonValue& out, std::size_t depth) {
    if (depth > limits_.depth_max) return set_error(Errc::json_too_deep, "nesting too deep");
    ++p_;
    out.type_ = JsonType::object;
    JsonObject& members = out.data_.emplace<JsonObject>();
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    while (true) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return set_error(Errc::json_syntax, "expected member name");
      JsonMember& member = members.emplace_back();
      if (!parse_string(member.key)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return set_error(Errc::json_syntax, "expected ':'");
      ++p_;
      if (!parse_value(member.value, depth)) return false;
      skip_ws();
      if (p_ == end_) return set_error(Errc::json_syntax, "unterminated object");
      if (*p_ == '}') break;
      if (*p_ != ',') return set_error(Errc::json_syntax, "expected ',' or '}'");
      ++p_;
    }
    ++p_;
    return true;
  }

  // array = begin-array [ value *( value-separator value ) ] end-array
  bool parse_array(JsonValue& out, std::size_t depth) {
    if (depth > limits_.depth_max) return set_error(Errc::json_too_deep, "nesting too deep");
    ++p_;
    out.type_ = JsonType::array;
    JsonArray& items = out.data_.emplace<JsonArray>();
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      if (!parse_value(items.emplace_back(), depth)) return false;
      skip_ws();
      if (p_ == end_) return set_error(Errc::json_syntax, "unterminated array");
      if (*p_ == ']') break;
      if (*p_ != ',') return set_error(Errc::json_syntax, "expected ',' or ']'");
      ++p_;
    }
    ++p_;
    return true;
  }

  bool read_hex4(std::uint32_t& value) {
    value = 0;
    for (int i = 0; i < 4; ++i) {
      if (p_ == end_) return set_error(Errc::json_syntax, "short \\u escape");
      const char c = *p_;
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return set_error(Errc::json_syntax, "bad hex digit in \\u escape");
      }
      value = value * 16 + digit;
      ++p_;
    }
    return true;
  }

  // string     = quotation-mark *char quotation-mark
  // char       = unescaped / escape ( %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 /
  //              %x75 4HEXDIG )
  // unescaped  = %x20-21 / %x23-5B / %x5D-10FFFF   (as UTF-8)
  // A \u escape of a high surrogate D800-DBFF must be followed by one of a low surrogate
  // DC00-DFFF; the pair is one code point (RFC 8259 §7). A lone surrogate is an error.
  bool parse_string(std::string& out) {
    ++p_;  // the opening quotation mark
    while (true) {
      const char* run = p_;
      while (p_ != end_) {
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p_;
      }
      out.append(run, p_);
      if (p_ == end_) return set_error(Errc::json_syntax, "unterminated string");
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return set_error(Errc::json_syntax, "control character in string");
      if (c >= 0x80) {
        const Utf8Step step = utf8_step(reinterpret_cast<const unsigned char*>(p_),
                                        static_cast<std::size_t>(end_ - p_));
        if (!step.valid) return set_error(Errc::json_syntax, "invalid UTF-8");
        out.append(p_, step.length);
        p_ += step.length;
        continue;
      }
      // A backslash.
      ++p_;
      if (p_ == end_) return set_error(Errc::json_syntax, "unterminated escape");
      const char escape = *p_++;
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out.push_back(escape);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t unit = 0;
          if (!read_hex4(unit)) return false;
          if (unit >= 0xdc00 && unit <= 0xdfff) {
            return set_error(Errc::json_syntax, "lone low surrogate");
          }
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
              return set_error(Errc::json_syntax, "lone high surrogate");
            }
            p_ += 2;
            std::uint32_t low = 0;
            if (!read_hex4(low)) return false;
            if (low < 0xdc00 || low > 0xdfff) {
              return set_error(Errc::json_syntax, "high surrogate without low surrogate");
            }
            unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
          }
          append_utf8(out, unit);
          break;
        }
        default:
          --p_;
          return set_error(Errc::json_syntax, "unknown escape");
      }
    }
  }

  // number = [ minus ] int [ frac ] [ exp ]
  // int    = zero / ( digit1-9 *DIGIT )
  // frac   = decimal-point 1*DIGIT
  // exp    = e [ minus / plus ] 1*DIGIT
  bool parse_number(JsonValue& out) {
    const char* start = p_;
    const auto is_digit = [this] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
    if (*p_ == '-') ++p_;
    if (!is_digit()) return set_error(Errc::json_syntax, "expected digit");
    const char* int_start = p_;
    if (*p_ == '0') {
      ++p_;
      if (is_digit()) return set_error(Errc::json_syntax, "leading zero");
    } else {
      while (is_digit()) ++p_;
    }
    const char* int_end = p_;
    const char* frac_start = p_;
    const char* frac_end = p_;
    bool plain_integer = true;
    if (p_ != end_ && *p_ == '.') {
      plain_integer = false;
      ++p_;
      if (!is_digit()) return set_error(Errc::json_syntax, "expected digit after '.'");
      frac_start = p_;
      while (is_digit()) ++p_;
      frac_end = p_;
    }
    std::int64_t exponent = 0;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      plain_integer = false;
      ++p_;
      bool negative = false;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) negative = *p_++ == '-';
      if (!is_digit()) return set_error(Errc::json_syntax, "expected digit in exponent");
      while (is_digit()) {
        if (exponent < 1'000'000'000) exponent = exponent * 10 + (*p_ - '0');
        ++p_;
      }
      if (negative) exponent = -exponent;
    }

    double number = 0;
    const std::from_chars_result parsed = std::from_chars(start, p_, number);
    if (parsed.ec == std::errc::result_out_of_range) {
      // The decimal exponent of the first significant digit tells overflow from underflow.
      std::int64_t magnitude = 0;
      if (*int_start != '0') {
        magnitude = (int_end - int_start) - 1 + exponent;
      } else {
        const char* first = frac_start;
        while (first != frac_end && *first == '0') ++first;
        magnitude = -(first - frac_start) - 1 + exponent;
      }
      if (magnitude >= 0) {
        p_ = start;
        return set_error(Errc::json_syntax, "number out of range");
      }
      number = *start == '-' ? -0.0 : 0.0;
    } else if (parsed.ec != std::errc() || parsed.ptr != p_) {
      p_ = start;
      return set_error(Errc::json_syntax, "malformed number");
    }

    if (plain_integer) {
      std::int64_t exact = 0;
      const std::from_chars_result as_int = std::from_chars(start, p_, exact);
      if (as_int.ec == std::errc() && as_int.ptr == p_) {
        // Converting the exact integer rounds to nearest just as from_chars did; only "-0"
        // needs the double to keep its sign.
        if (exact == 0) {
          out.set_number(number);
        } else {
          out.set_integer(exact);
        }
        return true;
      }
    }
    out.set_number(number);
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  JsonLimits limits_;
  Error error_;
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
  return JsonParser(text, limits).parse();
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
  char digits[32];
  const std::to_chars_result result = std::to_chars(digits, digits + sizeof digits, number);
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
