// render_throughput_svg: a self-contained SVG line chart of messages accepted per second
// (and recipients per second as a second line), with axes, ticks and a title. Written by
// hand so the bench needs no plotting dependency; any browser displays it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "loadgen/series.h"

namespace mta::loadgen {

// `title` is escaped. With no samples the chart is empty but still a valid document.
std::string render_throughput_svg(std::span<const SecondSample> samples, std::string_view title);

}  // namespace mta::loadgen
