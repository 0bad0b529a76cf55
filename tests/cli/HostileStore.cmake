# rondo-cli against a hostile store directory (issue 9, rows 1-3, 6, 8):
#   cmake -DRONDO_CLI=<program> -DWORK=<dir> -P HostileStore.cmake
# 1. links planted where the store creates files are never written through;
# 2. a series file renamed by hand (schema edited to match) is never reused;
# 3. a FIFO in place of a data file or schema.json is refused, not waited on;
# 6. a duration query of a series with nothing written computes no time;
# 8. a long store path is printed whole.
set(failures)
function(cli expect out_var)
  execute_process(COMMAND ${RONDO_CLI} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE err TIMEOUT 10)
  if(NOT "${rc}" STREQUAL "${expect}")
    set(failures "${failures}\nrondo-cli ${ARGN}: exit ${rc}, expected ${expect}: ${out}${err}"
      PARENT_SCOPE)
  endif()
  set(${out_var} "${out}${err}" PARENT_SCOPE)
endfunction()
function(expect_file path content)
  file(READ ${path} text)
  if(NOT text STREQUAL "${content}")
    set(failures "${failures}\n${path} was written through a link: '${text}'" PARENT_SCOPE)
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/outside)

# 1. Links where the store would create its files.
set(S ${WORK}/links)
cli(0 out create ${S} first)
foreach(name A B C)
  file(WRITE ${WORK}/outside/${name} "keep")
endforeach()
file(CREATE_LINK ${WORK}/outside/A ${S}/series-1.rondo.tmp SYMBOLIC)
file(CREATE_LINK ${WORK}/outside/B ${S}/schema.json.tmp SYMBOLIC)
file(CREATE_LINK ${WORK}/outside/C ${S}/series-1.rondo SYMBOLIC)
cli(0 out record ${S} second 7)
foreach(name A B C)
  expect_file(${WORK}/outside/${name} "keep")
endforeach()
if(IS_SYMLINK ${S}/schema.json)
  set(failures "${failures}\nschema.json became a link")
endif()
cli(0 out query ${S} second --range all)
if(NOT out MATCHES "  7\n")
  set(failures "${failures}\nthe new series lost its value: ${out}")
endif()

# 2. A data file renamed to a free name, the schema edited to match.
set(S ${WORK}/renamed)
cli(0 out record ${S} one 1)
file(RENAME ${S}/series-0.rondo ${S}/series-1.rondo)
file(READ ${S}/schema.json schema)
string(REPLACE "series-0.rondo" "series-1.rondo" schema "${schema}")
file(WRITE ${S}/schema.json "${schema}")
cli(0 out record ${S} two 2)
cli(0 out query ${S} one --range all)
if(NOT out MATCHES "  1\n")
  set(failures "${failures}\nthe renamed series was overwritten: ${out}")
endif()

# 3. FIFOs where files are expected: refused at once.
set(S ${WORK}/fifo)
cli(0 out record ${S} n 1)
file(REMOVE ${S}/series-0.rondo)
execute_process(COMMAND mkfifo ${S}/series-0.rondo)
cli(2 out query ${S} n --range all)
if(NOT out MATCHES "not a regular file")
  set(failures "${failures}\na FIFO data file: ${out}")
endif()
file(REMOVE ${S}/schema.json)
execute_process(COMMAND mkfifo ${S}/schema.json)
cli(2 out info ${S})
if(NOT out MATCHES "not a regular file")
  set(failures "${failures}\na FIFO schema: ${out}")
endif()

# 6. Nothing written: a duration window has no end to count back from.
set(S ${WORK}/empty)
cli(0 out create ${S} e)
cli(0 out query ${S} e --range 5m)

# 8. A store path of more than 2,048 bytes is printed whole.
string(REPEAT "d" 200 part)
set(S ${WORK}/long)
foreach(i RANGE 10)
  set(S ${S}/${part}${i})
endforeach()
get_filename_component(parent ${S} DIRECTORY)
file(MAKE_DIRECTORY ${parent})
cli(0 out record ${S} n 1)
cli(0 out info ${S})
if(NOT out MATCHES "${part}10/series-0.rondo")
  set(failures "${failures}\ninfo cut the long path")
endif()

if(failures)
  message(FATAL_ERROR "hostile store:${failures}")
endif()
message("links, renamed files, FIFOs, an empty series and a long path all handled")
