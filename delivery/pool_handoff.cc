// Pool names of MX host sets.
#include "delivery/pool_handoff.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace mta::delivery {

std::string pool_name(const dns::MxResult& result) {
  std::vector<std::string> hosts;
  for (const auto& host : result.hosts) {
    std::string name = host.name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!name.empty() && name.back() == '.') name.pop_back();
    hosts.push_back(std::move(name));
  }
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  std::string name = "mx:";
  for (const auto& host : hosts) name += (name.size() > 3 ? "," : "") + host;
  return name;
}

std::string pool_name(const dns::MxResult& result, TlsPolicy tls) {
  std::string name = pool_name(result);
  if (tls != TlsPolicy::opportunistic) name += ";tls=" + std::string(to_string(tls));
  return name;
}

}  // namespace mta::delivery
