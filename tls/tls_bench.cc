// TLS costs that decide delivery throughput: a full and a resumed handshake (EC P-256 and
// RSA-2048 server keys) between two in-memory Sessions and over a socketpair, and the
// encryption of 16 KiB records. Certificates are generated into a temporary directory.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tls/certificate.h"
#include "tls/context.h"
#include "tls/session.h"

namespace mta::tls {
namespace {

constexpr char kHost[] = "mx.bench.test";

struct Setup {
  std::string dir;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ClientContext> client;

  explicit Setup(KeyType key_type) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "outpost-tls-bench-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
    auto ca = make_certificate(CertificateSpec{"Bench CA", {}, true}, KeyType::ec_p256);
    auto leaf = make_certificate(CertificateSpec{kHost, {kHost}, false}, key_type, &*ca);
    MTA_ASSERT(ca.has_value() && leaf.has_value());
    MTA_ASSERT(write_file_atomically(dir + "/ca.pem", ca->certificate, 0600).has_value());
    MTA_ASSERT(write_file_atomically(dir + "/leaf.pem", leaf->certificate, 0600).has_value());
    MTA_ASSERT(write_file_atomically(dir + "/leaf.key", leaf->private_key, 0600).has_value());
    server = ServerContext::load(dir + "/leaf.pem", dir + "/leaf.key").value();
    client = ClientContext::create(ClientOptions{Verify::chain_and_name, dir + "/ca.pem"}).value();
  }
  ~Setup() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// In memory: hand each side's output straight to the other.
void pump(Session& client, Session& server, Buffer& client_plain, Buffer& server_plain) {
  for (;;) {
    Buffer to_server, to_client;
    client.take_output(to_server);
    server.take_output(to_client);
    if (to_server.empty() && to_client.empty()) return;
    if (!to_server.empty()) {
      (void)server.feed(to_server.readable());
      (void)server.read(server_plain);
    }
    if (!to_client.empty()) {
      (void)client.feed(to_client.readable());
      (void)client.read(client_plain);
    }
  }
}

// Over a socketpair, one thread: the same exchange, through the kernel.
void pump_socketpair(Session& client, Session& server, Buffer& client_plain, Buffer& server_plain,
                     const int fds[2]) {
  char chunk[16 * 1024];
  auto move = [&](Session& from, int out_fd, int in_fd, Session& to, Buffer& plain) {
    Buffer wire;
    from.take_output(wire);
    if (wire.empty()) return false;
    const ssize_t written = ::write(out_fd, wire.readable().data(), wire.size());
    MTA_ASSERT(written == static_cast<ssize_t>(wire.size()));
    for (;;) {
      const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
      if (n <= 0) break;
      (void)to.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
    (void)to.read(plain);
    return true;
  };
  for (;;) {
    const bool a = move(client, fds[0], fds[1], server, server_plain);
    const bool b = move(server, fds[1], fds[0], client, client_plain);
    if (!a && !b) return;
  }
}

Setup& setup(KeyType key_type) {
  static Setup ec(KeyType::ec_p256);
  static Setup rsa(KeyType::rsa_2048);
  return key_type == KeyType::ec_p256 ? ec : rsa;
}

// range(0): 0 = EC P-256, 1 = RSA-2048. range(1): 0 = full, 1 = resumed.
// range(2): 0 = in memory, 1 = socketpair.
void BM_Handshake(benchmark::State& state) {
  const KeyType key_type = state.range(0) == 0 ? KeyType::ec_p256 : KeyType::rsa_2048;
  const bool resumed = state.range(1) == 1;
  const bool socketpair = state.range(2) == 1;
  Setup& s = setup(key_type);
  int fds[2] = {-1, -1};
  if (socketpair) {
    MTA_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
  }
  const std::string key = resumed ? "resume" : "";
  if (resumed) {  // one full handshake fills the cache
    auto client = Session::client(*s.client, kHost, key);
    auto server = Session::server(*s.server);
    Buffer client_plain, server_plain;
    pump(*client, *server, client_plain, server_plain);
  }
  std::size_t resumed_count = 0;
  for (auto _ : state) {
    auto client = Session::client(*s.client, kHost, key);
    auto server = Session::server(*s.server);
    Buffer client_plain, server_plain;
    if (socketpair) {
      pump_socketpair(*client, *server, client_plain, server_plain, fds);
    } else {
      pump(*client, *server, client_plain, server_plain);
    }
    if (!client->handshake_done() || client->failed()) state.SkipWithError("handshake failed");
    resumed_count += client->info().resumed ? 1 : 0;
  }
  state.counters["resumed"] = benchmark::Counter(static_cast<double>(resumed_count) /
                                                 static_cast<double>(state.iterations()));
  if (socketpair) {
    ::close(fds[0]);
    ::close(fds[1]);
  }
}
BENCHMARK(BM_Handshake)
    ->ArgNames({"rsa", "resumed", "socketpair"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// Encrypting (range(0) = 0) or encrypting and decrypting (1) 16 KiB writes, one record each.
void BM_Records16k(benchmark::State& state) {
  Setup& s = setup(KeyType::ec_p256);
  auto client = Session::client(*s.client, kHost, "");
  auto server = Session::server(*s.server);
  Buffer client_plain, server_plain, wire;
  pump(*client, *server, client_plain, server_plain);
  const std::string record(16 * 1024, 'x');
  const bool decrypt = state.range(0) == 1;
  for (auto _ : state) {
    (void)client->write(record);
    client->take_output(wire);
    if (decrypt) {
      (void)server->feed(wire.readable());
      (void)server->read(server_plain);
      server_plain.clear();
    }
    wire.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * record.size()));
  state.SetLabel(client->info().cipher);
}
BENCHMARK(BM_Records16k)->ArgName("decrypt")->Arg(0)->Arg(1);

}  // namespace
}  // namespace mta::tls

BENCHMARK_MAIN();
