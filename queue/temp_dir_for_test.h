// TempDir_for_test: a fresh directory under $TMPDIR (or /tmp), removed with everything in it
// at scope exit. Shared by the queue's tests that need a spool or a key file on disk.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "base/assert.h"

namespace mta::queue {

class TempDir_for_test {
 public:
  explicit TempDir_for_test(std::string_view stem = "outpost_queue_test") {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
                          std::string(stem) + ".XXXXXX";
    MTA_ASSERT(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir_for_test() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir_for_test(const TempDir_for_test&) = delete;
  TempDir_for_test& operator=(const TempDir_for_test&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace mta::queue
