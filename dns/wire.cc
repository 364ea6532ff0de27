// A bounds-checked reader of just enough DNS wire format: header counts, names (compression
// pointers followed with a hop limit), resource record headers, CNAME and SOA RDATA.
#include "dns/wire.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <utility>

#include "dns/errc.h"

namespace mta::dns {
namespace {

constexpr std::uint16_t type_cname = 5;
constexpr std::uint16_t type_soa = 6;
constexpr std::size_t name_octets_max = 255;  // RFC 1035 §3.1
constexpr int pointer_hops_max = 64;
constexpr int cname_links_max = 16;

// RFC 2181 §8: a TTL is 32 bits, but values with the top bit set are to be read as zero.
std::chrono::seconds ttl_value(std::uint32_t raw) {
  return std::chrono::seconds(raw > 0x7fffffffu ? 0 : raw);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool u8(std::uint8_t& out) {
    if (pos_ + 1 > bytes_.size()) return false;
    out = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u16(std::uint16_t& out) {
    std::uint8_t hi = 0;
    std::uint8_t lo = 0;
    if (!u8(hi) || !u8(lo)) return false;
    out = static_cast<std::uint16_t>((hi << 8) | lo);
    return true;
  }
  bool u32(std::uint32_t& out) {
    std::uint16_t hi = 0;
    std::uint16_t lo = 0;
    if (!u16(hi) || !u16(lo)) return false;
    out = (static_cast<std::uint32_t>(hi) << 16) | lo;
    return true;
  }
  bool skip(std::size_t n) {
    if (n > bytes_.size() - pos_) return false;
    pos_ += n;
    return true;
  }

  // RFC 1035 §4.1.4: domain-name = *label (zero-octet / pointer)
  //   label   = length-octet (00xxxxxx, 1..63) followed by that many octets
  //   pointer = 2 octets 11xxxxxx xxxxxxxx: the rest of the name is at that offset
  // The 01 and 10 prefixes are reserved. Reading resumes after the first pointer; pointer
  // hops are bounded, so a loop is an error, not a hang.
  bool name(std::string& out) {
    out.clear();
    std::size_t cursor = pos_;
    bool jumped = false;
    int hops = 0;
    std::size_t octets = 1;
    for (;;) {
      if (cursor >= bytes_.size()) return false;
      const auto length = static_cast<std::uint8_t>(bytes_[cursor]);
      if (length == 0) {
        if (!jumped) pos_ = cursor + 1;
        return true;
      }
      if ((length & 0xc0) == 0xc0) {
        if (cursor + 1 >= bytes_.size() || ++hops > pointer_hops_max) return false;
        if (!jumped) pos_ = cursor + 2;
        jumped = true;
        cursor = (static_cast<std::size_t>(length & 0x3f) << 8) |
                 static_cast<std::uint8_t>(bytes_[cursor + 1]);
        continue;
      }
      if ((length & 0xc0) != 0) return false;
      octets += length + 1u;
      if (octets > name_octets_max || cursor + 1 + length > bytes_.size()) return false;
      if (!out.empty()) out += '.';
      for (const char c : bytes_.substr(cursor + 1, length)) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      cursor += 1 + length;
    }
  }

  std::size_t position() const { return pos_; }
  void seek(std::size_t position) { pos_ = std::min(position, bytes_.size()); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Unexpected<Error> malformed(const char* what) { return unexpected(Errc::malformed_message, what); }

}  // namespace

Result<MessageSummary> summarize_message(std::string_view message) {
  // Header: ID, flags (QR Opcode AA TC RD RA Z RCODE), QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
  Reader in(message);
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t question_count = 0;
  std::uint16_t answer_count = 0;
  std::uint16_t authority_count = 0;
  std::uint16_t additional_count = 0;
  if (!in.u16(id) || !in.u16(flags) || !in.u16(question_count) || !in.u16(answer_count) ||
      !in.u16(authority_count) || !in.u16(additional_count)) {
    return malformed("header shorter than 12 bytes");
  }
  MessageSummary out;
  out.rcode = static_cast<std::uint8_t>(flags & 0x0f);
  out.answer_count = answer_count;

  // question = QNAME QTYPE QCLASS
  std::string name;
  for (std::uint16_t i = 0; i < question_count; ++i) {
    std::uint16_t type = 0;
    if (!in.name(name) || !in.u16(type) || !in.skip(2)) return malformed("truncated question");
    if (i == 0) {
      out.question = name;
      out.question_type = type;
    }
  }
  // resource record = NAME TYPE CLASS TTL RDLENGTH RDATA
  std::unordered_map<std::string, std::string> cnames;  // owner -> target
  std::string target;
  const std::uint32_t records = std::uint32_t{answer_count} + authority_count;
  for (std::uint32_t i = 0; i < records; ++i) {
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;
    std::uint16_t rdlength = 0;
    if (!in.name(name) || !in.u16(type) || !in.u16(klass) || !in.u32(ttl) || !in.u16(rdlength)) {
      return malformed("truncated resource record");
    }
    const std::size_t rdata_end = in.position() + rdlength;
    if (rdata_end > message.size()) return malformed("truncated RDATA");
    if (i < answer_count) {
      out.answer_ttl = std::min(out.answer_ttl.value_or(ttl_value(ttl)), ttl_value(ttl));
      if (type == out.question_type) ++out.answers_of_question_type;
      if (type == type_cname) {
        // CNAME RDATA = domain-name (RFC 1035 §3.3.1)
        if (!in.name(target) || in.position() > rdata_end) return malformed("bad CNAME");
        cnames.try_emplace(name, target);
        in.seek(rdata_end);
        continue;
      }
    } else if (type == type_soa && !out.negative_ttl.has_value()) {
      // SOA RDATA = MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13)
      std::uint32_t minimum = 0;
      if (!in.name(target) || !in.name(target) || !in.skip(16) || !in.u32(minimum) ||
          in.position() > rdata_end) {
        return malformed("truncated SOA record");
      }
      out.negative_ttl = std::min(ttl_value(ttl), ttl_value(minimum));
      if (!in.skip(rdata_end - in.position())) return malformed("truncated SOA record");
      continue;
    }
    if (!in.skip(rdlength)) return malformed("truncated RDATA");
  }
  std::string end = out.question;
  for (int link = 0; link < cname_links_max; ++link) {
    const auto it = cnames.find(end);
    if (it == cnames.end() || it->second == end) break;
    end = it->second;
  }
  if (end != out.question) out.cname_target = std::move(end);
  return out;
}

}  // namespace mta::dns
