// BounceKeys: the key file and the MACs. The file is text, one key a line after comments:
//
//   <id> <created, unix seconds> <retired, unix seconds or 0> <secret, 64 hex digits>
//
// written to a temporary file, fsynced and renamed over the old one, so a crash leaves either.
#include "queue/bounce_keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/ascii.h"
#include "base/envelope_address.h"
#include "base/log.h"

namespace mta::queue {
namespace {

constexpr std::size_t secret_bytes = 32;
constexpr std::size_t mac_bytes = 8;

Error file_error(int error, const std::string& what) {
  return Error{std::error_code(error, std::generic_category()), what};
}
Error bad_file(const std::string& path, std::size_t line, const std::string& what) {
  return Error{std::make_error_code(std::errc::invalid_argument),
               path + ":" + std::to_string(line) + ": " + what};
}

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += hex_digits[u >> 4];
    out += hex_digits[u & 15];
  }
  return out;
}

int hex_value(char c) {
  c = ascii_lower(c);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> from_hex_bytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

Result<std::string> random_secret() {
  std::string secret(secret_bytes, '\0');
  std::size_t filled = 0;
  while (filled < secret.size()) {
    const ssize_t got = getrandom(secret.data() + filled, secret.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return unexpected(file_error(errno, "getrandom"));
    }
    filled += static_cast<std::size_t>(got);
  }
  return secret;
}

// Missing file: an empty list and no error.
Result<std::vector<BounceKey>> read_keys(const std::string& path) {
  std::ifstream in(path);
  std::vector<BounceKey> keys;
  if (!in) {
    if (errno == ENOENT) return keys;
    return unexpected(file_error(errno, "open " + path));
  }
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    std::istringstream fields(line);
    unsigned id = 0;
    BounceKey key;
    std::string secret;
    if (!(fields >> id >> key.created_at >> key.retired_at >> secret) || id == 0 || id > 255) {
      return unexpected(bad_file(path, number, "want: id created retired secret"));
    }
    auto bytes = from_hex_bytes(secret);
    if (!bytes || bytes->size() != secret_bytes) {
      return unexpected(bad_file(path, number, "the secret is not 64 hex digits"));
    }
    key.id = static_cast<std::uint8_t>(id);
    key.secret = std::move(*bytes);
    if (std::any_of(keys.begin(), keys.end(),
                    [&](const BounceKey& other) { return other.id == key.id; })) {
      return unexpected(bad_file(path, number, "key id " + std::to_string(id) + " twice"));
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

Result<void> write_keys(const std::string& path, const std::vector<BounceKey>& keys) {
  std::string text =
      "# Outpost bounce keys: they sign VERP return paths and X-Outpost-Ref (issue 21).\n"
      "# Secret: keep this file mode 0600. `outpost bounce-keys rotate` adds a key.\n"
      "# id created retired secret\n";
  for (const BounceKey& key : keys) {
    text += std::to_string(key.id) + " " + std::to_string(key.created_at) + " " +
            std::to_string(key.retired_at) + " " + to_hex_bytes(key.secret) + "\n";
  }
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unexpected(file_error(errno, "create " + temporary));
  std::size_t written = 0;
  int error = 0;
  while (written < text.size() && error == 0) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno != EINTR) error = errno;
    if (n > 0) written += static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fchmod(fd, 0600) != 0) error = errno;
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  if (error == 0 && ::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temporary.c_str());
    return unexpected(file_error(error, "write " + path));
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Result<BounceKey> new_key(const std::vector<BounceKey>& keys, std::int64_t now) {
  std::uint8_t newest = 0;
  std::int64_t newest_at = -1;
  for (const BounceKey& key : keys) {
    if (key.created_at > newest_at || (key.created_at == newest_at && key.id > newest)) {
      newest = key.id;
      newest_at = key.created_at;
    }
  }
  // The next free id after the newest one, wrapping from 255 to 1.
  for (unsigned step = 1; step <= 255; ++step) {
    const auto id = static_cast<std::uint8_t>((newest + step - 1) % 255 + 1);
    if (std::none_of(keys.begin(), keys.end(), [&](const BounceKey& k) { return k.id == id; })) {
      auto secret = random_secret();
      if (!secret) return unexpected(secret.error());
      return BounceKey{.id = id, .created_at = now, .retired_at = 0, .secret = std::move(*secret)};
    }
  }
  return unexpected(std::make_error_code(std::errc::too_many_files_open),
                    "255 bounce keys are held; none can be added");
}

// Newest first: by creation time, then by id.
void sort_newest_first(std::vector<BounceKey>& keys) {
  std::sort(keys.begin(), keys.end(), [](const BounceKey& a, const BounceKey& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
}

void append_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

std::string verp_data(MessageId id, std::string_view recipient) {
  std::string data = "outpost verp";
  data.push_back('\0');  // no purpose's data is a prefix of another's
  append_be64(data, id.value());
  data += suppression_key(recipient);
  return data;
}

std::string reference_data(MessageId id) {
  std::string data = "outpost reference";
  data.push_back('\0');
  append_be64(data, id.value());
  return data;
}

}  // namespace

Result<BounceKeys> BounceKeys::open(const std::string& path, std::int64_t now,
                                    std::int64_t honour_seconds) {
  auto keys = read_keys(path);
  if (!keys) return unexpected(keys.error());
  bool changed = false;
  if (keys->empty()) {
    auto key = new_key(*keys, now);
    if (!key) return unexpected(key.error());
    keys->push_back(std::move(*key));
    changed = true;
    log::info("bounce keys: made a new key in " + path);
  }
  sort_newest_first(*keys);
  for (std::size_t i = 1; i < keys->size(); ++i) {
    if ((*keys)[i].retired_at == 0) {
      (*keys)[i].retired_at = now;
      changed = true;
    }
  }
  const std::size_t before = keys->size();
  std::erase_if(*keys, [&](const BounceKey& key) {
    return key.retired_at != 0 && key.retired_at < now - honour_seconds;
  });
  changed = changed || keys->size() != before;
  if (changed) {
    if (auto written = write_keys(path, *keys); !written) return unexpected(written.error());
  } else if (struct stat st{}; ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    log::warning("bounce keys: " + path + " was readable by others; made it mode 0600");
    if (::chmod(path.c_str(), 0600) != 0) return unexpected(file_error(errno, "chmod " + path));
  }
  return BounceKeys(std::move(*keys));
}

Result<BounceKey> BounceKeys::rotate(const std::string& path, std::int64_t now) {
  auto keys = read_keys(path);
  if (!keys) return unexpected(keys.error());
  auto key = new_key(*keys, now);
  if (!key) return unexpected(key.error());
  keys->push_back(*key);
  sort_newest_first(*keys);
  if (auto written = write_keys(path, *keys); !written) return unexpected(written.error());
  return key;
}

BounceKeys BounceKeys::from_keys_for_test(std::vector<BounceKey> keys) {
  return BounceKeys(std::move(keys));
}

std::string BounceKeys::tag(const BounceKey& key, std::string_view data) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_size);
  std::string out;
  out.reserve(tag_chars);
  out += hex_digits[key.id >> 4];
  out += hex_digits[key.id & 15];
  out += to_hex_bytes(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_bytes));
  return out;
}

