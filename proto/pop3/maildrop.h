// Maildrop: what the POP3 session reads and deletes once a user has logged in. The session
// (proto/pop3/session.h) owns one per authenticated connection and is its only caller; the
// engine side (mailbox/) implements it over the bounce store, memory_maildrop.h for tests.
// Calls are synchronous and made on the connection's shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::pop3 {

// One message as listed at lock time.
struct MessageInfo {
  // RFC 1939 §7 UIDL: 1 to 70 octets in 0x21-0x7E, unique in the maildrop and stable across
  // sessions (fetchmail and bounce processors remember which ids they have seen).
  std::string unique_id;
  // Exact size in octets of message(index) as sent: CRLF line ends, before dot-stuffing.
  std::uint64_t size_octets = 0;
};

// Lifecycle, driven by the session: lock() once; then message() any number of times; then, at
// QUIT in the TRANSACTION state only, commit_deletions() at most once; then unlock(). If the
// connection drops, the session is destroyed without commit_deletions(): unlock() is called
// and nothing is deleted. unlock() is never called without a successful lock().
// Message indexes are 0-based positions in the list lock() returned (POP3 message number - 1).
class Maildrop {
 public:
  virtual ~Maildrop() = default;

  // Takes the user's exclusive lock (RFC 1939 §8: one session per maildrop) and returns the
  // messages present now; the session works on this snapshot until unlock(). Errors:
  // Errc::in_use when another session holds the lock (answered "-ERR [IN-USE] ..."), anything
  // else (answered "-ERR [SYS/TEMP] ..."). On error nothing is held.
  virtual Result<std::vector<MessageInfo>> lock() = 0;

  // The complete message `index` (< the size of lock()'s list): CRLF text, exactly
  // MessageInfo::size_octets long, not dot-stuffed. The view stays valid until the next call
  // on this Maildrop (any member function) or its destruction; the session streams from it
  // and makes no other call meanwhile.
  virtual Result<std::string_view> message(std::size_t index) = 0;

  // UPDATE state (RFC 1939 §6): removes the messages at `indexes` (ascending, unique, each
  // < the size of lock()'s list) for good. An error is answered "-ERR [SYS/TEMP] some deleted
  // messages not removed"; the maildrop decides how much of the set it kept or removed.
  virtual Result<void> commit_deletions(std::span<const std::size_t> indexes) = 0;

  // Releases the lock taken by lock().
  virtual void unlock() = 0;
};

}  // namespace mta::pop3
