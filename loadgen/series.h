// The sink's per-second series: one row per second of the run (messages, recipients and
// bytes accepted in that second, connections open at its end), written as CSV and read
// back, so a plot can be rendered from a file as well as at the end of a run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mta::loadgen {

struct SecondSample {
  std::uint64_t second = 0;  // 1 = the first second of the run
  std::uint64_t messages = 0;
  std::uint64_t recipients = 0;
  std::uint64_t bytes = 0;
  std::uint64_t rejected = 0;  // messages refused after DATA (4xx, 5xx, 421)
  std::uint64_t connections = 0;
};

// csv = header CRLF? *( row LF ) ; header = "second,messages,recipients,bytes,rejected,connections"
std::string to_csv(std::span<const SecondSample> samples);
Result<std::vector<SecondSample>> parse_csv(std::string_view text);

// Whole-file helpers (Errc::io_error with the path and errno text).
Result<void> write_file(const std::string& path, std::string_view contents);
Result<std::string> read_file(const std::string& path);

}  // namespace mta::loadgen
