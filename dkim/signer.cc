// DKIM signer. The body is hashed streaming (body_hash in signature.cc); headers are
// canonicalized one field at a time into a reused buffer; the only copy of message bytes is
// that per-field buffer.
#include "dkim/signer.h"

#include "dkim/errc.h"
#include "dkim/message.h"
#include "dkim/signature.h"
#include "dkim/tag_list.h"

namespace mta::dkim {
namespace {

constexpr std::size_t fold_columns = 78;

// Builds a header field folded at fold_columns: pieces that do not fit on the current line go
// on a new line that starts with one SP. A piece is never split.
class FoldedField {
 public:
  explicit FoldedField(std::string_view name) : text_(name), line_(name.size()) {
    text_.push_back(':');
    ++line_;
  }

  // Appends " piece" (or "\r\n piece" when it would pass the fold column).
  void add(std::string_view piece, bool space_before = true) {
    const std::size_t need = piece.size() + (space_before ? 1 : 0);
    if (line_ + need > fold_columns && line_ > 1) {
      text_.append("\r\n ");
      line_ = 1;
    } else if (space_before) {
      text_.push_back(' ');
      ++line_;
    }
    text_.append(piece);
    line_ += piece.size();
  }

  std::string& text() { return text_; }

 private:
  std::string text_;
  std::size_t line_;
};

// d= and s= go into the field verbatim: a ';' or space there would change its meaning.
bool is_dns_label_text(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string canon_name(Canon header, Canon body) {
  auto one = [](Canon c) { return c == Canon::simple ? "simple" : "relaxed"; };
  return std::string(one(header)) + "/" + one(body);
}

}  // namespace

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> names = {"from",
                                                 "reply-to",
                                                 "subject",
                                                 "date",
                                                 "to",
                                                 "cc",
                                                 "resent-date",
                                                 "resent-from",
                                                 "resent-sender",
                                                 "resent-to",
                                                 "resent-cc",
                                                 "in-reply-to",
                                                 "references",
                                                 "list-id",
                                                 "list-help",
                                                 "list-unsubscribe",
                                                 "list-unsubscribe-post",
                                                 "list-subscribe",
                                                 "list-post",
                                                 "list-owner",
                                                 "list-archive",
                                                 "message-id",
                                                 "mime-version",
                                                 "content-type",
                                                 "content-transfer-encoding",
                                                 "content-id",
                                                 "content-description",
                                                 "feedback-id",
                                                 "sender"};
  return names;
}

Result<UnsignedSignature> prepare_signature(const SignerConfig& config, std::string_view message,
                                            std::chrono::system_clock::time_point now) {
  if (!is_dns_label_text(config.domain) || !is_dns_label_text(config.selector)) {
    return unexpected(Errc::malformed_signature, "bad signing domain or selector");
  }
  if (config.identity.find_first_of("; \t\r\n") != std::string::npos) {
    return unexpected(Errc::malformed_signature, "bad identity");
  }
  auto parsed = parse_message(message);
  if (!parsed) return unexpected(parsed.error());
  // h=: every configured name once per occurrence, oversigned names once more.
  const std::vector<std::string>& names =
      config.headers.empty() ? default_signed_headers() : config.headers;
  std::vector<std::string> h;
  bool has_from = false;
  for (const std::string& configured : names) {
    const std::string name = ascii_lowercase(configured);
    std::size_t count = 0;
    for (const HeaderField& field : parsed->headers) count += iequals(field.name, name) ? 1 : 0;
    if (name == "from") {
      if (count == 0) return unexpected(Errc::malformed_message, "no From header field");
      has_from = true;
    }
    for (const std::string& over : config.oversigned) count += iequals(over, name) ? 1 : 0;
    h.insert(h.end(), count, name);
  }
  if (!has_from) return unexpected(Errc::malformed_message, "the signed headers must include From");

  const Digest bh = body_hash(config.body_canon, parsed->body);
  const auto t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();

  FoldedField field(signature_field_name);
  field.add("v=1;");
  field.add("a=" + std::string(algorithm_name(config.key.algorithm())) + ";");
  field.add("c=" + canon_name(config.header_canon, config.body_canon) + ";");
  field.add("d=" + config.domain + ";");
  field.add("s=" + config.selector + ";");
  if (!config.identity.empty()) field.add("i=" + config.identity + ";");
  field.add("t=" + std::to_string(t) + ";");
  if (config.expire_after) field.add("x=" + std::to_string(t + config.expire_after->count()) + ";");
  for (std::size_t i = 0; i < h.size(); ++i) {
    const std::string piece = (i == 0 ? "h=" : "") + h[i] + (i + 1 == h.size() ? ";" : ":");
    field.add(piece, i == 0);
  }
  field.add(
      "bh=" + base64_encode(std::string_view(reinterpret_cast<const char*>(bh.data()), bh.size())) +
      ";");
  field.add("b=");

  const std::vector<const HeaderField*> selected = select_headers(parsed->headers, h);
  UnsignedSignature out{std::move(field.text()), {}};
  out.digest = header_digest(config.header_canon, selected, out.field);
  return out;
}

Result<std::string> finish_signature(const PrivateKey& key, UnsignedSignature prepared) {
  auto b = key.sign_digest(prepared.digest);
  if (!b) return unexpected(b.error());
  // The b= value is the last tag and is deleted before hashing, so its folding is free: it
  // continues from the column the field's last line reached and breaks anywhere.
  std::string text = std::move(prepared.field);
  const std::size_t last_break = text.rfind('\n');
  std::size_t column = last_break == std::string::npos ? text.size() : text.size() - last_break - 1;
  const std::string b64 = base64_encode(*b);
  std::string_view rest = b64;
  while (!rest.empty()) {
    if (column >= fold_columns) {
      text.append("\r\n ");
      column = 1;
    }
    const std::size_t take = std::min(rest.size(), fold_columns - column);
    text.append(rest.substr(0, take));
    column += take;
    rest.remove_prefix(take);
  }
  text.append("\r\n");
  return text;
}

Result<std::string> sign(const SignerConfig& config, std::string_view message,
                         std::chrono::system_clock::time_point now) {
  auto prepared = prepare_signature(config, message, now);
  if (!prepared) return unexpected(prepared.error());
  return finish_signature(config.key, std::move(*prepared));
}

Result<std::string> sign_with_field(const PrivateKey& key, std::string_view message,
                                    std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos || !iequals(field.substr(0, colon), signature_field_name)) {
    return unexpected(Errc::malformed_signature, "not a DKIM-Signature field");
  }
  auto tags = parse_tag_list(field.substr(colon + 1));
  if (!tags) return unexpected(tags.error());
  // Parse it as a verifier would, with a placeholder b= so the mandatory-tag checks pass.
  auto sig = parse_signature(std::string(field.substr(colon + 1)) + "AAAA");
  if (!sig) return unexpected(sig.error());
  if (sig->algorithm != key.algorithm()) {
    return unexpected(Errc::algorithm_mismatch, "a= is not the key's algorithm");
  }
  auto parsed = parse_message(message);
  if (!parsed) return unexpected(parsed.error());
  const Digest bh = body_hash(sig->body_canon, parsed->body, sig->body_length);
  if (sig->body_hash != std::string_view(reinterpret_cast<const char*>(bh.data()), bh.size())) {
    return unexpected(Errc::malformed_signature, "bh= does not match the body");
  }
  const auto selected = select_headers(parsed->headers, sig->headers);
  UnsignedSignature prepared{std::string(field), header_digest(sig->header_canon, selected, field)};
  return finish_signature(key, std::move(prepared));
}

}  // namespace mta::dkim
