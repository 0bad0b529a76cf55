# Declarative helpers for the project's tests. Every test gets a label for
# its kind (unit, cli, integration, fuzz, lint) and one for its component,
# so `ctest -L unit` or `ctest -L store` select by eye.

include(${CMAKE_CURRENT_LIST_DIR}/Defaults.cmake)

set(PM_RUN_CHECK_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/RunCheck.cmake")

# pm_add_unit_test(<component> <name> SOURCES <src...> [LIBRARIES <lib...>]
#                  [LABELS <label...>] [TIMEOUT <sec>])
#
# Builds a cmocka test program `test_<component>_<name>` and registers it as
# `unit.<component>.<name>` with the labels `unit;<component>`.
function(pm_add_unit_test component name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "TIMEOUT" "SOURCES;LIBRARIES;LABELS")
  pm_default(arg_TIMEOUT 60)
  set(target test_${component}_${name})
  add_executable(${target} ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE ${arg_LIBRARIES} PkgConfig::CMOCKA)
  add_test(NAME unit.${component}.${name} COMMAND ${target})
  set_tests_properties(unit.${component}.${name} PROPERTIES
    LABELS "unit;${component};${arg_LABELS}"
    TIMEOUT ${arg_TIMEOUT}
    SKIP_RETURN_CODE 77)
endfunction()

# pm_add_cli_test(<name> COMMAND <program> [<arg>...]
#                 [EXIT_CODE <n>] [STDOUT <regex>...] [STDERR <regex>...]
#                 [NOT_STDOUT <regex>...] [STDIN_FILE <path>] [STDIN <text>]
#                 [LABELS <label...>] [FIXTURES_REQUIRED <f...>]
#                 [ENVIRONMENT <VAR=value...>] [TIMEOUT <sec>])
#
# Runs a program through cmake/RunCheck.cmake and checks its exit code (0 by
# default) and that every STDOUT/STDERR regex matches and no NOT_STDOUT regex
# does. The test is named `cli.<name>` and labelled `cli`.
function(pm_add_cli_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg ""
    "EXIT_CODE;STDIN_FILE;STDIN;TIMEOUT;WORKING_DIRECTORY"
    "COMMAND;STDOUT;STDERR;NOT_STDOUT;LABELS;FIXTURES_REQUIRED;ENVIRONMENT")
  pm_default(arg_EXIT_CODE 0)
  pm_default(arg_TIMEOUT 60)
  pm_default(arg_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  # Lists travel to the script joined by @@, which no argument here contains.
  string(REPLACE ";" "@@" cmd "${arg_COMMAND}")
  string(REPLACE ";" "@@" out "${arg_STDOUT}")
  string(REPLACE ";" "@@" err "${arg_STDERR}")
  string(REPLACE ";" "@@" notout "${arg_NOT_STDOUT}")
  add_test(NAME cli.${name}
    COMMAND ${CMAKE_COMMAND}
      "-DCOMMAND=${cmd}" "-DEXIT_CODE=${arg_EXIT_CODE}"
      "-DSTDOUT_REGEX=${out}" "-DSTDERR_REGEX=${err}" "-DNOT_STDOUT_REGEX=${notout}"
      "-DSTDIN_FILE=${arg_STDIN_FILE}" "-DSTDIN=${arg_STDIN}"
      -P ${PM_RUN_CHECK_SCRIPT}
    WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  set_tests_properties(cli.${name} PROPERTIES
    LABELS "cli;${arg_LABELS}"
    TIMEOUT ${arg_TIMEOUT}
    SKIP_RETURN_CODE 77)
  if(arg_FIXTURES_REQUIRED)
    set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED "${arg_FIXTURES_REQUIRED}")
  endif()
  if(arg_ENVIRONMENT)
    set_tests_properties(cli.${name} PROPERTIES ENVIRONMENT "${arg_ENVIRONMENT}")
  endif()
endfunction()

# pm_add_fuzzer(<name> COMPONENT <component> SOURCES <src...> [LIBRARIES <lib...>]
#               CORPUS <dir>)
#
# Always builds `fuzz_<name>_replay`, the fuzz target linked with a main that
# feeds it every file of the corpus, and registers it as `fuzz.<name>.corpus`
# so the corpus is a regression suite in every build. With PERFMATRIX_FUZZ
# (clang) it also builds the libFuzzer program `fuzz_<name>` and registers
# `fuzz.<name>.run`, a bounded fuzzing session (label `fuzzing`). Both carry
# the component's label.
set(PERFMATRIX_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzz.<name>.run test fuzzes")
function(pm_add_fuzzer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "CORPUS;COMPONENT" "SOURCES;LIBRARIES")
  if(NOT arg_COMPONENT)
    message(FATAL_ERROR "pm_add_fuzzer(${name}): COMPONENT is required")
  endif()
  add_executable(fuzz_${name}_replay ${arg_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_link_libraries(fuzz_${name}_replay PRIVATE ${arg_LIBRARIES})
  add_test(NAME fuzz.${name}.corpus COMMAND fuzz_${name}_replay ${arg_CORPUS})
  set_tests_properties(fuzz.${name}.corpus PROPERTIES
    LABELS "fuzz;${arg_COMPONENT}" TIMEOUT 120)
  if(PERFMATRIX_FUZZ)
    add_executable(fuzz_${name} ${arg_SOURCES})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${arg_LIBRARIES})
    set(work "${CMAKE_CURRENT_BINARY_DIR}/fuzz_${name}_corpus")
    add_test(NAME fuzz.${name}.run
      COMMAND ${CMAKE_COMMAND} -E env
        $<TARGET_FILE:fuzz_${name}> -max_total_time=${PERFMATRIX_FUZZ_SECONDS}
        -timeout=5 -rss_limit_mb=2048 ${work} ${arg_CORPUS})
    set_tests_properties(fuzz.${name}.run PROPERTIES
      LABELS "fuzzing;${arg_COMPONENT}"
      TIMEOUT 600
      FIXTURES_REQUIRED fuzz_${name}_dir)
    add_test(NAME fuzz.${name}.mkdir COMMAND ${CMAKE_COMMAND} -E make_directory ${work})
    set_tests_properties(fuzz.${name}.mkdir PROPERTIES FIXTURES_SETUP fuzz_${name}_dir)
  endif()
endfunction()
