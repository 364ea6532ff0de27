// Pipes rendered bodies through Prometheus's own checker, `promtool check metrics` (Debian
// package prometheus): the parser and linter of the server that will scrape us. Skipped when
// promtool is not installed.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "metrics/exposition.h"
#include "metrics/process.h"

namespace mta::metrics {
namespace {

struct Checked {
  int exit_code = -1;
  std::string output;
};

// Runs promtool check metrics on body; exit code 0 means no parse error and no lint problem.
Checked promtool_check(const std::string& body) {
  char path[] = "/tmp/metrics_promtool_XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  ::close(fd);
  Checked checked;
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (pipe == nullptr) return checked;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) checked.output += buffer;
  const int status = ::pclose(pipe);
  ::unlink(path);
  checked.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return checked;
}

class Promtool : public testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
    }
  }
};

TEST_F(Promtool, AcceptsARealisticScrape) {
  Catalog catalog;
  const auto injected =
      catalog.add_counter({"outpost_messages_injected_total", "Messages accepted.", {"listener"}})
          .value();
  const auto bytes =
      catalog.add_counter({"outpost_injected_bytes_total", "Message bytes accepted.", {}}).value();
  const auto depth =
      catalog.add_gauge({"outpost_queue_messages", "Messages in the queue.", {}}).value();
  const auto lag =
      catalog.add_gauge({"outpost_loop_lag_seconds", "Worst event loop lag.", {}}, GaugeMerge::max)
          .value();
  const auto latency = catalog
                           .add_histogram({"outpost_delivery_seconds",
                                           "Time from injection to delivery.\nSecond line \\.",
                                           {"result"}},
                                          exponential_buckets(0.005, 2, 12))
                           .value();
  const auto sent = catalog
                        .add_bounded_counter({"outpost_deliveries_total",
                                              "Delivery attempts by outcome and destination.",
                                              {"result"}},
                                             {.name = "destination", .values_max = 3})
                        .value();
  Registry shard0(catalog), shard1(catalog);
  Registry* shards[] = {&shard0, &shard1};
  for (int i = 0; i < 2; ++i) {
    Registry& shard = *shards[i];
    shard.counter(injected, {"smtp"}).add(100 + i);
    shard.counter(injected, {"http \"api\"\n"}).add(7);
    shard.counter(bytes).add(123456789);
    shard.gauge_callback(depth, {}, [] { return 42.0; });
    shard.gauge(lag).set(0.001 * (i + 1));
    for (double v : {0.001, 0.02, 0.3, 4.0, 1e6})
      shard.histogram(latency, {"delivered"}).observe(v);
    shard.histogram(latency, {"deferred"});
    for (const char* d : {"gmail.com", "outlook.com", "b\303\274cher.de", "web.de", "x\"y"}) {
      shard.bounded_counter(sent, {"delivered"}).inc(d);
    }
  }
  const Registry* readers[] = {&shard0, &shard1};
  std::string body = render(catalog, readers);
  ASSERT_TRUE(append_process_metrics(body).has_value());
  const Checked checked = promtool_check(body);
  EXPECT_EQ(checked.exit_code, 0) << checked.output << "\n--- body:\n" << body;
  EXPECT_EQ(checked.output, "");
}

TEST_F(Promtool, CatchesWhatOurCatalogForbids) {
  // The harness must see promtool's complaints, or the test above proves nothing.
  const Checked lint = promtool_check("# HELP foo Foo.\n# TYPE foo counter\nfoo 1\n");
  EXPECT_NE(lint.exit_code, 0);
  EXPECT_NE(lint.output.find("_total"), std::string::npos) << lint.output;
  const Checked broken = promtool_check("foo{a=\"b} 1\n");
  EXPECT_NE(broken.exit_code, 0);
}

}  // namespace
}  // namespace mta::metrics
