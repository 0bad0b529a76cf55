# Configures, builds, runs the perf matrix and submits it to CDash:
#
#   CDASH_SUBMIT_URL=https://cdash.example/submit.php?project=perfmatrix \
#     ctest -S cmake/Dashboard.cmake [-VV]
#
# The build tree, cache variables and test label come from the `dashboard`
# configure and test presets of CTestPresets.json, so `cmake --preset
# dashboard` and this script measure the same matrix. Variables (-D):
#   CDASH_SUBMIT_URL            submit URL (the environment variable wins)
#   DASHBOARD_MODEL             Experimental (default), Continuous or Nightly
#   DASHBOARD_TEST_LABEL        label regex (default: the preset's, ^perf$)
#   DASHBOARD_TEST_REGEX        name regex narrowing the selection (e.g. "c1\\.r1$")
#   DASHBOARD_SOURCE_DIR, DASHBOARD_BINARY_DIR, DASHBOARD_CONFIGURE_OPTIONS
#                               another project or tree (the integration test)
# The script fails (non-zero exit) when any step fails, including a
# submission the server rejects: ctest_submit returns 0 when CDash answers
# <status>ERROR</status>, so the server's answer is read back and checked.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/Defaults.cmake)
get_filename_component(_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
pm_default(DASHBOARD_SOURCE_DIR "${_repo}")
pm_default(DASHBOARD_MODEL Experimental)

# Reads a field of a preset, following `inherits` (one parent per level is
# all CTestPresets.json uses).
function(_dashboard_preset_field json kind name out)
  set(path ${ARGN})
  string(JSON count LENGTH "${json}" ${kind})
  while(name)
    set(next "")
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON this GET "${json}" ${kind} ${i} name)
      if(this STREQUAL name)
        string(JSON value ERROR_VARIABLE missing GET "${json}" ${kind} ${i} ${path})
        if(NOT missing)
          set(${out} "${value}" PARENT_SCOPE)
          return()
        endif()
        string(JSON next ERROR_VARIABLE none GET "${json}" ${kind} ${i} inherits)
        if(none)
          set(next "")
        endif()
      endif()
    endforeach()
    set(name "${next}")
  endwhile()
  set(${out} "" PARENT_SCOPE)
endfunction()

set(_presets "${DASHBOARD_SOURCE_DIR}/CTestPresets.json")
if(DASHBOARD_SOURCE_DIR STREQUAL _repo AND EXISTS "${_presets}")
  file(READ "${_presets}" _json)
  pm_default(DASHBOARD_BINARY_DIR "${_repo}/build/dashboard")
  if(NOT DASHBOARD_TEST_LABEL)
    _dashboard_preset_field("${_json}" testPresets dashboard DASHBOARD_TEST_LABEL
      filter include label)
  endif()
  # Every cache variable along the preset's inheritance chain, nearest wins.
  set(_chain dashboard)
  set(_seen)
  while(_chain)
    list(POP_FRONT _chain _p)
    list(APPEND _seen ${_p})
    _dashboard_preset_field("${_json}" configurePresets ${_p} _vars cacheVariables)
    if(_vars)
      string(JSON _n LENGTH "${_vars}")
      math(EXPR _last "${_n} - 1")
      foreach(_i RANGE ${_last})
        string(JSON _k MEMBER "${_vars}" ${_i})
        string(JSON _v GET "${_vars}" ${_k})
        if(NOT DEFINED _cache_${_k})
          set(_cache_${_k} "${_v}")
          list(APPEND DASHBOARD_CONFIGURE_OPTIONS "-D${_k}=${_v}")
        endif()
      endforeach()
    endif()
    _dashboard_preset_field("${_json}" configurePresets ${_p} _parent inherits)
    if(_parent AND NOT _parent IN_LIST _seen)
      list(APPEND _chain ${_parent})
    endif()
  endwhile()
endif()
if(NOT DASHBOARD_BINARY_DIR)
  message(FATAL_ERROR "Dashboard: set DASHBOARD_BINARY_DIR for ${DASHBOARD_SOURCE_DIR}")
endif()
pm_default(DASHBOARD_TEST_LABEL "^perf$")

