// Template parsing and rendering. parse() does all the scanning; render() only walks the piece
// list, so the per-recipient cost is the copying of literals and values.
#include "proto/mime/template.h"

#include "base/concat.h"
#include "proto/mime/errc.h"

namespace mta::mime {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

Unexpected<Error> syntax_error(std::size_t offset, std::string_view what) {
  return unexpected(Errc::template_syntax,
                    concat({"at byte ", std::to_string(offset), ": ", what}));
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
  Template t;
  t.text_ = std::string(text);
  std::size_t literal_start = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    std::size_t i = open + 2;
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t name_start = i;
    while (i < text.size() && is_name_char(text[i])) ++i;
    const std::size_t name_size = i - name_start;
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t close = text.find("}}", i);
    if (close == std::string_view::npos) {
      return syntax_error(open, "\"{{\" without a closing \"}}\"");
    }
    if (close != i && text[i] != '|') {
      return syntax_error(open, concat({"invalid character at byte ", std::to_string(i),
                                        " in placeholder name (allowed: A-Z a-z 0-9 _ . -)"}));
    }
    if (name_size == 0) return syntax_error(open, "empty placeholder name");
    if (name_size > kTemplateNameBytesMax) {
      return syntax_error(open, "placeholder name longer than 64 octets");
    }
    Piece piece{.offset = name_start, .size = name_size, .placeholder = true};
    if (close != i) {  // "|" default
      if (text.substr(i + 1, close - i - 1).find("{{") != std::string_view::npos) {
        return syntax_error(open, "a default cannot hold \"{{\"");
      }
      std::size_t first = i + 1;
      std::size_t last = close;
      while (first < last && is_space(text[first])) ++first;
      while (last > first && is_space(text[last - 1])) --last;
      if (last - first > kTemplateDefaultBytesMax) {
        return syntax_error(open, "default longer than 1024 octets");
      }
      piece.has_default = true;
      piece.default_offset = first;
      piece.default_size = last - first;
    }
    if (open > literal_start) {
      t.pieces_.push_back(
          Piece{.offset = literal_start, .size = open - literal_start, .placeholder = false});
      t.literal_bytes_ += open - literal_start;
    }
    t.pieces_.push_back(piece);
    pos = literal_start = close + 2;
  }
  if (literal_start < text.size()) {
    t.pieces_.push_back(
        Piece{.offset = literal_start, .size = text.size() - literal_start, .placeholder = false});
    t.literal_bytes_ += text.size() - literal_start;
  }
  return t;
}

Result<std::string> Template::render(const Lookup& lookup) const {
  std::string out;
  out.reserve(literal_bytes_ + 16 * pieces_.size());
  const std::string_view text = text_;
  for (const Piece& piece : pieces_) {
    const std::string_view bytes = text.substr(piece.offset, piece.size);
    if (!piece.placeholder) {
      out.append(bytes);
    } else if (const std::optional<std::string_view> value = lookup(bytes)) {
      out.append(*value);
    } else if (piece.has_default) {
      out.append(text.substr(piece.default_offset, piece.default_size));
    } else {
      return unexpected(Errc::template_value_missing, std::string(bytes));
    }
  }
  return out;
}

std::vector<std::string> Template::names() const {
  std::vector<std::string> out;
  std::string_view text = text_;
  for (const Piece& piece : pieces_) {
    if (!piece.placeholder) continue;
    std::string_view name = text.substr(piece.offset, piece.size);
    bool seen = false;
    for (const std::string& n : out) seen = seen || n == name;
    if (!seen) out.emplace_back(name);
  }
  return out;
}

}  // namespace mta::mime
