# Client side of outpost_proto: SMTP reply parsing, EHLO capabilities, dot-stuffing for DATA
# and the client session. errc.cc (the error category both sides share) is listed here.
target_sources(outpost_proto PRIVATE
  errc.cc
  reply.cc
  capabilities.cc
  dot_stuffing.cc
  client_session.cc
)

outpost_test(smtp_client_test
  SOURCES
    reply_test.cc
    capabilities_test.cc
    dot_stuffing_test.cc
    client_session_test.cc
  LIBS outpost_proto)

outpost_fuzz(reply_parser_fuzz
  SOURCE reply_parser_fuzz.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/testdata/reply_parser
  LIBS outpost_proto)
outpost_fuzz(client_session_fuzz
  SOURCE client_session_fuzz.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/testdata/client_session
  LIBS outpost_proto)

outpost_bench(smtp_client_bench
  SOURCES ${PROJECT_SOURCE_DIR}/bench/smtp_client_bench.cc
  LIBS outpost_proto)
