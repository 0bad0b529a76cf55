# Checks `perfmatrix service` end to end with real servers:
#   cmake -DPERFMATRIX=<driver> -DWORK=<dir> -DPROGRAM=<server> -DPROBE=<probe>
#         "-DARGS=<arg;...>" -P ServiceTest.cmake
# start must leave a server answering on the port written to addr, run must
# see that address, stop must take the server down, and the watchdog must end
# a server whose lifetime has run out. A program that is not installed must
# turn into a skip of the dependent commands.

function(run_driver out_var expect)
  execute_process(COMMAND ${PERFMATRIX} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err TIMEOUT 60)
  if(NOT rc EQUAL expect)
    message(FATAL_ERROR "perfmatrix ${ARGN}: exit ${rc}, expected ${expect}\n${out}${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Reads WORK/<name>/addr and checks the server's port answers or not.
function(port_of dir out_var)
  file(STRINGS ${dir}/addr addr LIMIT_COUNT 1)
  if(NOT addr MATCHES "^127\\.0\\.0\\.1:([0-9]+)$")
    message(FATAL_ERROR "${dir}/addr holds '${addr}', not 127.0.0.1:PORT")
  endif()
  set(${out_var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()

function(expect_listening port want)
  execute_process(COMMAND ss -Htln "sport = :${port}" OUTPUT_VARIABLE listening)
  string(STRIP "${listening}" listening)
  if(want AND listening STREQUAL "")
    message(FATAL_ERROR "nothing listens on 127.0.0.1:${port}")
  elseif(NOT want AND NOT listening STREQUAL "")
    message(FATAL_ERROR "127.0.0.1:${port} still listens after stop:\n${listening}")
  endif()
  if(want AND NOT listening MATCHES "127\\.0\\.0\\.1:${port}")
    message(FATAL_ERROR "the server listens beyond loopback: ${listening}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
find_program(server ${PROGRAM})
if(NOT server)
  message("skipped: ${PROGRAM} is not installed")
  return()
endif()

# start, run, stop.
run_driver(out 0 service start --dir ${WORK}/a --probe ${PROBE} --lifetime-sec 60
  -- ${PROGRAM} ${ARGS})
port_of(${WORK}/a port)
expect_listening(${port} TRUE)
run_driver(out 0 service run --dir ${WORK}/a -- sh -c "echo seen {addr} {port}")
if(NOT out MATCHES "seen 127\\.0\\.0\\.1:${port} ${port}")
  message(FATAL_ERROR "service run did not substitute the address: ${out}")
endif()
run_driver(out 0 service stop --dir ${WORK}/a)
expect_listening(${port} FALSE)
if(EXISTS ${WORK}/a/addr)
  message(FATAL_ERROR "stop left ${WORK}/a/addr behind")
endif()

# The watchdog bounds the server's life.
run_driver(out 0 service start --dir ${WORK}/b --probe ${PROBE} --lifetime-sec 2
  -- ${PROGRAM} ${ARGS})
port_of(${WORK}/b port)
execute_process(COMMAND sleep 5)
expect_listening(${port} FALSE)
file(READ ${WORK}/b/log log)
if(NOT log MATCHES "lifetime of 2 s over")
  message(FATAL_ERROR "the watchdog did not say why it stopped the server:\n${log}")
endif()
run_driver(out 0 service stop --dir ${WORK}/b)

# A missing program: start succeeds, dependants skip with the reason.
run_driver(out 0 service start --dir ${WORK}/c -- no-such-server-program --port {port})
run_driver(out 77 service run --dir ${WORK}/c -- true)
if(NOT out MATCHES "skipped: no-such-server-program is not installed")
  message(FATAL_ERROR "service run did not give the skip reason: ${out}")
endif()
message("service fixture: start, run, stop, lifetime and skip behave")
