// Template: "{{name}}" placeholders for bulk sends through the HTTP API. Parsed once into
// literal and placeholder pieces, then rendered per recipient with a lookup function; no
// escaping, conditionals or loops (the caller prepares values). Pure and immutable after parse,
// so one Template may be rendered from any thread.
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

class Template {
 public:
  // Grammar:
  //   template    = *( literal / placeholder )
  //   placeholder = "{{" *SP name *SP "}}"          ; SP: space or tab
  //   name        = 1*64( ALPHA / DIGIT / "_" / "." / "-" )
  // Every "{{" opens a placeholder; a lone "}}" is literal text. Errors (Errc::template_syntax)
  // name the byte offset of the offending "{{" and what is wrong with it.
  static Result<Template> parse(std::string_view text);

  // The text with each placeholder replaced by lookup(name), or by nothing when lookup gives
  // std::nullopt. lookup is called once per placeholder occurrence, in order.
  std::string render(
      const std::function<std::optional<std::string_view>(std::string_view name)>& lookup) const;

  // Distinct placeholder names in order of first appearance.
  std::vector<std::string> names() const;

 private:
  // A literal run of text_ or a placeholder whose name is text_[offset, offset + size).
  struct Piece {
    std::size_t offset;
    std::size_t size;
    bool placeholder;
  };

  Template() = default;

  std::string text_;
  std::vector<Piece> pieces_;
  std::size_t literal_bytes_ = 0;  // sum of literal piece sizes: the render reserve
};

}  // namespace mta::mime
