// Tests of compose(): message structure, body and header encodings, RFC 2047 words, RFC 2231
// filenames, boundaries, and refusal of bad input (header injection, reserved fields, bad
// addresses). Output is read back by a small independent MIME reader with its own
// quoted-printable, base64 and encoded-word decoders, and every message must be wire-clean.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/concat.h"
#include "proto/mime/compose.h"
#include "proto/mime/encoding.h"
#include "proto/mime/errc.h"

namespace mta::mime {
namespace {

// ---------------------------------------------------------------------------------------------
// Reading back what we wrote.

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lowercase hex is not what we write
}

std::string qp_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
    } else if (s.substr(i + 1, 2) == "\r\n") {
      i += 2;
    } else {
      EXPECT_TRUE(i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0)
          << "bad escape at " << i;
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    }
  }
  return out;
}

std::string base64_decode(std::string_view s) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '=') continue;
    std::size_t v = kAlphabet.find(c);
    EXPECT_NE(v, std::string_view::npos) << "bad base64 character " << int(c);
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  return out;
}

// RFC 2047 decoding of an unfolded field value: encoded-words are decoded, whitespace between
// two adjacent encoded-words is dropped (§6.2), other text is kept.
std::string decode_words(std::string_view s) {
  std::string out;
  bool previous_was_word = false;
  std::string pending_space;
  while (!s.empty()) {
    if (s.starts_with("=?utf-8?")) {
      std::size_t end = s.find("?=", 10);
      EXPECT_NE(end, std::string_view::npos);
      EXPECT_LE(end + 2, 75u) << "encoded-word longer than 75";
      char encoding = s[8];
      std::string_view payload = s.substr(10, end - 10);
      std::string bytes;
      if (encoding == 'B') {
        bytes = base64_decode(payload);
      } else {
        EXPECT_EQ(encoding, 'Q');
        std::string q(payload);
        for (char& c : q) {
          if (c == '_') c = ' ';
        }
        bytes = qp_decode(q);
      }
      if (!previous_was_word) out += pending_space;
      out += bytes;
      pending_space.clear();
      previous_was_word = true;
      s.remove_prefix(end + 2);
    } else if (s[0] == ' ' || s[0] == '\t') {
      pending_space += s[0];
      s.remove_prefix(1);
    } else {
      out += pending_space;
      pending_space.clear();
      std::size_t end = s.find_first_of(" \t");
      out.append(s.substr(0, end));
      s.remove_prefix(end == std::string_view::npos ? s.size() : end);
      previous_was_word = false;
    }
  }
  return out + pending_space;
}

struct Entity {
  std::vector<std::pair<std::string, std::string>> fields;  // unfolded; names lowercased
  std::string body;
  std::vector<Entity> children;

  std::string field(std::string_view name) const {
    for (const auto& [n, v] : fields) {
      if (n == lower(name)) return v;
    }
    return "<absent>";
  }
  int count(std::string_view name) const {
    int n = 0;
    for (const auto& field : fields) n += field.first == lower(name);
    return n;
  }
};

