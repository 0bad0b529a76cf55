# The declarative performance matrix: one CTest test per measured point.
#
# This first version declares the API that components call; the driver
# behind it (perf/, `perfmatrix`) replaces these bodies.
#
# perf_command(NAME <name> COMMAND <program> [<arg>...] [LABELS <label...>]
#              [RUNS <n>] [WARMUP <n>] [TIMEOUT_SEC <sec>] [SETUP <program> [<arg>...]])
#   Times a whole command with hyperfine: test `perf.cmd.<name>`. SETUP is a
#   command run once before timing (for example to create the data read).
#
# perf_benchmark(NAME <name> COMMAND <program> [<arg>...] [LABELS <label...>]
#                [TIMEOUT_SEC <sec>])
#   Runs an in-process benchmark program that prints one JSON object of
#   figures on stdout: test `perf.bench.<name>`.

function(perf_command)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;RUNS;WARMUP;TIMEOUT_SEC" "COMMAND;LABELS;SETUP")
  if(NOT arg_TIMEOUT_SEC)
    set(arg_TIMEOUT_SEC 120)
  endif()
  add_test(NAME perf.cmd.${arg_NAME} COMMAND ${arg_COMMAND})
  set_tests_properties(perf.cmd.${arg_NAME} PROPERTIES
    LABELS "perf;${arg_LABELS}" TIMEOUT ${arg_TIMEOUT_SEC} RESOURCE_LOCK perf_host
    SKIP_RETURN_CODE 77)
endfunction()

function(perf_benchmark)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TIMEOUT_SEC" "COMMAND;LABELS")
  if(NOT arg_TIMEOUT_SEC)
    set(arg_TIMEOUT_SEC 120)
  endif()
  add_test(NAME perf.bench.${arg_NAME} COMMAND ${arg_COMMAND})
  set_tests_properties(perf.bench.${arg_NAME} PROPERTIES
    LABELS "perf;${arg_LABELS}" TIMEOUT ${arg_TIMEOUT_SEC} RESOURCE_LOCK perf_host
    SKIP_RETURN_CODE 77)
endfunction()
