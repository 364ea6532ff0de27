// `outpost dkim keygen|sign|verify`: the operator's DKIM tools over dkim/. Reads and writes
// files and stdio; all DKIM logic is in dkim/. Input on stdin is first put in the form SMTP
// transmits (CRLF line endings, a final CRLF; a file saved on Unix has bare LF), and output
// is CRLF.
// Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error (message on stderr).
#include "app/dkim_command.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <fcntl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "base/duration.h"
#include "dkim/message.h"
#include "dkim/signer.h"
#include "dkim/verifier.h"

namespace mta::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

constexpr std::string_view dkim_usage = R"(Usage: outpost dkim keygen|sign|verify [OPTIONS]

  keygen   create a signing key and print its DNS TXT record
  sign     add a DKIM-Signature to the message on stdin
  verify   check every DKIM-Signature of the message on stdin

`outpost dkim COMMAND --help` describes each command.
)";

constexpr std::string_view keygen_usage =
    R"(Usage: outpost dkim keygen --algorithm rsa-sha256|ed25519-sha256 [--bits N] --out KEYFILE

Generates a private key, writes it as PEM (PKCS#8) to KEYFILE with mode 0600, and prints the
value of the TXT record to publish at SELECTOR._domainkey.DOMAIN ("v=DKIM1; k=rsa; p=...").
  --algorithm A   rsa-sha256 or ed25519-sha256
  --bits N        RSA modulus size, 1024..4096 (default 2048)
  --out KEYFILE   where to write the private key (replaced if it exists)
)";

constexpr std::string_view sign_usage =
    R"(Usage: outpost dkim sign --domain D --selector S --key KEYFILE [OPTIONS] < message > signed

Prints the message from stdin with a DKIM-Signature field added on top. The message is first
put in the form SMTP sends: bare LF line endings become CRLF and a missing final CRLF is
added. The output is CRLF.
  --domain D                  signing domain (d=)
  --selector S                selector (s=)
  --key KEYFILE               PEM private key (or a base64 Ed25519 seed, as dkimpy writes)
  --algorithm A               rsa-sha256 or ed25519-sha256; must match the key (default: the
                              key's type)
  --canonicalization H/B      header/body canonicalization, simple or relaxed
                              (default relaxed/relaxed; "relaxed" alone means relaxed/simple)
  --headers h1:h2:...         fields to sign (default: RFC 6376 section 5.4 list); From is
                              always over-signed
  --timestamp N               t= in seconds since the epoch (default: now)
  --expire-after D            add x= = t= + D (30d, 12h; a bare number is seconds)
)";

constexpr std::string_view verify_usage =
    R"~(Usage: outpost dkim verify [--key-record 'v=DKIM1; ...'] [--key-record-for NAME=RECORD]... < signed

Verifies every DKIM-Signature of the message on stdin and prints one line per signature:
  pass d=example.com s=sel a=rsa-sha256
  fail d=example.com s=sel a=rsa-sha256 reason: body hash mismatch
Exits 0 only if there is at least one signature and all pass, 1 otherwise.
  --key-record RECORD          use RECORD for every signature
  --key-record-for NAME=RECORD use RECORD for NAME = SELECTOR._domainkey.DOMAIN (repeatable)
  --now N                      the time x= is checked against (default: now)
  --dns-server IP[:PORT]       where to look up key records (default: /etc/resolv.conf)
Without a record given for a signature, its key comes from the TXT record at
SELECTOR._domainkey.DOMAIN in DNS.
)~";

