// Meaning of the DKIM tags and the hash inputs shared by signer and verifier. The field is
// parsed once with parse_tag_list; the b= value is located by rescanning the tag list, never by
// searching for "b=", which also occurs inside bh= and in base64 text.
#include "dkim/signature.h"

#include <charconv>

#include "dkim/errc.h"
#include "dkim/tag_list.h"

namespace mta::dkim {
namespace {

constexpr std::size_t body_chunk_bytes = 64 * 1024;
// t= and x= are at most 12 digits (§3.5: "should not exceed 12 digits").
constexpr std::size_t time_digits_max = 12;

Unexpected<Error> bad(std::string detail) {
  return unexpected(Errc::malformed_signature, std::move(detail));
}

std::optional<std::uint64_t> parse_number(std::string_view text, std::size_t digits_max) {
  if (text.empty() || text.size() > digits_max) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<std::pair<Canon, Canon>> parse_canon(std::string_view text) {
  // c= "simple" | "relaxed" [ "/" ( "simple" | "relaxed" ) ]; the body defaults to simple.
  auto one = [](std::string_view word) -> std::optional<Canon> {
    if (word == "simple") return Canon::simple;
    if (word == "relaxed") return Canon::relaxed;
    return std::nullopt;
  };
  const std::size_t slash = text.find('/');
  const auto header = one(text.substr(0, slash));
  const auto body = slash == std::string_view::npos ? std::optional<Canon>(Canon::simple)
                                                    : one(text.substr(slash + 1));
  if (!header || !body) return bad("unknown canonicalization " + std::string(text));
  return std::pair{*header, *body};
}

// d= within i=: i= is "[local-part] @ domain" and the domain is d= or a subdomain of it.
bool identity_within(std::string_view identity, std::string_view domain, bool strict) {
  const std::size_t at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view id_domain = identity.substr(at + 1);
  if (iequals(id_domain, domain)) return true;
  if (strict || id_domain.size() <= domain.size()) return false;
  return id_domain[id_domain.size() - domain.size() - 1] == '.' &&
         iequals(id_domain.substr(id_domain.size() - domain.size()), domain);
}

}  // namespace

Result<Signature> parse_signature(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return bad(tags.error().detail);
  Signature sig;
  const Tag* v = find_tag(*tags, "v");
  if (v == nullptr || v->value != "1") return bad("v= must be 1");
  for (std::string_view required : {"a", "b", "bh", "d", "h", "s"}) {
    if (find_tag(*tags, required) == nullptr) return bad("missing " + std::string(required) + "=");
  }
  auto algorithm = parse_algorithm(find_tag(*tags, "a")->value);
  if (!algorithm) return unexpected(algorithm.error());
  sig.algorithm = *algorithm;
  if (const Tag* c = find_tag(*tags, "c")) {
    auto canon = parse_canon(c->value);
    if (!canon) return unexpected(canon.error());
    sig.header_canon = canon->first;
    sig.body_canon = canon->second;
  }
  sig.domain = find_tag(*tags, "d")->value;
  sig.selector = find_tag(*tags, "s")->value;
  if (sig.domain.empty() || sig.selector.empty()) return bad("empty d= or s=");
  // h= is a colon-separated list of field names with optional FWS around each.
  const std::string h = strip_whitespace(find_tag(*tags, "h")->value);
  bool has_from = false;
  for (std::size_t pos = 0; pos <= h.size();) {
    std::size_t colon = h.find(':', pos);
    if (colon == std::string::npos) colon = h.size();
    if (colon == pos) return bad("empty name in h=");
    sig.headers.push_back(ascii_lowercase(std::string_view(h).substr(pos, colon - pos)));
    has_from = has_from || sig.headers.back() == "from";
    pos = colon + 1;
  }
  if (!has_from) return bad("h= does not include From");
  auto body_hash = base64_decode(find_tag(*tags, "bh")->value);
  auto signature = base64_decode(find_tag(*tags, "b")->value);
  if (!body_hash || !signature) return bad("bad base64 in bh= or b=");
  sig.body_hash = std::move(*body_hash);
  sig.signature = std::move(*signature);
  if (sig.body_hash.size() != Digest().size()) return bad("bh= is not a SHA-256 hash");
  if (sig.signature.empty()) return bad("empty b=");
  if (const Tag* q = find_tag(*tags, "q"); q != nullptr && q->value.find("dns/txt") == 0) {
    // q=dns/txt is the only method; other methods are listed alternatives we skip.
  } else if (q != nullptr) {
    return bad("unsupported q=" + std::string(q->value));
  }
  if (const Tag* i = find_tag(*tags, "i")) {
    sig.identity = i->value;
    if (!identity_within(sig.identity, sig.domain, false)) return bad("i= is not within d=");
  } else {
    sig.identity = "@" + sig.domain;
  }
  if (const Tag* t = find_tag(*tags, "t")) {
    const auto value = parse_number(t->value, time_digits_max);
    if (!value) return bad("bad t=");
    sig.timestamp = static_cast<std::int64_t>(*value);
  }
  if (const Tag* x = find_tag(*tags, "x")) {
    const auto value = parse_number(x->value, time_digits_max);
    if (!value) return bad("bad x=");
    sig.expiration = static_cast<std::int64_t>(*value);
    if (sig.timestamp && *sig.expiration <= *sig.timestamp) return bad("x= is not after t=");
  }
  if (const Tag* l = find_tag(*tags, "l")) {
    const auto value = parse_number(l->value, 76);
    if (!value) return bad("bad l=");
    sig.body_length = *value;
  }
  return sig;
}

Result<KeyRecord> parse_key_record(std::string_view text) {
  auto bad_record = [](std::string detail) {
    return unexpected(Errc::malformed_key_record, std::move(detail));
  };
  auto tags = parse_tag_list(text);
  if (!tags) return bad_record(tags.error().detail);
  KeyRecord record;
  // v= is optional, but when present it must be the first tag and exactly "DKIM1" (§3.6.1).
  if (const Tag* v = find_tag(*tags, "v")) {
    if (v != &tags->front() || v->value != "DKIM1") return bad_record("v= is not DKIM1");
  }
  if (const Tag* k = find_tag(*tags, "k")) {
    if (k->value == "rsa") {
      record.algorithm = Algorithm::rsa_sha256;
    } else if (k->value == "ed25519") {
      record.algorithm = Algorithm::ed25519_sha256;
    } else {
      return bad_record("unknown key type k=" + std::string(k->value));
    }
  }
  auto colon_list_has = [](std::string_view list, std::string_view want) {
    const std::string plain = strip_whitespace(list);
    std::string_view rest = plain;
    while (true) {
      const std::size_t colon = rest.find(':');
      if (rest.substr(0, colon) == want) return true;
      if (colon == std::string_view::npos) return false;
      rest.remove_prefix(colon + 1);
    }
  };
  if (const Tag* h = find_tag(*tags, "h"); h != nullptr && !colon_list_has(h->value, "sha256")) {
    return bad_record("h= does not allow sha256");
  }
  if (const Tag* s = find_tag(*tags, "s");
      s != nullptr && !colon_list_has(s->value, "email") && !colon_list_has(s->value, "*")) {
    return bad_record("s= excludes email");
  }
  if (const Tag* t = find_tag(*tags, "t")) {
    record.testing = colon_list_has(t->value, "y");
    record.strict_identity = colon_list_has(t->value, "s");
  }
  const Tag* p = find_tag(*tags, "p");
  if (p == nullptr) return bad_record("missing p=");
  auto key = base64_decode(p->value);
  if (!key) return bad_record("bad base64 in p=");
  record.public_key = std::move(*key);
  return record;
}

Digest body_hash(Canon canon, std::string_view body, std::optional<std::uint64_t> length_max) {
  Sha256 hash;
  BodyCanonicalizer canonicalizer(canon);
  std::string out;
  out.reserve(body_chunk_bytes + body_chunk_bytes / 8);
  std::uint64_t left = length_max.value_or(UINT64_MAX);
  auto drain = [&] {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, out.size()));
    hash.update(std::string_view(out).substr(0, take));
    left -= take;
    out.clear();
  };
  for (std::size_t pos = 0; pos < body.size() && left > 0; pos += body_chunk_bytes) {
    canonicalizer.update(body.substr(pos, body_chunk_bytes), out);
    drain();
  }
  canonicalizer.finish(out);
  drain();
  return hash.finish();
}

