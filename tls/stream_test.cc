// Stream on a real shard over loopback TCP: a line server (plaintext, STARTTLS or implicit
// TLS) against a Stream client or a blocking socket on the test thread that speaks TLS
// through a Session. Covers the upgrade in both directions, the discarding of plaintext
// injected before the handshake (both directions), implicit TLS with resumption, handshake
// timeout, verification failure, close_notify, peer reset and a corrupt record.
#include "tls/stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/listener.h"
#include "engine/runtime.h"
#include "engine/test_support.h"
#include "tls/errc.h"
#include "tls/test_certs.h"

namespace mta::tls {
namespace {

using namespace std::chrono_literals;
using engine::Shard;
using engine::testing::blocking_connect;
using engine::testing::loopback;
using engine::testing::Signal;
using engine::testing::test_options;

// Takes one complete CRLF line off `input`, the way a protocol handler consumes only what
// it has processed (so what follows a STARTTLS stays in the input).
std::optional<std::string> next_line(Buffer& input) {
  const std::string_view text = input.readable();
  const std::size_t end = text.find("\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  std::string line(text.substr(0, end));
  input.consume(end + 2);
  return line;
}

// What one side saw; written on the shard thread, read after Runtime::wait().
struct Record {
  std::vector<std::string> lines;
  std::vector<std::string> tls_ready;  // "ok" or the error code's message
  int closed = 1;
  std::size_t discarded = 0;
  std::optional<Error> last_error;
  std::optional<Info> info;
};

// Server: greets "220 hi" (plaintext mode), answers STARTTLS with "220 go" and upgrades,
// QUIT with "221 bye" and a close, anything else with "echo: <line>".
class LineServer {
 public:
  class Session : public StreamHandler {
   public:
    Session(LineServer& server, Shard& shard, int fd) : server_(server), stream_(*this) {
      stream_.adopt(shard, fd);
      if (server_.implicit_tls) {
        EXPECT_TRUE(stream_.start_tls_server(*server_.context, 5s).has_value());
      } else {
        stream_.write("220 hi\r\n");
      }
    }
    void on_data(Buffer& input) override {
      while (auto next = next_line(input)) {
        const std::string& line = *next;
        server_.record.lines.push_back(line);
        if (line == "STARTTLS") {
          stream_.write("220 go\r\n");
          EXPECT_TRUE(stream_.start_tls_server(*server_.context, 5s).has_value());
          return;  // the rest of the input is the stream's to discard
        }
        if (line == "QUIT") {
          stream_.write("221 bye\r\n");
          stream_.close();
          return;
        }
        stream_.write("echo: " + line + "\r\n");
      }
    }
    void on_tls_ready(const Result<void>& result) override {
      server_.record.tls_ready.push_back(result ? "ok" : result.error().code.message());
      if (result) server_.record.info = *stream_.tls_info();
    }
    void on_closed(int error) override {
      server_.record.closed = error;
      server_.record.discarded = stream_.discarded_plaintext();
      server_.record.last_error = stream_.last_error();
      server_.closed.notify();
      server_.shard_->defer([this, &server = server_] { server.sessions_.erase(this); });
    }

   private:
    LineServer& server_;
    Stream stream_;
  };

  void listen(Shard& shard, int fd) {
    shard_ = &shard;
    shard.listen(fd, [this](int accepted, const engine::SocketAddress&) {
      auto session = std::make_unique<Session>(*this, *shard_, accepted);
      Session* key = session.get();
      sessions_.emplace(key, std::move(session));
    });
  }

  ServerContext* context = nullptr;
  bool implicit_tls = false;
  Record record;
  Signal closed;

 private:
  Shard* shard_ = nullptr;
  std::map<Session*, std::unique_ptr<Session>> sessions_;
};

// Client: waits for "220 hi", sends STARTTLS, upgrades on "220 go" (or at once with implicit
// TLS), then sends HELLO and QUIT and expects the server to close.
class LineClient : public StreamHandler {
 public:
  LineClient(ClientContext& context, std::string sni, bool implicit_tls)
      : context_(context), sni_(std::move(sni)), implicit_tls_(implicit_tls), stream_(*this) {}

  void start(Shard& shard, std::uint16_t port, Clock::Duration handshake_timeout = 5s) {
    timeout_ = handshake_timeout;
    stream_.connect(shard, loopback(port), 5s);
    if (implicit_tls_) {
      EXPECT_TRUE(stream_.start_tls_client(context_, sni_, "cache-key", timeout_).has_value());
      stream_.write("HELLO\r\n");  // held until the handshake is done
    }
  }
  void on_data(Buffer& input) override {
    while (auto next = next_line(input)) {
      const std::string& line = *next;
      record.lines.push_back(line);
      if (line == "220 hi") stream_.write("STARTTLS\r\n");
      if (line == "220 go") {
        EXPECT_TRUE(stream_.start_tls_client(context_, sni_, "cache-key", timeout_).has_value());
        return;
      }
      if (line == "echo: HELLO") stream_.write("QUIT\r\n");
    }
  }
  void on_tls_ready(const Result<void>& result) override {
    record.tls_ready.push_back(result ? "ok" : result.error().code.message());
    if (!result) return;
    record.info = *stream_.tls_info();
    if (!implicit_tls_) stream_.write("HELLO\r\n");
  }
  void on_closed(int error) override {
    record.closed = error;
    record.discarded = stream_.discarded_plaintext();
    record.last_error = stream_.last_error();
    done.notify();
  }

  Record record;
  Signal done;

 private:
  ClientContext& context_;
  std::string sni_;
  bool implicit_tls_;
  Clock::Duration timeout_{};
  Stream stream_;
};

struct Fixture {
  const testing::Pki& p = testing::pki();
  std::unique_ptr<ServerContext> server_ctx = testing::server_context(p.cert_file, p.key_file);
  std::unique_ptr<ClientContext> client_ctx =
      testing::client_context(Verify::chain_and_name, p.ca_file);
  int listen_fd = -1;
  std::uint16_t port = 0;
  Fixture() {
    auto fd = engine::open_listen_socket(loopback(0));
    EXPECT_TRUE(fd.has_value());
    listen_fd = *fd;
    port = engine::local_address(listen_fd)->port();
  }
};

TEST(Stream, StartTlsUpgradeBetweenTwoStreams) {
  struct Case {
    const char* name;
    bool implicit_tls;
    std::string sni;
    std::vector<std::string> want_client_lines;
    std::vector<std::string> want_server_lines;
    std::string want_client_ready;
    int want_client_closed;
  };
  const std::vector<Case> cases = {
      {"STARTTLS",
       false,
       testing::kServerHost,
       {"220 hi", "220 go", "echo: HELLO", "221 bye"},
       {"STARTTLS", "HELLO", "QUIT"},
       "ok",
       0},
      {"implicit TLS",
       true,
       testing::kServerHost,
       {"echo: HELLO", "221 bye"},
       {"HELLO", "QUIT"},
       "ok",
       0},
      {"name mismatch",
       false,
       "wrong.example.test",
       {"220 hi", "220 go"},
       {"STARTTLS"},
       "TLS peer certificate rejected",
       -EPROTO},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    LineServer server;
    server.context = f.server_ctx.get();
    server.implicit_tls = c.implicit_tls;
    LineClient client(*f.client_ctx, c.sni, c.implicit_tls);
    engine::Runtime runtime(test_options(1));
    ASSERT_TRUE(runtime
                    .start([&](Shard& shard) {
                      server.listen(shard, f.listen_fd);
                      client.start(shard, f.port);
                    })
                    .has_value());
    ASSERT_TRUE(client.done.wait());
    ASSERT_TRUE(server.closed.wait());
    runtime.request_stop();
    runtime.wait();
    EXPECT_EQ(client.record.lines, c.want_client_lines);
    EXPECT_EQ(server.record.lines, c.want_server_lines);
    EXPECT_EQ(client.record.tls_ready, std::vector<std::string>{c.want_client_ready});
    EXPECT_EQ(client.record.closed, c.want_client_closed);
    EXPECT_EQ(client.record.discarded, 0u);
    EXPECT_EQ(server.record.discarded, 0u);
    if (c.want_client_closed == 0) {
      ASSERT_TRUE(client.record.info.has_value());
      EXPECT_EQ(client.record.info->protocol, "TLSv1.3");
      EXPECT_TRUE(client.record.info->verified);
      ASSERT_TRUE(server.record.info.has_value());
      EXPECT_EQ(server.record.info->protocol, "TLSv1.3");
      EXPECT_EQ(server.record.closed, 0);  // our close_notify, then the linger saw EOF
    } else {
      ASSERT_TRUE(client.record.last_error.has_value());
      EXPECT_EQ(client.record.last_error->code, make_error_code(Errc::host_name_mismatch));
      EXPECT_EQ(client.record.last_error->detail, "host name mismatch");
      EXPECT_NE(server.record.closed, 0);
    }
  }
}

TEST(Stream, SecondImplicitTlsConnectionResumes) {
  Fixture f;
  LineServer server;
  server.context = f.server_ctx.get();
  server.implicit_tls = true;
  LineClient first(*f.client_ctx, testing::kServerHost, true);
  LineClient second(*f.client_ctx, testing::kServerHost, true);
  engine::Runtime runtime(test_options(1));
  Shard* shard_ptr = nullptr;
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    shard_ptr = &shard;
                    server.listen(shard, f.listen_fd);
                    first.start(shard, f.port);
                  })
                  .has_value());
  ASSERT_TRUE(first.done.wait());
  ASSERT_TRUE(
      runtime.post_from_outside(ShardId(0), [&](Shard& shard) { second.start(shard, f.port); }));
  ASSERT_TRUE(second.done.wait());
  runtime.request_stop();
  runtime.wait();
  ASSERT_TRUE(first.record.info && second.record.info);
  EXPECT_FALSE(first.record.info->resumed);
  EXPECT_TRUE(second.record.info->resumed);
  EXPECT_EQ(second.record.lines, (std::vector<std::string>{"echo: HELLO", "221 bye"}));
}