// The DKIM key record at `name` (SELECTOR._domainkey.DOMAIN), by a TXT query through c-ares
// with a plain select() loop: a one-shot command, not the daemon's ring. A record split into
// several strings (keys over 255 bytes) is joined (RFC 6376 3.6.2.2).
Result<std::string> lookup_key_record(const std::string& name, const std::string& server) {
  static const int initialized = ares_library_init(ARES_LIB_INIT_ALL);
  if (initialized != ARES_SUCCESS) {
    return unexpected(std::make_error_code(std::errc::io_error), "c-ares cannot start");
  }
  ares_options options{};
  options.timeout = 2000;
  options.tries = 2;
  ares_channel channel = nullptr;
  if (ares_init_options(&channel, &options, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
    return unexpected(std::make_error_code(std::errc::io_error), "c-ares cannot start");
  }
  if (!server.empty() && ares_set_servers_ports_csv(channel, server.c_str()) != ARES_SUCCESS) {
    ares_destroy(channel);
    return unexpected(std::make_error_code(std::errc::invalid_argument),
                      "--dns-server " + server + " is not IP[:PORT]");
  }
  struct Answer {
    bool done = false;
    int status = ARES_ENOTFOUND;
    std::vector<std::string> records;
  } answer;
  ares_query(
      channel, name.c_str(), ns_c_in, ns_t_txt,
      [](void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
        auto& out = *static_cast<Answer*>(arg);
        out.done = true;
        out.status = status;
        ares_txt_ext* txt = nullptr;
        if (status != ARES_SUCCESS || ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS) {
          return;
        }
        for (ares_txt_ext* chunk = txt; chunk != nullptr; chunk = chunk->next) {
          if (chunk->record_start || out.records.empty()) out.records.emplace_back();
          out.records.back().append(reinterpret_cast<const char*>(chunk->txt), chunk->length);
        }
        ares_free_data(txt);
      },
      &answer);
  while (!answer.done) {
    fd_set readers;
    fd_set writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    const int nfds = ares_fds(channel, &readers, &writers);
    timeval wait{};
    timeval* timeout = ares_timeout(channel, nullptr, &wait);
    if (nfds == 0 && timeout == nullptr) break;
    ::select(nfds, &readers, &writers, nullptr, timeout);
    ares_process(channel, &readers, &writers);
  }
  ares_destroy(channel);
  if (answer.status != ARES_SUCCESS) {
    return unexpected(std::make_error_code(std::errc::no_such_file_or_directory),
                      "no key record at " + name + " (" + ares_strerror(answer.status) + ")");
  }
  for (const auto& record : answer.records) {
    if (record.starts_with("v=DKIM1") || record.find("p=") != std::string::npos) return record;
  }
  return unexpected(std::make_error_code(std::errc::no_such_file_or_directory),
                    "no DKIM key record among the TXT records of " + name);
}

int usage_error(std::string_view usage, const std::string& message) {
  std::fprintf(stderr, "outpost dkim: %s\n\n%.*s", message.c_str(), static_cast<int>(usage.size()),
               usage.data());
  return exit_usage;
}

// --name value / --name=value options; flags without a value are not used by these commands.
class Options {
 public:
  // Returns an error message, or empty when every argument was understood.
  std::string parse(std::span<const std::string_view> args,
                    const std::vector<std::string_view>& known) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string_view name = args[i];
      std::string value;
      const std::size_t eq = name.find('=');
      if (name.substr(0, 2) == "--" && eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return "missing value for " + std::string(name);
      }
      bool ok = false;
      for (std::string_view k : known) ok = ok || k == name;
      if (!ok) return "unknown option " + std::string(name);
      values_.emplace(std::string(name), std::move(value));
    }
    return {};
  }
  std::optional<std::string> get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    auto [begin, end] = values_.equal_range(name);
    for (auto it = begin; it != end; ++it) out.push_back(it->second);
    return out;
  }

 private:
  std::multimap<std::string, std::string> values_;
};

