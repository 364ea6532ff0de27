# Client side of outpost_proto: SMTP reply parsing, EHLO capabilities, dot-stuffing for DATA
# and the client session. errc.cc (shared error category) is listed here.
target_sources(outpost_proto PRIVATE errc.cc)
