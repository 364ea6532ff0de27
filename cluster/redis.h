// A blocking Redis connection over hiredis, for a thread that may wait (fleet mode's
// PeriodicThread, never a shard): every call has a timeout, and any failure is an error value
// after which the connection is closed, so the caller connects again on its next turn.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

struct redisContext;

namespace mta::cluster {

// A reply, converted from hiredis' tree. Error replies are Errors, not RedisReplies.
struct RedisReply {
  enum class Type { nil, integer, string, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string string;  // bulk and status strings
  std::vector<RedisReply> elements;
};

class RedisConnection {
 public:
  // "host:port" (a host name, an IPv4 address, or "[v6]:port"); port 6379 if it has none.
  static Result<RedisConnection> connect(std::string_view endpoint, Clock::Duration timeout);
  RedisConnection(RedisConnection&&) noexcept;
  RedisConnection& operator=(RedisConnection&&) noexcept;
  ~RedisConnection();

  bool open() const { return context_ != nullptr; }
  // One command, its words sent as they are (binary-safe). An error reply fails with
  // std::errc::protocol_error and the server's text; a timeout or a broken connection with
  // std::errc::io_error, and closes the connection.
  Result<RedisReply> command(const std::vector<std::string>& words);
  // EVALSHA of `script` (loaded on first use, and again after a NOSCRIPT), with no keys: the
  // scripts of fleet mode name their keys from a prefix argument.
  Result<RedisReply> eval(const std::string& script, const std::vector<std::string>& args);

 private:
  explicit RedisConnection(redisContext* context) : context_(context) {}
  void close();
  redisContext* context_ = nullptr;
  std::string script_sha_;  // of the last script loaded on this connection
  std::string script_;
};

}  // namespace mta::cluster
