// The spool's admin key file: read it, or make it once with getrandom() and an atomic rename.
#include "app/admin_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "base/log.h"

namespace mta::app {
namespace {

Unexpected<Error> from_errno(int error, const std::string& what) {
  return unexpected(std::error_code(error, std::generic_category()),
                    what + ": " + std::strerror(error));
}

}  // namespace

std::string admin_key_path(const std::string& spool_path) { return spool_path + "/admin.key"; }

Result<std::string> read_admin_key(const std::string& spool_path) {
  const std::string path = admin_key_path(spool_path);
  std::ifstream in(path);
  if (!in) return from_errno(errno != 0 ? errno : ENOENT, path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty())
    return unexpected(std::make_error_code(std::errc::invalid_argument), path + ": empty");
  return key;
}

Result<SpoolAdminKey> load_or_create_admin_key(const std::string& spool_path) {
  const std::string path = admin_key_path(spool_path);
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if ((info.st_mode & 077) != 0 && ::chmod(path.c_str(), 0600) != 0) {
      return from_errno(errno, "chmod 0600 " + path);
    }
    auto key = read_admin_key(spool_path);
    if (!key) return unexpected(key.error());
    return SpoolAdminKey{.key = std::move(key).value(), .created = false};
  }
  if (errno != ENOENT) return from_errno(errno, path);

  std::array<unsigned char, 32> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return from_errno(errno != 0 ? errno : EIO, "getrandom");
  }
  std::string key;
  for (unsigned char byte : random) {
    static constexpr char hex[] = "0123456789abcdef";
    key += hex[byte >> 4];
    key += hex[byte & 15];
  }
  const std::string temporary = path + ".new";
  static_cast<void>(::unlink(temporary.c_str()));  // a half-written one from a crash
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return from_errno(errno, "create " + temporary);
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  const int write_error = errno;
  ::close(fd);
  if (!written) return from_errno(write_error, "write " + temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return from_errno(errno, "rename to " + path);
  return SpoolAdminKey{.key = std::move(key), .created = true};
}

Result<std::string> use_spool_admin_key(const std::string& spool_path) {
  auto made = load_or_create_admin_key(spool_path);
  if (!made) return unexpected(made.error());
  log::info(std::string("admin API: no [http] admin_key, so the key ") +
            (made->created ? "made now" : "made at first start") + " is in " +
            admin_key_path(spool_path) +
            " (mode 0600; outpost queue and outpost suppression read it there)");
  return std::move(made->key);
}

}  // namespace mta::app
