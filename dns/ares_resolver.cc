// The c-ares adapter: channel set-up (servers, timeouts, no search list, DNS only), MX and
// address queries mapped to QueryStatus, socket-state bookkeeping, and a poll(2) driver for
// one-shot tools.
#include "dns/ares_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <utility>

#include "base/clock.h"
#include "dns/errc.h"
#include "dns/wire.h"

namespace mta::dns {
namespace {

QueryStatus status_of(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return QueryStatus::ok;
    case ARES_ENODATA:
      return QueryStatus::nodata;
    case ARES_ENOTFOUND:
      return QueryStatus::nxdomain;
    case ARES_ESERVFAIL:
      return QueryStatus::servfail;
    case ARES_EREFUSED:
      return QueryStatus::refused;
    case ARES_ETIMEOUT:
      return QueryStatus::timeout;
    default:
      return QueryStatus::error;
  }
}

// "IP", "IP:PORT" or "[IPv6]:PORT", checked here so a typo is a clear configuration error.
bool valid_server(const std::string& server) {
  std::string host = server;
  std::string port;
  if (!server.empty() && server.front() == '[') {
    const auto close = server.find(']');
    if (close == std::string::npos) return false;
    host = server.substr(1, close - 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') return false;
      port = server.substr(close + 2);
      if (port.empty()) return false;
    }
  } else if (const auto colon = server.find(':'); colon != std::string::npos) {
    if (server.find(':', colon + 1) != std::string::npos) {
      port.clear();  // a bare IPv6 address
    } else {
      host = server.substr(0, colon);
      port = server.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return false;
    const int number = std::stoi(port);
    if (number < 1 || number > 65535) return false;
  }
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

struct MxReplyFree {
  void operator()(ares_mx_reply* reply) const { ares_free_data(reply); }
};

}  // namespace

namespace {

// c-ares retries a SERVFAIL or REFUSED answer on the next server (and round); when every try
// failed that way or the servers were unreachable it reports ARES_ECONNREFUSED, whose own text
// ("Could not contact DNS servers") hides which.
std::string failure_detail(int status) {
  if (status == ARES_ECONNREFUSED) {
    return "no server gave a usable answer (REFUSED, SERVFAIL or unreachable)";
  }
  return ares_strerror(status);
}

// How every answer ends, MX or address: a failed query's detail, the negative TTL of an
// NXDOMAIN or NODATA (the SOA's, RFC 2308), and no TTL beyond that of a CNAME on the way.
template <typename Answer>
void finish(Answer& answer, const AresResolver::Reply& reply) {
  if (reply.status != ARES_SUCCESS && answer.detail.empty()) {
    answer.detail = failure_detail(reply.status);
  }
  if ((answer.status == QueryStatus::nxdomain || answer.status == QueryStatus::nodata) &&
      reply.summary) {
    answer.ttl = reply.summary->negative_ttl;
  }
  if (answer.ttl && reply.chain_ttl) answer.ttl = std::min(*answer.ttl, *reply.chain_ttl);
}

}  // namespace

Result<std::unique_ptr<AresResolver>> AresResolver::create(const AresOptions& options) {
  // Process-wide and idempotent; a no-op on Linux in 1.18, but required by the API contract.
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    return unexpected(Errc::init_failed, ares_strerror(library));
  }
  for (const std::string& server : options.servers) {
    if (!valid_server(server)) return unexpected(Errc::bad_server, server);
  }
  auto resolver = std::make_unique<AresResolver>(Passkey{});
  ares_options ares{};
  // Mail domains are fully qualified (RFC 5321 §2.3.5): no search list, no /etc/hosts.
  char lookups[] = "b";
  ares.flags = ARES_FLAG_NOSEARCH;
  ares.timeout =
      static_cast<int>(std::max<std::chrono::milliseconds::rep>(1, options.timeout.count()));
  ares.tries = std::max(1, options.tries);
  ares.lookups = lookups;
  ares.ndomains = 0;
  ares.domains = nullptr;
  ares.sock_state_cb = &AresResolver::on_socket_state_change;
  ares.sock_state_cb_data = resolver.get();
  const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
                   ARES_OPT_DOMAINS | ARES_OPT_SOCK_STATE_CB;
  const int rc = ares_init_options(&resolver->channel_, &ares, mask);
  if (rc != ARES_SUCCESS) {
    resolver->channel_ = nullptr;
    return unexpected(Errc::init_failed, ares_strerror(rc));
  }
  if (!options.servers.empty()) {
    std::string csv;
    for (const std::string& server : options.servers) {
      if (!csv.empty()) csv += ',';
      csv += server;
    }
    const int set = ares_set_servers_ports_csv(resolver->channel_, csv.c_str());
    if (set != ARES_SUCCESS) return unexpected(Errc::bad_server, csv + ": " + ares_strerror(set));
  }
  return resolver;
}

AresResolver::~AresResolver() {
  destroying_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);  // pending callbacks see ARES_EDESTRUCTION
}

