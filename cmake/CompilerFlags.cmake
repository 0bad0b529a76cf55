# Warning and sanitizer flags shared by every target of the project.

# POSIX and Linux interfaces (clock_nanosleep, sched_setaffinity, mmap flags)
# are declared only with a feature macro under -std=c17.
add_compile_definitions(_GNU_SOURCE)

add_compile_options(
  -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
  -Wno-unused-parameter)

if(PERFMATRIX_WERROR)
  add_compile_options(-Werror)
endif()

if(PERFMATRIX_SANITIZE)
  set(_pm_sanitize -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  add_compile_options(${_pm_sanitize})
  add_link_options(${_pm_sanitize})
endif()

# The fuzz build instruments every library for coverage, not only the fuzz
# targets' own files: otherwise libFuzzer sees nothing inside the parsers.
# Only the fuzz_<name> programs link libFuzzer itself (pm_add_fuzzer).
if(PERFMATRIX_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
