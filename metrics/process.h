// process_* metrics, the ones every Prometheus client library exports, read from /proc/self on
// Linux: CPU time, memory, file descriptors and start time. The parsers are pure so tests feed
// them fixed text; read_process_stats() does the reading, once per scrape.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mta::metrics {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t virtual_memory_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;      // the soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

// What parse_proc_self_stat needs from the system besides the file itself.
struct ProcBasis {
  double ticks_per_second = 100;  // sysconf(_SC_CLK_TCK)
  std::uint64_t page_bytes = 4096;
  double boot_time_seconds = 0;  // btime of /proc/stat, since the Unix epoch
};

// Fills cpu_seconds, resident_memory_bytes, virtual_memory_bytes and start_time_seconds from
// the text of /proc/<pid>/stat (proc(5)). Fails with proc_unreadable on malformed text.
Result<ProcessStats> parse_proc_self_stat(std::string_view stat, const ProcBasis& basis);
// The boot time (the "btime" line) from the text of /proc/stat.
Result<double> parse_boot_time(std::string_view proc_stat);

// Reads /proc/self/stat, /proc/stat, /proc/self/fd and RLIMIT_NOFILE.
Result<ProcessStats> read_process_stats();

// Appends the six process_* families (HELP, TYPE, one sample each).
void append_process_metrics(const ProcessStats& stats, std::string& out);
// read_process_stats() then the above; on failure appends nothing.
Result<void> append_process_metrics(std::string& out);

}  // namespace mta::metrics
