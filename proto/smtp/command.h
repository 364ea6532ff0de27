// SMTP command lines as the server reads them (RFC 5321 §4.1): the verb, its raw argument and,
// for MAIL and RCPT, the reverse/forward path and ESMTP parameters. Pure parsing; the server
// session decides what a command means in its current state and which reply it earns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace mta::smtp {

enum class Verb {
  helo,
  ehlo,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  help,
  starttls,
  auth,
  bdat,
  expn,
  unknown
};

// "MAIL", "RCPT", ... ("UNKNOWN" for Verb::unknown): for logs and test names.
std::string_view to_string(Verb verb);

struct Command {
  Verb verb = Verb::unknown;
  std::string argument;  // raw text after the verb and one space
  // For MAIL/RCPT: the mailbox without <> and without a source route (empty for the null
  // sender "<>"); a quoted local part keeps its quotes. Other verbs leave it empty.
  std::string path;
  // ESMTP parameters of MAIL/RCPT in order; keywords upper-cased (they are case-insensitive),
  // values raw, "" for a keyword without "=value": {"SIZE","1000"}, {"SMTPUTF8",""}.
  std::vector<std::pair<std::string, std::string>> parameters;
  // For BDAT (RFC 3030 §2): the octets that follow the command line, and whether the chunk
  // ends the message ("LAST"). Other verbs leave them 0 and false.
  std::uint64_t chunk_bytes = 0;
  bool last_chunk = false;

  bool operator==(const Command&) const = default;
};

// Parses one command line WITHOUT its line ending. Verbs are case-insensitive; an empty line or
// an unrecognised verb is Verb::unknown (not an error: the session answers it with 500).
//
// Liberal where clients are known to stray, strict elsewhere:
// - "MAIL FROM: <a@b>" (spaces after the colon) is accepted, as Postfix and Exim do; old
//   Outlook and many scripts send it and nothing is ambiguous about it.
// - A path without <> is rejected: without brackets a path and a parameter cannot be told
//   apart reliably, and the clients we serve (smtplib, swaks, MTAs) always send them.
// - Source routes "<@a,@b:u@d>" are accepted and stripped (RFC 5321 §4.1.1.3, Appendix C).
// - Trailing spaces after the last parameter are ignored; anything else after the path is an
//   error. UTF-8 is allowed in local parts and domains (RFC 6531, SMTPUTF8).
// - "RCPT TO:<Postmaster>" without a domain is accepted (RFC 5321 §4.1.1.3 requires it).
// - HELO/EHLO/VRFY need an argument; DATA, RSET and QUIT take none.
// - BDAT needs "chunk-size [LAST]" (LAST in any case, trailing spaces ignored); a size must fit
//   in 64 bits.
//
// Errors: Errc::command_too_long when line.size() + 2 (CRLF) exceeds line_bytes_max;
// Errc::bad_chunk_size for a BDAT line that does not parse (the caller cannot tell where the
// chunk's octets end, so it must not read on as if they were commands); else
// Errc::malformed_command. The detail starts with an RFC 3463 enhanced status code and is a
// complete 501 reply text: "5.1.7 Bad sender address syntax", "5.5.4 Syntax: DATA" (so the
// caller replies "501 " + detail, dropping the "x.y.z " part if it does not send those codes).
Result<Command> parse_command(std::string_view line, std::size_t line_bytes_max = 512);

}  // namespace mta::smtp
