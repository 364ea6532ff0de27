// JSON (RFC 8259) for the admin and injection APIs: JsonWriter streams a document into a
// string (commas and escaping handled, output always valid UTF-8 JSON), and parse_json reads
// untrusted text, strictly, into a small DOM with bounded depth and size. Parsing is
// simdjson's (kept out of this header); writing is ours.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "base/result.h"
#include "proto/http/errc.h"

namespace mta::http {

enum class JsonType { null, boolean, number, string, array, object };

class JsonValue;
struct JsonMember;
using JsonArray = std::vector<JsonValue>;
using JsonObject = std::vector<JsonMember>;  // members in document order, duplicates kept

// One JSON value. Numbers keep their double value and, when the value is integral, the exact
// int64: a literal without fraction or exponent that fits int64 is read exactly (ids above
// 2^53 survive); any other integral double within int64 range converts. Integer literals
// above INT64_MAX (up to UINT64_MAX) keep only their nearest double.
class JsonValue {
 public:
  JsonValue();  // null
  // Special members are defined in json.cc, where JsonMember is complete: data_ holds a
  // vector of it, and clang instantiates the vector's members at the first inline use.
  ~JsonValue();
  JsonValue(const JsonValue& other);
  JsonValue(JsonValue&& other) noexcept;
  JsonValue& operator=(const JsonValue& other);
  JsonValue& operator=(JsonValue&& other) noexcept;
  static JsonValue boolean(bool value);
  static JsonValue number(double value);
  static JsonValue integer(std::int64_t value);
  static JsonValue string(std::string value);
  static JsonValue array();  // empty; no default arguments: JsonMember is incomplete here
  static JsonValue array(JsonArray items);
  static JsonValue object();
  static JsonValue object(JsonObject members);

  JsonType type() const { return type_; }
  bool is_null() const { return type_ == JsonType::null; }
  bool is_bool() const { return type_ == JsonType::boolean; }
  bool is_number() const { return type_ == JsonType::number; }
  bool is_string() const { return type_ == JsonType::string; }
  bool is_array() const { return type_ == JsonType::array; }
  bool is_object() const { return type_ == JsonType::object; }

  // Accessors assert the type (check it first: the document came from a peer).
  bool as_bool() const;
  double as_double() const;
  std::optional<std::int64_t> as_int64() const;  // set when the number is integral
  const std::string& as_string() const;
  const JsonArray& as_array() const;
  JsonArray& as_array();
  const JsonObject& as_object() const;
  JsonObject& as_object();

  // Object member lookup. Duplicate keys are kept in as_object(); find() returns the LAST
  // one, as ECMAScript JSON.parse and Python's json do. nullptr when absent or not an object.
  const JsonValue* find(std::string_view key) const;

  // Structural equality; numbers compare by double value and int64 presence and value.
  friend bool operator==(const JsonValue& a, const JsonValue& b);

 private:
  friend class JsonParser;  // copies simdjson's DOM into values in place (json.cc)

  void set_number(double value);
  void set_integer(std::int64_t value);

  JsonType type_ = JsonType::null;
  bool bool_ = false;
  bool integral_ = false;
  double number_ = 0;
  std::int64_t integer_ = 0;
  std::variant<std::monostate, std::string, JsonArray, JsonObject> data_;
};

struct JsonMember {
  std::string key;
  JsonValue value;

  friend bool operator==(const JsonMember&, const JsonMember&) = default;
};

struct JsonLimits {
  std::size_t depth_max = 64;                // nested arrays/objects; deeper is json_too_deep
  std::size_t bytes_max = 16 * 1024 * 1024;  // longer text is json_too_large
};

// Parses one JSON text (RFC 8259 §2: ws value ws) with simdjson's DOM parser (one per thread,
// reused). Strict: no trailing commas, comments, leading zeros, NaN/Infinity, byte order mark,
// unescaped control characters or invalid UTF-8 anywhere in the text; \u escapes must pair
// surrogates (a lone one is an error) and decode to UTF-8. Numbers out of double range are an
// error, and so are integer literals (no fraction, no exponent) below INT64_MIN or above
// UINT64_MAX; numbers too small for a double read as zero, and "-0" reads as the integer 0.
// Errors are json_syntax, json_too_deep or json_too_large, with simdjson's message as detail
// (it gives no offset); text over bytes_max is refused before parsing. Recursion is bounded by
// depth_max; the work is linear in the input.
Result<JsonValue> parse_json(std::string_view text, JsonLimits limits = {});

// Streams JSON into a string it owns. Commas and colons are the writer's job: call key() then
// a value inside objects, values alone inside arrays. Misuse (a value without a key inside an
// object, unbalanced end_*) is a bug and asserts. Strings: '"' and '\' are escaped, control
// characters become \u00XX, valid UTF-8 passes through and each invalid sequence becomes
// U+FFFD. Doubles that are not finite are written as null.
class JsonWriter {
 public:
  JsonWriter() = default;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);

  void value(std::string_view text);
  void value(const char* text) { value(std::string_view(text)); }
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(bool flag);
  void value(double number);
  void value(std::nullptr_t);
  void value(const JsonValue& json);  // writes a DOM, e.g. one parse_json produced
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) void value(T number) {
    if constexpr (std::is_signed_v<T>) {
      write_int(static_cast<std::int64_t>(number));
    } else {
      write_uint(static_cast<std::uint64_t>(number));
    }
  }

  // key(name) then value(v): one member of the object being written.
  template <typename T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  // The text so far; a complete document once every begin_* has its end_*.
  const std::string& str() const { return out_; }
  std::string take();
  bool complete() const { return stack_.empty() && wrote_top_; }
  void reserve(std::size_t bytes) { out_.reserve(bytes); }

 private:
  void before_value();
  void write_int(std::int64_t number);
  void write_uint(std::uint64_t number);
  void write_string(std::string_view text);

  enum class Frame : std::uint8_t { array_first, array_next, object_first, object_next, key };

  std::string out_;
  std::vector<Frame> stack_;
  bool wrote_top_ = false;
};

// The compact JSON text of `json`.
std::string to_json(const JsonValue& json);

}  // namespace mta::http