// One query of one type that follows CNAMEs: when the answer ends in a CNAME without records
// of the asked type (a server that does not chase, like unbound's local data), the chain's
// target is asked next, up to cname_hops_max times. The TTL of the links bounds the result.
struct AresResolver::Chase {
  AresResolver* self;
  int type;
  int hops;
  std::optional<std::chrono::seconds> chain_ttl;
  ReplyCallback done;
};

void AresResolver::query_chased(const std::string& name, int type, int hops,
                                std::optional<std::chrono::seconds> chain_ttl, ReplyCallback done) {
  auto chase = std::make_unique<Chase>(Chase{this, type, hops, chain_ttl, std::move(done)});
  ++in_flight_;
  // Ownership passes to c-ares until on_reply takes it back.
  ares_query(channel_, name.c_str(), ns_c_in, type, &AresResolver::on_reply, chase.release());
  if (query_started_) query_started_();
}

void AresResolver::on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                            int alen) {
  std::unique_ptr<Chase> chase(static_cast<Chase*>(arg));
  AresResolver& self = *chase->self;
  --self.in_flight_;
  if (status == ARES_EDESTRUCTION || self.destroying_) return;

  Reply reply;
  reply.status = status;
  reply.chain_ttl = chase->chain_ttl;
  if (abuf != nullptr && alen > 0) {
    reply.message.assign(reinterpret_cast<const char*>(abuf), static_cast<std::size_t>(alen));
    auto summary = summarize_message(reply.message);
    if (summary) reply.summary = std::move(*summary);
  }
  const bool noerror = status == ARES_SUCCESS || status == ARES_ENODATA;
  if (noerror && reply.summary && !reply.summary->cname_target.empty() &&
      reply.summary->answers_of_question_type == 0) {
    std::optional<std::chrono::seconds> ttl = reply.chain_ttl;
    if (const auto link = reply.summary->answer_ttl) ttl = std::min(ttl.value_or(*link), *link);
    if (chase->hops >= cname_hops_max) {
      reply.status = ARES_EBADRESP;
      reply.detail = "CNAME chain longer than " + std::to_string(cname_hops_max);
    } else {
      self.query_chased(reply.summary->cname_target, chase->type, chase->hops + 1, ttl,
                        std::move(chase->done));
      return;
    }
  }
  chase->done(std::move(reply));
}

void AresResolver::query_mx(std::string domain, MxAnswerCallback done) {
  query_chased(domain, ns_t_mx, 0, std::nullopt, [done = std::move(done)](Reply reply) {
    MxAnswer answer;
    answer.status = status_of(reply.status);
    answer.detail = reply.detail;
    if (reply.status == ARES_SUCCESS) {
      ares_mx_reply* head = nullptr;
      const int parse =
          ares_parse_mx_reply(reinterpret_cast<const unsigned char*>(reply.message.data()),
                              static_cast<int>(reply.message.size()), &head);
      const std::unique_ptr<ares_mx_reply, MxReplyFree> owner(head);
      if (parse == ARES_SUCCESS) {
        for (const ares_mx_reply* mx = head; mx != nullptr; mx = mx->next) {
          answer.records.push_back(MxRecord{mx->host != nullptr ? mx->host : "", mx->priority});
        }
      }
      if (parse == ARES_SUCCESS && !answer.records.empty()) {
        if (reply.summary) answer.ttl = reply.summary->answer_ttl;
      } else if (parse == ARES_SUCCESS || parse == ARES_ENODATA) {
        answer.status = QueryStatus::nodata;
        answer.records.clear();
      } else {
        answer.status = QueryStatus::error;
        answer.detail = std::string("unparsable MX answer: ") + ares_strerror(parse);
      }
    }
    finish(answer, reply);
    done(std::move(answer));
  });
}