set(CTEST_SOURCE_DIRECTORY "${DASHBOARD_SOURCE_DIR}")
set(CTEST_BINARY_DIRECTORY "${DASHBOARD_BINARY_DIR}")
find_program(_ninja ninja)
if(_ninja)
  set(CTEST_CMAKE_GENERATOR Ninja)
else()
  set(CTEST_CMAKE_GENERATOR "Unix Makefiles")
endif()
cmake_host_system_information(RESULT CTEST_SITE QUERY HOSTNAME)
set(_vcpus "$ENV{VCPUS}")
if(NOT _vcpus)
  cmake_host_system_information(RESULT _vcpus QUERY NUMBER_OF_LOGICAL_CORES)
endif()
set(CTEST_BUILD_NAME "${CMAKE_HOST_SYSTEM_NAME}-perf-vcpus${_vcpus}")
pm_default(CTEST_PROJECT_NAME perfmatrix)

# The URL is resolved after ctest_start, which reads CTestConfig.cmake.
ctest_start(${DASHBOARD_MODEL})
if(DEFINED ENV{CDASH_SUBMIT_URL} AND NOT "$ENV{CDASH_SUBMIT_URL}" STREQUAL "")
  set(_url "$ENV{CDASH_SUBMIT_URL}")
elseif(CDASH_SUBMIT_URL)
  set(_url "${CDASH_SUBMIT_URL}")
elseif(CTEST_SUBMIT_URL)
  set(_url "${CTEST_SUBMIT_URL}")
else()
  message(FATAL_ERROR "Dashboard: no submit URL (set CDASH_SUBMIT_URL)")
endif()

set(_failures)
ctest_configure(OPTIONS "${DASHBOARD_CONFIGURE_OPTIONS}" RETURN_VALUE _rc)
if(NOT _rc EQUAL 0)
  list(APPEND _failures "configure failed (${_rc})")
else()
  ctest_build(RETURN_VALUE _rc NUMBER_ERRORS _errors)
  if(NOT _rc EQUAL 0 OR _errors GREATER 0)
    list(APPEND _failures "build failed (${_rc}, ${_errors} errors)")
  else()
    set(_select INCLUDE_LABEL "${DASHBOARD_TEST_LABEL}")
    if(DASHBOARD_TEST_REGEX)
      list(APPEND _select INCLUDE "${DASHBOARD_TEST_REGEX}")
    endif()
    # Measurements never overlap: one test at a time, like the perf presets.
    ctest_test(${_select} PARALLEL_LEVEL 1 RETURN_VALUE _rc)
    if(NOT _rc EQUAL 0)
      list(APPEND _failures "some perf tests failed")
    endif()
  endif()
endif()

# Results are submitted even when a step failed: the dashboard is where a
# failure is looked at.
ctest_submit(SUBMIT_URL "${_url}" RETURN_VALUE _submit_rc CAPTURE_CMAKE_ERROR _submit_err
  BUILD_ID _build_id)
if(NOT _submit_rc EQUAL 0 OR NOT _submit_err EQUAL 0)
  list(APPEND _failures "submission to ${_url} failed (ctest_submit ${_submit_rc})")
endif()
file(GLOB _logs "${CTEST_BINARY_DIRECTORY}/Testing/Temporary/LastSubmit*.log")
list(SORT _logs)
list(POP_BACK _logs _log)
if(_log)
  file(READ "${_log}" _answer)
  # ctest logs "Errors occurred during submission" when the server's
  # answer parsed as ERROR (the answer itself is printed with -V); older
  # versions copy the answer into the log, hence the <status> match.
  if(_answer MATCHES "Errors occurred during submission" OR
     _answer MATCHES "<status>[ \t\r\n]*ERROR[ \t\r\n]*</status>")
    list(APPEND _failures "the server rejected the submission (see ${_log}; -V prints its answer)")
  endif()
endif()

if(_failures)
  list(JOIN _failures "; " _text)
  message(FATAL_ERROR "Dashboard: ${_text}")
endif()
message("Dashboard: submitted to ${_url} (build id '${_build_id}')")
