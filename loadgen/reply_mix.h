// ReplyMix: what share of recipients and messages the sink refuses, and how. Parsed from
// "rcpt4xx=10,rcpt5xx=1,data4xx=2,data5xx=1,disconnect=0.5" (percentages); the sink draws
// one verdict per RCPT and one per message from a seeded SplitMix64, so a run is repeatable.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "loadgen/random.h"

namespace mta::loadgen {

enum class RcptVerdict { accept, temporary, permanent };
// `disconnect`: answer 421 after the message's DATA and close the connection.
enum class DataVerdict { accept, temporary, permanent, disconnect };

struct ReplyMix {
  // Percentages in [0, 100]; each group sums to at most 100.
  double rcpt_temporary_percent = 0;  // 450 4.2.1 at RCPT
  double rcpt_permanent_percent = 0;  // 550 5.1.1 at RCPT
  double data_temporary_percent = 0;  // 451 4.3.0 after DATA
  double data_permanent_percent = 0;  // 554 5.6.0 after DATA
  double disconnect_percent = 0;      // 421 4.3.2 after DATA, then close

  // spec = "" / item *( "," item ) ; item = key "=" number ; key = "rcpt4xx" / "rcpt5xx" /
  // "data4xx" / "data5xx" / "disconnect". An empty spec accepts everything.
  static Result<ReplyMix> parse(std::string_view spec);
  std::string to_string() const;  // the canonical spec, "" when everything is accepted

  RcptVerdict choose_rcpt(SplitMix64& random) const;
  DataVerdict choose_data(SplitMix64& random) const;
};

}  // namespace mta::loadgen