namespace {

// The A or the AAAA half of an address lookup.
AddressAnswer address_half(const AresResolver::Reply& reply, Family family) {
  AddressAnswer answer;
  answer.status = status_of(reply.status);
  answer.detail = reply.detail;
  if (reply.status == ARES_SUCCESS) {
    const auto* abuf = reinterpret_cast<const unsigned char*>(reply.message.data());
    const int alen = static_cast<int>(reply.message.size());
    constexpr int records_max = 64;
    int count = records_max;
    int parse = ARES_SUCCESS;
    std::optional<std::chrono::seconds> ttl;
    char text[INET6_ADDRSTRLEN] = {};
    if (family == Family::ipv4) {
      ares_addrttl records[records_max];
      parse = ares_parse_a_reply(abuf, alen, nullptr, records, &count);
      for (int i = 0; parse == ARES_SUCCESS && i < count; ++i) {
        inet_ntop(AF_INET, &records[i].ipaddr, text, sizeof(text));
        answer.addresses.push_back(Address{family, text});
        const std::chrono::seconds value(std::max(0, records[i].ttl));
        ttl = std::min(ttl.value_or(value), value);
      }
    } else {
      ares_addr6ttl records[records_max];
      parse = ares_parse_aaaa_reply(abuf, alen, nullptr, records, &count);
      for (int i = 0; parse == ARES_SUCCESS && i < count; ++i) {
        inet_ntop(AF_INET6, &records[i].ip6addr, text, sizeof(text));
        answer.addresses.push_back(Address{family, text});
        const std::chrono::seconds value(std::max(0, records[i].ttl));
        ttl = std::min(ttl.value_or(value), value);
      }
    }
    if (parse != ARES_SUCCESS && parse != ARES_ENODATA) {
      answer.status = QueryStatus::error;
      answer.detail = std::string("unparsable address answer: ") + ares_strerror(parse);
    } else if (answer.addresses.empty()) {
      answer.status = QueryStatus::nodata;
    } else {
      // The CNAMEs in this message bound the TTL too; c-ares reports only the addresses'.
      if (reply.summary && reply.summary->answer_ttl) {
        ttl = std::min(ttl.value_or(*reply.summary->answer_ttl), *reply.summary->answer_ttl);
      }
      answer.ttl = ttl;
    }
  }
  finish(answer, reply);
  return answer;
}

bool temporary(QueryStatus status) {
  return status != QueryStatus::ok && status != QueryStatus::nxdomain &&
         status != QueryStatus::nodata;
}

// Both halves: addresses if either has some (a SERVFAIL on AAAA must not hide the A records);
// otherwise a temporary failure wins over "no such records", since a retry may find them.
AddressAnswer combine(AddressAnswer a, AddressAnswer aaaa) {
  const auto min_ttl = [](const AddressAnswer& x, const AddressAnswer& y) {
    if (!x.ttl) return y.ttl;
    if (!y.ttl) return x.ttl;
    return std::optional(std::min(*x.ttl, *y.ttl));
  };
  AddressAnswer out;
  if (!a.addresses.empty() || !aaaa.addresses.empty()) {
    out.status = QueryStatus::ok;
    out.addresses = std::move(aaaa.addresses);
    out.addresses.insert(out.addresses.end(), a.addresses.begin(), a.addresses.end());
    if (!a.addresses.empty() && !aaaa.addresses.empty()) {
      out.ttl = min_ttl(a, aaaa);
    } else {
      out.ttl = a.addresses.empty() ? aaaa.ttl : a.ttl;
    }
    return out;
  }
  if (temporary(a.status) || temporary(aaaa.status)) return temporary(a.status) ? a : aaaa;
  out.status = a.status == QueryStatus::nxdomain && aaaa.status == QueryStatus::nxdomain
                   ? QueryStatus::nxdomain
                   : QueryStatus::nodata;
  out.ttl = min_ttl(a, aaaa);
  return out;
}

}  // namespace