bool wants_help(std::span<const std::string_view> args) {
  for (std::string_view arg : args) {
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

std::optional<std::int64_t> parse_seconds(const std::string& text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string read_stdin() {
  return std::string((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// PEM, or the base64 32-byte Ed25519 seed that dkimpy and RFC 8463 use.
Result<dkim::PrivateKey> load_private_key(const std::string& text) {
  auto pem = dkim::PrivateKey::from_pem(text);
  if (pem || text.find("-----BEGIN") != std::string::npos) return pem;
  auto seed = dkim::base64_decode(text);
  if (seed && seed->size() == 32) return dkim::PrivateKey::from_ed25519_seed(*seed);
  return pem;
}

int keygen(std::span<const std::string_view> args) {
  Options options;
  if (auto error = options.parse(args, {"--algorithm", "--bits", "--out"}); !error.empty()) {
    return usage_error(keygen_usage, error);
  }
  const auto algorithm_text = options.get("--algorithm");
  const auto out = options.get("--out");
  if (!algorithm_text || !out)
    return usage_error(keygen_usage, "--algorithm and --out are required");
  auto algorithm = dkim::parse_algorithm(*algorithm_text);
  if (!algorithm) return usage_error(keygen_usage, "unknown algorithm " + *algorithm_text);
  int bits = 2048;
  if (auto text = options.get("--bits")) {
    const auto value = parse_seconds(*text);
    if (!value) return usage_error(keygen_usage, "--bits must be a number");
    bits = static_cast<int>(*value);
  }
  auto key = dkim::PrivateKey::generate(*algorithm, bits);
  if (!key) {
    std::fprintf(stderr, "outpost dkim keygen: %s\n", key.error().message().c_str());
    return exit_usage;
  }
  const std::string pem = key->to_pem();
  // Created 0600 from the start so the key is never readable by others, even briefly.
  const int fd = ::open(out->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
      ::write(fd, pem.data(), pem.size()) != static_cast<ssize_t>(pem.size()) || ::close(fd) != 0) {
    std::fprintf(stderr, "outpost dkim keygen: cannot write %s\n", out->c_str());
    return exit_usage;
  }
  std::printf("%s\n", key->public_record().c_str());
  return exit_ok;
}

Result<std::pair<dkim::Canon, dkim::Canon>> parse_canonicalization(const std::string& text) {
  auto one = [](std::string_view word) -> std::optional<dkim::Canon> {
    if (word == "simple") return dkim::Canon::simple;
    if (word == "relaxed") return dkim::Canon::relaxed;
    return std::nullopt;
  };
  const std::size_t slash = text.find('/');
  const auto header = one(std::string_view(text).substr(0, slash));
  const auto body = slash == std::string::npos ? std::optional(dkim::Canon::simple)
                                               : one(std::string_view(text).substr(slash + 1));
  if (!header || !body) {
    return unexpected(std::make_error_code(std::errc::invalid_argument), text);
  }
  return std::pair{*header, *body};
}

int sign(std::span<const std::string_view> args) {
  Options options;
  if (auto error =
          options.parse(args, {"--domain", "--selector", "--key", "--algorithm",
                               "--canonicalization", "--headers", "--timestamp", "--expire-after"});
      !error.empty()) {
    return usage_error(sign_usage, error);
  }
  const auto domain = options.get("--domain");
  const auto selector = options.get("--selector");
  const auto key_path = options.get("--key");
  if (!domain || !selector || !key_path) {
    return usage_error(sign_usage, "--domain, --selector and --key are required");
  }
  const auto key_text = read_file(*key_path);
  if (!key_text) {
    std::fprintf(stderr, "outpost dkim sign: cannot read %s\n", key_path->c_str());
    return exit_usage;
  }
  auto key = load_private_key(*key_text);
  if (!key) {
    std::fprintf(stderr, "outpost dkim sign: %s: %s\n", key_path->c_str(),
                 key.error().message().c_str());
    return exit_usage;
  }
  if (auto text = options.get("--algorithm")) {
    auto algorithm = dkim::parse_algorithm(*text);
    if (!algorithm) return usage_error(sign_usage, "unknown algorithm " + *text);
    if (*algorithm != key->algorithm()) {
      std::fprintf(stderr, "outpost dkim sign: --algorithm %s but the key is %s\n", text->c_str(),
                   std::string(dkim::algorithm_name(key->algorithm())).c_str());
      return exit_usage;
    }
  }
  dkim::SignerConfig config{*domain, *selector, std::move(*key)};
  if (auto text = options.get("--canonicalization")) {
    auto canon = parse_canonicalization(*text);
    if (!canon) return usage_error(sign_usage, "bad --canonicalization " + *text);
    config.header_canon = canon->first;
    config.body_canon = canon->second;
  }
  if (auto text = options.get("--headers")) {
    std::string_view rest = *text;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      if (colon != 0) config.headers.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    if (config.headers.empty()) return usage_error(sign_usage, "--headers is empty");
  }
  auto now = std::chrono::system_clock::now();
  if (auto text = options.get("--timestamp")) {
    const auto value = parse_seconds(*text);
    if (!value) return usage_error(sign_usage, "--timestamp must be seconds since the epoch");
    now = std::chrono::system_clock::time_point(std::chrono::seconds(*value));
  }
  if (auto text = options.get("--expire-after")) {
    const auto value = parse_duration_option(*text, std::chrono::seconds(1));
    if (!value || *value < std::chrono::seconds(1)) {
      return usage_error(sign_usage, "--expire-after takes a duration of 1s or more, e.g. 30d");
    }
    config.expire_after = std::chrono::duration_cast<std::chrono::seconds>(*value);
  }
  const std::string message = dkim::normalize_for_transmission(read_stdin());
  auto field = dkim::sign(config, message, now);
  if (!field) {
    std::fprintf(stderr, "outpost dkim sign: %s\n", field.error().message().c_str());
    return exit_usage;
  }
  std::fwrite(field->data(), 1, field->size(), stdout);
  std::fwrite(message.data(), 1, message.size(), stdout);
  return std::fflush(stdout) == 0 ? exit_ok : exit_usage;
}

int verify(std::span<const std::string_view> args) {
  Options options;
  if (auto error =
          options.parse(args, {"--key-record", "--key-record-for", "--now", "--dns-server"});
      !error.empty()) {
    return usage_error(verify_usage, error);
  }
  const auto record = options.get("--key-record");
  std::map<std::string, std::string> records;  // "sel._domainkey.domain" lowercased -> record
  for (const std::string& entry : options.all("--key-record-for")) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || entry.find("._domainkey.") > eq) {
      return usage_error(verify_usage, "--key-record-for wants SELECTOR._domainkey.DOMAIN=RECORD");
    }
    records[ascii_lowercase(std::string_view(entry).substr(0, eq))] = entry.substr(eq + 1);
  }
  auto now = std::chrono::system_clock::now();
  if (auto text = options.get("--now")) {
    const auto value = parse_seconds(*text);
    if (!value) return usage_error(verify_usage, "--now must be seconds since the epoch");
    now = std::chrono::system_clock::time_point(std::chrono::seconds(*value));
  }
  const dkim::KeyLookup lookup = [&](std::string_view domain,
                                     std::string_view selector) -> Result<std::string> {
    if (record) return *record;
    std::string name = std::string(selector) + "._domainkey." + std::string(domain);
    auto it = records.find(ascii_lowercase(name));
    if (it != records.end()) return it->second;
    return lookup_key_record(name, options.get("--dns-server").value_or(""));
  };
  const std::string message = dkim::normalize_for_transmission(read_stdin());
  const auto results = dkim::verify(message, lookup, now);
  bool all_pass = !results.empty();
  for (const dkim::VerifyResult& result : results) {
    std::string line = result.pass ? "pass" : "fail";
    line += " d=" + result.domain + " s=" + result.selector;
    if (result.algorithm) line += " a=" + std::string(dkim::algorithm_name(*result.algorithm));
    if (!result.pass) line += " reason: " + result.reason;
    std::puts(line.c_str());
    all_pass = all_pass && result.pass;
  }
  if (results.empty()) std::puts("fail reason: no DKIM-Signature");
  return all_pass ? exit_ok : exit_failed;
}

}  // namespace

int dkim_command(std::span<const std::string_view> args) {
  if (args.empty()) {
    std::fputs(dkim_usage.data(), stderr);
    return exit_usage;
  }
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(dkim_usage.data(), stdout);
    return exit_ok;
  }
  struct Sub {
    std::string_view name;
    std::string_view usage;
    int (*run)(std::span<const std::string_view>);
  };
  const Sub subs[] = {{"keygen", keygen_usage, keygen},
                      {"sign", sign_usage, sign},
                      {"verify", verify_usage, verify}};
  for (const Sub& sub : subs) {
    if (command != sub.name) continue;
    if (wants_help(rest)) {
      std::fputs(sub.usage.data(), stdout);
      return exit_ok;
    }
    return sub.run(rest);
  }
  return usage_error(dkim_usage, "unknown command " + std::string(command));
}

}  // namespace mta::app
