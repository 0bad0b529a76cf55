# Writes a small store for the export tests with rondo-cli (cmake -P):
# a gauge with a gap, two counters, 30 seconds ending 2 minutes ago.
# Inputs: RONDO_CLI, STORE.

file(REMOVE_RECURSE "${STORE}")
get_filename_component(parent "${STORE}" DIRECTORY)
file(MAKE_DIRECTORY "${parent}")
string(TIMESTAMP now "%s" UTC)
math(EXPR t0 "${now} - 150")

function(run)
  execute_process(COMMAND "${RONDO_CLI}" ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rondo-cli ${ARGN}: exit ${rc}: ${err}")
  endif()
endfunction()

run(create "${STORE}" "vcpu_exits_total{reason=io}" --counter --archive 1s:1h --archive 10s:1d)
foreach(i RANGE 0 29)
  math(EXPR t "${t0} + ${i}")
  math(EXPR gap "${i} % 7")
  if(NOT gap EQUAL 3)
    math(EXPR v "${i} * 3")
    run(record "${STORE}" "vmm_rss_bytes" "${v}.25" --time ${t})
  endif()
  math(EXPR inc "${i} % 4")
  run(record "${STORE}" "vcpu_exits_total{reason=io}" ${inc} --counter --time ${t})
  # Two increments within one second add up in the slot.
  run(record "${STORE}" "guest_work_total{phase=cpu}" 0.1 --counter --time ${t})
  run(record "${STORE}" "guest_work_total{phase=cpu}" 0.2 --counter --time ${t})
endforeach()
