# Compares two real sweeps with `perfmatrix compare`:
#   cmake -DPERFMATRIX=<driver> -DBASE=<set dir> -DNEW=<set dir> -DEXPECT=same|slower
#         -P CompareTest.cmake
# same: two sweeps of one build; the comparison must cover every point and
# may not call any of them a regression beyond the gate by more than noise
# allows (exit 0 or 1, never a usage error). slower: the new sweep ran a plan
# with four times the work; every point must be judged slower and gate (exit 1).
foreach(dir IN ITEMS BASE NEW)
  file(READ "${${dir}}/.current_sweep" sweep)
  string(STRIP "${sweep}" sweep)
  set(${dir}_CSV "${${dir}}/${sweep}.csv")
endforeach()
execute_process(COMMAND ${PERFMATRIX} compare ${BASE_CSV} ${NEW_CSV}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT out MATCHES "([0-9]+) points compared")
  message(FATAL_ERROR "no comparison summary (exit ${rc})")
endif()
if(NOT CMAKE_MATCH_1 EQUAL POINTS)
  message(FATAL_ERROR "${CMAKE_MATCH_1} points compared, expected ${POINTS}")
endif()
if(EXPECT STREQUAL "slower")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "a plan with four times the work was not flagged (exit ${rc})")
  endif()
  if(NOT out MATCHES "${POINTS} slower \\(${POINTS} beyond")
    message(FATAL_ERROR "not every point was judged a regression")
  endif()
elseif(NOT rc EQUAL 0 AND NOT rc EQUAL 1)
  message(FATAL_ERROR "compare failed with exit ${rc}")
endif()
