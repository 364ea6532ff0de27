// The two resolver interfaces. Resolver is the raw, asynchronous lookup (MX of a domain; A and
// AAAA of a host) that the c-ares adapter and the fake implement. MxResolver answers the
// question delivery asks, "where does mail for this domain go?", as an MxResult; the
// CachingResolver implements it over any Resolver.
#pragma once

#include <functional>
#include <string>

#include "dns/answer.h"
#include "dns/mx.h"

namespace mta::dns {

using MxAnswerCallback = std::function<void(MxAnswer answer)>;
using AddressCallback = std::function<void(AddressAnswer answer)>;
using MxCallback = std::function<void(MxResult result)>;

// Threading: single-threaded, one instance per shard; every call and every callback happens on
// that shard. A callback runs exactly once, later from the owner's event loop or, when the
// answer is at hand (a fake, a cache), before the call returns; it may start new lookups. A
// resolver destroyed with lookups pending drops their callbacks without calling them.
class Resolver {
 public:
  virtual ~Resolver() = default;

  // MX records of `domain` (a fully qualified name; no search list applies), CNAMEs followed.
  virtual void query_mx(std::string domain, MxAnswerCallback done) = 0;
  // A and AAAA records of `host`, CNAMEs followed.
  virtual void query_addresses(std::string host, AddressCallback done) = 0;
};

class MxResolver {
 public:
  virtual ~MxResolver() = default;

  // The delivery decision for `domain`, under the same rules as Resolver's callbacks.
  virtual void resolve_mx(std::string domain, MxCallback done) = 0;
};

}  // namespace mta::dns
