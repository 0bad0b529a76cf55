# Runs cmake/Dashboard.cmake on the small dashboard_project against the
# stand-in CDash in MODE ok or error, and checks the outcome.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND ${RECEIVER} --store ${WORK}/received --port-file ${WORK}/port
    --mode ${MODE} --lifetime-sec 100
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the stand-in CDash did not start (${rc})")
endif()
file(STRINGS "${WORK}/port" port)
set(url "http://127.0.0.1:${port}/submit.php?project=perfmatrix")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env CDASH_SUBMIT_URL=${url}
    ${CTEST} -S ${SCRIPT} -VV
    -DDASHBOARD_SOURCE_DIR=${PROJECT} -DDASHBOARD_BINARY_DIR=${WORK}/build
    "-DDASHBOARD_CONFIGURE_OPTIONS=-DPERFMATRIX_DRIVER=${PERFMATRIX};-DFAKE_RANKD=${FAKE_RANKD};-DPERFMATRIX_SOURCE_DIR=${SOURCE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(DOWNLOAD "http://127.0.0.1:${port}/quit" "${WORK}/quit.txt" TIMEOUT 5)
message("ctest -S exit ${rc}\n--- output (tail) ---")
string(LENGTH "${out}" len)
if(len GREATER 4000)
  math(EXPR from "${len} - 4000")
  string(SUBSTRING "${out}" ${from} -1 out)
endif()
message("${out}\n--- stderr ---\n${err}")

file(GLOB test_xml "${WORK}/received/*Test.xml")
if(MODE STREQUAL "ok")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the dashboard script failed against an accepting server")
  endif()
  if(NOT test_xml)
    message(FATAL_ERROR "no Test.xml arrived (see ${WORK}/received/requests.log)")
  endif()
  file(READ "${test_xml}" xml)
  foreach(name qps p50_us p99_us max_us ru_maxrss)
    if(NOT xml MATCHES "<NamedMeasurement type=\"numeric/double\"[ \t\r\n]+name=\"${name}\">")
      message(FATAL_ERROR "Test.xml lacks the ${name} measurement")
    endif()
  endforeach()
  message("Test.xml arrived with the perf measurements: ${test_xml}")
else()
  if(rc EQUAL 0)
    message(FATAL_ERROR "the dashboard script succeeded although the server answered ERROR")
  endif()
  if(NOT err MATCHES "rejected the submission")
    message(FATAL_ERROR "the failure does not say the server rejected the submission")
  endif()
  message("the ERROR answer made the dashboard script fail, as it must")
endif()
