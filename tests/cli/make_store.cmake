# Writes the stores the CLI tests read (cmake -P, run by cli.rondo.setup):
#   ${DIR}/yesterday  samples recorded one day in the past, as a store written
#                     yesterday and read today
#   ${DIR}/corrupt    a store whose data file was overwritten with garbage
# Inputs: RONDO_CLI (the program), DIR.

file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
string(TIMESTAMP now "%s" UTC)
math(EXPR t0 "${now} - 86400")
math(EXPR t1 "${t0} + 1")
math(EXPR t2 "${t0} + 2")
file(WRITE "${DIR}/t0" "${t0}")

function(run)
  execute_process(COMMAND "${RONDO_CLI}" ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rondo-cli ${ARGN}: exit ${rc}: ${err}")
  endif()
endfunction()

set(store "${DIR}/yesterday")
run(record "${store}" "cpu{host=a}" 1.5 --time ${t0})
run(record "${store}" "cpu{host=a}" 2.5 --time ${t1})
run(record "${store}" "cpu{host=a}" 3.5 --time ${t2})
run(record "${store}" "cpu{host=b}" 7 --time ${t2})
# Three increments within one second add up to 3; then 1 in the next second.
run(record "${store}" "exits{reason=io}" 1 --counter --time ${t0})
run(record "${store}" "exits{reason=io}" 1 --counter --time ${t0})
run(record "${store}" "exits{reason=io}" 1 --counter --time ${t0})
run(record "${store}" "exits{reason=io}" 1 --counter --time ${t1})

set(bad "${DIR}/corrupt")
run(record "${bad}" "cpu" 1 --time ${t0})
file(GLOB bad_files "${bad}/series-*.rondo")
file(WRITE "${bad_files}" "garbage")
