// StubApi: a stand-in for the HTTP injection API (POST /v1/messages) on loopback port 0, for
// tests of its clients (HttpBlaster, `outpost inject`) while needing neither injection/ nor a
// daemon. One engine shard; requests parsed with http::RequestParser, bodies with parse_json.
// Answers 202 with one id per recipient (bulk) or one id (raw and structured), 400 for a
// wrong path, method, key or shape, and on request a 429 or Connection: close.
#pragma once

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/assert.h"
#include "engine/connection.h"
#include "engine/listener.h"
#include "engine/test_support.h"
#include "proto/http/json.h"
#include "proto/http/request_parser.h"
#include "proto/http/response.h"

namespace mta::loadgen {

struct StubPolicy {
  std::uint64_t reject_every = 0;  // every Nth request gets 429 Retry-After: 0 (0 = never)
  bool close_each = false;         // every answer says Connection: close
};

// What the stub saw, read by the test once the stub's runtime has stopped.
struct StubSeen {
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;  // wrong path, method, key or body shape
  std::uint64_t connections = 0;
  std::multiset<std::string> substitutions_n;  // each recipient's "n"
  std::string raw;                             // the last raw request's message
  std::string envelope;                        // and its envelope, as compact JSON
};

class StubApi {
 public:
  explicit StubApi(StubPolicy policy)
      : policy_(policy), runtime_(engine::testing::test_options(1)) {
    const auto any = engine::SocketAddress::parse("127.0.0.1:0").value();
    auto started = runtime_.start([this, any](engine::Shard& shard) {
      const int fd = engine::open_listen_socket(any).value();
      address_ = engine::local_address(fd).value();
      shard.listen(fd, [this, &shard](int accepted, const engine::SocketAddress&) {
        ++seen_.connections;
        connections_.push_back(std::make_unique<Conn>(*this));
        connections_.back()->attach(
            engine::Connection::adopt(shard, accepted, *connections_.back()));
      });
      ready_.notify();
    });
    MTA_ASSERT(started.has_value());
    const bool ready = ready_.wait();
    MTA_ASSERT(ready);
  }
  ~StubApi() { stop(); }

  engine::SocketAddress address() const { return address_; }
  const StubSeen& stop() {
    if (!stopped_) {
      stopped_ = true;
      runtime_.request_stop();
      runtime_.wait();
    }
    return seen_;
  }

 private:
  // One accepted connection: requests in, answers out, in order.
  class Conn final : public engine::ConnectionHandler {
   public:
    explicit Conn(StubApi& owner) : owner_(owner) {}
    void attach(engine::Connection& connection) { connection_ = &connection; }
    void on_data(Buffer& input) override {
      auto event = parser_.feed(input.readable());
      input.consume(input.size());
      while (event && *event == http::ParseEvent::complete && connection_ != nullptr) {
        const http::Response response = owner_.answer(parser_.take_request());
        connection_->write(http::serialize(response));
        if (response.close) {
          connection_->close();
          return;
        }
        event = parser_.next();
      }
      if (!event && connection_ != nullptr) connection_->close();
    }
    void on_closed(int) override { connection_ = nullptr; }

   private:
    StubApi& owner_;
    engine::Connection* connection_ = nullptr;
    http::RequestParser parser_;
  };

  http::Response answer(http::Request&& request) {
    const std::uint64_t number = ++seen_.requests;
    http::Response response = http::Response::for_request(request);
    response.content_type = "application/json";
    auto body = http::parse_json(request.body);
    const http::JsonValue* recipients = body ? body->find("recipients") : nullptr;
    const http::JsonValue* raw = body ? body->find("raw") : nullptr;
    if (request.method != "POST" || request.path != "/v1/messages" ||
        request.header("Authorization") != "Bearer k3y" ||
        request.header("Content-Type") != "application/json" ||
        (raw == nullptr &&
         (recipients == nullptr || !recipients->is_array() || body->find("from") == nullptr))) {
      ++seen_.bad_requests;
      response.status = 400;
      response.body = R"({"error": {"status": 400, "message": "bad request"}})";
      return response;
    }
    if (policy_.reject_every != 0 && number % policy_.reject_every == 0) {
      response.status = 429;
      response.headers.push_back({"Retry-After", "0"});
      response.body = R"({"error": {"status": 429, "message": "slow down"}})";
      return response;
    }
    if (raw != nullptr) {
      seen_.raw = raw->is_string() ? raw->as_string() : "";
      seen_.envelope = body->find("envelope") ? http::to_json(*body->find("envelope")) : "";
      response.status = 202;
      response.body = R"({"messages": [{"id": "00000000000000aa", "recipients": []}]})";
      return response;
    }
    http::JsonWriter out;
    out.begin_object();
    out.key("messages");
    out.begin_array();
    for (const auto& recipient : recipients->as_array()) {
      const http::JsonValue* n = recipient.find("substitutions");
      n = n != nullptr ? n->find("n") : nullptr;
      seen_.substitutions_n.insert(n != nullptr && n->is_string() ? n->as_string() : "?");
      out.begin_object();
      out.key("id");
      char id[24];
      std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(next_id_++));
      out.value(id);
      out.key("recipients");
      out.begin_array();
      const http::JsonValue* to = recipient.find("to");
      out.value(to != nullptr && to->is_string() ? to->as_string() : "?");
      out.end_array();
      out.end_object();
    }
    out.end_array();
    out.end_object();
    response.status = 202;
    response.body = out.take();
    response.close = response.close || policy_.close_each;
    return response;
  }

  friend class Conn;
  StubPolicy policy_;
  engine::Runtime runtime_;
  engine::testing::Signal ready_;
  engine::SocketAddress address_;
  std::vector<std::unique_ptr<Conn>> connections_;  // shard-only; outlive their connections
  StubSeen seen_;
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace mta::loadgen
