// The limits in force at a destination: own, fleet share, a response throttle relaxing.
#include "delivery/destination_limits.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;

const Limits own{
    .connections_max = 4, .messages_per_connection_max = 100, .messages_per_second = 8};

TEST(DestinationLimits, TheOwnLimitsUntilAFleetShareReplacesThem) {
  DestinationLimits limits(own);
  EXPECT_EQ(limits.in_force(), own);
  const Limits share = own.fleet_share(1, 2);
  EXPECT_TRUE(limits.set_fleet(share));
  EXPECT_FALSE(limits.set_fleet(share));  // unchanged
  EXPECT_EQ(limits.in_force(), share);
  EXPECT_EQ(limits.own(), own);
  EXPECT_TRUE(limits.set_fleet(std::nullopt));
  EXPECT_EQ(limits.in_force(), own);
}

TEST(DestinationLimits, AThrottleTightensThenRelaxesAStepAtATime) {
  DestinationLimits limits(own);
  limits.throttle({.connections = 1, .messages_per_second = 1, .recover = 2min});
  EXPECT_TRUE(limits.throttled());
  EXPECT_EQ(limits.recover_every(), 2min);
  EXPECT_EQ(limits.in_force().connections_max, 1u);
  EXPECT_EQ(limits.in_force().messages_per_second, 1);
  EXPECT_EQ(limits.in_force().messages_per_connection_max, 100u);  // untouched
  EXPECT_EQ(limits.connections_under_throttle(10), 1u);
  EXPECT_FALSE(limits.relax());
  EXPECT_EQ(limits.in_force().connections_max, 2u);
  EXPECT_EQ(limits.in_force().messages_per_second, 2);
  EXPECT_FALSE(limits.relax());  // 3 connections, 4/s
  EXPECT_TRUE(limits.relax());   // 4 connections, 8/s: the own limits are back
  EXPECT_FALSE(limits.throttled());
  EXPECT_EQ(limits.in_force(), own);
  EXPECT_EQ(limits.connections_under_throttle(10), 10u);
}

TEST(DestinationLimits, WithoutARateOfItsOwnSixDoublingsEndAThrottle) {
  DestinationLimits limits(Limits{.connections_max = 2});
  limits.throttle({.connections = 2, .messages_per_second = 1});
  for (int step = 1; step < 6; ++step) EXPECT_FALSE(limits.relax()) << step;
  EXPECT_EQ(limits.in_force().messages_per_second, 32);
  EXPECT_TRUE(limits.relax());
  EXPECT_EQ(limits.in_force().messages_per_second, 0);
}

TEST(DestinationLimits, AThrottleRelaxesToTheFleetShareInFleetMode) {
  const Limits node{.connections_max = 4};
  DestinationLimits limits(node);
  limits.set_fleet(node.fleet_share(2, 1));
  limits.throttle({.connections = 1});
  EXPECT_EQ(limits.in_force().connections_max, 1u);
  EXPECT_TRUE(limits.relax());  // 2 connections: the share's
  EXPECT_EQ(limits.in_force().connections_max, 2u);
}

TEST(FleetShare, AGrantOrNothingWhileRedisAnswersElseAShareOfTheNode) {
  const Limits node{.connections_max = 12, .messages_per_second = 12};
  cluster::Standing standing{.connected = true, .nodes = 3, .grants = {}};
  const cluster::Grant grant{.connections = 5, .holders = 2};
  EXPECT_EQ(fleet_share_for(node, &grant, standing, 1).connections_max, 5u);
  EXPECT_EQ(fleet_share_for(node, &grant, standing, 1).messages_per_second, 6);
  EXPECT_EQ(fleet_share_for(node, nullptr, standing, 1).connections_max, 0u);
  standing.connected = false;
  EXPECT_EQ(fleet_share_for(node, nullptr, standing, 1).connections_max, 4u);
  EXPECT_EQ(fleet_share_for(node, nullptr, standing, 2).connections_max, 2u);
  EXPECT_EQ(fleet_share_for(node, nullptr, standing, 2).messages_per_second, 2);
}

}  // namespace
}  // namespace mta::delivery
