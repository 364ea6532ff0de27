// RFC 6376 §3.4 canonicalization. The body state machine defers line ends and whitespace
// until the next content byte proves they are not trailing, so it never buffers body bytes.
#include "dkim/canon.h"

namespace mta::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

void canonicalize_header(Canon canon, std::string_view raw, std::string& out) {
  if (canon == Canon::simple) {
    out.append(raw);
    out.append("\r\n");
    return;
  }
  // relaxed: "Convert all header field names to lowercase", "Unfold all header field
  // continuation lines", "Convert all sequences of one or more WSP characters to a single SP",
  // "Delete all WSP characters at the end of each unfolded header field value", "Delete any
  // WSP characters remaining before and after the colon".
  const std::size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (char c : name) out.push_back(ascii_lower(c));
  out.push_back(':');
  if (colon == std::string_view::npos) {
    out.append("\r\n");
    return;
  }
  bool wsp = false;
  bool started = false;  // leading WSP after the colon is dropped
  for (char c : raw.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfold: CRLF goes, the WSP after it stays
    if (is_wsp(c)) {
      wsp = true;
      continue;
    }
    if (wsp && started) out.push_back(' ');
    wsp = false;
    started = true;
    out.push_back(c);
  }
  out.append("\r\n");
}

// Outputs a run of content bytes (no CR; for relaxed, no WSP), preceded by the line ends and
// the single SP they prove are not trailing.
void BodyCanonicalizer::content(std::string_view bytes, std::string& out) {
  for (; crlf_pending_ > 0; --crlf_pending_) out.append("\r\n");
  if (wsp_pending_) out.push_back(' ');
  wsp_pending_ = false;
  any_content_ = true;
  out.append(bytes);
}

void BodyCanonicalizer::update(std::string_view chunk, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = chunk.size();
  if (cr_pending_ && n > 0) {
    cr_pending_ = false;
    if (chunk[0] == '\n') {
      wsp_pending_ = false;  // relaxed: trailing WSP of the line is dropped
      ++crlf_pending_;
      i = 1;
    } else {
      content("\r", out);  // a bare CR is content
    }
  }
  while (i < n) {
    const char c = chunk[i];
    if (c == '\r') {
      if (i + 1 == n) {
        cr_pending_ = true;
        return;
      }
      if (chunk[i + 1] == '\n') {
        wsp_pending_ = false;
        ++crlf_pending_;
        i += 2;
      } else {
        content("\r", out);
        ++i;
      }
      continue;
    }
    if (canon_ == Canon::relaxed && is_wsp(c)) {
      wsp_pending_ = true;
      ++i;
      continue;
    }
    // A run of plain bytes goes out in one append.
    std::size_t end = i + 1;
    while (end < n && chunk[end] != '\r' && !(canon_ == Canon::relaxed && is_wsp(chunk[end]))) {
      ++end;
    }
    content(chunk.substr(i, end - i), out);
    i = end;
  }
}

void BodyCanonicalizer::finish(std::string& out) {
  if (cr_pending_) {
    cr_pending_ = false;
    content("\r", out);
  }
  // Either the last content line lacked its CRLF (one is added) or it had one followed by
  // trailing empty lines (all but that one are dropped): exactly one CRLF either way.
  if (any_content_) {
    out.append("\r\n");
  } else if (canon_ == Canon::simple) {
    out.append("\r\n");  // §3.4.3: an empty body is canonicalized to a single CRLF
  }
  crlf_pending_ = 0;
  wsp_pending_ = false;
}

std::string canonicalize_body(Canon canon, std::string_view body) {
  std::string out;
  BodyCanonicalizer canonicalizer(canon);
  canonicalizer.update(body, out);
  canonicalizer.finish(out);
  return out;
}

}  // namespace mta::dkim
