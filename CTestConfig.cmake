# The CDash project this tree submits to (ctest -S cmake/Dashboard.cmake).
# The submit URL comes from the CDASH_SUBMIT_URL environment variable, else
# the CDASH_SUBMIT_URL cache or -D variable. There is no default server:
# without a URL the dashboard script stops before submitting anything.
set(CTEST_PROJECT_NAME "perfmatrix")
set(CTEST_NIGHTLY_START_TIME "01:00:00 UTC")
if(DEFINED ENV{CDASH_SUBMIT_URL} AND NOT "$ENV{CDASH_SUBMIT_URL}" STREQUAL "")
  set(CTEST_SUBMIT_URL "$ENV{CDASH_SUBMIT_URL}")
elseif(CDASH_SUBMIT_URL)
  set(CTEST_SUBMIT_URL "${CDASH_SUBMIT_URL}")
endif()
