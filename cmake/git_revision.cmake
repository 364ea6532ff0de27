# Writes OUTPUT, a header defining OUTPOST_GIT_REVISION for `outpost --version`: REVISION when
# given (-DOUTPOST_GIT_REVISION=... at configure time, for a tree copied without .git, as the
# Dockerfile's), else the commit of SOURCE_DIR (`git rev-parse --short=12 HEAD`, "-dirty" when
# files differ from it), else "unknown" (no git, or no .git). Run by `cmake -P` at every build
# (the outpost_git_revision target); OUTPUT is rewritten only when the revision changed, so
# nothing recompiles otherwise.
set(revision "${REVISION}")
if(revision STREQUAL "")
  find_program(GIT_PROGRAM git)
  set(revision "unknown")
  if(GIT_PROGRAM)
    execute_process(COMMAND ${GIT_PROGRAM} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE head RESULT_VARIABLE head_failed
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(head_failed EQUAL 0 AND NOT head STREQUAL "")
      set(revision "${head}")
      execute_process(COMMAND ${GIT_PROGRAM} -C ${SOURCE_DIR} diff --quiet HEAD --
                      RESULT_VARIABLE dirty OUTPUT_QUIET ERROR_QUIET)
      if(dirty EQUAL 1)
        string(APPEND revision "-dirty")
      endif()
    endif()
  endif()
endif()
set(text "// Made by cmake/git_revision.cmake at build time; not in git.\n")
string(APPEND text "#define OUTPOST_GIT_REVISION \"${revision}\"\n")
file(WRITE "${OUTPUT}.new" "${text}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
