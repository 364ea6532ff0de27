// Benchmarks of the HTTP API's per-message work: compose() of a 4 KiB text + html message
// (ASCII and UTF-8 bodies, so both 7bit and quoted-printable paths), and Template::render of
// a typical personalized body.
#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <string_view>

#include "proto/mime/compose.h"
#include "proto/mime/template.h"

namespace {

mta::mime::Composition message(bool utf8) {
  mta::mime::Composition c;
  c.from = "Ann Example <ann@example.com>";
  c.to = {"Bob <bob@example.net>"};
  c.subject = utf8 ? "Ihre Bestellung \xc3\xbc"
                     "ber 42 \xe2\x82\xac"
                   : "Your order of 42 EUR";
  c.message_id = "<bench-1@outpost.example>";
  c.boundary_seed = "bench";
  std::string line = utf8 ? "Gr\xc3\xbc\xc3\x9f"
                            "e, this is a line of body text for the bench.\n"
                          : "Hello, this is a line of body text for the benchmark run.\n";
  while (c.text.size() < 2048) c.text += line;
  while (c.html.size() < 2048) c.html.append("<p>").append(line).append("</p>");
  return c;
}

void BM_compose_4k_text_html(benchmark::State& state) {
  mta::mime::Composition c = message(state.range(0) != 0);
  for (auto _ : state) {
    auto out = mta::mime::compose(c);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(c.text.size() + c.html.size()));
}
BENCHMARK(BM_compose_4k_text_html)->Arg(0)->Arg(1)->ArgName("utf8");

void BM_template_render(benchmark::State& state) {
  std::string text = "Hello {{ first_name }},\n\n";
  for (int i = 0; i < 20; ++i) {
    text += "Your order {{order.id}} ships on {{ship_date}}; this line is filler text.\n";
  }
  text += "Regards, {{sender|the shop}}\n";  // no value: the default
  auto t = mta::mime::Template::parse(text);
  if (!t) {
    state.SkipWithError("parse failed");
    return;
  }
  auto lookup = [](std::string_view name) -> std::optional<std::string_view> {
    if (name == "first_name") return "Ann";
    if (name == "order.id") return "A-1234567";
    if (name == "ship_date") return "2026-11-23";
    return std::nullopt;
  };
  for (auto _ : state) {
    auto out = t->render(lookup);
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(std::to_string(text.size()) + " template bytes");
}
BENCHMARK(BM_template_render);

}  // namespace

BENCHMARK_MAIN();
