// AresResolver: the Resolver over c-ares (Debian's 1.18). c-ares never blocks and starts no
// thread here: it tells through on_socket_state() which sockets it wants polled, and the
// owner's event loop calls process() when one is ready and process_timeouts() when
// next_timeout() has passed. The daemon does that on the shard's ring
// (delivery/dns_poller.h); the command line and tests use run_blocking_until() below.
#pragma once

#include <ares.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "dns/resolver.h"
#include "dns/wire.h"

namespace mta::dns {

struct AresOptions {
  // "IP", "IP:PORT" or "[IPv6]:PORT". Empty: the nameservers of /etc/resolv.conf.
  std::vector<std::string> servers;
  // Per try; c-ares doubles it on each round over the servers.
  std::chrono::milliseconds timeout{2000};
  int tries = 2;  // rounds over the server list before a query times out
};

// Lifecycle: one per shard, created and used on that shard. Callbacks (those of the queries and
// the socket-state callback) run inside process() and process_timeouts(), or inside a query
// call when c-ares fails it at once. The resolver must not be destroyed from inside one of its
// callbacks; destroying it drops the callbacks of the queries still in flight.
class AresResolver final : public Resolver {
 public:
  using SocketStateFn = std::function<void(int fd, bool readable, bool writable)>;
  struct Interest {
    bool read = false;
    bool write = false;
  };

  static Result<std::unique_ptr<AresResolver>> create(const AresOptions& options);
  struct Passkey {  // only create() constructs; make_unique needs a public constructor
   private:
    friend class AresResolver;
    Passkey() = default;
  };
  explicit AresResolver(Passkey /*only create()*/) {}
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;
  ~AresResolver() override;

  // MX via ares_query (never the search list) + ares_parse_mx_reply; TTLs from the raw answer
  // (wire.h), since ares_parse_mx_reply drops them. CNAMEs: a chain the server completed is
  // read from the answer; one it left open is followed with a new query (up to 8 links). Status
  // mapping: NOERROR with MX records -> ok; NOERROR without -> nodata; NXDOMAIN -> nxdomain;
  // SERVFAIL -> servfail; REFUSED -> refused; no answer in time or no server reachable -> timeout;
  // anything else -> error.
  void query_mx(std::string domain, MxAnswerCallback done) override;
  // A and AAAA via two ares_query calls + ares_parse_a_reply / ares_parse_aaaa_reply (their
  // addrttls carry the TTLs), combined: addresses when either has some. DNS only, never
  // /etc/hosts. Not ares_getaddrinfo: its result has no SOA (negative TTL) and it does not
  // re-ask for the target of a CNAME chain the server left unfinished.
  void query_addresses(std::string host, AddressCallback done) override;

  // Called with (fd, readable?, writable?) whenever c-ares wants a socket polled differently;
  // (fd, false, false) means the socket is closed. Set it before the first query.
  void on_socket_state(SocketStateFn fn) { socket_state_ = std::move(fn); }
  // Called after each query is started, so the loop can bring its timeout forward.
  void on_query_started(std::function<void()> fn) { query_started_ = std::move(fn); }

  // A socket is ready (ares_process_fd); also runs the timeouts that are due.
  void process(int fd, bool readable, bool writable);
  // How long until the earliest query times out (ares_timeout); nullopt with none in flight.
  std::optional<std::chrono::milliseconds> next_timeout() const;
  void process_timeouts();

  std::size_t queries_in_flight() const { return in_flight_; }
  // The sockets c-ares has open and what it waits for on each.
  const std::map<int, Interest>& sockets() const { return sockets_; }

  // The raw outcome of one (CNAME-chased) query; public only for the parsing helpers in the
  // .cc file.
  struct Reply {
    int status = ARES_SUCCESS;  // c-ares status of the last query of the chain
    std::string message;        // that query's raw answer, when there is one
    std::optional<MessageSummary> summary;
    std::optional<std::chrono::seconds> chain_ttl;  // smallest TTL of the CNAME links followed
    std::string detail;
  };

 private:
  using ReplyCallback = std::function<void(Reply reply)>;
  struct Chase;
  static constexpr int cname_hops_max = 8;

  void query_chased(const std::string& name, int type, int hops,
                    std::optional<std::chrono::seconds> chain_ttl, ReplyCallback done);
  static void on_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  static void on_socket_state_change(void* self, ares_socket_t fd, int readable, int writable);

  ares_channel channel_ = nullptr;
  bool destroying_ = false;
  std::size_t in_flight_ = 0;
  std::map<int, Interest> sockets_;
  SocketStateFn socket_state_;
  std::function<void()> query_started_;
};

// For one-shot tools and tests, not the daemon: polls the resolver's sockets with poll(2)
// until `done()` is true or `limit` has passed (Errc::timed_out).
Result<void> run_blocking_until(AresResolver& resolver, const std::function<bool()>& done,
                                std::chrono::milliseconds limit);

}  // namespace mta::dns
