// The HTTP injection API of one shard (`/v1/` on the [http] listener; injection/openapi.yaml
// describes it): POST /v1/messages takes a raw RFC 5322 message with its envelope, structured
// fields that are built into MIME here, or a bulk template with up to 10,000 recipients, and
// answers 202 only once every message of the request is durable; GET /v1/messages/{id} reads
// each recipient's status from the queue and its delivery history. Bearer API keys, a rate per
// key and queue back-pressure answer 401/429 with JSON errors that name the field at fault.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"
#include "engine/shard.h"
#include "injection/injector.h"
#include "injection/probe.h"
#include "injection/rate_limit.h"
#include "queue/group_commit.h"
#include "queue/store.h"
#include "server/http_listener.h"

namespace mta::injection {

struct ApiKey {
  std::string name;                     // in logs and the Received field
  std::array<std::uint8_t, 32> sha256;  // of the key; the key itself is not kept
  Rate rate;                            // messages, this shard's share; unlimited by default
  std::string tenant;  // its messages are this tenant's, and may name no other ("" = any)
};

struct ApiOptions {
  // Empty: the API serves loopback clients without a key (as the admin API does), no others.
  std::vector<ApiKey> keys;
  std::size_t message_bytes_max = 50 * 1024 * 1024;  // one built or raw message; more is 413
  std::size_t recipients_max = 1000;                 // per message (to + cc + bcc / rcpt_to)
  std::size_t bulk_recipients_max = 10'000;          // per bulk request
  // Messages waiting for the group commit on this shard above which requests get 429: the
  // disk is behind and the client should slow down rather than queue in our memory.
  std::size_t commit_waiting_max = 50'000;
};

class HttpApi {
 public:
  HttpApi(engine::Shard& shard, Injector& injector, queue::GroupCommit& group_commit,
          queue::Store& store, ApiOptions options);
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Answers `request` when its path is the API's (/v1/...) and returns true; false otherwise.
  bool handle(http::Request& request, const engine::SocketAddress& peer,
              const server::Respond& respond);
  // Whether `head` comes from a caller the API would serve (a configured key, or a loopback
  // client when none is configured): the listener reads a large body only then.
  bool authenticates(const http::Request& head, const engine::SocketAddress& peer) const;

  const Probe& probe() const { return probe_; }
  Probe& probe() { return probe_; }  // app/ sets its histogram handles

 private:
  struct Caller;
  // The index of the configured key that `authorization` ("Bearer <key>", any case of the
  // scheme) presents; nullopt when it presents none or a wrong one.
  std::optional<std::size_t> presented_key(std::optional<std::string_view> authorization) const;
  void post_messages(http::Request& request, const Caller& caller, const server::Respond& respond);
  void get_message(const http::Request& request, std::string_view id_text,
                   const server::Respond& respond);

  engine::Shard& shard_;
  Injector& injector_;
  queue::GroupCommit& group_commit_;
  queue::Store& store_;
  ApiOptions options_;
  std::vector<RateLimiter> limiters_;  // one per key, same order
  RateLimiter loopback_limiter_{Rate{}};
  std::uint64_t requests_ = 0;
  Probe probe_;
};

// The hex SHA-256 of an API key, as [[http.api_key]] key_sha256 holds it.
std::string api_key_digest_hex(std::string_view key);

}  // namespace mta::injection
