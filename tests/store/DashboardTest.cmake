# The Grafana dashboard against a real Prometheus (cmake -P, through
# `perfmatrix service run`, which gives ADDR or exits 77): a store holding the
# series rondo-vmm records (VMM-CONTRACT.md) and the exporter's own counters,
# written with rondo-cli and exported with vm=<this run>; then every
# expression of the dashboard must parse and return data for that vm.
# Inputs: RONDO_CLI, CHECK, DASHBOARD, STORE, ADDR.

file(REMOVE_RECURSE "${STORE}")
get_filename_component(parent "${STORE}" DIRECTORY)
file(MAKE_DIRECTORY "${parent}")
string(TIMESTAMP now "%s" UTC)
math(EXPR t0 "${now} - 100")

function(run)
  execute_process(COMMAND "${RONDO_CLI}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rondo-cli ${ARGN}: exit ${rc}: ${out}${err}")
  endif()
endfunction()

foreach(i RANGE 0 29)
  math(EXPR t "${t0} + ${i}")
  math(EXPR phase "1 + ${i} / 8")
  math(EXPR rss "50000000 + ${i} * 4096")
  math(EXPR sent "${i} * 9")
  run(record "${STORE}" vmm_uptime_seconds ${i} --time ${t})
  run(record "${STORE}" guest_phase ${phase} --time ${t})
  run(record "${STORE}" vmm_rss_bytes ${rss} --time ${t})
  run(record "${STORE}" "vcpu_exits_total{reason=io}" 120 --counter --time ${t})
  run(record "${STORE}" "guest_work_total{phase=cpu}" 7 --counter --time ${t})
  run(record "${STORE}" rondo_rw_samples_sent_total ${sent} --counter --time ${t})
  run(record "${STORE}" rondo_rw_attempts_failed_total 0 --counter --time ${t})
  run(record "${STORE}" rondo_rw_samples_dropped_total 0 --counter --time ${t})
  run(record "${STORE}" rondo_rw_last_success_timestamp_seconds ${t} --time ${t})
endforeach()

string(RANDOM LENGTH 10 ALPHABET abcdefghijklmnopqrstuvwxyz run)
set(vm "dash_${run}")
run(export "${STORE}" --remote-write "http://${ADDR}/api/v1/write" --label vm=${vm})
execute_process(COMMAND ${CHECK} ${DASHBOARD} ${ADDR} ${STORE} ${vm} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the dashboard does not hold against Prometheus")
endif()
