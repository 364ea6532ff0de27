# Helpers shared by every folder's CMakeLists.txt.

# outpost_test(NAME SOURCES ... LIBS ...): a GoogleTest executable registered with ctest.
function(outpost_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endfunction()

# outpost_fuzz(NAME SOURCE CORPUS LIBS ...): a libFuzzer target. In the fuzz preset it links
# libFuzzer; in every other build it links a replay driver and ctest runs it over the seed
# corpus, so each seed is an ordinary regression test.
function(outpost_fuzz name)
  cmake_parse_arguments(ARG "" "SOURCE;CORPUS" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCE})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  if(OUTPOST_FUZZ)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${name}_seeds COMMAND ${name} -runs=0 ${ARG_CORPUS})
  else()
    target_link_libraries(${name} PRIVATE outpost_fuzz_replay)
    add_test(NAME ${name}_seeds COMMAND ${name} ${ARG_CORPUS})
  endif()
endfunction()

# outpost_bench(NAME SOURCES ... LIBS ...): a Google Benchmark program (built, not run by ctest
# except a one-iteration smoke run so it cannot rot).
function(outpost_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark)
  add_test(NAME ${name}_smoke COMMAND ${name} --benchmark_min_time=0.001)
endfunction()

# outpost_header_check(): every header of the listed folders must compile on its own (STYLE.md
# section 8). One generated translation unit per header, built as part of `all`.
function(outpost_header_check)
  set(sources "")
  foreach(folder ${ARGN})
    file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${folder}/*.h)
    foreach(header ${headers})
      string(MAKE_C_IDENTIFIER ${header} stem)
      set(tu ${CMAKE_BINARY_DIR}/header_check/${stem}.cc)
      file(CONFIGURE OUTPUT ${tu} CONTENT "#include \"${header}\"  // compiles alone\n")
      list(APPEND sources ${tu})
    endforeach()
  endforeach()
  add_library(outpost_header_check OBJECT ${sources})
  target_link_libraries(outpost_header_check PRIVATE outpost_app tomlplusplus::tomlplusplus)
endfunction()
