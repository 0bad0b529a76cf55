# Argument handling shared by the project's CMake functions and scripts.

# pm_default(<var> <value>...): gives <var> its default when the caller left
# it empty (a keyword cmake_parse_arguments did not see, a -D not given). 0 is
# a value like any other. A macro, so that it sets the caller's variable.
macro(pm_default var)
  if("${${var}}" STREQUAL "")
    set(${var} ${ARGN})
  endif()
endmacro()

# pm_require(<function> <key>...): after cmake_parse_arguments with the prefix
# arg, stops the configuration naming the keywords that must be given when
# one of them is missing, and names any argument the function does not know.
macro(pm_require fn)
  foreach(pm__key ${ARGN})
    if("${arg_${pm__key}}" STREQUAL "")
      string(REPLACE ";" ", " pm__keys "${ARGN}")
      message(FATAL_ERROR "${fn}: ${pm__keys} required (${pm__key} is missing)")
    endif()
  endforeach()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${fn}: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
endmacro()
