# Server side of outpost_proto: SMTP command parsing, the DATA body reader and the server
# session, with their tests, fuzzers (seed corpora under testdata/) and benchmark.
target_sources(outpost_proto PRIVATE command.cc data_reader.cc server_session.cc)

outpost_test(smtp_server_test
  SOURCES command_test.cc data_reader_test.cc server_session_test.cc
  LIBS outpost_proto)

outpost_fuzz(command_parser_fuzz
  SOURCE command_parser_fuzz.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/testdata/command_parser
  LIBS outpost_proto)
outpost_fuzz(server_session_fuzz
  SOURCE server_session_fuzz.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/testdata/server_session
  LIBS outpost_proto)

outpost_bench(smtp_server_bench
  SOURCES ${PROJECT_SOURCE_DIR}/bench/smtp_server_bench.cc
  LIBS outpost_proto)
