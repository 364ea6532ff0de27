// The admin key the daemon makes when none is configured: random, kept in the spool
// (`admin.key`, mode 0600) so the command-line clients on the same host (`outpost queue`,
// `outpost suppression`) read it from there and work with no set-up, and every start keeps it.
#pragma once

#include <string>

#include "base/result.h"

namespace mta::app {

// <spool>/admin.key
std::string admin_key_path(const std::string& spool_path);

// The key in <spool>/admin.key (its first line); std::errc::no_such_file_or_directory when
// there is none, another error when it cannot be read or is empty.
Result<std::string> read_admin_key(const std::string& spool_path);

struct SpoolAdminKey {
  std::string key;
  bool created = false;  // made now (the first start with this spool)
};
// The spool's key, made first when there is none: 32 random bytes in hex, written to a
// temporary file created 0600, fsynced and renamed into place (so a reader never sees half a
// key). An existing file that others may read is made 0600.
Result<SpoolAdminKey> load_or_create_admin_key(const std::string& spool_path);
// The daemon's use of it: load_or_create_admin_key, and a log line saying where the key is
// (never the key).
Result<std::string> use_spool_admin_key(const std::string& spool_path);

}  // namespace mta::app
