# rondo-cli export against a real Prometheus (cmake -P, run through
# `perfmatrix service run`, which gives ADDR or exits 77 without prometheus):
#  1. an export killed with SIGKILL after the first request was acknowledged
#     and before the cursor was written (test hook RONDO_RW_TEST_KILL_AFTER_SEND);
#  2. the export run again: it resends the unacknowledged request, then the rest;
#  3. Prometheus's HTTP API holds exactly the store's samples (rw_prom_check);
#  4. a third export sends nothing.
# Inputs: RONDO_CLI, CHECK, STORE, ADDR, LABEL (a test=... label kept apart
# from the other tests' series in the shared Prometheus).

execute_process(COMMAND ${CMAKE_COMMAND} -DRONDO_CLI=${RONDO_CLI} -DSTORE=${STORE}
  -P ${CMAKE_CURRENT_LIST_DIR}/make_export_store.cmake RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot write the store")
endif()

# The fixture's Prometheus may keep data from an earlier run: a label of this
# run's own keeps its series apart.
string(RANDOM LENGTH 10 ALPHABET abcdefghijklmnopqrstuvwxyz run)
set(LABEL "${LABEL}_${run}")
set(url "http://${ADDR}/api/v1/write")
set(export ${RONDO_CLI} export ${STORE} --remote-write ${url} --label ${LABEL}
  --max-samples-per-request 25)

set(ENV{RONDO_RW_TEST_KILL_AFTER_SEND} 1)
execute_process(COMMAND ${export} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
unset(ENV{RONDO_RW_TEST_KILL_AFTER_SEND})
message(STATUS "killed export: ${rc} ${out}${err}")
if(NOT rc MATCHES "[Kk]illed")
  message(FATAL_ERROR "the export was not killed by the hook: ${rc}")
endif()
file(READ "${STORE}/cursor_prometheus.json" cursor)
if(NOT cursor MATCHES "\"pending\"")
  message(FATAL_ERROR "the cursor does not name the request in flight: ${cursor}")
endif()

execute_process(COMMAND ${export} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "export again: ${rc} ${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "exported [1-9][0-9]* samples")
  message(FATAL_ERROR "the second export failed: ${rc}")
endif()

execute_process(COMMAND ${CHECK} ${STORE} ${ADDR} ${LABEL} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "3 series, 86 samples compared, 0 differences")
  message(FATAL_ERROR "Prometheus differs from the store")
endif()

execute_process(COMMAND ${export} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^exported 0 samples")
  message(FATAL_ERROR "a third export sent something: ${rc} ${out}${err}")
endif()
message(STATUS "exact end state after SIGKILL between send and cursor write")
