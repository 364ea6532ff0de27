// The bounce mailbox's pure costs: parse_bounce (MIME tree, DSN fields, VERP, rules) on a
// Postfix DSN, an Exim prose bounce and an ARF complaint from the corpus; classification
// alone; and the mail store's append (synced and not) and read on a real RocksDB.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "mailbox/bounce.h"
#include "mailbox/store.h"

namespace {

std::string sample(const std::string& name) {
  std::ifstream in(std::string(BOUNCE_TESTDATA_DIR) + "/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string crlf;
  for (char c : text.str()) {
    if (c == '\n' && (crlf.empty() || crlf.back() != '\r')) crlf += '\r';
    crlf += c;
  }
  return crlf;
}

void parse(benchmark::State& state, const std::string& name, const std::string& rcpt) {
  const std::string message = sample(name);
  const mta::mailbox::BounceContext context{.bounce_domain = "bounces.outpost.example",
                                            .envelope_recipients = {rcpt}};
  const auto& rules = mta::mailbox::Rules::default_rules();
  for (auto _ : state) {
    auto report = mta::mailbox::parse_bounce(message, context, rules);
    benchmark::DoNotOptimize(report);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.size()));
}

void BM_ParseBouncePostfixDsn(benchmark::State& state) {
  parse(state, "postfix_dsn_user_unknown.eml",
        "bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example");
}
BENCHMARK(BM_ParseBouncePostfixDsn);

void BM_ParseBounceExim(benchmark::State& state) {
  parse(state, "exim_user_unknown.eml",
        "bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example");
}
BENCHMARK(BM_ParseBounceExim);

void BM_ParseBounceArf(benchmark::State& state) {
  parse(state, "arf_yahoo.eml", "fbl@bounces.outpost.example");
}
BENCHMARK(BM_ParseBounceArf);

void BM_Classify(benchmark::State& state) {
  const auto& rules = mta::mailbox::Rules::default_rules();
  for (auto _ : state) {
    auto verdict = rules.classify(
        "5.7.1", "550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using Spamhaus");
    benchmark::DoNotOptimize(verdict);
  }
}
BENCHMARK(BM_Classify);

// A store in a fresh temporary directory, removed at the end.
class TempStore {
 public:
  explicit TempStore(bool sync) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "outpost-mailbox-bench-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    store_ = mta::mailbox::MailStore::open(dir_ + "/mailbox", {.sync = sync}).value();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  mta::mailbox::MailStore& operator*() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<mta::mailbox::MailStore> store_;
};

void BM_StoreAppend(benchmark::State& state) {
  TempStore store(state.range(0) != 0);
  const std::string message = sample("postfix_dsn_user_unknown.eml");
  for (auto _ : state) {
    auto uid = (*store).append("INBOX", message, 0, {}, 1'700'000'000);
    benchmark::DoNotOptimize(uid);
  }
}
BENCHMARK(BM_StoreAppend)->Arg(0)->Arg(1)->ArgNames({"sync"});

void BM_StoreRead(benchmark::State& state) {
  TempStore store(false);
  const std::string message = sample("postfix_dsn_user_unknown.eml");
  for (int i = 0; i < 1000; ++i) (void)(*store).append("INBOX", message, 0, {}, 1'700'000'000);
  std::uint32_t uid = 0;
  for (auto _ : state) {
    auto body = (*store).read("INBOX", uid % 1000 + 1);
    benchmark::DoNotOptimize(body);
    ++uid;
  }
}
BENCHMARK(BM_StoreRead);

}  // namespace

BENCHMARK_MAIN();
