# Opens the newest report page of a sweep in headless Chromium, the way a
# person would, and fails on what they would see broken:
#   cmake -DCHROMIUM=<path or empty> -DOUT=<set output dir> -DHARNESS=<html>
#         -DWORK=<scratch dir> -P BrowserTest.cmake
# Chromium runs with a new empty profile, background networking off, and no
# access to anything but the files given. A screenshot of the page at
# 1280 px is kept next to it (<base>.png).
if(NOT CHROMIUM)
  message("skipped: chromium is not installed (scripts/bootstrap.sh installs it)")
  return()
endif()
file(READ "${OUT}/.current_sweep" sweep)
string(STRIP "${sweep}" sweep)
set(page "${OUT}/${sweep}.html")
if(NOT EXISTS "${page}")
  message(FATAL_ERROR "${page}: the report page was not written")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(flags --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --no-default-browser-check
  --enable-logging=stderr --v=0)

execute_process(COMMAND ${CHROMIUM} ${flags} --user-data-dir=${WORK}/profile_check
    --allow-file-access-from-files --window-size=1400,1000 --virtual-time-budget=10000
    --dump-dom "file://${HARNESS}#file://${page}"
  OUTPUT_VARIABLE dom ERROR_VARIABLE log RESULT_VARIABLE rc TIMEOUT 120)
file(WRITE "${WORK}/chromium_check.log" "${log}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "chromium exited ${rc} (log: ${WORK}/chromium_check.log)")
endif()
if(NOT dom MATCHES "RESULT\n(.*)\nEND")
  message(FATAL_ERROR "the check page did not finish:\n${dom}")
endif()
string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
set(failures)
foreach(line IN LISTS lines)
  if(line MATCHES "^checked: ([0-9]+) images, ([0-9]+) tables")
    message("${line}")
    if(CMAKE_MATCH_1 EQUAL 0 OR CMAKE_MATCH_2 EQUAL 0)
      list(APPEND failures "the page shows no plot or no table: ${line}")
    endif()
  else()
    list(APPEND failures "${line}")
  endif()
endforeach()
# The page has no script, so any console message is a problem the browser
# found (a resource that failed, a blocked request).
string(REGEX MATCHALL "[^\n]*:CONSOLE[^\n]*" console "${log}")
foreach(line IN LISTS console)
  list(APPEND failures "console: ${line}")
endforeach()

string(REGEX REPLACE "\\.html$" ".png" shot "${page}")
execute_process(COMMAND ${CHROMIUM} ${flags} --user-data-dir=${WORK}/profile_shot
    --window-size=1280,2400 --hide-scrollbars --virtual-time-budget=10000
    --screenshot=${shot} "file://${page}"
  OUTPUT_QUIET ERROR_VARIABLE log RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0 OR NOT EXISTS "${shot}")
  list(APPEND failures "no screenshot (chromium exited ${rc})")
else()
  message("screenshot: ${shot}")
endif()
if(failures)
  string(REPLACE ";" "\n  " failures "${failures}")
  message(FATAL_ERROR "the report page ${page} has problems:\n  ${failures}")
endif()
message("report page ${page}: every plot rendered, no empty table, no scroll at 1280 px")