std::string strip_b_value(std::string_view signature_raw) {
  const std::size_t colon = signature_raw.find(':');
  MTA_ASSERT(colon != std::string_view::npos);
  const std::string_view value = signature_raw.substr(colon + 1);
  auto tags = parse_tag_list(value);
  if (tags) {
    if (const Tag* b = find_tag(*tags, "b")) {
      // Delete from just after '=' up to the ';' ending the tag-spec (or the end of the field),
      // so whitespace around the value goes too, as §3.7 says.
      const std::size_t name_at = static_cast<std::size_t>(b->name.data() - signature_raw.data());
      const std::size_t eq = signature_raw.find('=', name_at);
      std::size_t end = signature_raw.find(';', eq);
      if (end == std::string_view::npos) end = signature_raw.size();
      std::string out(signature_raw.substr(0, eq + 1));
      out.append(signature_raw.substr(end));
      return out;
    }
  }
  return std::string(signature_raw);
}

Digest header_digest(Canon canon, const std::vector<const HeaderField*>& selected,
                     std::string_view signature_raw) {
  Sha256 hash;
  std::string canonical;
  for (const HeaderField* field : selected) {
    if (field == nullptr) continue;
    canonical.clear();
    canonicalize_header(canon, field->raw, canonical);
    hash.update(canonical);
  }
  canonical.clear();
  canonicalize_header(canon, strip_b_value(signature_raw), canonical);
  canonical.resize(canonical.size() - 2);  // the signature field is hashed without its CRLF
  hash.update(canonical);
  return hash.finish();
}

}  // namespace mta::dkim