bool BounceKeys::valid(std::string_view data, std::string_view tag_text) const {
  if (tag_text.size() != tag_chars) return false;
  const int high = hex_value(tag_text[0]);
  const int low = hex_value(tag_text[1]);
  if (high < 0 || low < 0) return false;
  const auto id = static_cast<std::uint8_t>(high * 16 + low);
  const auto key =
      std::find_if(keys_.begin(), keys_.end(), [&](const BounceKey& k) { return k.id == id; });
  if (key == keys_.end()) return false;
  const std::string want = tag(*key, data);
  const std::string got = ascii_lowercase(tag_text);
  return CRYPTO_memcmp(want.data(), got.data(), tag_chars) == 0;
}

std::string BounceKeys::verp_tag(MessageId id, std::string_view recipient) const {
  return tag(keys_.front(), verp_data(id, recipient));
}

bool BounceKeys::verp_tag_valid(MessageId id, std::string_view recipient,
                                std::string_view tag_text) const {
  return valid(verp_data(id, recipient), tag_text);
}

std::string BounceKeys::reference(MessageId id) const {
  return to_hex(id) + "." + tag(keys_.front(), reference_data(id));
}

std::optional<MessageId> BounceKeys::reference_valid(std::string_view value) const {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                            value.back() == '\n')) {
    value.remove_suffix(1);
  }
  constexpr std::size_t id_digits = 16;
  if (value.size() != id_digits + 1 + tag_chars || value[id_digits] != '.') return std::nullopt;
  std::uint64_t id = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + id_digits, id, 16);
  if (error != std::errc() || end != value.data() + id_digits) return std::nullopt;
  if (!valid(reference_data(MessageId(id)), value.substr(id_digits + 1))) return std::nullopt;
  return MessageId(id);
}

}  // namespace mta::queue