Entity read_entity(std::string_view raw) {
  Entity e;
  std::size_t header_end = raw.find("\r\n\r\n");
  EXPECT_NE(header_end, std::string_view::npos) << raw;
  std::string headers(raw.substr(0, header_end + 2));
  e.body = std::string(raw.substr(header_end + 4));
  std::string unfolded;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (headers.compare(i, 2, "\r\n") == 0 && i + 2 < headers.size() &&
        (headers[i + 2] == ' ' || headers[i + 2] == '\t')) {
      ++i;
      continue;
    }
    unfolded += headers[i];
  }
  std::string_view rest = unfolded;
  while (!rest.empty()) {
    std::size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    std::size_t colon = line.find(": ");
    EXPECT_NE(colon, std::string_view::npos) << line;
    e.fields.emplace_back(lower(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    rest.remove_prefix(end + 2);
  }
  std::string type = e.field("Content-Type");
  if (type.starts_with("multipart/")) {
    std::size_t b = type.find("boundary=\"");
    EXPECT_NE(b, std::string::npos);
    std::string boundary = type.substr(b + 10, type.find('"', b + 10) - (b + 10));
    std::string delimiter = concat({"\r\n--", boundary});
    std::string body = concat({"\r\n", e.body});
    std::size_t at = body.find(delimiter);
    EXPECT_NE(at, std::string::npos);
    while (at != std::string::npos) {
      std::size_t start = at + delimiter.size();
      if (body.compare(start, 2, "--") == 0) {
        EXPECT_EQ(body.substr(start + 2), "\r\n") << "epilogue after the close delimiter";
        break;
      }
      EXPECT_EQ(body.compare(start, 2, "\r\n"), 0);
      std::size_t next = body.find(delimiter, start);
      EXPECT_NE(next, std::string::npos) << "no close delimiter";
      e.children.push_back(read_entity(std::string_view(body).substr(start + 2, next - start - 2)));
      at = next;
    }
  }
  return e;
}

std::string decoded_body(const Entity& e) {
  std::string cte = e.field("Content-Transfer-Encoding");
  if (cte == "quoted-printable") return qp_decode(e.body);
  if (cte == "base64") return base64_decode(e.body);
  EXPECT_EQ(cte, "7bit");
  return e.body;
}

void expect_wire_clean(std::string_view wire) {
  ASSERT_TRUE(wire.ends_with("\r\n"));
  std::size_t line = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(wire[i]);
    ASSERT_LT(c, 0x80) << "8-bit octet at " << i;
    ASSERT_NE(c, 0) << "NUL at " << i;
    if (c == '\r') {
      ASSERT_TRUE(i + 1 < wire.size() && wire[i + 1] == '\n') << "bare CR at " << i;
      ASSERT_LE(line, 998u);
      line = 0;
      ++i;
      continue;
    }
    ASSERT_NE(c, '\n') << "bare LF at " << i;
    ++line;
  }
}

Composition base() {
  Composition c;
  c.from = "Ann Example <ann@example.com>";
  c.to = {"bob@example.net"};
  c.subject = "Hello";
  c.text = "Hi Bob.\n";
  c.boundary_seed = "test";
  return c;
}

Entity compose_and_read(const Composition& c) {
  auto got = compose(c);
  EXPECT_TRUE(got.has_value()) << got.error().message();
  if (!got) return {};
  expect_wire_clean(*got);
  return read_entity(*got);
}

// ---------------------------------------------------------------------------------------------
// Structure.

TEST(Compose, Structure) {
  struct Case {
    std::string_view name;
    bool text, html;
    int attachments;
    std::string want;  // content types, children in brackets
  };
  const Case cases[] = {
      {"text", true, false, 0, "text/plain"},
      {"html", false, true, 0, "text/html"},
      {"both", true, true, 0, "multipart/alternative[text/plain,text/html]"},
      {"text+att", true, false, 1, "multipart/mixed[text/plain,image/png]"},
      {"html+att", false, true, 2, "multipart/mixed[text/html,image/png,image/png]"},
      {"all", true, true, 2,
       "multipart/mixed[multipart/alternative[text/plain,text/html],image/png,image/png]"},
      {"att only", false, false, 1, "multipart/mixed[image/png]"},
  };
  auto shape = [](auto& self, const Entity& e) -> std::string {
    std::string type = e.field("Content-Type");
    std::string out = type.substr(0, type.find(';'));
    if (e.children.empty()) return out;
    out += '[';
    for (std::size_t i = 0; i < e.children.size(); ++i) {
      if (i > 0) out += ',';
      out += self(self, e.children[i]);
    }
    return out + ']';
  };
  for (const Case& c : cases) {
    Composition in = base();
    in.text = c.text ? "plain body\n" : "";
    in.html = c.html ? "<p>html body</p>\n" : "";
    for (int i = 0; i < c.attachments; ++i) {
      in.attachments.push_back({concat({"a", std::to_string(i), ".png"}), "image/png", "\x89PNG"});
    }
    Entity e = compose_and_read(in);
    EXPECT_EQ(shape(shape, e), c.want) << c.name;
    EXPECT_EQ(e.field("MIME-Version"), "1.0") << c.name;
  }
}

