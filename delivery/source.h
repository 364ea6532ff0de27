// Where a new delivery connection goes out from: the configured local addresses
// (`[[delivery.source]]`), each with its EHLO name, weight, source pool and warm-up budget, and
// the choice among them. Pure: the dispatcher says which sources it wants and which have room.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/warmup.h"
#include "engine/address.h"

namespace mta::delivery {

// A local address outbound connections are sent from, with the EHLO name that goes with it
// (its PTR record's name, for receivers that check).
struct Source {
  engine::SocketAddress address;  // port 0
  std::string helo_name;          // empty: DestinationOptions::helo_name
  std::uint32_t weight = 1;       // its share of new connections among the sources
  // Its source pool: a connection from it carries parts of no other pool (parts that name
  // none go from any source).
  std::string pool = "default";
  // Warm-up: its daily cap, shared by every shard and destination (nullptr: warm, uncapped).
  // A source at its cap opens no connection and its connections take no message until the
  // next UTC day; what is due goes from the pool's other sources meanwhile.
  std::shared_ptr<SourceBudget> budget;
};

using SourceFilter = std::function<bool(const Source&)>;

// Smooth weighted round robin over the sources of `family` (as nginx balances upstreams):
// each gains its weight in `credit` (one entry per source, kept between calls), the richest is
// chosen and pays the total. Weights 2:1 give A B A A B A ... nullopt: none of that family.
// `allowed` (unset: all) narrows the choice, e.g. to the pools that have parts waiting.
std::optional<std::size_t> next_weighted_source(const std::vector<Source>& sources,
                                                std::vector<std::int64_t>& credit, int family,
                                                const SourceFilter& allowed = {});

// The source of a new connection to an address of `family`.
struct SourceChoice {
  std::optional<std::size_t> index;  // into the sources; nullopt: the kernel's choice
  // Nothing may connect now: every source that could carry what waits is held back (its
  // warm-up cap, its connections to the destination), or has the wrong family.
  bool blocked = false;
  // Blocked because no source of the pools waiting has this family (only a configuration
  // change mends it; the dispatcher warns once).
  bool no_source_of_family = false;
};

// Among the sources `wanted` (the pools that have parts waiting; unset: what waits may go from
// any source) that `has_room`, by next_weighted_source. When none is chosen: with `wanted`
// unset, the kernel's choice if no source has this family, else blocked; with `wanted` set,
// always blocked (parts of a named pool never go from an address of no pool).
SourceChoice choose_source(const std::vector<Source>& sources, std::vector<std::int64_t>& credit,
                           int family, const SourceFilter& wanted, const SourceFilter& has_room);

}  // namespace mta::delivery
