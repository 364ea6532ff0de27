// Prints a composed message (text + html + two attachments, one binary; non-ASCII subject,
// display names and filename) to stdout. With --expect it prints instead, as JSON, the fields
// it composed from, so testdata/check_compose.py can compare what Python's email package
// decodes against them (compose_python_check). Also handy for eyeballing: ./compose_example
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "proto/mime/compose.h"

namespace {

// A JSON string literal; `text` is UTF-8, which JSON carries as is.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", u);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    unsigned char u = static_cast<unsigned char>(c);
    out += kDigits[u >> 4];
    out += kDigits[u & 0xf];
  }
  return out;
}

mta::mime::Composition example() {
  using namespace std::chrono;
  mta::mime::Composition c;
  c.from = "J\xc3\xbcrgen M\xc3\xbcller <juergen@example.de>";
  c.to = {"\"Example, Ann\" <ann@example.com>", "bob@example.net",
          "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e <taro@example.jp>"};
  c.cc = {"Carol <carol@example.org>"};
  c.reply_to = "Support Team <support@example.de>";
  c.subject =
      "Ihre Bestellung \xc3\xbc"
      "ber 42 \xe2\x82\xac ist unterwegs \xf0\x9f\x9a\x9a \xe2\x80\x94 "
      "Lieferung am Montag zwischen 10 und 12 Uhr, bitte Empf\xc3\xa4nger bereithalten";
  c.text =
      "Hallo Ann,\n\nIhre Bestellung \xc3\xbc"
      "ber 42 \xe2\x82\xac ist unterwegs.\n"
      "Eine sehr lange Zeile, die weit \xc3\xbc"
      "ber sechsundsiebzig Zeichen hinausgeht, damit "
      "weiche Zeilenumbr\xc3\xbc"
      "che n\xc3\xb6tig werden = und ein Gleichheitszeichen.\n"
      "Trailing space here \n-- \nJ\xc3\xbcrgen\n";
  c.html =
      "<html><body><p>Hallo Ann,</p><p>Ihre Bestellung &uuml;ber 42 &euro; ist "
      "unterwegs.</p></body></html>\n";
  c.headers = {{"X-Campaign", "spring-2026"},
               {"List-Unsubscribe", "<mailto:unsubscribe@example.de?subject=unsubscribe>"},
               {"X-Note", "sch\xc3\xb6n"}};
  std::string binary;
  for (int i = 0; i < 600; ++i) binary += static_cast<char>((i * 37 + 11) % 256);
  c.attachments = {
      {"Rechnung M\xc3\xa4rz 2026.pdf", "application/pdf", "%PDF-1.4\n" + binary},
      {"notes.txt", "text/plain", "plain attachment\r\nsecond line\r\n"},
  };
  c.message_id = "<example-1@outpost.example>";
  c.date = mta::Clock::WallTime{sys_days{year{2026} / November / 23} + hours{10} + minutes{37}};
  c.boundary_seed = "compose_example";
  return c;
}

void print_expectations(const mta::mime::Composition& c) {
  std::string out = "{";
  out += "\"from\": " + json_string(c.from);
  out += ", \"to\": [";
  for (std::size_t i = 0; i < c.to.size(); ++i) out += (i ? ", " : "") + json_string(c.to[i]);
  out += "], \"cc\": [";
  for (std::size_t i = 0; i < c.cc.size(); ++i) out += (i ? ", " : "") + json_string(c.cc[i]);
  out += "], \"reply_to\": " + json_string(c.reply_to);
  out += ", \"subject\": " + json_string(c.subject);
  out += ", \"text\": " + json_string(c.text);
  out += ", \"html\": " + json_string(c.html);
  out += ", \"message_id\": " + json_string(c.message_id);
  out += ", \"headers\": [";
  for (std::size_t i = 0; i < c.headers.size(); ++i) {
    out += (i ? ", [" : "[") + json_string(c.headers[i].first) + ", " +
           json_string(c.headers[i].second) + "]";
  }
  out += "], \"attachments\": [";
  for (std::size_t i = 0; i < c.attachments.size(); ++i) {
    const auto& a = c.attachments[i];
    out += (i ? ", {" : "{") + std::string("\"filename\": ") + json_string(a.filename) +
           ", \"content_type\": " + json_string(a.content_type) + ", \"content_hex\": \"" +
           hex(a.content) + "\"}";
  }
  out += "]}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

int main(int argc, char** argv) {
  mta::mime::Composition c = example();
  if (argc > 1 && std::string_view(argv[1]) == "--expect") {
    print_expectations(c);
  } else {
    auto message = mta::mime::compose(c);
    if (!message) {
      std::fprintf(stderr, "compose_example: %s\n", message.error().message().c_str());
      return 1;
    }
    std::fwrite(message->data(), 1, message->size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