// The test thread's side of a TLS conversation over a blocking socket.
class BlockingTls {
 public:
  BlockingTls(int fd, Result<Session> session) : fd_(fd), session_(std::move(*session)) {}

  bool send_output() {
    Buffer out;
    session_.take_output(out);
    const std::string_view bytes = out.readable();
    return bytes.empty() ||
           ::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  // Reads from the socket until `plain` holds `want` (or the peer closed / an error).
  std::string receive(std::size_t want) {
    while (plain_.size() < want && !session_.peer_closed() && !session_.failed()) {
      if (!send_output()) break;
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      (void)session_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
      (void)session_.read(plain_);
      send_output();
    }
    const std::size_t n = std::min(want, plain_.size());
    std::string got(plain_.readable().substr(0, n));
    plain_.consume(n);
    return got;
  }
  bool handshake() {
    while (!session_.handshake_done() && !session_.failed()) {
      if (!send_output()) return false;
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) return false;
      (void)session_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
    (void)session_.read(plain_);
    return send_output() && session_.handshake_done();
  }
  bool send(std::string_view text) { return session_.write(text).has_value() && send_output(); }
  Session& session() { return session_; }

 private:
  int fd_;
  Session session_;
  Buffer plain_;
};

std::string read_exactly(int fd, std::size_t size) {
  std::string out;
  char chunk[256];
  while (out.size() < size) {
    const ssize_t n = ::read(fd, chunk, std::min(sizeof chunk, size - out.size()));
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

TEST(Stream, CommandsInjectedBeforeTheServerHandshakeAreDiscarded) {
  Fixture f;
  LineServer server;
  server.context = f.server_ctx.get();
  engine::Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime.start([&](Shard& shard) { server.listen(shard, f.listen_fd); }).has_value());
  const int fd = blocking_connect(loopback(f.port));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_exactly(fd, 8), "220 hi\r\n");
  const std::string attack = "STARTTLS\r\nINJECTED\r\n";  // one segment, CVE-2011-0411 style
  ASSERT_EQ(::write(fd, attack.data(), attack.size()), static_cast<ssize_t>(attack.size()));
  EXPECT_EQ(read_exactly(fd, 8), "220 go\r\n");
  BlockingTls tls(fd, Session::client(*f.client_ctx, testing::kServerHost, ""));
  ASSERT_TRUE(tls.handshake());
  ASSERT_TRUE(tls.send("HELLO\r\n"));
  EXPECT_EQ(tls.receive(13), "echo: HELLO\r\n");
  ASSERT_TRUE(tls.send("QUIT\r\n"));
  EXPECT_EQ(tls.receive(9), "221 bye\r\n");
  tls.receive(1);                            // until the server's close_notify
  EXPECT_TRUE(tls.session().peer_closed());  // close() sent close_notify
  ::close(fd);
  ASSERT_TRUE(server.closed.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(server.record.lines, (std::vector<std::string>{"STARTTLS", "HELLO", "QUIT"}));
  EXPECT_EQ(server.record.discarded, std::string("INJECTED\r\n").size());
  EXPECT_EQ(server.record.closed, 0);
}

TEST(Stream, RepliesInjectedBeforeTheClientHandshakeAreDiscarded) {
  Fixture f;
  LineClient client(*f.client_ctx, testing::kServerHost, false);
  engine::Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime.start([&](Shard& shard) { client.start(shard, f.port); }).has_value());
  const int fd = ::accept(f.listen_fd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ASSERT_EQ(::write(fd, "220 hi\r\n", 8), 8);
  EXPECT_EQ(read_exactly(fd, 10), "STARTTLS\r\n");
  const std::string attack = "220 go\r\n250 INJECTED\r\n";
  ASSERT_EQ(::write(fd, attack.data(), attack.size()), static_cast<ssize_t>(attack.size()));
  BlockingTls tls(fd, Session::server(*f.server_ctx));
  ASSERT_TRUE(tls.handshake());
  EXPECT_EQ(tls.receive(7), "HELLO\r\n");
  ASSERT_TRUE(tls.send("echo: HELLO\r\n"));
  EXPECT_EQ(tls.receive(6), "QUIT\r\n");
  ASSERT_TRUE(tls.send("221 bye\r\n"));
  tls.session().close_notify();
  tls.send_output();
  engine::testing::read_all(fd);  // the client's close_notify, then its FIN
  ::close(fd);
  ASSERT_TRUE(client.done.wait());
  ::close(f.listen_fd);
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(client.record.lines,
            (std::vector<std::string>{"220 hi", "220 go", "echo: HELLO", "221 bye"}));
  EXPECT_EQ(client.record.discarded, std::string("250 INJECTED\r\n").size());
  EXPECT_EQ(client.record.closed, 0);
}

TEST(Stream, HandshakeTimesOutWhenTheServerNeverAnswers) {
  Fixture f;  // listens, never accepts: the kernel completes the TCP handshake, nobody talks
  LineClient client(*f.client_ctx, testing::kServerHost, true);
  engine::Runtime runtime(test_options(1));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime.start([&](Shard& shard) { client.start(shard, f.port, 150ms); }).has_value());
  ASSERT_TRUE(client.done.wait());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  runtime.request_stop();
  runtime.wait();
  ::close(f.listen_fd);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_EQ(client.record.tls_ready, std::vector<std::string>{"TLS handshake timed out"});
  EXPECT_EQ(client.record.closed, -ETIMEDOUT);
  ASSERT_TRUE(client.record.last_error.has_value());
  EXPECT_EQ(client.record.last_error->code, make_error_code(Errc::handshake_timeout));
}

TEST(Stream, PeerResetAndCorruptRecordEndTheSession) {
  struct Case {
    const char* name;
    bool reset;  // else: a forged application-data record
    int want_closed;
    Errc want_error;  // Errc::ok = none
  };
  const Case cases[] = {{"reset", true, -ECONNRESET, Errc::ok},
                        {"corrupt record", false, -EPROTO, Errc::bad_record}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    LineServer server;
    server.context = f.server_ctx.get();
    server.implicit_tls = true;
    engine::Runtime runtime(test_options(1));
    ASSERT_TRUE(
        runtime.start([&](Shard& shard) { server.listen(shard, f.listen_fd); }).has_value());
    const int fd = blocking_connect(loopback(f.port));
    ASSERT_GE(fd, 0);
    BlockingTls tls(fd, Session::client(*f.client_ctx, testing::kServerHost, ""));
    ASSERT_TRUE(tls.handshake());
    ASSERT_TRUE(tls.send("HELLO\r\n"));
    EXPECT_EQ(tls.receive(13), "echo: HELLO\r\n");
    if (c.reset) {
      linger hard{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    } else {
      const std::string forged("\x17\x03\x03\x00\x20" + std::string(32, 'x'));
      ASSERT_EQ(::write(fd, forged.data(), forged.size()), static_cast<ssize_t>(forged.size()));
      engine::testing::read_all(fd);  // the server's alert, then its EOF
    }
    ::close(fd);
    ASSERT_TRUE(server.closed.wait());
    runtime.request_stop();
    runtime.wait();
    EXPECT_EQ(server.record.closed, c.want_closed);
    if (c.want_error == Errc::ok) {
      EXPECT_FALSE(server.record.last_error.has_value());
    } else {
      ASSERT_TRUE(server.record.last_error.has_value());
      EXPECT_EQ(server.record.last_error->code, make_error_code(c.want_error));
    }
    EXPECT_EQ(server.record.lines, std::vector<std::string>{"HELLO"});
  }
}

}  // namespace
}  // namespace mta::tls
