// Writes the seed corpus of record_decoder_fuzz into the directory named on the command line:
// valid_* files are encodings of typical envelopes, broken_* are damaged ones. The files are
// committed; envelope_test checks that valid_* still decode, so old spools stay readable.
// valid_v1_* are version 1 records kept by hand from before parts, valid_v2_* version 2 ones
// from before tenants; this program no longer writes them and must not delete them.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "queue/envelope.h"

namespace {

using mta::queue::Envelope;
using mta::queue::Recipient;
using mta::queue::RecipientState;
using namespace std::chrono_literals;

void write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::printf("%s: %zu bytes\n", name.c_str(), bytes.size());
}

Envelope base() {
  Envelope e;
  e.id = mta::MessageId(0x018bcfe568000005ULL);
  e.destination = "example.com";
  e.mail_from = "bounces+1234=example.com@outpost.example";
  e.received_at = mta::Clock::WallTime(1'700'000'000s);
  e.next_attempt_at = e.received_at;
  e.expires_at = e.received_at + 72h;
  e.body_bytes = 2048;
  e.recipients.push_back(Recipient{"alice@example.com"});
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  std::filesystem::create_directories(dir);

  const Envelope fresh = base();
  write(dir, "valid_fresh_one_recipient", mta::queue::encode_envelope(fresh));

  Envelope bounce = base();
  bounce.mail_from = "";
  write(dir, "valid_null_sender", mta::queue::encode_envelope(bounce));

  Envelope relayed = base();
  relayed.part = 3;
  relayed.destination = "relay:127.0.0.1:2500";
  write(dir, "valid_part_3_relay", mta::queue::encode_envelope(relayed));

  Envelope retried = base();
  retried.destination = "example.org";
  retried.attempts = 3;
  retried.next_attempt_at += 30min;
  const RecipientState states[] = {RecipientState::pending, RecipientState::delivered,
                                   RecipientState::deferred, RecipientState::bounced};
  const char* replies[] = {"", "250 2.0.0 Ok: queued as 4F3A", "451 4.7.1 Greylisted",
                           "550 5.1.1 <x@example.org>: Recipient address rejected"};
  retried.recipients.clear();
  for (int i = 0; i < 4; ++i) {
    retried.recipients.push_back(
        Recipient{std::string("user").append(std::to_string(i)).append("@example.org"), states[i],
                  3, replies[i]});
  }
  write(dir, "valid_retried_all_states", mta::queue::encode_envelope(retried));

  Envelope empty;
  write(dir, "valid_default_no_recipients", mta::queue::encode_envelope(empty));

  Envelope tagged = base();
  tagged.tenant = "acme";
  tagged.campaign = "black-friday";
  tagged.traffic_class = mta::queue::TrafficClass::bulk;
  tagged.pool = "shared";
  write(dir, "valid_tagged_bulk", mta::queue::encode_envelope(tagged));

  const std::string good = mta::queue::encode_envelope(retried);
  write(dir, "broken_truncated_half", good.substr(0, good.size() / 2));
  write(dir, "broken_trailing_byte", good + '\0');
  std::string version = good;
  version[0] = 4;
  write(dir, "broken_unknown_version", version);
  std::string state = mta::queue::encode_envelope(fresh);
  state[1 + 8 + 4 + 4 + fresh.destination.size() + 8 + 8 + 8 + 4 + 8 + 4 + fresh.mail_from.size() +
        4] = 9;
  write(dir, "broken_bad_state", state);
  std::string count = mta::queue::encode_envelope(empty);
  count.replace(count.size() - 4, 4, "\xff\xff\xff\x7f");
  write(dir, "broken_huge_count", count);
  write(dir, "broken_empty", "");
  std::string destination = mta::queue::encode_envelope(relayed);
  destination.replace(1 + 8 + 4, 4, std::string("\x00\x01\x00\x00", 4));  // 256 bytes
  write(dir, "broken_destination_over_bound", destination);
  std::string traffic_class = mta::queue::encode_envelope(tagged);
  traffic_class[traffic_class.size() - 4 - tagged.pool.size() - 1] = 7;
  write(dir, "broken_bad_traffic_class", traffic_class);
  return 0;
}
