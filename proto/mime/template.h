// Template: "{{name}}" placeholders for bulk sends through the HTTP API, "{{name|default}}"
// for one that may have no value. Parsed once into literal and placeholder pieces, then
// rendered per recipient with a lookup function; no escaping, conditionals or loops (the
// caller prepares values). A placeholder with neither a value nor a default is an error, not
// an empty string: a misspelt name ("{{nme}}") must not reach thousands of recipients.
// Pure and immutable after parse, so one Template may be rendered from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::mime {

inline constexpr std::size_t kTemplateNameBytesMax = 64;
inline constexpr std::size_t kTemplateDefaultBytesMax = 1024;

class Template {
 public:
  // Grammar:
  //   template    = *( literal / placeholder )
  //   placeholder = "{{" *SP name *SP [ "|" default ] "}}"   ; SP: space or tab
  //   name        = 1*64( ALPHA / DIGIT / "_" / "." / "-" )
  //   default     = 0*1024( any octet ) ; up to the first "}}", without "{{"; SP around it
  //                                     ; is dropped ("{{ name | there }}" gives "there")
  // Every "{{" opens a placeholder; a lone "}}" is literal text. "{{name|}}" says an empty
  // value is fine. Errors (Errc::template_syntax) name the byte offset of the offending "{{"
  // and what is wrong with it.
  static Result<Template> parse(std::string_view text);

  using Lookup = std::function<std::optional<std::string_view>(std::string_view name)>;

  // The text with each placeholder replaced by lookup(name), or by its default when lookup
  // gives std::nullopt. A placeholder with neither fails with Errc::template_value_missing
  // and its name as the detail. lookup is called once per placeholder occurrence, in order,
  // up to the first missing one.
  Result<std::string> render(const Lookup& lookup) const;

  // Distinct placeholder names in order of first appearance.
  std::vector<std::string> names() const;

 private:
  // A literal run of text_ or a placeholder whose name is text_[offset, offset + size) and
  // whose default, when it has one, is text_[default_offset, default_offset + default_size).
  struct Piece {
    std::size_t offset = 0;
    std::size_t size = 0;
    bool placeholder = false;
    bool has_default = false;
    std::size_t default_offset = 0;
    std::size_t default_size = 0;
  };

  Template() = default;

  std::string text_;
  std::vector<Piece> pieces_;
  std::size_t literal_bytes_ = 0;  // sum of literal piece sizes: the render reserve
};

}  // namespace mta::mime
