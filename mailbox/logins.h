// Logins: who may read the bounce mailbox ([[mailbox.user]]), as app/ wires it. Password
// checks are slow on purpose (yescrypt) and run on the shard's worker; a failed login waits
// `failure_delay` before it is answered.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/clock.h"

namespace mta::mailbox {

struct Logins {
  // True when `password` is the user's. Called on the worker thread: thread-safe, immutable.
  std::function<bool(const std::string& user, const std::string& password)> check_password;
  // The user's APOP shared secret, or nullopt (no APOP for them). Called on the shard.
  std::function<std::optional<std::string>(const std::string& user)> apop_secret;
  Clock::Duration failure_delay = std::chrono::seconds(2);
};

}  // namespace mta::mailbox
