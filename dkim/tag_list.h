// The DKIM tag-list (RFC 6376 §3.2), shared by DKIM-Signature fields and DNS key records:
// splits "v=1; a=rsa-sha256; b=..." into name/value views over the caller's text. Meaning of
// the tags is left to signature.cc and key_record.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::dkim {

// One tag-spec. Both views point into the parsed text; value keeps inner folding whitespace
// (b=, bh=, p= and h= values may be folded) but not leading or trailing whitespace.
struct Tag {
  std::string_view name;
  std::string_view value;
};

// Parses a tag-list. Fails on grammar errors and on a tag that appears twice (§3.2: "Tags
// with duplicate names MUST NOT occur"). An empty or whitespace-only text is an empty list.
Result<std::vector<Tag>> parse_tag_list(std::string_view text);

// The tag called name (case-sensitive, as §3.2 requires), or nullptr.
const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name);

// The value without any whitespace: FWS inside b=, bh=, p= and h= values means nothing.
std::string strip_whitespace(std::string_view value);

}  // namespace mta::dkim
