// libFuzzer target for structure.h. The bytes are parsed as a message twice (default limits,
// and small limits taken from the first byte), and every tree must keep its promises: offsets
// ordered and in bounds, children inside their parent's body in order, line counts right,
// limits kept, and find_part finding each node under its own IMAP part number. The same bytes
// go through every other function in the header, with round trips through encoding.h's
// base64 and quoted-printable encoders.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/assert.h"
#include "proto/mime/encoding.h"
#include "proto/mime/header.h"
#include "proto/mime/structure.h"

namespace {

using mta::mime::Part;

struct TreeStats {
  std::size_t parts = 0;
};

bool is_lower(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

void check_content_type(const mta::mime::ContentType& t, bool disposition) {
  MTA_ASSERT(is_lower(t.type));
  MTA_ASSERT(is_lower(t.subtype));
  if (!disposition) {
    MTA_ASSERT(!t.type.empty());
    MTA_ASSERT(!t.subtype.empty());
  } else {
    MTA_ASSERT(t.subtype.empty());
  }
  for (const auto& [name, value] : t.params) {
    MTA_ASSERT(!name.empty());
    MTA_ASSERT(is_lower(name));
    MTA_ASSERT(t.param(name) != nullptr);
  }
}

std::size_t count_lines(std::string_view body) {
  std::size_t lines = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
  return lines + (!body.empty() && body.back() != '\n' ? 1 : 0);
}

// `p` spans [begin, end) of `message`, at nesting `depth`.
void check_part(const Part& p, std::string_view message, std::size_t begin, std::size_t end,
                std::size_t depth, const mta::mime::StructureLimits& limits, TreeStats& stats) {
  ++stats.parts;
  MTA_ASSERT(p.header_begin == begin);
  MTA_ASSERT(p.header_begin <= p.header_end);
  MTA_ASSERT(p.header_end == p.body_begin);
  MTA_ASSERT(p.body_begin <= p.body_end);
  MTA_ASSERT(p.body_end == end);
  MTA_ASSERT(end <= message.size());
  std::string_view body = message.substr(p.body_begin, p.body_end - p.body_begin);
  MTA_ASSERT(p.body_lines == count_lines(body));
  // The header is a header block of the part: it ends with its empty line unless it takes the
  // whole part.
  std::string_view range = message.substr(begin, end - begin);
  MTA_ASSERT(mta::mime::header_block(range, range.size()).size() == p.header_end - begin);
  check_content_type(p.content_type, false);
  if (p.disposition) check_content_type(*p.disposition, true);
  MTA_ASSERT(is_lower(p.transfer_encoding));
  MTA_ASSERT(!p.transfer_encoding.empty());

  if (depth >= limits.depth_max) {
    MTA_ASSERT(p.children.empty());
    MTA_ASSERT(p.message == nullptr);
  }
  if (!p.is_multipart()) MTA_ASSERT(p.children.empty());
  if (p.message) {
    MTA_ASSERT(p.content_type.type == "message");
    check_part(*p.message, message, p.body_begin, p.body_end, depth + 1, limits, stats);
  }
  std::size_t floor = p.body_begin;
  for (const Part& child : p.children) {
    MTA_ASSERT(child.header_begin >= floor);
    MTA_ASSERT(child.body_end <= p.body_end);
    check_part(child, message, child.header_begin, child.body_end, depth + 1, limits, stats);
    floor = child.body_end;
  }
}

// Every node with its IMAP part number (RFC 3501 §6.4.5), computed independently of
// find_part: a message's parts are its children if it is multipart, else part 1 is itself;
// a body part that is multipart numbers its children; a message/rfc822 part continues into
// its encapsulated message.
void collect_paths(const Part& p, bool is_message, std::vector<std::uint32_t>& path,
                   std::vector<std::pair<std::vector<std::uint32_t>, const Part*>>& out);

void collect_below(const Part& p, std::vector<std::uint32_t>& path,
                   std::vector<std::pair<std::vector<std::uint32_t>, const Part*>>& out) {
  if (p.message) {
    collect_paths(*p.message, true, path, out);
  } else if (p.is_multipart()) {
    collect_paths(p, false, path, out);
  }
}

void collect_paths(const Part& p, bool is_message, std::vector<std::uint32_t>& path,
                   std::vector<std::pair<std::vector<std::uint32_t>, const Part*>>& out) {
  if (p.is_multipart()) {
    for (std::size_t i = 0; i < p.children.size(); ++i) {
      path.push_back(static_cast<std::uint32_t>(i + 1));
      out.emplace_back(path, &p.children[i]);
      collect_below(p.children[i], path, out);
      path.pop_back();
    }
  } else if (is_message) {
    path.push_back(1);
    out.emplace_back(path, &p);
    collect_below(p, path, out);
    path.pop_back();
  }
}

void check_structure(std::string_view input, mta::mime::StructureLimits limits) {
  Part root = mta::mime::parse_structure(input, limits);
  TreeStats stats;
  check_part(root, input, 0, input.size(), 0, limits, stats);
  MTA_ASSERT(stats.parts <= std::max<std::size_t>(limits.parts_max, 1));

  MTA_ASSERT(mta::mime::find_part(root, {}) == &root);
  std::vector<std::uint32_t> path;
  std::vector<std::pair<std::vector<std::uint32_t>, const Part*>> paths;
  collect_paths(root, true, path, paths);
  for (const auto& [numbers, want] : paths) {
    MTA_ASSERT(mta::mime::find_part(root, numbers) == want);
    std::vector<std::uint32_t> past = numbers;
    past.back() += 1;
    const Part* sibling = mta::mime::find_part(root, past);
    if (sibling != nullptr) {
      MTA_ASSERT(std::any_of(paths.begin(), paths.end(),
                             [&](const auto& entry) { return entry.second == sibling; }));
    }
  }
  // Part numbers taken from the input must not crash.
  std::vector<std::uint32_t> numbers;
  for (std::size_t i = 0; i < input.size() && i < 8; ++i) {
    numbers.push_back(static_cast<unsigned char>(input[i]) % 4);
  }
  (void)mta::mime::find_part(root, numbers);

  // Each part's fields and body through the other functions.
  std::vector<const Part*> stack{&root};
  while (!stack.empty()) {
    const Part* p = stack.back();
    stack.pop_back();
    std::string_view header = input.substr(p->header_begin, p->header_end - p->header_begin);
    for (std::string_view name : {"From", "To", "Cc", "Subject"}) {
      if (auto value = mta::mime::header_value(header, name)) {
        (void)mta::mime::parse_address_list(*value);
        (void)mta::mime::decode_words(*value);
      }
    }
    std::string_view body = input.substr(p->body_begin, p->body_end - p->body_begin);
    std::string decoded = mta::mime::decode_transfer(body, p->transfer_encoding);
    MTA_ASSERT(decoded.size() <= body.size());
    if (p->description) (void)mta::mime::decode_words(*p->description);
    if (p->message) stack.push_back(p->message.get());
    for (const Part& child : p->children) stack.push_back(&child);
  }
}

void check_header_fields(std::string_view input) {
  std::string_view block = mta::mime::header_block(input, input.size());
  std::vector<mta::mime::HeaderField> fields = mta::mime::parse_header_fields(block);
  std::size_t floor = 0;
  for (const mta::mime::HeaderField& f : fields) {
    MTA_ASSERT(!f.name.empty());
    MTA_ASSERT(f.name.find(':') == std::string_view::npos);
    MTA_ASSERT(f.begin >= floor);
    MTA_ASSERT(f.begin < f.end);
    MTA_ASSERT(f.end <= block.size());
    MTA_ASSERT(block.substr(f.begin, f.name.size()) == f.name);
    MTA_ASSERT(f.value.find('\n') == std::string::npos);
    MTA_ASSERT(f.value.size() < f.end - f.begin);
    floor = f.end;
    // header_value finds the first field of each name.
    auto first = std::find_if(fields.begin(), fields.end(),
                              [&](const auto& other) { return mta::iequals(other.name, f.name); });
    std::optional<std::string> value = mta::mime::header_value(block, f.name);
    MTA_ASSERT(value.has_value());
    MTA_ASSERT(*value == first->value);
  }
  // Parsing the whole input gives the same fields: they end at the first empty line.
  MTA_ASSERT(mta::mime::parse_header_fields(input).size() == fields.size());
}

void check_addresses(std::string_view input) {
  std::vector<mta::mime::Address> list = mta::mime::parse_address_list(input);
  MTA_ASSERT(list.size() <= input.size());
  bool in_group = false;
  for (const mta::mime::Address& a : list) {
    if (a.group_end) {
      MTA_ASSERT(in_group);
      in_group = false;
      MTA_ASSERT(a.name.empty() && a.mailbox.empty() && a.host.empty() && a.group.empty());
    } else if (!a.group.empty()) {
      MTA_ASSERT(!in_group);
      in_group = true;
      MTA_ASSERT(a.mailbox.empty() && a.host.empty());
    }
  }
  MTA_ASSERT(!in_group);
}

void check_decodings(std::string_view input) {
  std::string words = mta::mime::decode_words(input);
  MTA_ASSERT(words.size() <= 3 * input.size());
  if (input.find("=?") == std::string_view::npos) MTA_ASSERT(words == input);

  MTA_ASSERT(mta::mime::decode_transfer(input, "7bit") == input);
  MTA_ASSERT(mta::mime::decode_transfer(input, "base64").size() <= input.size() / 4 * 3 + 2);
  MTA_ASSERT(mta::mime::decode_transfer(input, "quoted-printable").size() <= input.size());

  std::string base64;
  mta::mime::append_base64_lines(base64, input);
  MTA_ASSERT(mta::mime::decode_transfer(base64, "base64") == input);

  std::string text = mta::mime::normalize_crlf(input);
  std::string qp;
  mta::mime::append_quoted_printable(qp, text);
  MTA_ASSERT(mta::mime::decode_transfer(qp, "quoted-printable") == text);

  if (mta::mime::is_utf8(input) && !input.empty()) {
    MTA_ASSERT(mta::mime::decode_words(mta::mime::encode_words(input)) == input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_structure(input, {});
  std::size_t knob = size == 0 ? 0 : data[0];
  check_structure(input, {.depth_max = knob % 5, .parts_max = knob / 5 % 12});
  check_header_fields(input);

  std::string_view first_line = input.substr(0, input.find('\n'));
  check_content_type(mta::mime::parse_content_type(first_line), false);
  check_content_type(mta::mime::parse_content_type(input), false);
  check_content_type(mta::mime::parse_content_disposition(input), true);
  check_addresses(input);
  check_addresses(first_line);
  check_decodings(input);
  return 0;
}
