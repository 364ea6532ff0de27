// Dot-stuffing for the DATA command (RFC 5321 §4.5.2), the sending direction. The server side
// (data_reader) undoes it; this file only encodes.
#pragma once

#include <string>
#include <string_view>

namespace mta::smtp {

// Appends `message` to `out` ready to follow a 354 reply: bare LF and bare CR become CRLF, a
// line starting with '.' gets a second '.', a non-empty message that does not end in a line
// end gets CRLF, and the terminator ".\r\n" goes last. An empty message yields ".\r\n".
void append_dot_stuffed(std::string_view message, std::string& out);

}  // namespace mta::smtp
