// CSV of the per-second series. Plain numbers, no quoting: every field is an unsigned integer.
#include "loadgen/series.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "base/ascii.h"
#include "base/concat.h"
#include "loadgen/errc.h"

namespace mta::loadgen {
namespace {

constexpr std::string_view kHeader = "second,messages,recipients,bytes,rejected,connections";

}  // namespace

std::string to_csv(std::span<const SecondSample> samples) {
  std::string out(kHeader);
  out += '\n';
  for (const auto& s : samples) {
    out += std::to_string(s.second) + ',' + std::to_string(s.messages) + ',' +
           std::to_string(s.recipients) + ',' + std::to_string(s.bytes) + ',' +
           std::to_string(s.rejected) + ',' + std::to_string(s.connections) + '\n';
  }
  return out;
}

Result<std::vector<SecondSample>> parse_csv(std::string_view text) {
  std::vector<SecondSample> samples;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::string_view line = take_line(text);
    ++line_number;
    if (line_number == 1) {
      if (line != kHeader) return unexpected(Errc::malformed_csv, "unexpected header");
      continue;
    }
    if (line.empty()) continue;
    std::uint64_t fields[6] = {};
    std::size_t count = 0;
    const char* at = line.data();
    const char* end = line.data() + line.size();
    while (count < 6) {
      const auto [next, ec] = std::from_chars(at, end, fields[count]);
      if (ec != std::errc()) break;
      ++count;
      at = next;
      if (at == end || *at != ',') break;
      ++at;
    }
    if (count != 6 || at != end) {
      return unexpected(Errc::malformed_csv, concat({"line ", std::to_string(line_number)}));
    }
    samples.push_back({fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]});
  }
  if (line_number == 0) return unexpected(Errc::malformed_csv, "empty file");
  return samples;
}

Result<void> write_file(const std::string& path, std::string_view contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return unexpected(Errc::io_error, path + ": " + std::strerror(errno));
  }
  const bool wrote = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const bool closed = std::fclose(file) == 0;
  if (!wrote || !closed) return unexpected(Errc::io_error, path + ": write failed");
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(Errc::io_error, path + ": " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace mta::loadgen