TEST(Compose, HeaderFieldsAndOrder) {
  Composition c = base();
  c.to = {"bob@example.net", "\"Carol, C.\" <carol@example.org>"};
  c.cc = {"Dave <dave@example.com>"};
  c.reply_to = "replies@example.com";
  c.message_id = "<m1@outpost.example>";
  c.date = Clock::WallTime{std::chrono::sys_days{std::chrono::year{2026} / 11 / 23}};
  c.headers = {{"X-Campaign", "spring"}, {"List-Unsubscribe", "<mailto:u@example.com>"}};
  Entity e = compose_and_read(c);
  std::vector<std::string> names;
  for (const auto& f : e.fields) names.push_back(f.first);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "date", "from", "reply-to", "to", "cc", "subject", "message-id", "x-campaign",
                "list-unsubscribe", "mime-version", "content-type", "content-transfer-encoding"}));
  EXPECT_EQ(e.field("Date"), "Mon, 23 Nov 2026 00:00:00 +0000");
  EXPECT_EQ(e.field("From"), "Ann Example <ann@example.com>");
  EXPECT_EQ(e.field("To"), "bob@example.net, \"Carol, C.\" <carol@example.org>");
  EXPECT_EQ(e.field("Cc"), "Dave <dave@example.com>");
  EXPECT_EQ(e.field("Reply-To"), "replies@example.com");
  EXPECT_EQ(e.field("Message-ID"), "<m1@outpost.example>");
  EXPECT_EQ(e.field("X-Campaign"), "spring");
  EXPECT_EQ(e.field("Content-Type"), "text/plain; charset=utf-8");

  Composition bare = base();
  bare.to.clear();
  bare.subject.clear();
  Entity b = compose_and_read(bare);
  EXPECT_EQ(b.count("To") + b.count("Subject") + b.count("Date") + b.count("Message-ID"), 0);
}

// ---------------------------------------------------------------------------------------------
// Encodings.

TEST(Compose, TextEncodings) {
  struct Case {
    std::string_view name;
    std::string text;
    std::string_view want_cte;
    std::string want;  // decoded body
  };
  const Case cases[] = {
      {"ascii lf", "line one\nline two\n", "7bit", "line one\r\nline two\r\n"},
      {"ascii crlf", "a\r\nb\r\n", "7bit", "a\r\nb\r\n"},
      {"bare cr", "a\rb\n", "7bit", "a\r\nb\r\n"},
      {"no final newline", "a", "7bit", "a\r\n"},
      {"trailing space 7bit", "a \nb\t\n", "7bit", "a \r\nb\t\r\n"},
      {"998 octets", concat({std::string(998, 'x'), "\n"}), "7bit",
       concat({std::string(998, 'x'), "\r\n"})},
      {"999 octets", concat({std::string(999, 'x'), "\n"}), "quoted-printable",
       concat({std::string(999, 'x'), "\r\n"})},
      {"utf-8",
       "Gr\xc3\xbc\xc3\x9f"
       "e = hi \n",
       "quoted-printable",
       "Gr\xc3\xbc\xc3\x9f"
       "e = hi \r\n"},
      {"control", "bell\x07\n", "quoted-printable", "bell\x07\r\n"},
      {"long utf-8", concat({std::string(300, 'a'), "\xc3\xa9 \t\n"}), "quoted-printable",
       concat({std::string(300, 'a'), "\xc3\xa9 \t\r\n"})},
      {"boundary lookalike", "--=_outpost_0000000000000000\n", "7bit",
       "--=_outpost_0000000000000000\r\n"},
  };
  for (const Case& c : cases) {
    Composition in = base();
    in.text = c.text;
    Entity e = compose_and_read(in);
    EXPECT_EQ(e.field("Content-Transfer-Encoding"), c.want_cte) << c.name;
    EXPECT_EQ(decoded_body(e), c.want) << c.name;
    if (c.want_cte == "quoted-printable") {
      std::string_view body = e.body;
      while (!body.empty()) {
        std::size_t end = body.find("\r\n");
        std::string_view line = body.substr(0, end);
        EXPECT_LE(line.size(), 76u) << c.name;
        EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t')) << c.name;
        if (end == std::string_view::npos) break;
        body.remove_prefix(end + 2);
      }
    }
  }
}

TEST(Compose, QuotedPrintableSoftBreaksNeverSplitEscapes) {
  // Every alignment of a 3-character escape against the 76-column limit.
  for (std::size_t prefix = 60; prefix < 80; ++prefix) {
    std::string text =
        concat({std::string(prefix, 'a'), "\xc3\xa9\xc3\xa9=", std::string(90, 'b')});
    std::string out;
    append_quoted_printable(out, text);
    EXPECT_EQ(qp_decode(out), text) << prefix;
    std::string_view rest = out;
    while (!rest.empty()) {
      std::size_t end = rest.find("\r\n");
      EXPECT_LE(rest.substr(0, end).size(), 76u) << prefix;
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 2);
    }
  }
}