void AresResolver::query_addresses(std::string host, AddressCallback done) {
  // A and AAAA as two ares_query calls rather than ares_getaddrinfo: only the raw answers
  // carry the SOA for negative TTLs and the CNAME chains a non-chasing server leaves open.
  struct Halves {
    std::optional<AddressAnswer> a;
    std::optional<AddressAnswer> aaaa;
    AddressCallback done;
  };
  // shared_ptr: the two replies arrive in either order and the last one finishes.
  auto halves = std::make_shared<Halves>(Halves{{}, {}, std::move(done)});
  const auto finish_if_complete = [](Halves& h) {
    if (!h.a || !h.aaaa) return;
    h.done(combine(std::move(*h.a), std::move(*h.aaaa)));
  };
  query_chased(host, ns_t_a, 0, std::nullopt, [halves, finish_if_complete](Reply reply) {
    halves->a = address_half(reply, Family::ipv4);
    finish_if_complete(*halves);
  });
  query_chased(host, ns_t_aaaa, 0, std::nullopt, [halves, finish_if_complete](Reply reply) {
    halves->aaaa = address_half(reply, Family::ipv6);
    finish_if_complete(*halves);
  });
}

void AresResolver::on_socket_state_change(void* self_ptr, ares_socket_t fd, int readable,
                                          int writable) {
  auto& self = *static_cast<AresResolver*>(self_ptr);
  if (readable == 0 && writable == 0) {
    self.sockets_.erase(fd);
  } else {
    self.sockets_[fd] = Interest{readable != 0, writable != 0};
  }
  if (!self.destroying_ && self.socket_state_) self.socket_state_(fd, readable != 0, writable != 0);
}

void AresResolver::process(int fd, bool readable, bool writable) {
  ares_process_fd(channel_, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
}

std::optional<std::chrono::milliseconds> AresResolver::next_timeout() const {
  timeval left{};
  if (ares_timeout(channel_, nullptr, &left) == nullptr) return std::nullopt;
  // Rounded up: waking a millisecond early would find nothing due and spin.
  return std::chrono::milliseconds(static_cast<std::int64_t>(left.tv_sec) * 1000 +
                                   (left.tv_usec + 999) / 1000);
}

void AresResolver::process_timeouts() {
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

Result<void> run_blocking_until(AresResolver& resolver, const std::function<bool()>& done,
                                std::chrono::milliseconds limit) {
  RealClock clock;
  const Clock::TimePoint deadline = clock.now() + limit;
  std::vector<pollfd> fds;
  while (!done()) {
    if (resolver.queries_in_flight() == 0) {
      return unexpected(Errc::timed_out, "nothing in flight, and not done");
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock.now());
    if (left <= std::chrono::milliseconds::zero()) return unexpected(Errc::timed_out);
    std::chrono::milliseconds wait = left;
    if (const auto next = resolver.next_timeout()) wait = std::min(wait, *next);
    fds.clear();
    for (const auto& [fd, interest] : resolver.sockets()) {
      const short events =
          static_cast<short>((interest.read ? POLLIN : 0) | (interest.write ? POLLOUT : 0));
      fds.push_back(pollfd{fd, events, 0});
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready <= 0) {
      resolver.process_timeouts();
      continue;
    }
    // process() may close and reopen sockets: fds is our own copy.
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      const bool error = (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
      resolver.process(p.fd, error || (p.revents & POLLIN) != 0,
                       error || (p.revents & POLLOUT) != 0);
    }
  }
  return {};
}

}  // namespace mta::dns
