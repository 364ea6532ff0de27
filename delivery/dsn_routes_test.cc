#include "delivery/dsn_routes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::delivery {
namespace {

queue::Envelope to(std::vector<std::string> recipients) {
  queue::Envelope part;
  for (auto& address : recipients) {
    queue::Recipient recipient;
    recipient.address = std::move(address);
    part.recipients.push_back(std::move(recipient));
  }
  return part;
}

struct Seen {
  std::vector<std::string> own;  // recipients stored as own DSNs
  int committed = 0;
};

Bouncer::CommitFn routes(Seen& seen, std::string bounce_domain) {
  return route_dsns(DsnRoutes{.bounce_domain = std::move(bounce_domain),
                              .own =
                                  [&seen](std::string recipient, std::string,
                                          std::function<void(const Result<void>&)> done) {
                                    seen.own.push_back(std::move(recipient));
                                    done({});
                                  },
                              .commit =
                                  [&seen](std::vector<queue::Envelope>&&, std::string&&,
                                          std::function<void(const Result<void>&)> done) {
                                    ++seen.committed;
                                    done({});
                                  }});
}

void send(const Bouncer::CommitFn& commit, std::vector<queue::Envelope> parts) {
  int answered = 0;
  commit(std::move(parts), "body", [&answered](const Result<void>&) { ++answered; });
  EXPECT_EQ(answered, 1);
}

TEST(RouteDsns, OneRecipientAtTheBounceDomainGoesToTheMailbox) {
  Seen seen;
  const auto commit = routes(seen, "bounces.example");
  send(commit, {to({"bounce+x@Bounces.Example"})});
  EXPECT_EQ(seen.own, std::vector<std::string>{"bounce+x@Bounces.Example"});
  EXPECT_EQ(seen.committed, 0);
}

TEST(RouteDsns, EverythingElseIsQueued) {
  Seen seen;
  const auto commit = routes(seen, "bounces.example");
  send(commit, {to({"sender@example.com"})});
  send(commit, {to({"a@bounces.example", "b@bounces.example"})});
  send(commit, {to({"a@bounces.example"}), to({"b@bounces.example"})});
  send(commit, {to({"a@sub.bounces.example"})});
  EXPECT_TRUE(seen.own.empty());
  EXPECT_EQ(seen.committed, 4);

  Seen none;
  send(routes(none, ""), {to({"a@bounces.example"})});  // no bounce domain: queued
  EXPECT_EQ(none.committed, 1);
}

}  // namespace
}  // namespace mta::delivery