TEST(Compose, EncodedWords) {
  struct Case {
    std::string_view name;
    std::string subject;
    bool want_encoded;
  };
  const Case cases[] = {
      {"ascii", "Quarterly report", false},
      {"latin",
       "Gr\xc3\xbc\xc3\x9f"
       "e aus K\xc3\xb6ln",
       true},
      {"cjk", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d", true},
      {"emoji", "Sale \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 today", true},
      {"long cjk",
       [] {
         std::string s;
         for (int i = 0; i < 60; ++i) s += "\xe6\x97\xa5";
         return s;
       }(),
       true},
      {"long mixed", concat({std::string(200, 'a'), " \xc3\xa9 ", std::string(30, 'b')}), true},
      {"lookalike", "=?utf-8?B?SGk=?=", true},
      {"long ascii run", std::string(1200, 'z'), true},
      {"long ascii words",
       [] {
         std::string s;
         for (int i = 0; i < 40; ++i) s.append("word").append(std::to_string(i)).append(" ");
         return s.append("end");
       }(),
       false},
      {"tab", "a\tb", false},
  };
  for (const Case& c : cases) {
    Composition in = base();
    in.subject = c.subject;
    auto wire = compose(in);
    ASSERT_TRUE(wire.has_value()) << c.name;
    expect_wire_clean(*wire);
    Entity e = read_entity(*wire);
    std::string raw = e.field("Subject");
    EXPECT_EQ(raw.starts_with("=?utf-8?"), c.want_encoded) << c.name << ": " << raw;
    EXPECT_EQ(c.want_encoded ? decode_words(raw) : raw, c.subject) << c.name;
    // Encoded Subject lines stay within the preferred 78 octets.
    if (c.want_encoded) {
      std::string_view head = std::string_view(*wire).substr(0, wire->find("\r\n\r\n"));
      std::size_t at = head.find("\r\nSubject: ");
      std::string_view field = head.substr(at + 2);
      field = field.substr(0, field.find("\r\nMIME-Version"));
      std::size_t start = 0;
      while (start < field.size()) {
        std::size_t end = field.find("\r\n", start);
        if (end == std::string_view::npos) end = field.size();
        EXPECT_LE(end - start, 78u) << c.name;
        start = end + 2;
      }
    }
  }
}

TEST(Compose, DisplayNamesAreEncodedButAddressesNot) {
  Composition c = base();
  c.from = "J\xc3\xbcrgen M\xc3\xbcller <jm@example.de>";
  c.to = {"\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e <taro@example.jp>"};
  Entity e = compose_and_read(c);
  std::string from = e.field("From");
  ASSERT_TRUE(from.ends_with(" <jm@example.de>")) << from;
  EXPECT_EQ(decode_words(from.substr(0, from.size() - 16)), "J\xc3\xbcrgen M\xc3\xbcller");
  std::string to = e.field("To");
  ASSERT_TRUE(to.ends_with(" <taro@example.jp>")) << to;
  EXPECT_EQ(decode_words(to.substr(0, to.size() - 18)),
            "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e");
}

TEST(Compose, NonAsciiExtraHeaderIsEncoded) {
  Composition c = base();
  c.headers = {{"X-Note", "caf\xc3\xa9"}};
  Entity e = compose_and_read(c);
  EXPECT_EQ(decode_words(e.field("X-Note")), "caf\xc3\xa9");
}

TEST(Compose, Attachments) {
  std::string binary;
  for (int i = 0; i < 1000; ++i) binary += static_cast<char>(i * 7 % 256);
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "\xc3\xa9t\xc3\xa9";
  long_name += ".txt";
  struct Case {
    Attachment input;
    std::string want_type;
    std::string want_disposition;  // empty: check only that it decodes (continuations)
  };
  const Case cases[] = {
      {{"report.pdf", "application/pdf", binary},
       "application/pdf; name=\"report.pdf\"",
       "attachment; filename=\"report.pdf\""},
      {{"", "", "x"}, "application/octet-stream", "attachment"},
      {{"\xc3\x9c"
        "ber sicht.txt",
        "text/plain", "hello"},
       "text/plain",
       "attachment; filename*=utf-8''%C3%9Cber%20sicht.txt"},
      {{"a\"b.txt", "text/plain", ""}, "text/plain", "attachment; filename*=utf-8''a%22b.txt"},
      {{long_name, "text/plain", "y"}, "text/plain", ""},
  };
  for (const Case& c : cases) {
    Composition in = base();
    in.attachments = {c.input};
    Entity e = compose_and_read(in);
    ASSERT_EQ(e.children.size(), 2u);
    const Entity& a = e.children[1];
    EXPECT_EQ(a.field("Content-Type"), c.want_type);
    EXPECT_EQ(a.field("Content-Transfer-Encoding"), "base64");
    EXPECT_EQ(base64_decode(a.body), c.input.content);
    std::string disposition = a.field("Content-Disposition");
    if (!c.want_disposition.empty()) {
      EXPECT_EQ(disposition, c.want_disposition);
      continue;
    }
    // RFC 2231 continuations: filename*0*=utf-8''...; filename*1*=...; joined and decoded.
    std::string joined;
    for (int i = 0;; ++i) {
      std::string key = concat({"filename*", std::to_string(i), "*="});
      std::size_t at = disposition.find(key);
      if (at == std::string::npos) break;
      std::size_t start = at + key.size();
      joined += disposition.substr(start, disposition.find(';', start) - start);
    }
    ASSERT_TRUE(joined.starts_with("utf-8''")) << disposition;
    std::string decoded;
    for (std::size_t i = 7; i < joined.size(); ++i) {
      if (joined[i] == '%') {
        decoded += static_cast<char>(hex_value(joined[i + 1]) * 16 + hex_value(joined[i + 2]));
        i += 2;
      } else {
        decoded += joined[i];
      }
    }
    EXPECT_EQ(decoded, c.input.filename);
  }
}

// ---------------------------------------------------------------------------------------------
// Boundaries.

TEST(Compose, BoundariesAvoidContentAndAreReproducible) {
  Composition c = base();
  c.html = "<p>x</p>";
  auto first = compose(c);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*compose(c), *first);
  Entity e = read_entity(*first);
  std::string type = e.field("Content-Type");
  std::string boundary = type.substr(type.find("boundary=\"") + 10);
  boundary.pop_back();
  EXPECT_TRUE(boundary.starts_with("=_outpost_")) << boundary;

  // The same seed with the would-be boundary in the text: another boundary, text intact.
  c.text = concat({"--", boundary, "\n--", boundary, "--\n"});
  auto second = compose(c);
  ASSERT_TRUE(second.has_value());
  Entity e2 = read_entity(*second);
  EXPECT_EQ(e2.field("Content-Type").find(boundary), std::string::npos);
  ASSERT_EQ(e2.children.size(), 2u);
  EXPECT_EQ(decoded_body(e2.children[0]), normalize_crlf(c.text));

  Composition other = base();
  other.html = "<p>x</p>";
  other.boundary_seed = "another seed";
  EXPECT_NE(*compose(other), *first);
}

