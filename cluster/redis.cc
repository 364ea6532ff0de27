#include "cluster/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>
#include <system_error>
#include <utility>

namespace mta::cluster {
namespace {

Error io_error(std::string detail) {
  return Error{std::make_error_code(std::errc::io_error), std::move(detail)};
}

timeval to_timeval(Clock::Duration timeout) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  return timeval{.tv_sec = static_cast<time_t>(us / 1'000'000),
                 .tv_usec = static_cast<suseconds_t>(us % 1'000'000)};
}

RedisReply convert(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::string;
      out.string.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(convert(*reply.element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

}  // namespace

Result<RedisConnection> RedisConnection::connect(std::string_view endpoint,
                                                 Clock::Duration timeout) {
  // "host", "host:port", "[v6]" or "[v6]:port"; a bare v6 address (two colons) has no port.
  std::string_view host = endpoint;
  std::string_view digits;
  if (endpoint.starts_with('[')) {
    const auto close = endpoint.find(']');
    host = endpoint.substr(1, close == std::string_view::npos ? 0 : close - 1);
    if (close != std::string_view::npos && endpoint.substr(close + 1).starts_with(':')) {
      digits = endpoint.substr(close + 2);
    }
  } else if (const auto colon = endpoint.find(':');
             colon != std::string_view::npos &&
             endpoint.find(':', colon + 1) == std::string_view::npos) {
    host = endpoint.substr(0, colon);
    digits = endpoint.substr(colon + 1);
  }
  int port = 6379;
  if (!digits.empty() &&
      (std::from_chars(digits.data(), digits.data() + digits.size(), port).ec != std::errc() ||
       port <= 0 || port > 65535)) {
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      "redis endpoint " + std::string(endpoint) + ": bad port");
  }
  if (host.empty()) {
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      "redis endpoint " + std::string(endpoint) + ": no host");
  }
  const timeval tv = to_timeval(timeout);
  redisContext* context = redisConnectWithTimeout(std::string(host).c_str(), port, tv);
  if (context == nullptr)
    return unexpected(io_error("redis " + std::string(endpoint) + ": no memory"));
  if (context->err != 0) {
    std::string why = "redis " + std::string(endpoint) + ": " + context->errstr;
    redisFree(context);
    return unexpected(io_error(std::move(why)));
  }
  if (redisSetTimeout(context, tv) != REDIS_OK) {
    redisFree(context);
    return unexpected(io_error("redis " + std::string(endpoint) + ": cannot set a timeout"));
  }
  return RedisConnection(context);
}

RedisConnection::RedisConnection(RedisConnection&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)),
      script_sha_(std::move(other.script_sha_)),
      script_(std::move(other.script_)) {}

RedisConnection& RedisConnection::operator=(RedisConnection&& other) noexcept {
  if (this != &other) {
    close();
    context_ = std::exchange(other.context_, nullptr);
    script_sha_ = std::move(other.script_sha_);
    script_ = std::move(other.script_);
  }
  return *this;
}

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::close() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
  script_sha_.clear();
}

Result<RedisReply> RedisConnection::command(const std::vector<std::string>& words) {
  if (context_ == nullptr) return unexpected(io_error("redis: not connected"));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(words.size());
  lengths.reserve(words.size());
  for (const auto& word : words) {
    argv.push_back(word.data());
    lengths.push_back(word.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    std::string why = std::string("redis: ") + (context_->err != 0 ? context_->errstr : "no reply");
    close();
    return unexpected(io_error(std::move(why)));
  }
  std::unique_ptr<redisReply, void (*)(void*)> owned(reply, freeReplyObject);
  if (reply->type == REDIS_REPLY_ERROR) {
    return unexpected(std::make_error_code(std::errc::protocol_error),
                      std::string(reply->str, reply->len));
  }
  return convert(*reply);
}

Result<RedisReply> RedisConnection::eval(const std::string& script,
                                         const std::vector<std::string>& args) {
  // Twice at most: a server that lost its scripts (SCRIPT FLUSH, a restart behind a proxy)
  // answers NOSCRIPT once, and the script is loaded again.
  for (int round = 0;; ++round) {
    if (script_sha_.empty() || script_ != script) {
      auto loaded = command({"SCRIPT", "LOAD", script});
      if (!loaded) return loaded;
      script_sha_ = loaded.value().string;
      script_ = script;
    }
    std::vector<std::string> words{"EVALSHA", script_sha_, "0"};
    words.insert(words.end(), args.begin(), args.end());
    auto reply = command(words);
    if (reply || round > 0 || !reply.error().detail.starts_with("NOSCRIPT")) return reply;
    script_sha_.clear();
  }
}

}  // namespace mta::cluster
