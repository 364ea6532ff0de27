// Logins: who may read the bounce mailbox ([[mailbox.user]]), as app/ wires it. Password
// checks are slow on purpose (yescrypt) and run on the shard's worker; a failed login waits
// before it is answered, and counts against its address (AuthThrottle).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/auth_throttle.h"
#include "base/clock.h"

namespace mta::mailbox {

struct Logins {
  // True when `password` is the user's. Called on the worker thread: thread-safe, immutable.
  std::function<bool(const std::string& user, const std::string& password)> check_password;
  // The user's APOP shared secret, or nullopt (no APOP for them). Called on the shard.
  std::function<std::optional<std::string>(const std::string& user)> apop_secret;
  // A failure's base delay; it doubles per recent failure of the same account (up to the
  // throttle's failure_delay_max).
  Clock::Duration failure_delay = std::chrono::seconds(2);
  // Failed logins of the whole node, shared with submission: an address over its budget gets
  // a temporary refusal without a password check. nullptr = none.
  AuthThrottle* throttle = nullptr;
};

}  // namespace mta::mailbox
