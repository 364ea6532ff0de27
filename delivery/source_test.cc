// Which source a new connection goes out from: smooth weighted round robin by family.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>

#include "delivery/source.h"

namespace mta::delivery {
namespace {

Source source(const char* address, std::uint32_t weight) {
  return Source{.address = engine::SocketAddress::parse(address).value(), .weight = weight};
}

std::string picks(const std::vector<Source>& sources, int family, int n) {
  std::vector<std::int64_t> credit;
  std::string out;
  for (int i = 0; i < n; ++i) {
    auto picked = next_weighted_source(sources, credit, family);
    out += picked ? static_cast<char>('A' + *picked) : '-';
  }
  return out;
}

TEST(NextWeightedSource, SpreadsByWeightWithoutBursts) {
  EXPECT_EQ(picks({source("127.0.0.2:0", 2), source("127.0.0.3:0", 1)}, AF_INET, 6), "ABAABA");
  EXPECT_EQ(picks({source("127.0.0.2:0", 1), source("127.0.0.3:0", 1)}, AF_INET, 4), "ABAB");
  EXPECT_EQ(picks({source("127.0.0.2:0", 5), source("127.0.0.3:0", 1), source("127.0.0.4:0", 1)},
                  AF_INET, 7),
            "AABACAA");
}

TEST(NextWeightedSource, OnlyTheDestinationsFamilyAndNeverWeightZero) {
  const std::vector<Source> sources = {source("127.0.0.2:0", 1), source("[::1]:0", 1),
                                       source("127.0.0.3:0", 0)};
  EXPECT_EQ(picks(sources, AF_INET, 3), "AAA");
  EXPECT_EQ(picks(sources, AF_INET6, 2), "BB");
  EXPECT_EQ(picks({source("127.0.0.2:0", 1)}, AF_INET6, 2), "--");
  EXPECT_EQ(picks({}, AF_INET, 1), "-");
}

TEST(NextWeightedSource, OnlyAllowedSourcesKeepTheirShare) {
  std::vector<Source> sources = {source("127.0.0.2:0", 1), source("127.0.0.3:0", 1),
                                 source("127.0.0.4:0", 2)};
  sources[0].pool = "a";
  sources[1].pool = "b";
  sources[2].pool = "b";
  std::vector<std::int64_t> credit;
  std::string out;
  const auto only_b = [](const Source& s) { return s.pool == "b"; };
  for (int i = 0; i < 6; ++i) {
    auto picked = next_weighted_source(sources, credit, AF_INET, only_b);
    out += picked ? static_cast<char>('A' + *picked) : '-';
  }
  EXPECT_EQ(out, "CBCCBC");
  EXPECT_EQ(
      next_weighted_source(sources, credit, AF_INET, [](const Source& s) { return s.pool == "c"; }),
      std::nullopt);
}

TEST(ChooseSource, AmongTheWantedSourcesWithRoom) {
  std::vector<Source> sources = {source("127.0.0.2:0", 1), source("127.0.0.3:0", 1)};
  sources[0].pool = "a";
  sources[1].pool = "b";
  std::vector<std::int64_t> credit;
  const auto only_b = [](const Source& s) { return s.pool == "b"; };
  const auto room = [](const Source&) { return true; };
  EXPECT_EQ(choose_source(sources, credit, AF_INET, only_b, room).index, 1u);
  EXPECT_EQ(choose_source(sources, credit, AF_INET, {}, room).index.has_value(), true);
  EXPECT_FALSE(choose_source({}, credit, AF_INET, only_b, room).blocked);  // no sources at all
}

TEST(ChooseSource, HeldBackSourcesBlockAndAMissingFamilyOnlyNamedPools) {
  const std::vector<Source> sources = {source("127.0.0.2:0", 1)};
  std::vector<std::int64_t> credit;
  const auto no_room = [](const Source&) { return false; };
  const auto room = [](const Source&) { return true; };
  const auto any = [](const Source&) { return true; };
  // Every source of the family at its cap: blocked, whoever waits.
  SourceChoice choice = choose_source(sources, credit, AF_INET, {}, no_room);
  EXPECT_TRUE(choice.blocked);
  EXPECT_FALSE(choice.index);
  choice = choose_source(sources, credit, AF_INET, any, no_room);
  EXPECT_TRUE(choice.blocked);
  EXPECT_FALSE(choice.no_source_of_family);
  // No source of the family: parts naming no pool go from the kernel's choice...
  choice = choose_source(sources, credit, AF_INET6, {}, room);
  EXPECT_FALSE(choice.blocked);
  EXPECT_FALSE(choice.index);
  // ... parts of named pools wait, and the dispatcher is told why.
  choice = choose_source(sources, credit, AF_INET6, any, room);
  EXPECT_TRUE(choice.blocked);
  EXPECT_TRUE(choice.no_source_of_family);
}

}  // namespace
}  // namespace mta::delivery
