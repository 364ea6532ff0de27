// The Injector on a real shard with a MemoryStore: a bulk request is signed a slice per loop
// turn, so a timer due at once runs while the request is still being signed, and every message
// still ends up signed, stored and scheduled in one group; one message is prepared at once.
#include "injection/injector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "dkim/test_keys_for_test.h"
#include "engine/runtime.h"
#include "proto/mime/verp.h"
#include "queue/memory_store.h"

namespace mta::injection {
namespace {

using namespace std::chrono_literals;

Inbound message(int n) {
  return Inbound{.mail_from = "news@example.com",
                 .recipients = {"r" + std::to_string(n) + "@example.net"},
                 .body = "From: News <news@example.com>\r\nSubject: n" + std::to_string(n) +
                         "\r\n\r\nHello " + std::to_string(n) + "\r\n"};
}

struct Outcome {
  std::vector<std::string> order;  // "timer" and "done", as they ran on the shard
  Injected result;
  std::size_t queued_parts = 0;
  std::uint64_t signed_after_submit = 0;  // messages signed when submit_all returned
  std::uint64_t signed_at_timer = 0;      // and when the zero-delay timer ran
};

// Waits for the injector's answer, frees it and its group commit on their shard, and stops.
void finish(engine::Runtime& runtime, std::promise<void>& answered,
            std::unique_ptr<Injector>& injector,
            std::unique_ptr<queue::GroupCommit>& group_commit) {
  EXPECT_EQ(answered.get_future().wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(runtime.post_from_outside(ShardId(0), [&](engine::Shard&) {
    injector.reset();
    group_commit.reset();
  }));
  runtime.request_stop();
  runtime.wait();
}

// Submits `count` messages on a one-shard runtime, with a zero-delay timer scheduled right
// after the call, and waits for the answer.
Outcome submit_on_shard(queue::MemoryStore& store, const dkim::KeyRing& ring, int count) {
  Outcome outcome;
  engine::Runtime runtime({.shard_count = 1, .pin_threads = false});
  std::unique_ptr<queue::GroupCommit> group_commit;
  std::unique_ptr<queue::MessageIdGenerator> ids;
  std::unique_ptr<Injector> injector;
  Probe probe;
  std::promise<void> answered;
  EXPECT_TRUE(
      runtime
          .start([&](engine::Shard& shard) {
            group_commit =
                std::make_unique<queue::GroupCommit>(shard, store, queue::GroupCommitOptions{});
            ids = std::make_unique<queue::MessageIdGenerator>(shard.id(), shard.clock());
            injector = std::make_unique<Injector>(
                shard, *group_commit, *ids,
                InjectorOptions{.hostname = "outpost.test", .signing = &ring},
                [](std::string_view) { return std::string("relay"); },
                [&](const std::vector<queue::ScheduledItem>& parts) {
                  outcome.queued_parts += parts.size();
                });
            std::vector<Inbound> messages;
            for (int i = 0; i < count; ++i) messages.push_back(message(i));
            TraceFacts trace{.client_name = "app", .client_ip = "127.0.0.1", .protocol = "HTTP"};
            injector->submit_all(std::move(messages), &trace, probe, [&](const Injected& result) {
              outcome.order.push_back("done");
              outcome.result = result;
              answered.set_value();
            });
            outcome.signed_after_submit = probe.messages_signed;
            shard.schedule(0ms, [&] { outcome.order.push_back("timer"); });
          })
          .has_value());
  finish(runtime, answered, injector, group_commit);
  EXPECT_EQ(probe.messages_signed, static_cast<std::uint64_t>(count));
  return outcome;
}

dkim::KeyRing rsa_ring() {
  dkim::KeyRing ring;
  ring.add(dkim::SignerConfig{"example.com", "s1", dkim::rsa2048_key_for_test()});
  return ring;
}

TEST(Injector, BulkSigningLetsTheShardRunBetweenSlices) {
  queue::MemoryStore store;
  const dkim::KeyRing ring = rsa_ring();
  // 40 RSA-2048 signatures take far longer than one slice's 2 ms budget.
  const Outcome outcome = submit_on_shard(store, ring, 40);
  ASSERT_EQ(outcome.order.size(), 2u);
  EXPECT_EQ(outcome.order[0], "timer");  // served before the request was answered
  EXPECT_EQ(outcome.order[1], "done");
  EXPECT_LT(outcome.signed_after_submit, 40u);  // the rest in later turns
  EXPECT_LT(outcome.signed_at_timer, 40u);      // the timer ran in the middle of the signing
  ASSERT_EQ(outcome.result.status, Injected::Status::queued) << outcome.result.detail;
  ASSERT_EQ(outcome.result.ids.size(), 40u);
  EXPECT_EQ(outcome.queued_parts, 40u);
  EXPECT_EQ(*store.count(), 40u);
  for (MessageId id : outcome.result.ids) {
    auto body = store.read_body(id);
    ASSERT_TRUE(body.has_value());
    EXPECT_TRUE(body->starts_with("DKIM-Signature:")) << body->substr(0, 80);
    EXPECT_NE(body->find("with HTTP"), std::string::npos);  // the copied trace facts
  }
}

TEST(Injector, OneMessageIsPreparedBeforeSubmitReturns) {
  queue::MemoryStore store;
  const dkim::KeyRing ring = rsa_ring();
  const Outcome outcome = submit_on_shard(store, ring, 1);
  EXPECT_EQ(outcome.signed_after_submit, 1u);  // signed within the call, as SMTP needs
  ASSERT_EQ(outcome.result.status, Injected::Status::queued);
  EXPECT_EQ(*store.count(), 1u);
}

// Submits `messages` one by one with `options` and returns each answer and the queued items.
struct Tagged {
  std::vector<Injected> results;
  std::vector<queue::ScheduledItem> items;
};
Tagged submit_each(queue::MemoryStore& store, InjectorOptions options,
                   std::vector<Inbound> messages) {
  Tagged out;
  engine::Runtime runtime({.shard_count = 1, .pin_threads = false});
  std::unique_ptr<queue::GroupCommit> group_commit;
  std::unique_ptr<queue::MessageIdGenerator> ids;
  std::unique_ptr<Injector> injector;
  Probe probe;
  std::promise<void> answered;
  std::size_t left = messages.size();
  EXPECT_TRUE(runtime
                  .start([&](engine::Shard& shard) {
                    group_commit = std::make_unique<queue::GroupCommit>(
                        shard, store, queue::GroupCommitOptions{});
                    ids = std::make_unique<queue::MessageIdGenerator>(shard.id(), shard.clock());
                    injector = std::make_unique<Injector>(
                        shard, *group_commit, *ids, std::move(options),
                        [](std::string_view) { return std::string("relay"); },
                        [&](const std::vector<queue::ScheduledItem>& parts) {
                          out.items.insert(out.items.end(), parts.begin(), parts.end());
                        });
                    out.results.resize(messages.size());
                    for (std::size_t i = 0; i < messages.size(); ++i) {
                      injector->submit(std::move(messages[i]), nullptr, probe,
                                       [&, i](const Injected& result) {
                                         out.results[i] = result;
                                         if (--left == 0) answered.set_value();
                                       });
                    }
                  })
                  .has_value());
  finish(runtime, answered, injector, group_commit);
  return out;
}

// The tag fields leave the message before it is signed (the signature still verifies against
// what is stored, and no h= names them), the API's fields win over them, a [[tenant]] gives
// its defaults, and a caller bound to a tenant cannot claim another.
TEST(Injector, TagsAreTakenOutBeforeSigningAndStoredWithEachPart) {
  queue::MemoryStore store;
  const dkim::KeyRing ring = rsa_ring();
  InjectorOptions options{.hostname = "outpost.test", .signing = &ring};
  options.tenants["acme"] = {.traffic_class = queue::TrafficClass::bulk, .source_pool = "mkt"};
  options.pools = {"default", "mkt", "api-pool"};
  std::vector<Inbound> messages;
  messages.push_back(message(0));
  messages.back().body.insert(0, "X-Outpost-Tenant: acme\r\nX-Outpost-Campaign: spring\r\n");
  messages.push_back(message(1));
  messages.back().body.insert(0, "X-Outpost-Tenant: acme\r\nX-Outpost-Class: transactional\r\n");
  messages.back().tags.pool = "api-pool";
  messages.push_back(message(2));
  messages.back().body.insert(0, "X-Outpost-Tenant: other\r\n");
  messages.back().bound_tenant = "acme";
  messages.push_back(message(3));
  messages.back().bound_tenant = "shop";
  messages.push_back(message(4));
  messages.back().body.insert(0, "X-Outpost-Class: newsletter\r\n");
  messages.push_back(message(5));
  messages.back().body.insert(0, "X-Outpost-Pool: nowhere\r\n");
  const Tagged got = submit_each(store, options, std::move(messages));
  ASSERT_EQ(got.results.size(), 6U);
  for (const std::size_t refused : {2U, 4U, 5U}) {
    EXPECT_EQ(got.results[refused].status, Injected::Status::refused) << refused;
  }
  EXPECT_NE(got.results[2].detail.find("other"), std::string::npos);
  EXPECT_NE(got.results[4].detail.find("X-Outpost-Class"), std::string::npos);
  EXPECT_NE(got.results[5].detail.find("nowhere"), std::string::npos);
  EXPECT_EQ(*store.count(), 3U);
  struct Want {
    std::string tenant, campaign;
    queue::TrafficClass traffic_class;
    std::string pool;
  };
  const Want wants[] = {{"acme", "spring", queue::TrafficClass::bulk, "mkt"},
                        {"acme", "", queue::TrafficClass::transactional, "api-pool"},
                        {"", "", {}, ""},
                        {"shop", "", queue::TrafficClass::transactional, ""}};
  for (const std::size_t i : {0U, 1U, 3U}) {
    SCOPED_TRACE(i);
    ASSERT_EQ(got.results[i].status, Injected::Status::queued) << got.results[i].detail;
    const MessageId id = got.results[i].ids.at(0);
    auto envelope = store.read_envelope({.message = id, .part = 0});
    ASSERT_TRUE(envelope.has_value());
    EXPECT_EQ(envelope->tenant, wants[i].tenant);
    EXPECT_EQ(envelope->campaign, wants[i].campaign);
    EXPECT_EQ(envelope->traffic_class, wants[i].traffic_class);
    EXPECT_EQ(envelope->pool, wants[i].pool);
    auto body = store.read_body(id);
    ASSERT_TRUE(body.has_value());
    EXPECT_TRUE(body->starts_with("DKIM-Signature:"));
    EXPECT_EQ(body->find("X-Outpost-"), std::string::npos) << *body;
    EXPECT_EQ(envelope->body_bytes, body->size());
    const auto item = std::find_if(got.items.begin(), got.items.end(),
                                   [id](const auto& item) { return item.key.message == id; });
    ASSERT_NE(item, got.items.end());
    EXPECT_EQ(item->tenant, wants[i].tenant);
    EXPECT_EQ(item->traffic_class, wants[i].traffic_class);
    EXPECT_EQ(item->pool, wants[i].pool);
  }
}

// Issue 21: every message carries our X-Outpost-Ref (a client's is dropped) before it is
// signed, and each recipient's VERP return path carries a tag for exactly that recipient.
TEST(Injector, ReferenceAndVerpTagsProveTheMessageAndRecipient) {
  queue::MemoryStore store;
  const dkim::KeyRing ring = rsa_ring();
  const queue::BounceKeys keys = queue::BounceKeys::from_keys_for_test(
      {queue::BounceKey{.id = 7, .created_at = 1, .secret = std::string(32, 's')}});
  InjectorOptions options{.hostname = "outpost.test",
                          .signing = &ring,
                          .verp_domain = "bounces.test",
                          .bounce_keys = &keys};
  std::vector<Inbound> messages;
  messages.push_back(message(0));
  messages.back().recipients = {"Ann@Example.net", "bob@example.net"};
  messages.back().body.insert(0, "x-outpost-ref: 0000019a2b3c4d5e.07a1b2c3d4e5f60718\r\n");
  const Tagged got = submit_each(store, options, std::move(messages));
  ASSERT_EQ(got.results.at(0).status, Injected::Status::queued) << got.results[0].detail;
  const MessageId id = got.results[0].ids.at(0);
  auto body = store.read_body(id);
  ASSERT_TRUE(body.has_value());
  const std::string field = "X-Outpost-Ref: " + keys.reference(id) + "\r\n";
  const std::size_t at = body->find(field);
  ASSERT_NE(at, std::string::npos) << *body;
  EXPECT_TRUE(body->starts_with("DKIM-Signature:"));  // signed after the field was added
  EXPECT_EQ(body->find("0000019a2b3c4d5e"), std::string::npos) << *body;  // the client's went
  EXPECT_EQ(body->find("X-Outpost-Ref:", at + 1), std::string::npos);
  for (std::uint32_t part = 0; part < 2; ++part) {
    auto envelope = store.read_envelope({.message = id, .part = part});
    ASSERT_TRUE(envelope.has_value());
    ASSERT_EQ(envelope->recipients.size(), 1u);
    const std::string& recipient = envelope->recipients[0].address;
    auto verp = mime::verp_decode("bounce", envelope->mail_from, "bounces.test");
    ASSERT_TRUE(verp.has_value()) << envelope->mail_from;
    EXPECT_EQ(verp->id, id);
    EXPECT_EQ(verp->recipient, recipient);
    EXPECT_TRUE(keys.verp_tag_valid(id, recipient, verp->tag));
    EXPECT_FALSE(
        keys.verp_tag_valid(id, part == 0 ? "bob@example.net" : "ann@example.net", verp->tag));
  }
}

}  // namespace
}  // namespace mta::injection
