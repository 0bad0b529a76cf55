# Every external library comes from a Debian package (scripts/bootstrap.sh)
# and is found through pkg-config; nothing is vendored or downloaded.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
# Remote write: protobuf-c (runtime and the protoc-c compiler) and snappy.
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
find_program(PROTOC_C_EXECUTABLE protoc-c REQUIRED)

if(BUILD_TESTING)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# Optional programs: the tests that need them skip (exit 77) when absent.
find_program(REDIS_SERVER_EXECUTABLE redis-server)
find_program(HYPERFINE_EXECUTABLE hyperfine)
find_program(GNUPLOT_EXECUTABLE gnuplot)
find_program(PROMETHEUS_EXECUTABLE prometheus)
find_program(CHROMIUM_EXECUTABLE chromium)
find_program(CLANG_FORMAT_EXECUTABLE clang-format)
