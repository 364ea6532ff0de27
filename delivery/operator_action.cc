// Counting an operator action's results.
#include "delivery/operator_action.h"

namespace mta::delivery {

ActionCounts count(const std::vector<ActionResult>& results) {
  ActionCounts counts;
  for (const ActionResult result : results) {
    switch (result) {
      case ActionResult::applied:
        ++counts.applied;
        break;
      case ActionResult::in_flight:
        ++counts.in_flight;
        break;
      case ActionResult::not_found:
        ++counts.not_found;
        break;
    }
  }
  return counts;
}

}  // namespace mta::delivery
