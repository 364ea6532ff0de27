// Canonicalization (RFC 6376 §3.4): the "simple" and "relaxed" forms of header fields and of
// the body. The body canonicalizer is streaming so a 10 MiB body is hashed without a canonical
// copy; hashing itself is left to the caller (see signer.cc and verifier.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mta::dkim {

enum class Canon { simple, relaxed };

// Appends the canonical form of one header field to out. raw is the field as it appears in the
// message from the first byte of its name to the end of its last line, WITHOUT the final CRLF;
// the output always ends in CRLF (the caller drops it for the DKIM-Signature field itself).
//   simple  (§3.4.1): the field unchanged.
//   relaxed (§3.4.2): name lowercased, folding removed, WSP runs become one SP, WSP at the end
//                     of the value and around the colon removed.
void canonicalize_header(Canon canon, std::string_view raw, std::string& out);

// Streams a body through simple (§3.4.3) or relaxed (§3.4.4) body canonicalization:
//   simple:  trailing empty lines removed; an empty body becomes one CRLF.
//   relaxed: WSP at line ends removed, WSP runs become one SP, trailing empty lines removed;
//            an empty body stays empty.
// Either way a non-empty result ends in CRLF. Feed the body with update() in any split, then
// finish() once; each call appends canonical bytes to out. Lines end at CRLF only: a bare CR or
// LF is an ordinary byte (the caller normalizes line endings first; see README.md).
class BodyCanonicalizer {
 public:
  explicit BodyCanonicalizer(Canon canon) : canon_(canon) {}

  void update(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  void content(std::string_view bytes, std::string& out);

  Canon canon_;
  std::size_t crlf_pending_ = 0;  // line ends seen since the last content byte, not yet output
  bool cr_pending_ = false;       // the previous chunk ended in CR
  bool wsp_pending_ = false;      // relaxed: WSP seen since the last content byte on this line
  bool any_content_ = false;      // some content byte has been output
};

// The whole canonical body at once; for tests and fuzzing (the signer streams instead).
std::string canonicalize_body(Canon canon, std::string_view body);

}  // namespace mta::dkim
