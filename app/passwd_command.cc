// `outpost passwd`: a password -> its yescrypt hash for [[submission.user]] password_hash;
// `--api-key`: a new random HTTP API key and the digest [[http.api_key]] keeps.
// On a terminal the password is read twice with echo off (termios) and a mismatch is refused;
// from a pipe or a file it is one line, read as it always was, so scripts keep working.
#include "app/passwd_command.h"

#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "injection/access.h"
#include "injection/api.h"

namespace mta::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;
// A longer line is refused rather than cut: a password silently shortened would not match.
constexpr std::size_t password_bytes_max = 1024;

constexpr std::string_view passwd_usage = R"(Usage: outpost passwd
       outpost passwd < password-file
       outpost passwd --api-key

Prints the yescrypt hash of a password, for [[submission.user]] password_hash in the
configuration. On a terminal it asks twice without echoing and refuses two answers that
differ; otherwise it reads one line of standard input (without its line end).
With --api-key, makes a new HTTP API key and prints it with its key_sha256 for
[[http.api_key]].
)";

int api_key() {
  std::array<unsigned char, 24> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    std::fputs("outpost passwd: no random bytes\n", stderr);
    return exit_failed;
  }
  std::string key = "op_";
  for (unsigned char byte : random) {
    static constexpr char hex[] = "0123456789abcdef";
    key += hex[byte >> 4];
    key += hex[byte & 15];
  }
  std::printf("key = \"%s\"         # give this to the client; it is not stored\n", key.c_str());
  std::printf("key_sha256 = \"%s\"  # for [[http.api_key]]\n",
              injection::api_key_digest_hex(key).c_str());
  return exit_ok;
}

// One line of `fd` up to "\n" or the end of input, without its "\n" or "\r\n"; nullopt when
// it is longer than password_bytes_max. Read a byte at a time so nothing after the line is
// taken from a shared pipe.
std::optional<std::string> read_line(int fd) {
  std::string line;
  char c = 0;
  while (true) {
    const ssize_t got = ::read(fd, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || c == '\n') break;
    if (line.size() == password_bytes_max) return std::nullopt;
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void wipe(std::string& secret) {
  ::explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

// The terminal's settings before echo was turned off, restored by a signal that ends the
// process in the middle of a prompt, so Ctrl-C never leaves the operator's shell without echo.
termios saved_terminal{};

void restore_terminal_and_die(int signal) {
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

// Echo off (ECHONL still ends the line the operator typed) from construction to destruction.
class EchoOff {
 public:
  EchoOff() {
    ok_ = ::tcgetattr(STDIN_FILENO, &saved_terminal) == 0;
    if (!ok_) return;
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) {
      ::signal(signal, restore_terminal_and_die);
    }
    termios quiet = saved_terminal;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ok_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) ::signal(signal, SIG_DFL);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

std::optional<std::string> prompt(std::string_view question) {
  std::fwrite(question.data(), 1, question.size(), stderr);
  std::fflush(stderr);
  return read_line(STDIN_FILENO);
}

// The password typed twice on the terminal, or nullopt after saying why on stderr.
std::optional<std::string> password_from_terminal() {
  const EchoOff echo_off;
  if (!echo_off.ok()) {
    std::fprintf(stderr, "outpost passwd: cannot turn the terminal's echo off: %s\n",
                 std::strerror(errno));
    return std::nullopt;
  }
  std::optional<std::string> first = prompt("Password: ");
  if (!first) {
    std::fprintf(stderr, "outpost passwd: a password longer than %zu bytes\n", password_bytes_max);
    return std::nullopt;
  }
  if (first->empty()) return first;
  std::optional<std::string> again = prompt("Again: ");
  const bool same = again && *again == *first;
  if (again) wipe(*again);
  if (!same) {
    wipe(*first);
    std::fputs("outpost passwd: the two passwords differ; nothing was printed\n", stderr);
    return std::nullopt;
  }
  return first;
}

}  // namespace

int passwd_command(std::span<const std::string_view> args) {
  if (args.size() == 1 && args[0] == "--api-key") return api_key();
  if (!args.empty()) {
    const bool help = args[0] == "--help" || args[0] == "-h";
    std::fputs(passwd_usage.data(), help ? stdout : stderr);
    return help ? exit_ok : exit_usage;
  }
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  std::optional<std::string> password =
      terminal ? password_from_terminal() : read_line(STDIN_FILENO);
  if (!password) {
    if (!terminal) {
      std::fprintf(stderr, "outpost passwd: a password longer than %zu bytes\n",
                   password_bytes_max);
    }
    return exit_failed;  // the terminal's reading said why
  }
  if (password->empty()) {
    std::fputs("outpost passwd: empty password\n", stderr);
    return exit_failed;
  }
  auto hash = injection::hash_password(*password);
  wipe(*password);
  if (!hash) {
    std::fprintf(stderr, "outpost passwd: %s\n", hash.error().message().c_str());
    return exit_failed;
  }
  std::printf("%s\n", hash->c_str());
  return exit_ok;
}

}  // namespace mta::app
