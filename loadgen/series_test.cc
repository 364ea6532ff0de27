// The per-second CSV round trip and the SVG plot's structure.
#include "loadgen/series.h"

#include <gtest/gtest.h>

#include "loadgen/svg.h"

namespace mta::loadgen {
namespace {

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Series, CsvRoundTrip) {
  const std::vector<SecondSample> samples = {
      {1, 100, 200, 409600, 3, 8}, {2, 28000, 28000, 114688000, 0, 64}, {3, 0, 0, 0, 0, 0}};
  const std::string csv = to_csv(samples);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "second,messages,recipients,bytes,rejected,connections");
  auto back = parse_csv(csv);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  ASSERT_EQ(back->size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ((*back)[i].second, samples[i].second);
    EXPECT_EQ((*back)[i].messages, samples[i].messages);
    EXPECT_EQ((*back)[i].recipients, samples[i].recipients);
    EXPECT_EQ((*back)[i].bytes, samples[i].bytes);
    EXPECT_EQ((*back)[i].rejected, samples[i].rejected);
    EXPECT_EQ((*back)[i].connections, samples[i].connections);
  }
}

TEST(Series, CsvRejectsMalformed) {
  const char* bad[] = {
      "",
      "seconds,messages\n1,2\n",
      "second,messages,recipients,bytes,rejected,connections\n1,2,3\n",
      "second,messages,recipients,bytes,rejected,connections\n1,2,3,4,5,6,7\n",
      "second,messages,recipients,bytes,rejected,connections\n1,2,3,4,5,x\n",
      "second,messages,recipients,bytes,rejected,connections\n1,2,3,4,5,-6\n",
  };
  for (const char* text : bad) {
    EXPECT_FALSE(parse_csv(text).has_value()) << text;
  }
  EXPECT_TRUE(parse_csv("second,messages,recipients,bytes,rejected,connections\r\n").has_value());
}

TEST(Svg, OnePointPerSampleAndEscapedTitle) {
  std::vector<SecondSample> samples;
  for (std::uint64_t s = 1; s <= 20; ++s) samples.push_back({s, s * 1000, s * 2000, 0, 0, 4});
  const std::string svg = render_throughput_svg(samples, "a <b> & \"c\"");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  // Each polyline has one "x,y" pair per sample: 20 commas inside its points attribute.
  const std::size_t points = svg.find("points=\"");
  const std::string first = svg.substr(points + 8, svg.find('"', points + 8) - points - 8);
  EXPECT_EQ(count(first, ","), 20u);
  // The y axis tops out at a round number above the highest value (40k recipients/s).
  EXPECT_NE(svg.find(">50k</text>"), std::string::npos);
}

TEST(Svg, EmptySeriesIsStillADocument) {
  const std::string svg = render_throughput_svg({}, "empty");
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
}

}  // namespace
}  // namespace mta::loadgen
