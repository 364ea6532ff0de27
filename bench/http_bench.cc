// Benchmarks of the HTTP/1.1 and JSON cores without I/O: parsing a typical curl POST with a
// 4 KiB JSON body, parsing a 1 MiB JSON array of 10,000 objects (an injection batch), and
// writing 10,000 such objects with JsonWriter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "proto/http/json.h"
#include "proto/http/request_parser.h"

namespace {

// One recipient object of about 100 bytes, as an injection batch would carry it.
void write_recipient(mta::http::JsonWriter& writer, int i) {
  writer.begin_object();
  writer.key("to");
  writer.value("recipient-" + std::to_string(i) + "@example.net");
  writer.key("id");
  writer.value(1'000'000 + i);
  writer.key("name");
  writer.value("Recipient Name \xc3\xa9");
  writer.key("score");
  writer.value(0.5 + i);
  writer.key("vip");
  writer.value(i % 7 == 0);
  writer.end_object();
}

std::string json_of_size(std::size_t bytes) {
  mta::http::JsonWriter writer;
  writer.begin_object();
  writer.key("from");
  writer.value("news@sender.example");
  writer.key("recipients");
  writer.begin_array();
  for (int i = 0; writer.str().size() < bytes - 120; ++i) write_recipient(writer, i);
  writer.end_array();
  writer.end_object();
  return writer.take();
}

std::string batch_of(int objects) {
  mta::http::JsonWriter writer;
  writer.begin_array();
  for (int i = 0; i < objects; ++i) write_recipient(writer, i);
  writer.end_array();
  return writer.take();
}

void BM_ParseCurlPost4KiB(benchmark::State& state) {
  const std::string body = json_of_size(4096);
  const std::string request =
      "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:8025\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\nAuthorization: Bearer 0123456789abcdef0123456789abcdef\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n" + body;
  mta::http::RequestParser parser;
  for (auto _ : state) {
    mta::Result<mta::http::ParseEvent> event = parser.feed(request);
    benchmark::DoNotOptimize(event);
    benchmark::DoNotOptimize(parser.request().body.data());
    if (!event || *event != mta::http::ParseEvent::complete) state.SkipWithError("no request");
    (void)parser.next();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseCurlPost4KiB);

void BM_ParseJson4KiB(benchmark::State& state) {
  const std::string text = json_of_size(4096);
  for (auto _ : state) {
    mta::Result<mta::http::JsonValue> json = mta::http::parse_json(text);
    benchmark::DoNotOptimize(json);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseJson4KiB);

void BM_ParseJsonBatch10k(benchmark::State& state) {
  const std::string text = batch_of(10'000);
  for (auto _ : state) {
    mta::Result<mta::http::JsonValue> json = mta::http::parse_json(text);
    benchmark::DoNotOptimize(json);
    if (!json || json->as_array().size() != 10'000) state.SkipWithError("bad batch");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 10'000));
  state.counters["text_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ParseJsonBatch10k)->Unit(benchmark::kMillisecond);

void BM_WriteJson10k(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = batch_of(10'000);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 10'000));
}
BENCHMARK(BM_WriteJson10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
