# outpost_bounce: reads one message that arrived at the bounce domain and says what it is (DSN,
# non-standard bounce, ARF complaint, auto-reply) and why each recipient failed. Pure; links
# only outpost_mime and outpost_base. The default classification rules are bounce_rules.conf,
# embedded as a byte array: editing the file re-runs CMake, which regenerates the array.
set(bounce_rules_conf ${CMAKE_CURRENT_SOURCE_DIR}/bounce_rules.conf)
outpost_embed(${bounce_rules_conf} ${CMAKE_CURRENT_BINARY_DIR}/bounce_rules_default.cc
  mta::mailbox::detail bounce_rules_default)

add_library(outpost_bounce bounce.cc bounce_rules.cc
            ${CMAKE_CURRENT_BINARY_DIR}/bounce_rules_default.cc)
target_link_libraries(outpost_bounce PUBLIC outpost_mime outpost_base)

# Every sample in testdata/bounces/ against its row in expected.txt, plus rules and precedence
# tables.
outpost_test(bounce_test SOURCES bounce_test.cc bounce_rules_test.cc LIBS outpost_bounce)
target_compile_definitions(bounce_test PRIVATE
  BOUNCE_TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/testdata/bounces"
  BOUNCE_RULES_FILE="${bounce_rules_conf}")

outpost_fuzz(bounce_parse_fuzz
  SOURCE bounce_parse_fuzz.cc
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/testdata/bounces
  LIBS outpost_bounce)
