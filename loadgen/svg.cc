// The chart: a fixed 800x400 canvas, plot area inside fixed margins, y from 0 to a "nice"
// maximum (1, 2 or 5 times a power of ten), x from second 0 to the last second. Each series
// is one <polyline>; the legend names them. Text is XML-escaped.
#include "loadgen/svg.h"
#include "base/concat.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mta::loadgen {
namespace {

constexpr double kWidth = 800, kHeight = 400;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

std::string label(double value) {
  char text[32];
  if (value >= 1e6) {
    std::snprintf(text, sizeof text, "%gM", value / 1e6);
  } else if (value >= 1e3) {
    std::snprintf(text, sizeof text, "%gk", value / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%g", value);
  }
  return text;
}

// The smallest 1, 2 or 5 x 10^n at or above `value` (at least 1).
double nice_ceiling(double value) {
  if (value <= 1) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

}  // namespace

std::string render_throughput_svg(std::span<const SecondSample> samples, std::string_view title) {
  double y_max = 0;
  for (const auto& s : samples) {
    y_max = std::max({y_max, static_cast<double>(s.messages), static_cast<double>(s.recipients)});
  }
  y_max = nice_ceiling(y_max);
  const double x_max = samples.empty() ? 1.0 : std::max<double>(1.0, samples.back().second);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const auto x_at = [&](double second) { return kLeft + second / x_max * plot_w; };
  const auto y_at = [&](double value) { return kTop + plot_h - value / y_max * plot_h; };

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out +=
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"400\" "
      "viewBox=\"0 0 800 400\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + escape(title) + "</title>\n";
  out += "<rect x=\"0\" y=\"0\" width=\"800\" height=\"400\" fill=\"white\"/>\n";
  out += "<text x=\"400\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + escape(title) +
         "</text>\n";
  // Horizontal grid lines and y labels at fifths of the range.
  for (int i = 0; i <= 5; ++i) {
    const double value = y_max * i / 5;
    const std::string y = number(y_at(value));
    out += "<line x1=\"" + number(kLeft) + "\" y1=\"" + y + "\" x2=\"" + number(kLeft + plot_w) +
           "\" y2=\"" + y + "\" stroke=\"#ddd\"/>\n";
    out += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + label(value) + "</text>\n";
  }
  // X ticks at up to ten whole seconds.
  const double x_step = std::max(1.0, nice_ceiling(x_max / 10));
  for (double second = 0; second <= x_max + 1e-9; second += x_step) {
    const std::string x = number(x_at(second));
    out += "<line x1=\"" + x + "\" y1=\"" + number(kTop + plot_h) + "\" x2=\"" + x + "\" y2=\"" +
           number(kTop + plot_h + 5) + "\" stroke=\"black\"/>\n";
    out += "<text x=\"" + x + "\" y=\"" + number(kTop + plot_h + 18) +
           "\" text-anchor=\"middle\">" + label(second) + "</text>\n";
  }
  out += "<line x1=\"" + number(kLeft) + "\" y1=\"" + number(kTop) + "\" x2=\"" + number(kLeft) +
         "\" y2=\"" + number(kTop + plot_h) + "\" stroke=\"black\"/>\n";
  out += "<line x1=\"" + number(kLeft) + "\" y1=\"" + number(kTop + plot_h) + "\" x2=\"" +
         number(kLeft + plot_w) + "\" y2=\"" + number(kTop + plot_h) + "\" stroke=\"black\"/>\n";
  out += "<text x=\"" + number(kLeft + plot_w / 2) + "\" y=\"" + number(kHeight - 10) +
         "\" text-anchor=\"middle\">seconds</text>\n";
  out += "<text transform=\"translate(16 " + number(kTop + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">per second</text>\n";

  const auto polyline = [&](auto field, std::string_view colour, std::string_view name) {
    out +=
        concat({"<polyline fill=\"none\" stroke=\"", colour, "\" stroke-width=\"1.5\" points=\""});
    bool first = true;
    for (const auto& s : samples) {
      if (!first) out += ' ';
      first = false;
      out += number(x_at(static_cast<double>(s.second))) + ',' +
             number(y_at(static_cast<double>(field(s))));
    }
    out += concat({"\"><title>", name, "</title></polyline>\n"});
  };
  polyline([](const SecondSample& s) { return s.recipients; }, "#e69f00", "recipients/s");
  polyline([](const SecondSample& s) { return s.messages; }, "#0072b2", "messages/s");
  // Legend.
  out += "<rect x=\"" + number(kLeft + plot_w - 150) + "\" y=\"" + number(kTop + 4) +
         "\" width=\"12\" height=\"3\" fill=\"#0072b2\"/>\n";
  out += "<text x=\"" + number(kLeft + plot_w - 132) + "\" y=\"" + number(kTop + 9) +
         "\">messages/s</text>\n";
  out += "<rect x=\"" + number(kLeft + plot_w - 150) + "\" y=\"" + number(kTop + 20) +
         "\" width=\"12\" height=\"3\" fill=\"#e69f00\"/>\n";
  out += "<text x=\"" + number(kLeft + plot_w - 132) + "\" y=\"" + number(kTop + 25) +
         "\">recipients/s</text>\n";
  out += "</svg>\n";
  return out;
}

}  // namespace mta::loadgen
