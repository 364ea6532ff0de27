// Test support: a real unbound on 127.0.0.1:<free port>, started as a child process with the
// test's zone and its query log, ended by PID. For the integration tests of dns/ and of the
// code that drives it (delivery/dns_poller); never linked into the daemon.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace mta::dns::testing {

inline std::uint16_t free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline std::string find_unbound() {
  for (const char* dir : {"/usr/sbin", "/usr/local/sbin", "/sbin"}) {
    const std::string path = std::string(dir) + "/unbound";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

// One unbound for the whole binary: started in SetUpTestSuite, ended by PID.
class Unbound {
 public:
  Unbound() = default;
  Unbound(const Unbound&) = delete;
  Unbound& operator=(const Unbound&) = delete;
  ~Unbound() { stop(); }

  // `zone` is unbound `server:` clause lines (local-zone, local-data).
  bool start(const std::string& zone) {
    char dir_template[] = "/tmp/outpost_dns_test_XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) return false;
    dir_ = dir_template;
    port_ = free_udp_port();
    log_ = dir_ + "/unbound.log";
    const std::string conf = dir_ + "/unbound.conf";
    std::ofstream(conf) << "server:\n"
                        << "  interface: 127.0.0.1\n  port: " << port_ << "\n"
                        << "  do-ip6: no\n  do-tcp: yes\n  num-threads: 1\n"
                        << "  username: \"\"\n  chroot: \"\"\n  directory: \"" << dir_ << "\"\n"
                        << "  pidfile: \"\"\n  use-syslog: no\n  logfile: \"" << log_ << "\"\n"
                        << "  verbosity: 1\n  log-queries: yes\n"
                        << "  module-config: \"iterator\"\n  access-control: 127.0.0.0/8 allow\n"
                        << zone << "remote-control:\n  control-enable: no\n";
    const std::string unbound = find_unbound();
    if (unbound.empty()) return false;
    std::vector<std::string> args = {unbound, "-d", "-c", conf};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, unbound.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      return false;
    }
    // Ready once its log says so (verbosity 1 prints "start of service").
    for (int i = 0; i < 100; ++i) {
      if (log_text().find("start of service") != std::string::npos) return true;
      ::usleep(50'000);
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = 0;
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    dir_.clear();
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Queries the server logged for `name` and `type` ("MX", "A", "AAAA").
  std::size_t query_count(const std::string& name, const std::string& type) const {
    const std::string needle = " " + name + ". " + type + " IN";
    const std::string text = log_text();
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++count;
    }
    return count;
  }

 private:
  std::string dir_;
  std::string log_;
  std::uint16_t port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace mta::dns::testing
