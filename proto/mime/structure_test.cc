// Tests of structure.h, table-driven: header fields and unfolding, Content-Type and
// Content-Disposition (comments, quoting, RFC 2231 continuations), the MIME tree in CRLF and
// bare-LF forms, IMAP part numbers, limits and hostile inputs, address lists with groups,
// RFC 2047 encoded-words and the transfer decodings.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/mime/structure.h"

namespace mta::mime {
namespace {

// Test inputs are written with "\n"; the CRLF variant of each case replaces every "\n".
std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string params_text(const ContentType& t) {
  std::string out;
  for (const auto& [name, value] : t.params) {
    if (!out.empty()) out += ';';
    out += name + '=' + value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Header fields.

TEST(ParseHeaderFields, Fields) {
  struct Case {
    std::string_view input;
    std::vector<std::pair<std::string_view, std::string_view>> want;
  };
  const Case cases[] = {
      {"Subject: hello\r\n", {{"Subject", "hello"}}},
      {"Subject: hello\r\n world\r\nFrom: a@b\r\n\r\nBody: no\r\n",
       {{"Subject", "hello world"}, {"From", "a@b"}}},
      {"Subject: hello\n\tworld\nFrom: a@b\n\nBody: no\n",
       {{"Subject", "hello\tworld"}, {"From", "a@b"}}},
      {"Subject:   padded   \r\n", {{"Subject", "padded"}}},
      {"Subject:\r\n folded start\r\n", {{"Subject", "folded start"}}},
      {"X-Empty:\r\nX-Blank:   \r\n", {{"X-Empty", ""}, {"X-Blank", ""}}},
      {"Subject : obsolete\r\n", {{"Subject", "obsolete"}}},
      {"From sender@example.com Mon Jan  1 00:00:00 2024\nTo: x\n", {{"To", "x"}}},
      {"junk line\n continued junk\nTo: y\n", {{"To", "y"}}},
      {" leading continuation\nTo: y\n", {{"To", "y"}}},
      {"Bad Name: x\nGood-Name: y\n", {{"Good-Name", "y"}}},
      {": no name\nTo: y\n", {{"To", "y"}}},
      {"Subject: no line end", {{"Subject", "no line end"}}},
      {"Subject: a\r\n \r\n b\r\n", {{"Subject", "a  b"}}},
      {"Subject: time 10:20:30\r\n", {{"Subject", "time 10:20:30"}}},
      {"Subject: bare\rcr\r\n", {{"Subject", "bare\rcr"}}},
      {"\r\nSubject: after the end\r\n", {}},
      {"", {}},
  };
  for (const Case& c : cases) {
    std::vector<HeaderField> got = parse_header_fields(c.input);
    ASSERT_EQ(got.size(), c.want.size()) << c.input;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, c.want[i].first) << c.input;
      EXPECT_EQ(got[i].value, c.want[i].second) << c.input;
    }
  }
}

TEST(ParseHeaderFields, Offsets) {
  const std::string_view block = "A: 1\r\nB: 2\r\n  more\r\njunk\r\nC: 3\nD: 4";
  std::vector<HeaderField> got = parse_header_fields(block);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(block.substr(got[0].begin, got[0].end - got[0].begin), "A: 1\r\n");
  EXPECT_EQ(block.substr(got[1].begin, got[1].end - got[1].begin), "B: 2\r\n  more\r\n");
  EXPECT_EQ(block.substr(got[2].begin, got[2].end - got[2].begin), "C: 3\n");
  EXPECT_EQ(block.substr(got[3].begin, got[3].end - got[3].begin), "D: 4");
}

TEST(HeaderValue, Lookup) {
  struct Case {
    std::string_view block;
    std::string_view name;
    std::optional<std::string_view> want;
  };
  const Case cases[] = {
      {"Subject: one\r\nSubject: two\r\n", "subject", "one"},
      {"SUBJECT: x\r\n\r\n", "Subject", "x"},
      {"To: a\r\n b\r\n", "to", "a b"},
      {"To: a\r\n\r\nCc: b\r\n", "cc", std::nullopt},
      {"X-To: a\r\n", "to", std::nullopt},
      {"To-X: a\r\n", "to", std::nullopt},
      {"", "to", std::nullopt},
  };
  for (const Case& c : cases) {
    std::optional<std::string> got = header_value(c.block, c.name);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.block;
    if (got) {
      EXPECT_EQ(*got, *c.want) << c.block;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Content-Type and Content-Disposition.

TEST(ParseContentType, Values) {
  struct Case {
    std::string_view input;
    std::string_view want_type;
    std::string_view want_subtype;
    std::string_view want_params;  // "name=value;name=value"
  };
  const Case cases[] = {
      {"text/plain", "text", "plain", ""},
      {"TEXT/HTML; CHARSET=UTF-8", "text", "html", "charset=UTF-8"},
      {" multipart/mixed;\tboundary=\"----=_Part_1\"", "multipart", "mixed",
       "boundary=----=_Part_1"},
      {"multipart/mixed; boundary=----=_Part_0_1.2", "multipart", "mixed",
       "boundary=----=_Part_0_1.2"},
      {"text/plain (Plain text) ; charset = \"us-ascii\" (really)", "text", "plain",
       "charset=us-ascii"},
      {"text (a) / (b) plain", "text", "plain", ""},
      {"text/plain (nested (comment) here); format=flowed", "text", "plain", "format=flowed"},
      {"application/octet-stream; name=\"a \\\"b\\\" \\\\c\"", "application", "octet-stream",
       "name=a \"b\" \\c"},
      {"multipart/mixed boundary=abc", "multipart", "mixed", "boundary=abc"},
      {"text/plain; junk; charset=utf-8", "text", "plain", "charset=utf-8"},
      {"text/plain;; ;charset=utf-8;", "text", "plain", "charset=utf-8"},
      {"text/plain; =x; charset=utf-8", "text", "plain", "charset=utf-8"},
      {"text/plain; name=\"unterminated", "text", "plain", "name=unterminated"},
      {"text/plain; name=\"a;b\"; c=d", "text", "plain", "name=a;b;c=d"},
      {"text/plain (unterminated comment", "text", "plain", ""},
      {"text/plain; a=1; A=2", "text", "plain", "a=1;a=2"},
      {"image/gif; name=r\xc3\xa9sum\xc3\xa9.gif", "image", "gif", "name=r\xc3\xa9sum\xc3\xa9.gif"},
      {"", "text", "plain", "charset=us-ascii"},
      {"text", "text", "plain", "charset=us-ascii"},
      {"text/", "text", "plain", "charset=us-ascii"},
      {"/plain", "text", "plain", "charset=us-ascii"},
      {"(only a comment)", "text", "plain", "charset=us-ascii"},
      {"\"text/html\"", "text", "plain", "charset=us-ascii"},
      // RFC 2231 §3: continuations.
      {"message/external-body; access-type=URL; URL*0=\"ftp://\"; "
       "URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
       "message", "external-body",
       "access-type=URL;url=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"},
      // RFC 2231 §4: a charset and language, kept as written.
      {"application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
       "application", "x-stuff", "title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"},
      // RFC 2231 §4.1: extended and literal segments together.
      {"application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
       "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
       "application", "x-stuff",
       "title*=us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"},
      {"text/plain; name*1=\"b\"; charset=x; name*0=\"a\"; name*2=c", "text", "plain",
       "name=abc;charset=x"},
      {"text/plain; name*0=a; name*0=b; name*1=c", "text", "plain", "name=ac"},
      {"text/plain; Name*0*=utf-8''%E2%82%AC; NAME*1*=%20x", "text", "plain",
       "name*=utf-8''%E2%82%AC%20x"},
      {"text/plain; name*x=1; *0=2; name*12345=3", "text", "plain", "name*x=1;*0=2;name*12345=3"},
  };
  for (const Case& c : cases) {
    ContentType got = parse_content_type(c.input);
    EXPECT_EQ(got.type, c.want_type) << c.input;
    EXPECT_EQ(got.subtype, c.want_subtype) << c.input;
    EXPECT_EQ(params_text(got), c.want_params) << c.input;
  }
}

TEST(ParseContentType, ParamLookupIgnoresCase) {
  ContentType t = parse_content_type("multipart/mixed; Boundary=\"x\"; charset=utf-8");
  ASSERT_NE(t.param("BOUNDARY"), nullptr);
  EXPECT_EQ(*t.param("BOUNDARY"), "x");
  ASSERT_NE(t.param("charset"), nullptr);
  EXPECT_EQ(*t.param("charset"), "utf-8");
  EXPECT_EQ(t.param("name"), nullptr);
}

TEST(ParseContentDisposition, Values) {
  struct Case {
    std::string_view input;
    std::string_view want_type;
    std::string_view want_params;
  };
  const Case cases[] = {
      {"attachment; filename=\"a.pdf\"", "attachment", "filename=a.pdf"},
      {"INLINE", "inline", ""},
      {"attachment (comment); size=10; filename*=utf-8''%E2%82%AC.txt", "attachment",
       "size=10;filename*=utf-8''%E2%82%AC.txt"},
      {"attachment; filename*0=\"long\"; filename*1=\"name.txt\"", "attachment",
       "filename=longname.txt"},
      {"filename=x.txt", "", "filename=x.txt"},
      {"", "", ""},
  };
  for (const Case& c : cases) {
    ContentType got = parse_content_disposition(c.input);
    EXPECT_EQ(got.type, c.want_type) << c.input;
    EXPECT_EQ(got.subtype, "") << c.input;
    EXPECT_EQ(params_text(got), c.want_params) << c.input;
  }
}

// ---------------------------------------------------------------------------------------------
// The MIME tree.

// "multipart/mixed(text/plain,message/rfc822[text/plain])": children in parentheses, an
// encapsulated message in brackets.
std::string shape(const Part& p) {
  std::string out = p.content_type.type + '/' + p.content_type.subtype;
  if (!p.children.empty()) {
    out += '(';
    for (std::size_t i = 0; i < p.children.size(); ++i) {
      if (i > 0) out += ',';
      out += shape(p.children[i]);
    }
    out += ')';
  }
  if (p.message) out += '[' + shape(*p.message) + ']';
  return out;
}

// The bodies of the leaves, in order.
void leaf_bodies(const Part& p, std::string_view message, std::vector<std::string>& out) {
  if (!p.children.empty()) {
    for (const Part& child : p.children) leaf_bodies(child, message, out);
    return;
  }
  if (p.message) {
    leaf_bodies(*p.message, message, out);
    return;
  }
  out.emplace_back(message.substr(p.body_begin, p.body_end - p.body_begin));
}

// The same, separated by '|'.
std::string leaf_bodies(const Part& root, std::string_view message) {
  std::vector<std::string> bodies;
  leaf_bodies(root, message, bodies);
  std::string out;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    if (i > 0) out += '|';
    out += bodies[i];
  }
  return out;
}

struct StructureCase {
  std::string_view name;
  std::string_view input;  // "\n" line endings; also run with CRLF
  std::string_view want_shape;
  std::string_view want_bodies;  // "\n" line endings
};

const StructureCase kStructureCases[] = {
    {"plain", "Subject: x\n\nhello\nworld\n", "text/plain", "hello\nworld\n"},
    {"no header", "\nbody", "text/plain", "body"},
    {"no empty line", "Subject: x\n", "text/plain", ""},
    {"empty", "", "text/plain", ""},
    {"mixed with preamble and epilogue",
     "Content-Type: multipart/mixed; boundary=\"b1\"\n"
     "\n"
     "preamble\n"
     "--b1\n"
     "Content-Type: text/plain\n"
     "\n"
     "one\n"
     "--b1\n"
     "\n"
     "two\n"
     "\n"
     "--b1--\n"
     "epilogue\n"
     "--b1\n"
     "not a part\n",
     "multipart/mixed(text/plain,text/plain)", "one|two\n"},
    {"nested alternative and attached message",
     "Content-Type: multipart/mixed; boundary=outer\n"
     "\n"
     "--outer\n"
     "Content-Type: multipart/alternative; boundary=inner\n"
     "\n"
     "--inner\n"
     "Content-Type: text/plain\n"
     "\n"
     "plain\n"
     "--inner\n"
     "Content-Type: text/html\n"
     "\n"
     "<p>html</p>\n"
     "--inner--\n"
     "inner epilogue\n"
     "--outer\n"
     "Content-Type: message/rfc822\n"
     "\n"
     "Subject: attached\n"
     "Content-Type: multipart/mixed; boundary=deep\n"
     "\n"
     "--deep\n"
     "\n"
     "deep one\n"
     "--deep\n"
     "Content-Type: image/gif\n"
     "Content-Transfer-Encoding: base64\n"
     "\n"
     "R0lGODlh\n"
     "--deep--\n"
     "\n"
     "--outer--\n",
     "multipart/mixed(multipart/alternative(text/plain,text/html),"
     "message/rfc822[multipart/mixed(text/plain,image/gif)])",
     "plain|<p>html</p>|deep one|R0lGODlh"},
    {"missing closing boundary",
     "Content-Type: multipart/mixed; boundary=b\n"
     "\n"
     "--b\n"
     "\n"
     "one\n"
     "--b\n"
     "\n"
     "two\n",
     "multipart/mixed(text/plain,text/plain)", "one|two\n"},
    {"missing inner closing boundary ends at the outer one",
     "Content-Type: multipart/mixed; boundary=outer\n"
     "\n"
     "--outer\n"
     "Content-Type: multipart/alternative; boundary=inner\n"
     "\n"
     "--inner\n"
     "\n"
     "a\n"
     "--outer\n"
     "\n"
     "b\n"
     "--outer--\n",
     "multipart/mixed(multipart/alternative(text/plain),text/plain)", "a|b"},
    {"delimiter padding and close suffix",
     "Content-Type: multipart/mixed; boundary=b\n"
     "\n"
     "--b  \t\n"
     "\n"
     "one\n"
     "--b--  trailing junk\n",
     "multipart/mixed(text/plain)", "one"},
    {"lookalike delimiters",
     "Content-Type: multipart/mixed; boundary=b\n"
     "\n"
     "--b\n"
     "\n"
     "--bx\n"
     " --b\n"
     "-b\n"
     "--b x\n"
     "--b\n"
     "\n"
     "two\n"
     "--b--\n",
     "multipart/mixed(text/plain,text/plain)", "--bx\n --b\n-b\n--b x|two"},
    {"inner boundary extends the outer",
     "Content-Type: multipart/mixed; boundary=abc\n"
     "\n"
     "--abc\n"
     "Content-Type: multipart/mixed; boundary=abcdef\n"
     "\n"
     "--abcdef\n"
     "\n"
     "x\n"
     "--abcdef--\n"
     "--abc--\n",
     "multipart/mixed(multipart/mixed(text/plain))", "x"},
    {"empty parts",
     "Content-Type: multipart/mixed; boundary=b\n"
     "\n"
     "--b\n"
     "--b\n"
     "\n"
     "--b--\n",
     "multipart/mixed(text/plain,text/plain)", "|"},
    {"no delimiters", "Content-Type: multipart/mixed; boundary=b\n\nnothing here\n",
     "multipart/mixed", "nothing here\n"},
    {"multipart without boundary", "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
     "multipart/mixed", "--b\n\nx\n--b--\n"},
    {"digest defaults to message/rfc822",
     "Content-Type: multipart/digest; boundary=d\n"
     "\n"
     "--d\n"
     "\n"
     "Subject: one\n"
     "\n"
     "first\n"
     "--d\n"
     "Content-Type: text/plain\n"
     "\n"
     "second\n"
     "--d--\n",
     "multipart/digest(message/rfc822[text/plain],text/plain)", "first|second"},
    {"bad content type is text/plain", "Content-Type: ???\n\nx\n", "text/plain", "x\n"},
    {"message/global", "Content-Type: message/global\n\nSubject: x\n\ninner\n",
     "message/global[text/plain]", "inner\n"},
    {"delimiter at end without line end",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b",
     "multipart/mixed(text/plain,"
     "text/plain)",
     "one|"},
    {"multipart report",
     "Content-Type: multipart/report; report-type=delivery-status;\n"
     "\tboundary=\"=_rpt\"\n"
     "\n"
     "--=_rpt\n"
     "\n"
     "Delivery failed.\n"
     "--=_rpt\n"
     "Content-Type: message/delivery-status\n"
     "\n"
     "Reporting-MTA: dns; mx.example\n"
     "\n"
     "Final-Recipient: rfc822; a@b.example\n"
     "Status: 5.1.1\n"
     "--=_rpt\n"
     "Content-Type: text/rfc822-headers\n"
     "\n"
     "Subject: original\n"
     "--=_rpt--\n",
     "multipart/report(text/plain,message/delivery-status,text/rfc822-headers)",
     "Delivery failed.|Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; "
     "a@b.example\nStatus: 5.1.1|Subject: original"},
};

TEST(ParseStructure, Cases) {
  for (const StructureCase& c : kStructureCases) {
    for (bool use_crlf : {false, true}) {
      std::string input = use_crlf ? crlf(c.input) : std::string(c.input);
      std::string want_bodies = use_crlf ? crlf(c.want_bodies) : std::string(c.want_bodies);
      Part root = parse_structure(input);
      EXPECT_EQ(shape(root), c.want_shape) << c.name << (use_crlf ? " (CRLF)" : " (LF)");
      EXPECT_EQ(leaf_bodies(root, input), want_bodies)
          << c.name << (use_crlf ? " (CRLF)" : " (LF)");
      EXPECT_EQ(root.header_begin, 0u);
      EXPECT_EQ(root.body_end, input.size());
    }
  }
}

TEST(ParseStructure, Offsets) {
  for (bool use_crlf : {false, true}) {
    std::string input = crlf(
        "Content-Type: multipart/mixed; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "Subject: in\n"
        "\n"
        "line 1\n"
        "line 2\n"
        "--b--\n");
    if (!use_crlf) {
      std::string lf;
      for (char ch : input) {
        if (ch != '\r') lf += ch;
      }
      input = lf;
    }
    std::string_view eol = use_crlf ? "\r\n" : "\n";
    Part root = parse_structure(input);
    ASSERT_EQ(root.children.size(), 1u);
    const Part& child = root.children[0];
    auto text = [&](std::size_t begin, std::size_t end) {
      return std::string(input.substr(begin, end - begin));
    };
    std::string e(eol);
    EXPECT_EQ(text(root.header_begin, root.header_end),
              "Content-Type: multipart/mixed; boundary=b" + e + e);
    EXPECT_EQ(root.header_end, root.body_begin);
    EXPECT_EQ(text(child.header_begin, child.header_end), "Content-Type: message/rfc822" + e + e);
    EXPECT_EQ(text(child.body_begin, child.body_end),
              "Subject: in" + e + e + "line 1" + e + "line 2");
    EXPECT_EQ(child.body_lines, 4u);
    ASSERT_NE(child.message, nullptr);
    EXPECT_EQ(child.message->header_begin, child.body_begin);
    EXPECT_EQ(child.message->body_end, child.body_end);
    EXPECT_EQ(text(child.message->body_begin, child.message->body_end), "line 1" + e + "line 2");
    EXPECT_EQ(child.message->body_lines, 2u);
    EXPECT_EQ(root.body_lines, 8u);
  }
}

TEST(ParseStructure, BodyLines) {
  struct Case {
    std::string_view input;
    std::size_t want;
  };
  const Case cases[] = {
      {"\n", 0},
      {"\na", 1},
      {"\na\n", 1},
      {"\na\nb", 2},
      {"\r\na\r\nb\r\n", 2},
      {"\r\n\r\n\r\n", 2},
      {"Subject: x\r\n", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_structure(c.input).body_lines, c.want) << c.input;
  }
}

TEST(ParseStructure, Fields) {
  std::string input = crlf(
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: application/pdf; name=\"a.pdf\"\n"
      "Content-Transfer-Encoding: BASE64 (comment)\n"
      "Content-ID: <id@example>\n"
      "Content-Description: =?utf-8?q?a_file?=\n"
      "Content-Disposition: attachment;\n"
      " filename=\"a.pdf\"\n"
      "Content-Language: en, de\n"
      "Content-Location: http://example.com/a.pdf\n"
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
      "Content-Type: text/plain\n"
      "\n"
      "JVBERi0=\n"
      "--b\n"
      "Content-Disposition: (none)\n"
      "\n"
      "x\n"
      "--b--\n");
  Part root = parse_structure(input);
  ASSERT_EQ(root.children.size(), 2u);
  const Part& pdf = root.children[0];
  EXPECT_EQ(pdf.content_type.type, "application");
  EXPECT_EQ(pdf.content_type.subtype, "pdf");
  EXPECT_EQ(params_text(pdf.content_type), "name=a.pdf");
  EXPECT_EQ(pdf.transfer_encoding, "base64");
  EXPECT_EQ(pdf.content_id, "<id@example>");
  EXPECT_EQ(pdf.description, "=?utf-8?q?a_file?=");
  ASSERT_TRUE(pdf.disposition.has_value());
  EXPECT_EQ(pdf.disposition->type, "attachment");
  EXPECT_EQ(params_text(*pdf.disposition), "filename=a.pdf");
  EXPECT_EQ(pdf.language, "en, de");
  EXPECT_EQ(pdf.location, "http://example.com/a.pdf");
  EXPECT_EQ(pdf.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  EXPECT_EQ(decode_transfer(input.substr(pdf.body_begin, pdf.body_end - pdf.body_begin),
                            pdf.transfer_encoding),
            "%PDF-");

  const Part& plain = root.children[1];
  EXPECT_EQ(params_text(plain.content_type), "charset=us-ascii");
  EXPECT_EQ(plain.transfer_encoding, "7bit");
  EXPECT_FALSE(plain.content_id.has_value());
  EXPECT_FALSE(plain.disposition.has_value());
}

// A chain of `levels` multiparts, each holding the next one and a text part.
std::string nested_multiparts(std::size_t levels) {
  std::string out;
  for (std::size_t i = 0; i < levels; ++i) {
    out += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  }
  out += "\r\nleaf\r\n";
  for (std::size_t i = levels; i-- > 0;) out += "--b" + std::to_string(i) + "--\r\n";
  return out;
}

std::size_t depth_of(const Part& p) {
  std::size_t deepest = 0;
  for (const Part& c : p.children) deepest = std::max(deepest, depth_of(c) + 1);
  if (p.message) deepest = std::max(deepest, depth_of(*p.message) + 1);
  return deepest;
}

std::size_t count_parts(const Part& p) {
  std::size_t n = 1;
  for (const Part& c : p.children) n += count_parts(c);
  if (p.message) n += count_parts(*p.message);
  return n;
}

TEST(ParseStructure, DepthLimit) {
  struct Case {
    std::size_t levels;
    std::size_t depth_max;
    std::size_t want_depth;
  };
  const Case cases[] = {{5, 20, 5}, {5, 5, 5}, {5, 4, 4}, {5, 2, 2}, {5, 0, 0}, {30, 20, 20}};
  for (const Case& c : cases) {
    std::string input = nested_multiparts(c.levels);
    Part root = parse_structure(input, {.depth_max = c.depth_max});
    EXPECT_EQ(depth_of(root), c.want_depth) << c.levels << " " << c.depth_max;
    // The deepest part kept is a leaf even though it is a multipart.
    const Part* p = &root;
    while (!p->children.empty()) p = &p->children[0];
    if (c.want_depth < c.levels) {
      EXPECT_TRUE(p->is_multipart());
      EXPECT_TRUE(p->children.empty());
    }
  }
  // message/rfc822 counts as a level too.
  std::string messages;
  for (int i = 0; i < 10; ++i) messages += "Content-Type: message/rfc822\r\n\r\n";
  messages += "\r\ninnermost\r\n";
  EXPECT_EQ(depth_of(parse_structure(messages)), 10u);
  EXPECT_EQ(depth_of(parse_structure(messages, {.depth_max = 3})), 3u);
}

TEST(ParseStructure, PartsLimit) {
  std::string input = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 10; ++i) input += "--b\r\n\r\npart\r\n";
  input += "--b--\r\n";
  struct Case {
    std::size_t parts_max;
    std::size_t want_children;
  };
  const Case cases[] = {{2000, 10}, {11, 10}, {10, 9}, {4, 3}, {1, 0}, {0, 0}};
  for (const Case& c : cases) {
    Part root = parse_structure(input, {.parts_max = c.parts_max});
    EXPECT_EQ(root.children.size(), c.want_children) << c.parts_max;
  }
}

// Inputs that would take minutes if any step were quadratic; the default limits apply.
TEST(ParseStructure, HostileInputs) {
  {
    std::string input = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
    for (int i = 0; i < 200000; ++i) input += "--b\r\n";
    Part root = parse_structure(input);
    EXPECT_EQ(count_parts(root), 2000u);
  }
  {
    // Every level scans the whole message for its own boundary.
    Part root = parse_structure(nested_multiparts(5000));
    EXPECT_EQ(depth_of(root), 20u);
  }
  {
    // A long header, then many parts that are each an attached message: parts_max counts
    // the messages too.
    std::string input;
    for (int i = 0; i < 100000; ++i) input += "Content-Type: multipart/mixed; boundary=b\r\n";
    input += "\r\n";
    for (int i = 0; i < 100000; ++i) input += "--b\r\nContent-Type: message/rfc822\r\n\r\n";
    Part root = parse_structure(input);
    EXPECT_LE(count_parts(root), 2000u);
  }
  {
    std::string long_boundary(100000, 'x');
    std::string input = "Content-Type: multipart/mixed; boundary=" + long_boundary + "\r\n\r\n";
    for (int i = 0; i < 100000; ++i) input += "--" + std::string(50, 'x') + "\r\n";
    input += "--" + long_boundary + "\r\n\r\nbody";
    Part root = parse_structure(input);
    ASSERT_EQ(root.children.size(), 1u);
  }
}

// ---------------------------------------------------------------------------------------------
// IMAP part numbers.

// The structure of RFC 3501 §6.4.5's example; each leaf's body is its part number.
const std::string_view kRfc3501Example =
    "Subject: example\n"
    "Content-Type: MULTIPART/MIXED; boundary=x\n"
    "\n"
    "--x\n"
    "Content-Type: TEXT/PLAIN\n"
    "\n"
    "1\n"
    "--x\n"
    "Content-Type: APPLICATION/OCTET-STREAM\n"
    "\n"
    "2\n"
    "--x\n"
    "Content-Type: MESSAGE/RFC822\n"
    "\n"
    "Subject: three\n"
    "Content-Type: MULTIPART/MIXED; boundary=y\n"
    "\n"
    "--y\n"
    "\n"
    "3.1\n"
    "--y\n"
    "Content-Type: APPLICATION/OCTET-STREAM\n"
    "\n"
    "3.2\n"
    "--y--\n"
    "--x\n"
    "Content-Type: MULTIPART/MIXED; boundary=z\n"
    "\n"
    "--z\n"
    "Content-Type: IMAGE/GIF\n"
    "\n"
    "4.1\n"
    "--z\n"
    "Content-Type: MESSAGE/RFC822\n"
    "\n"
    "Subject: four two\n"
    "Content-Type: MULTIPART/MIXED; boundary=w\n"
    "\n"
    "--w\n"
    "\n"
    "4.2.1\n"
    "--w\n"
    "Content-Type: MULTIPART/ALTERNATIVE; boundary=v\n"
    "\n"
    "--v\n"
    "\n"
    "4.2.2.1\n"
    "--v\n"
    "Content-Type: TEXT/RICHTEXT\n"
    "\n"
    "4.2.2.2\n"
    "--v--\n"
    "--w--\n"
    "--z--\n"
    "--x--\n";

struct PartCase {
  std::vector<std::uint32_t> numbers;
  std::string_view want_type;  // "" for no such part
  std::string_view want_body;  // checked for leaves only
};

// A part's body without its last line ending.
std::string trim_body(std::string_view input, const Part& p) {
  std::string_view body = input.substr(p.body_begin, p.body_end - p.body_begin);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  return std::string(body);
}

void check_parts(std::string_view input, const std::vector<PartCase>& cases) {
  Part root = parse_structure(input);
  for (const PartCase& c : cases) {
    std::string path;
    for (std::uint32_t n : c.numbers) path += std::to_string(n) + '.';
    const Part* got = find_part(root, c.numbers);
    if (c.want_type.empty()) {
      EXPECT_EQ(got, nullptr) << path;
      continue;
    }
    ASSERT_NE(got, nullptr) << path;
    EXPECT_EQ(got->content_type.type + '/' + got->content_type.subtype, c.want_type) << path;
    if (!c.want_body.empty()) {
      EXPECT_EQ(trim_body(input, *got), c.want_body) << path;
    }
  }
}

TEST(FindPart, Rfc3501Example) {
  for (bool use_crlf : {false, true}) {
    std::string input = use_crlf ? crlf(kRfc3501Example) : std::string(kRfc3501Example);
    check_parts(input, {
                           {{}, "multipart/mixed", ""},
                           {{1}, "text/plain", "1"},
                           {{2}, "application/octet-stream", "2"},
                           {{3}, "message/rfc822", ""},
                           {{3, 1}, "text/plain", "3.1"},
                           {{3, 2}, "application/octet-stream", "3.2"},
                           {{3, 3}, "", ""},
                           {{3, 1, 1}, "", ""},
                           {{4}, "multipart/mixed", ""},
                           {{4, 1}, "image/gif", "4.1"},
                           {{4, 1, 1}, "", ""},
                           {{4, 2}, "message/rfc822", ""},
                           {{4, 2, 1}, "text/plain", "4.2.1"},
                           {{4, 2, 2}, "multipart/alternative", ""},
                           {{4, 2, 2, 1}, "text/plain", "4.2.2.1"},
                           {{4, 2, 2, 2}, "text/richtext", "4.2.2.2"},
                           {{4, 2, 2, 3}, "", ""},
                           {{4, 3}, "", ""},
                           {{5}, "", ""},
                           {{0}, "", ""},
                           {{1, 0}, "", ""},
                           {{4, 0}, "", ""},
                           {{4294967295u}, "", ""},
                       });
  }
}

TEST(FindPart, NonMultipart) {
  check_parts("Subject: x\n\nbody\n", {
                                          {{}, "text/plain", "body"},
                                          {{1}, "text/plain", "body"},
                                          {{2}, "", ""},
                                          {{1, 1}, "", ""},
                                          {{0}, "", ""},
                                      });
  // A message whose own body is a message: part 1 is that body, 1.1 the inner body.
  check_parts("Content-Type: message/rfc822\n\nSubject: in\n\ninner\n",
              {
                  {{1}, "message/rfc822", ""},
                  {{1, 1}, "text/plain", "inner"},
                  {{1, 2}, "", ""},
                  {{1, 1, 1}, "", ""},
              });
  // An attached message that is not multipart: 2.1 is its body.
  check_parts(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\nContent-Type: "
      "message/rfc822\n\nSubject: in\n\ninner\n--b--\n",
      {
          {{1}, "text/plain", "one"},
          {{2}, "message/rfc822", ""},
          {{2, 1}, "text/plain", "inner"},
          {{2, 2}, "", ""},
          {{2, 1, 1}, "", ""},
      });
  // A multipart with no parts has no part 1.
  check_parts("Content-Type: multipart/mixed; boundary=b\n\nno parts\n", {
                                                                             {{1}, "", ""},
                                                                         });
}

// ---------------------------------------------------------------------------------------------
// Address lists.

// "name|route|mailbox|host", "[group name]" or "[end]".
std::vector<std::string> addresses_text(std::string_view input) {
  std::vector<std::string> out;
  for (const Address& a : parse_address_list(input)) {
    if (a.group_end) {
      out.push_back("[end]");
    } else if (!a.group.empty()) {
      out.push_back("[group " + a.group + "]");
    } else {
      out.push_back(a.name + '|' + a.route + '|' + a.mailbox + '|' + a.host);
    }
  }
  return out;
}

TEST(ParseAddressList, Lists) {
  struct Case {
    std::string_view input;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"ann@example.com", {"||ann|example.com"}},
      {"Ann Example <ann@example.com>", {"Ann Example||ann|example.com"}},
      {"\"Example, Ann\" <ann@example.com>, bob@example.org",
       {"Example, Ann||ann|example.com", "||bob|example.org"}},
      {"John Q. Public <jqp@example.org>", {"John Q. Public||jqp|example.org"}},
      {"\"Joe \\\"Q\\\" Public\" <jqp@example.org>", {"Joe \"Q\" Public||jqp|example.org"}},
      {"<@a.example,@b.example:user@host.example>", {"|@a.example,@b.example|user|host.example"}},
      {"Ann < @a.example , @b.example : user @ host.example >",
       {"Ann|@a.example,@b.example|user|host.example"}},
      {"ann@example.com (Ann Example)", {"Ann Example||ann|example.com"}},
      {"Ann (the (nested) one) <a@b.example>", {"Ann||a|b.example"}},
      {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", {"Pete||pete|silly.test"}},
      {"undisclosed-recipients:;", {"[group undisclosed-recipients]", "[end]"}},
      {"undisclosed-recipients: ;", {"[group undisclosed-recipients]", "[end]"}},
      {"A Group: a@b.example, \"Bob\" <d@e.example>; c@d.example",
       {"[group A Group]", "||a|b.example", "Bob||d|e.example", "[end]", "||c|d.example"}},
      {"A Group(Some people):Chris Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
       {"[group A Group]", "Chris Jones||c|a.test", "||joe|where.test", "John||jdoe|one.test",
        "[end]"}},
      {"Group: a@b.example", {"[group Group]", "||a|b.example", "[end]"}},
      {": a@b.example; c@d.example", {"||a|b.example", "||c|d.example"}},
      {"(no name):;", {}},
      {"\"quoted local\"@example.com", {"||quoted local|example.com"}},
      {"john . smith @ example . com", {"||john.smith|example.com"}},
      {"=?utf-8?Q?J=C3=BCrgen?= <j@example.de>", {"=?utf-8?Q?J=C3=BCrgen?=||j|example.de"}},
      {"Mailer-Daemon", {"||Mailer-Daemon|"}},
      {"a@b.example Ann", {"Ann||a|b.example"}},
      {"<>", {"|||"}},
      {", ,a@b.example,,", {"||a|b.example"}},
      {"Ann <a@b.example", {"Ann||a|b.example"}},
      {"Ann <a@b.example, Bob <d@e.example>", {"Ann||a|b.example", "Bob||d|e.example"}},
      {"user@[192.0.2.1]", {"||user|[192.0.2.1]"}},
      {"@example.com", {"|||example.com"}},
      {"Ann Example <ann@example.com> junk", {"Ann Example||ann|example.com"}},
      {"ann@x.example <ann@x.example>", {"ann@x.example||ann|x.example"}},
      {"a@b.example; c@d.example", {"||a|b.example", "||c|d.example"}},
      {"Ann [work] <a@b.example>", {"Ann [work]||a|b.example"}},
      {"Ann [unclosed <a@b.example>", {"Ann [unclosed||a|b.example"}},
      {"a@b.example>", {"||a|b.example"}},
      {"\"unterminated <a@b.example>", {"||unterminated <a@b.example>|"}},
      {"(just a comment)", {}},
      {"", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(addresses_text(c.input), c.want) << c.input;
  }
}

TEST(ParseAddressList, HostileInputs) {
  EXPECT_EQ(addresses_text(std::string(200000, '(')), std::vector<std::string>{});
  EXPECT_EQ(parse_address_list(std::string(200000, ',')).size(), 0u);
  EXPECT_EQ(parse_address_list(std::string(100000, '<')).size(), 1u);
  EXPECT_EQ(parse_address_list(std::string(100000, '[')).size(), 1u);
  std::string groups;
  for (int i = 0; i < 50000; ++i) groups += "g:a@b;";
  EXPECT_EQ(parse_address_list(groups).size(), 150000u);
  std::string routes;
  for (int i = 0; i < 50000; ++i) routes += "<@a,";
  EXPECT_EQ(parse_address_list(routes).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Encoded-words.

TEST(DecodeWords, Words) {
  struct Case {
    std::string_view input;
    std::string_view want;
  };
  const Case cases[] = {
      {"hello", "hello"},
      {"", ""},
      {"=?utf-8?q?J=C3=BCrgen?=", "J\xc3\xbcrgen"},
      {"=?UTF-8?Q?J=c3=bcrgen?=", "J\xc3\xbcrgen"},
      {"=?UTF-8?B?5bGx55Sw?=", "\xe5\xb1\xb1\xe7\x94\xb0"},
      {"=?utf-8?b?YQ?=", "a"},
      {"=?utf-8?b?YWJj?=", "abc"},
      {"=?iso-8859-1?q?J=FCrgen?=", "J\xc3\xbcrgen"},
      {"=?ISO-8859-1?B?SvxyZ2Vu?=", "J\xc3\xbcrgen"},
      {"=?latin1?q?=80?=", "\xc2\x80"},
      {"=?windows-1252?q?=80_and_=93quotes=94?=",
       "\xe2\x82\xac and \xe2\x80\x9cquotes\xe2\x80\x9d"},
      {"=?cp1252?q?=9F=81=FF?=", "\xc5\xb8\xc2\x81\xc3\xbf"},
      {"=?us-ascii?q?hello_world?=", "hello world"},
      {"=?koi8-r?q?=C1?=", "\xc1"},
      {"=?utf-8*en?q?hi?=", "hi"},
      {"=?utf-8?q?\?=", ""},
      {"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
      {"=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"},
      {"=?utf-8?q?a?=\t\t=?iso-8859-1?q?=E9?=", "a\xc3\xa9"},
      {"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
      {"Re: =?utf-8?q?x?= (fwd)", "Re: x (fwd)"},
      {"pre=?utf-8?q?x?=post", "prexpost"},
      {"=?utf-8?q?a_?= b", "a  b"},
      {"=?utf-8?q?=3D=?=", "=="},
      {"=?utf-8?q?=ZZ=4?=", "=ZZ=4"},
      // Malformed words stay as written.
      {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
      {"=?utf-8?q?abc", "=?utf-8?q?abc"},
      {"=?utf-8?q?a b?=", "=?utf-8?q?a b?="},
      {"=??q?a?=", "=??q?a?="},
      {"=?utf-8?qq?a?=", "=?utf-8?qq?a?="},
      {"=?utf 8?q?a?=", "=?utf 8?q?a?="},
      {"=?=?utf-8?q?a?=", "=?a"},
      {"=?", "=?"},
      {"=?utf-8?", "=?utf-8?"},
      {"=?utf-8?q", "=?utf-8?q"},
      {"=?utf-8?q?", "=?utf-8?q?"},
      {"=?utf-8?q?a?= =?bad =?utf-8?q?b?=", "a =?bad b"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decode_words(c.input), c.want) << c.input;
  }
}

TEST(DecodeWords, HostileInputs) {
  std::string opens;
  for (int i = 0; i < 100000; ++i) opens += "=?a?q?x";
  EXPECT_EQ(decode_words(opens), opens);
  std::string starts(300000, '=');
  for (std::size_t i = 1; i < starts.size(); i += 2) starts[i] = '?';
  EXPECT_EQ(decode_words(starts), starts);
}

// ---------------------------------------------------------------------------------------------
// Transfer decodings.

TEST(DecodeTransfer, Encodings) {
  struct Case {
    std::string_view input;
    std::string_view encoding;
    std::string_view want;
  };
  const Case cases[] = {
      {"aGVsbG8=", "base64", "hello"},
      {"aGVs\r\nbG8=\r\n", "base64", "hello"},
      {"aGVsbG8", "BASE64", "hello"},
      {"aG!V s\tb*G8", " base64 ", "hello"},
      {"aGk=aGk=", "base64", "hi"},
      {"aGk", "base64", "hi"},
      {"a", "base64", ""},
      {"", "base64", ""},
      {"/+/+", "base64", "\xff\xef\xfe"},
      {"a=3Db", "quoted-printable", "a=b"},
      {"a=3db", "Quoted-Printable", "a=b"},
      {"caf=C3=A9", "quoted-printable", "caf\xc3\xa9"},
      {"soft=\r\nbreak", "quoted-printable", "softbreak"},
      {"soft=\nbreak", "quoted-printable", "softbreak"},
      {"soft= \t\r\nbreak", "quoted-printable", "softbreak"},
      {"end=", "quoted-printable", "end"},
      {"line one\r\nline two\r\n", "quoted-printable", "line one\r\nline two\r\n"},
      {"trailing  \t\r\nx  ", "quoted-printable", "trailing\r\nx"},
      {"inner  space", "quoted-printable", "inner  space"},
      {"=XY =4 =", "quoted-printable", "=XY =4 "},
      {"a=\r", "quoted-printable", "a=\r"},
      {"100%=20", "quoted-printable", "100% "},
      {"=0D=0A", "quoted-printable", "\r\n"},
      {"as it is=3D", "7bit", "as it is=3D"},
      {"aGVsbG8=", "8bit", "aGVsbG8="},
      {"aGVsbG8=", "", "aGVsbG8="},
      {"begin 644 x", "x-uuencode", "begin 644 x"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decode_transfer(c.input, c.encoding), c.want) << c.input << " " << c.encoding;
  }
}

}  // namespace
}  // namespace mta::mime
