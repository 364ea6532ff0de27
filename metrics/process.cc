// process_* metrics from /proc/self (see process.h). Field positions are proc(5)'s.
#include "metrics/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "metrics/errc.h"
#include "metrics/exposition.h"

namespace mta::metrics {
namespace {

Result<std::string> read_file(const char* path) {
  // /proc files report a size of 0, so read until end of file rather than stat and read once.
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unexpected(Errc::proc_unreadable, path);
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      ::close(fd);
      return unexpected(Errc::proc_unreadable, path);
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return text;
}

Result<std::uint64_t> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return unexpected(Errc::proc_unreadable, "/proc/self/fd");
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  // The directory being listed holds one descriptor of its own; it is not the process's.
  return count > 0 ? count - 1 : 0;
}

bool parse_u64(std::string_view text, std::uint64_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<ProcessStats> parse_proc_self_stat(std::string_view stat, const ProcBasis& basis) {
  // proc(5): "pid (comm) state ppid ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24)".
  // comm may hold spaces and parentheses, so fields are counted from the last ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return unexpected(Errc::proc_unreadable, "no ')' in stat");
  std::vector<std::string_view> fields;  // fields[0] is field 3, state
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  const auto field = [&](std::size_t number, std::uint64_t& value) {
    return number - 3 < fields.size() && parse_u64(fields[number - 3], value);
  };
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
  if (!field(14, utime) || !field(15, stime) || !field(22, starttime) || !field(23, vsize) ||
      !field(24, rss)) {
    return unexpected(Errc::proc_unreadable, "stat fields 14, 15, 22, 23, 24 not numbers");
  }
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / basis.ticks_per_second;
  stats.virtual_memory_bytes = vsize;
  stats.resident_memory_bytes = rss * basis.page_bytes;
  stats.start_time_seconds =
      basis.boot_time_seconds + static_cast<double>(starttime) / basis.ticks_per_second;
  return stats;
}

Result<double> parse_boot_time(std::string_view proc_stat) {
  // proc(5): a line "btime 1700000000", seconds since the Epoch.
  for (std::size_t at = 0; at < proc_stat.size();) {
    std::size_t end = proc_stat.find('\n', at);
    if (end == std::string_view::npos) end = proc_stat.size();
    std::string_view line = proc_stat.substr(at, end - at);
    if (line.starts_with("btime ")) {
      std::uint64_t seconds = 0;
      if (!parse_u64(line.substr(6), seconds)) break;
      return static_cast<double>(seconds);
    }
    at = end + 1;
  }
  return unexpected(Errc::proc_unreadable, "no btime line in /proc/stat");
}

Result<ProcessStats> read_process_stats() {
  auto stat = read_file("/proc/self/stat");
  if (!stat) return unexpected(stat.error());
  auto system_stat = read_file("/proc/stat");
  if (!system_stat) return unexpected(system_stat.error());
  auto boot_time = parse_boot_time(*system_stat);
  if (!boot_time) return unexpected(boot_time.error());
  ProcBasis basis;
  basis.ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  basis.page_bytes = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  basis.boot_time_seconds = *boot_time;
  auto stats = parse_proc_self_stat(*stat, basis);
  if (!stats) return unexpected(stats.error());
  auto open_fds = count_open_fds();
  if (!open_fds) return unexpected(open_fds.error());
  stats->open_fds = *open_fds;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return unexpected(Errc::proc_unreadable, "getrlimit(RLIMIT_NOFILE)");
  }
  stats->max_fds = static_cast<std::uint64_t>(limit.rlim_cur);
  return stats;
}

void append_process_metrics(const ProcessStats& stats, std::string& out) {
  // Names and help texts as the Go and Python clients write them, so stock dashboards work.
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append(" ");
  };
  family("process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.");
  append_number(stats.cpu_seconds, out);
  out += '\n';
  family("process_open_fds", "gauge", "Number of open file descriptors.");
  append_number(stats.open_fds, out);
  out += '\n';
  family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  append_number(stats.max_fds, out);
  out += '\n';
  family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  append_number(stats.virtual_memory_bytes, out);
  out += '\n';
  family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  append_number(stats.resident_memory_bytes, out);
  out += '\n';
  family("process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.");
  append_number(stats.start_time_seconds, out);
  out += '\n';
}

Result<void> append_process_metrics(std::string& out) {
  auto stats = read_process_stats();
  if (!stats) return unexpected(stats.error());
  append_process_metrics(*stats, out);
  return {};
}

}  // namespace mta::metrics
