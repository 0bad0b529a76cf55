# Runs one program and checks what it did; used by pm_add_cli_test().
#
# Inputs (-D): COMMAND, EXIT_CODE, STDOUT_REGEX, STDERR_REGEX,
# NOT_STDOUT_REGEX (lists joined with @@), STDIN_FILE or STDIN.
# A program that exits 77 makes this script exit 77 too, so the test skips.

foreach(var COMMAND STDOUT_REGEX STDERR_REGEX NOT_STDOUT_REGEX)
  string(REPLACE "@@" ";" ${var} "${${var}}")
endforeach()

set(input_args)
if(STDIN_FILE)
  set(input_args INPUT_FILE "${STDIN_FILE}")
elseif(NOT "${STDIN}" STREQUAL "")
  string(RANDOM LENGTH 12 tag)
  set(stdin_path "${CMAKE_CURRENT_BINARY_DIR}/stdin_${tag}.txt")
  file(WRITE "${stdin_path}" "${STDIN}")
  set(input_args INPUT_FILE "${stdin_path}")
else()
  set(input_args INPUT_FILE /dev/null)
endif()

execute_process(COMMAND ${COMMAND}
  ${input_args}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(stdin_path)
  file(REMOVE "${stdin_path}")
endif()

message("exit code: ${rc}\n--- stdout ---\n${out}--- stderr ---\n${err}--------------")

if(rc STREQUAL "77" AND NOT EXIT_CODE STREQUAL "77")
  message("skipped: the program reported a missing prerequisite")
  cmake_language(EXIT 77)
endif()

set(failures)
if(NOT rc STREQUAL EXIT_CODE)
  list(APPEND failures "exit code ${rc}, expected ${EXIT_CODE}")
endif()
foreach(re IN LISTS STDOUT_REGEX)
  if(NOT out MATCHES "${re}")
    list(APPEND failures "stdout does not match '${re}'")
  endif()
endforeach()
foreach(re IN LISTS NOT_STDOUT_REGEX)
  if(out MATCHES "${re}")
    list(APPEND failures "stdout matches '${re}' and must not")
  endif()
endforeach()
foreach(re IN LISTS STDERR_REGEX)
  if(NOT err MATCHES "${re}")
    list(APPEND failures "stderr does not match '${re}'")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "check failed:\n  ${text}")
endif()