// ---------------------------------------------------------------------------------------------
// Refusals.

TEST(Compose, Refuses) {
  struct Case {
    std::string_view name;
    void (*edit)(Composition&);
    Errc want;
    std::string_view want_detail;
  };
  const Case cases[] = {
      {"subject crlf", [](Composition& c) { c.subject = "Hi\r\nBcc: victim@example.com"; },
       Errc::header_injection, "Subject"},
      {"subject lf", [](Composition& c) { c.subject = "Hi\nX: y"; }, Errc::header_injection,
       "Subject"},
      {"subject nul", [](Composition& c) { c.subject = std::string("a\0b", 3); },
       Errc::header_injection, "Subject"},
      {"header value crlf",
       [](Composition& c) {
         c.headers = {{"X-A", "1\r\nBcc: v@x.y"}};
       },
       Errc::header_injection, "X-A"},
      {"header name crlf",
       [](Composition& c) {
         c.headers = {{"X-A\r\nBcc", "v"}};
       },
       Errc::header_injection, "field name"},
      {"header name space",
       [](Composition& c) {
         c.headers = {{"X A", "v"}};
       },
       Errc::bad_header_name, "X A"},
      {"header name colon",
       [](Composition& c) {
         c.headers = {{"X-A:", "v"}};
       },
       Errc::bad_header_name, ":"},
      {"header name empty",
       [](Composition& c) {
         c.headers = {{"", "v"}};
       },
       Errc::bad_header_name, "empty"},
      {"header name 8bit",
       [](Composition& c) {
         c.headers = {{"X-\xc3\xa9", "v"}};
       },
       Errc::bad_header_name, "printable"},
      {"reserved subject",
       [](Composition& c) {
         c.headers = {{"subject", "x"}};
       },
       Errc::reserved_header, "Subject"},
      {"reserved content-type",
       [](Composition& c) {
         c.headers = {{"CONTENT-TYPE", "text/plain"}};
       },
       Errc::reserved_header, "Content-Type"},
      {"reserved bcc",
       [](Composition& c) {
         c.headers = {{"Bcc", "x@y.z"}};
       },
       Errc::reserved_header, "Bcc"},
      {"reserved message-id",
       [](Composition& c) {
         c.headers = {{"Message-Id", "<a@b>"}};
       },
       Errc::reserved_header, "Message-ID"},
      {"header long run",
       [](Composition& c) {
         c.headers = {{"X-Long", std::string(1000, 'a')}};
       },
       Errc::line_too_long, "X-Long"},
      {"header not utf-8",
       [](Composition& c) {
         c.headers = {{"X-A", "\xff"}};
       },
       Errc::invalid_utf8, "X-A"},
      {"from missing", [](Composition& c) { c.from.clear(); }, Errc::bad_address, "From"},
      {"from bad", [](Composition& c) { c.from = "ann@"; }, Errc::bad_address, "From: empty"},
      {"from crlf", [](Composition& c) { c.from = "a@b.c\r\nBcc: v@x.y"; }, Errc::header_injection,
       "From"},
      {"to bad",
       [](Composition& c) {
         c.to = {"ok@example.com", "@b"};
       },
       Errc::bad_address, "To[1]: empty local part"},
      {"cc bad", [](Composition& c) { c.cc = {"Ann <a@b.c"}; }, Errc::bad_address,
       "Cc[0]: missing '>'"},
      {"reply-to bad", [](Composition& c) { c.reply_to = "a b@c.d"; }, Errc::bad_address,
       "Reply-To"},
      {"no body",
       [](Composition& c) {
         c.text.clear();
         c.html.clear();
       },
       Errc::no_body, "no text"},
      {"text not utf-8", [](Composition& c) { c.text = std::string("\xc3"); }, Errc::invalid_utf8,
       "text"},
      {"html not utf-8", [](Composition& c) { c.html = "\xed\xa0\x80"; }, Errc::invalid_utf8,
       "html"},
      {"subject not utf-8", [](Composition& c) { c.subject = "\xc0\xaf"; }, Errc::invalid_utf8,
       "Subject"},
      {"message-id no brackets", [](Composition& c) { c.message_id = "a@b"; }, Errc::bad_message_id,
       "a@b"},
      {"message-id no at", [](Composition& c) { c.message_id = "<ab>"; }, Errc::bad_message_id,
       "ab"},
      {"message-id space", [](Composition& c) { c.message_id = "<a b@c>"; }, Errc::bad_message_id,
       ""},
      {"message-id crlf", [](Composition& c) { c.message_id = "<a@b>\r\nX: y"; },
       Errc::header_injection, "Message-ID"},
      {"filename crlf",
       [](Composition& c) {
         c.attachments = {{"a\r\nX-Evil: 1", "text/plain", "x"}};
       },
       Errc::header_injection, "attachments[0]"},
      {"content type bad",
       [](Composition& c) {
         c.attachments = {{"a", "text/plain; x=\"y\"", "x"}};
       },
       Errc::bad_content_type, "attachments[0]"},
      {"content type crlf",
       [](Composition& c) {
         c.attachments = {{"a", "text/plain\r\nX: y", "x"}};
       },
       Errc::header_injection, "attachments[0]"},
  };
  for (const Case& c : cases) {
    Composition in = base();
    c.edit(in);
    auto got = compose(in);
    ASSERT_FALSE(got.has_value()) << c.name;
    EXPECT_EQ(got.error().code, make_error_code(c.want)) << c.name << ": " << got.error().message();
    EXPECT_NE(got.error().detail.find(c.want_detail), std::string::npos)
        << c.name << ": " << got.error().detail;
  }
}

TEST(ValidateHeaderField, AcceptsOrdinaryFields) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"X-Campaign", "spring-2026"},
      {"List-Unsubscribe", "<mailto:u@example.com>, <https://example.com/u?id=1>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
      {"X-Empty", ""},
      {"Content-Language", "de"},
      {"In-Reply-To", "<x@y>"},
      {"X-Unicode", "\xe6\x97\xa5\xe6\x9c\xac"},
  };
  for (const auto& [name, value] : cases) {
    auto got = validate_header_field(name, value);
    EXPECT_TRUE(got.has_value()) << name << ": " << got.error().message();
  }
}

}  // namespace
}  // namespace mta::mime
