# The declarative performance matrix: one CTest test per measured point.
#
# perf_sweep(PLAN <plan> [CONCURRENCY <c>...] [ASYNC <0|1>...] [RUNS <n>]
#            [DURATION_SEC <s>] [WARMUP_ITERS <n>] [TIMEOUT_SEC <s>]
#            [IO_THREADS <n>] [LABELS <label>...] [SET <set>] [REDIS]
#            [ENGINE <program>] [PLAN_DIR <dir>])
#   One test per (mode, concurrency, run): `<set>.engine.<plan>.<async|sync>.c<C>.r<R>`
#   (set `perf` by default), labels `<set label>;engine;<plan>;<LABELS>`. Omitted
#   knobs take the PERF_* cache variables below. REDIS: the points get a
#   redis-server of their own (started, seeded with `<engine> --seed_redis`,
#   stopped) and skip with the reason when none is installed.
#
# perf_set(NAME <set> LABEL <label> OUTPUT_DIR <dir> [FIXED])
#   Declares a set of points with its own results fixture, sweep directory and
#   report test (`<set>.report`, which sets up the fixture `<set>_report` for
#   tests that read the outputs). FIXED makes the set ignore the DURATION_SEC, WARMUP_ITERS,
#   TIMEOUT_SEC and OUTPUT_DIR environment overrides (the smoke set must stay
#   short whatever the caller exported). The set `perf` exists implicitly.
#
# perf_vm_lifecycle([DURATIONS <s>...] [RUNS <n>] [BACKEND auto|kvm|ptrace]
#                   [TIMEOUT_SEC <s>] [LABELS <label>...] [SET <set>] [VMM <program>])
#   One test per (duration, run): `<set>.vm.lifecycle.<N>s.r<R>`, labels
#   `<set label>;vm;lifecycle;<LABELS>`: `perfmatrix vm` runs rondo-vmm (or
#   VMM) for a workload of N seconds with its own timeout (TIMEOUT_SEC, by
#   default N + PERF_VM_TIMEOUT_MARGIN_SEC) and checks its summary against its
#   store. DURATIONS defaults to PERF_VM_DURATIONS and RUNS to PERF_RUNS.
#   Exit 4 of the VMM (backend unavailable) is a skip with the VMM's reason.
#
# perf_command(NAME <name> COMMAND <program> [<arg>...] [LABELS <label...>]
#              [RUNS <n>] [WARMUP <n>] [TIMEOUT_SEC <sec>] [SETUP <program> [<arg>...]])
#   Times a whole command with hyperfine (--export-json): test `perf.cmd.<name>`.
#   SETUP is a command run once before timing (for example to create the data
#   read). Skips (77) when hyperfine is not installed.
#
# perf_benchmark(NAME <name> COMMAND <program> [<arg>...] [LABELS <label...>]
#                [TIMEOUT_SEC <sec>])
#   Runs an in-process benchmark program that prints one JSON object of
#   figures on stdout: test `perf.bench.<name>`; every numeric field becomes a
#   CTest measurement and the object is recorded in the sweep.
#
# Every test gets RESOURCE_LOCK perf_host (measurements never overlap),
# FIXTURES_REQUIRED on its set's results fixture, SKIP_RETURN_CODE 77 and a
# TIMEOUT PERF_CTEST_MARGIN_SEC above the driver's own per-run timeout, so the
# driver kills and records a hung run before CTest kills the driver.

set(PERF_CONCURRENCY_LEVELS "1;2;4;8;16;32;64;128" CACHE STRING
  "Concurrency levels (requests in flight) of every sweep")
set(PERF_RUNS 3 CACHE STRING "Repetitions of every point (the report takes medians)")
set(PERF_DURATION_SEC 10 CACHE STRING "Seconds each point measures (env DURATION_SEC overrides)")
set(PERF_WARMUP_ITERS 100 CACHE STRING "Warm-up requests before measuring (env WARMUP_ITERS overrides)")
set(PERF_TIMEOUT_SEC 60 CACHE STRING "The driver's per-run timeout (env TIMEOUT_SEC overrides)")
set(PERF_ASYNC "1;0" CACHE STRING "Scheduler modes swept: 1 async, 0 sync")
set(PERF_OUTPUT_DIR "./perf_results" CACHE STRING
  "Results directory, relative to the build tree (env OUTPUT_DIR overrides)")
set(PERF_IO_THREADS 2 CACHE STRING "rankd --io_threads of every point")
set(PERF_P99_SLO_US 0 CACHE STRING "Optional p99 SLO (us) for the recommended operating point; 0: none")
set(PERF_CTEST_MARGIN_SEC 30 CACHE STRING "CTest TIMEOUT above the driver's per-run timeout")
set(PERF_REDIS_LIFETIME_SEC 21600 CACHE STRING
  "Upper bound on the life of a sweep's redis-server, in case its stop test never runs")
set(PERF_SERVICE_LIFETIME_SEC 3600 CACHE STRING
  "Default upper bound on the life of a service fixture's server")
set(PERF_VM_DURATIONS "15;30;45" CACHE STRING
  "Workload durations (s) of the VM lifecycle points (perf_vm_lifecycle)")
set(PERF_VM_TIMEOUT_MARGIN_SEC 30 CACHE STRING
  "The VM driver's per-run timeout above the workload's duration")
mark_as_advanced(PERF_CTEST_MARGIN_SEC PERF_REDIS_LIFETIME_SEC PERF_SERVICE_LIFETIME_SEC
  PERF_VM_TIMEOUT_MARGIN_SEC)

include(${CMAKE_CURRENT_LIST_DIR}/Defaults.cmake)

# The driver program; a project that measures with an installed perfmatrix
# (the dashboard integration test does) sets this to its path first.
pm_default(PERFMATRIX_DRIVER "$<TARGET_FILE:perfmatrix>")
pm_default(PERFMATRIX_GNUPLOT_DIR "${PROJECT_SOURCE_DIR}/perf/gnuplot")

set(_pm_env_knobs DURATION_SEC WARMUP_ITERS TIMEOUT_SEC OUTPUT_DIR)

# Applies what every test of a set shares.
function(pm__set_test_properties test set)
  get_property(label GLOBAL PROPERTY PM_SET_${set}_LABEL)
  get_property(fixed GLOBAL PROPERTY PM_SET_${set}_FIXED)
  set_tests_properties(${test} PROPERTIES
    RESOURCE_LOCK perf_host
    SKIP_RETURN_CODE 77)
  if(fixed)
    set(mods)
    foreach(var IN LISTS _pm_env_knobs)
      list(APPEND mods "${var}=unset:")
    endforeach()
    set_tests_properties(${test} PROPERTIES ENVIRONMENT_MODIFICATION "${mods}")
  endif()
endfunction()

function(perf_set)
  cmake_parse_arguments(PARSE_ARGV 0 arg "FIXED" "NAME;LABEL;OUTPUT_DIR" "")
  pm_require(perf_set NAME LABEL OUTPUT_DIR)
  get_property(known GLOBAL PROPERTY PM_SETS)
  if(arg_NAME IN_LIST known)
    message(FATAL_ERROR "perf_set: set '${arg_NAME}' is declared twice")
  endif()
  set_property(GLOBAL APPEND PROPERTY PM_SETS ${arg_NAME})
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_LABEL ${arg_LABEL})
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_DIR ${arg_OUTPUT_DIR})
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_FIXED ${arg_FIXED})
  set(manifest "${CMAKE_BINARY_DIR}/perf_manifest_${arg_NAME}.txt")
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_MANIFEST ${manifest})
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_POINTS "")
  set_property(GLOBAL PROPERTY PM_SET_${arg_NAME}_VM_POINTS "")

  set(gnuplot gnuplot)
  if(GNUPLOT_EXECUTABLE)
    set(gnuplot ${GNUPLOT_EXECUTABLE})
  endif()
  add_test(NAME ${arg_NAME}.setup
    COMMAND ${PERFMATRIX_DRIVER} setup --output-dir ${arg_OUTPUT_DIR}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  add_test(NAME ${arg_NAME}.report
    COMMAND ${PERFMATRIX_DRIVER} report --output-dir ${arg_OUTPUT_DIR}
      --manifest ${manifest} --gnuplot ${gnuplot} --templates ${PERFMATRIX_GNUPLOT_DIR}
      --slo-p99-us ${PERF_P99_SLO_US}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${arg_NAME}.setup PROPERTIES
    LABELS "${arg_LABEL};perfmatrix" TIMEOUT 30 FIXTURES_SETUP ${arg_NAME}_results)
  # Tests that read a set's outputs require <set>_report.
  set_tests_properties(${arg_NAME}.report PROPERTIES
    LABELS "${arg_LABEL};perfmatrix" TIMEOUT 300 FIXTURES_CLEANUP ${arg_NAME}_results
    FIXTURES_SETUP ${arg_NAME}_report)
  pm__set_test_properties(${arg_NAME}.setup ${arg_NAME})
  pm__set_test_properties(${arg_NAME}.report ${arg_NAME})

  # The manifest lists every declared point, so the report can name the
  # ones that left no result; it is written once all sets are declared.
  get_property(deferred GLOBAL PROPERTY PM_MANIFEST_DEFERRED)
  if(NOT deferred)
    set_property(GLOBAL PROPERTY PM_MANIFEST_DEFERRED ON)
    cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL pm__write_manifests)
  endif()
endfunction()

# VM points go to a manifest of their own, <stem>_vm.txt beside the engine
# one, which the VM part of the report reads.
function(pm__write_manifests)
  get_property(sets GLOBAL PROPERTY PM_SETS)
  foreach(set IN LISTS sets)
    get_property(manifest GLOBAL PROPERTY PM_SET_${set}_MANIFEST)
    get_property(points GLOBAL PROPERTY PM_SET_${set}_POINTS)
    list(JOIN points "\n" text)
    file(CONFIGURE OUTPUT ${manifest} CONTENT "${text}\n" @ONLY)
    get_property(vm_points GLOBAL PROPERTY PM_SET_${set}_VM_POINTS)
    list(JOIN vm_points "\n" text)
    string(REGEX REPLACE "\\.txt$" "_vm.txt" vm_manifest ${manifest})
    file(CONFIGURE OUTPUT ${vm_manifest} CONTENT "${text}\n" @ONLY)
  endforeach()
endfunction()

function(pm__ensure_set set)
  get_property(known GLOBAL PROPERTY PM_SETS)
  if(set IN_LIST known)
    return()
  endif()
  if(NOT set STREQUAL "perf")
    message(FATAL_ERROR "perf set '${set}' is not declared: call perf_set(NAME ${set} ...) first")
  endif()
  perf_set(NAME perf LABEL perf OUTPUT_DIR ${PERF_OUTPUT_DIR})
endfunction()

# Declares the set when it is the default one, and sets label and out in the
# caller to the set's label and output directory.
macro(pm__use_set set)
  pm__ensure_set(${set})
  get_property(label GLOBAL PROPERTY PM_SET_${set}_LABEL)
  get_property(out GLOBAL PROPERTY PM_SET_${set}_DIR)
endmacro()

# perf_service(FIXTURE <fixture> PROGRAM <program> [ARGS <arg>...]
#              [PROBE tcp|redis|http:/<path>] [LIFETIME_SEC <s>] [LABELS <label>...]
#              [TEST_PREFIX <prefix>])
#   Declares the CTest fixture <fixture>: test `<prefix>.start` (FIXTURES_SETUP)
#   runs PROGRAM through `perfmatrix service start` on a free 127.0.0.1 port
#   ({port} and {dir} in ARGS are replaced) and waits for the probe; test
#   `<prefix>.stop` (FIXTURES_CLEANUP) stops it. The prefix defaults to the
#   fixture's name. The state directory, whose `addr` file the tests read (or
#   pass to `perfmatrix service run --dir`), is
#   ${CMAKE_BINARY_DIR}/services/<fixture>; it is also set as
#   <fixture>_SERVICE_DIR in the caller's scope. A PROGRAM that is not
#   installed makes the tests that need the fixture skip with the reason.
function(perf_service)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "FIXTURE;PROGRAM;PROBE;LIFETIME_SEC;TEST_PREFIX"
    "ARGS;LABELS")
  pm_require(perf_service FIXTURE PROGRAM)
  pm_default(arg_PROBE tcp)
  pm_default(arg_LIFETIME_SEC ${PERF_SERVICE_LIFETIME_SEC})
  pm_default(arg_TEST_PREFIX ${arg_FIXTURE})
  set(dir "${CMAKE_BINARY_DIR}/services/${arg_FIXTURE}")
  add_test(NAME ${arg_TEST_PREFIX}.start
    COMMAND ${PERFMATRIX_DRIVER} service start --dir ${dir} --probe ${arg_PROBE}
      --lifetime-sec ${arg_LIFETIME_SEC} -- ${arg_PROGRAM} ${arg_ARGS})
  add_test(NAME ${arg_TEST_PREFIX}.stop
    COMMAND ${PERFMATRIX_DRIVER} service stop --dir ${dir})
  set_tests_properties(${arg_TEST_PREFIX}.start PROPERTIES
    LABELS "${arg_LABELS}" TIMEOUT 120 FIXTURES_SETUP ${arg_FIXTURE})
  set_tests_properties(${arg_TEST_PREFIX}.stop PROPERTIES
    LABELS "${arg_LABELS}" TIMEOUT 30 FIXTURES_CLEANUP ${arg_FIXTURE})
  set(${arg_FIXTURE}_SERVICE_DIR ${dir} PARENT_SCOPE)
endfunction()

# The redis-server of a set: started once, seeded per plan, stopped at the end.
function(pm__ensure_redis set engine plan plan_dir)
  get_property(started GLOBAL PROPERTY PM_SET_${set}_REDIS)
  get_property(label GLOBAL PROPERTY PM_SET_${set}_LABEL)
  if(NOT started)
    set_property(GLOBAL PROPERTY PM_SET_${set}_REDIS ON)
    set(server redis-server)
    if(REDIS_SERVER_EXECUTABLE)
      set(server ${REDIS_SERVER_EXECUTABLE})
    endif()
    perf_service(FIXTURE ${set}_redis TEST_PREFIX ${set}.redis PROGRAM ${server}
      ARGS --port {port} --bind 127.0.0.1 --save "" --appendonly no --daemonize no
      PROBE redis LIFETIME_SEC ${PERF_REDIS_LIFETIME_SEC} LABELS ${label} perfmatrix)
  endif()
  set(seed ${set}.redis.seed.${plan})
  if(NOT TEST ${seed})
    add_test(NAME ${seed}
      COMMAND ${PERFMATRIX_DRIVER} service run --dir "${CMAKE_BINARY_DIR}/services/${set}_redis"
        --timeout-sec 120 --
        ${engine} --seed_redis --plan_dir ${plan_dir} --plan_name ${plan} --redis {addr})
    set_tests_properties(${seed} PROPERTIES
      LABELS "${label};engine" TIMEOUT 150 SKIP_RETURN_CODE 77
      FIXTURES_SETUP ${set}_redis_${plan} FIXTURES_REQUIRED ${set}_redis)
  endif()
endfunction()

function(perf_sweep)
  cmake_parse_arguments(PARSE_ARGV 0 arg "REDIS"
    "PLAN;RUNS;DURATION_SEC;WARMUP_ITERS;TIMEOUT_SEC;IO_THREADS;SET;ENGINE;PLAN_DIR"
    "CONCURRENCY;ASYNC;LABELS")
  pm_require("perf_sweep(${arg_PLAN})" PLAN)
  # Omitted knobs follow the cache, so one -D (or a preset) reshapes the matrix.
  pm_default(arg_CONCURRENCY ${PERF_CONCURRENCY_LEVELS})
  pm_default(arg_ASYNC ${PERF_ASYNC})
  pm_default(arg_RUNS ${PERF_RUNS})
  pm_default(arg_DURATION_SEC ${PERF_DURATION_SEC})
  pm_default(arg_WARMUP_ITERS ${PERF_WARMUP_ITERS})
  pm_default(arg_TIMEOUT_SEC ${PERF_TIMEOUT_SEC})
  pm_default(arg_IO_THREADS ${PERF_IO_THREADS})
  pm_default(arg_SET perf)
  pm_default(arg_ENGINE "$<TARGET_FILE:rankd>")
  pm_default(arg_PLAN_DIR "${PROJECT_SOURCE_DIR}/engine/plans")
  pm__use_set(${arg_SET})

  set(fixtures ${arg_SET}_results)
  set(redis_args)
  if(arg_REDIS)
    pm__ensure_redis(${arg_SET} "${arg_ENGINE}" ${arg_PLAN} ${arg_PLAN_DIR})
    list(APPEND fixtures ${arg_SET}_redis ${arg_SET}_redis_${arg_PLAN})
    set(redis_args --redis-file "${CMAKE_BINARY_DIR}/services/${arg_SET}_redis/addr")
  endif()
  math(EXPR ctest_timeout "${arg_TIMEOUT_SEC} + ${PERF_CTEST_MARGIN_SEC}")

  foreach(async IN LISTS arg_ASYNC)
    if(async)
      set(mode async)
    else()
      set(mode sync)
    endif()
    foreach(c IN LISTS arg_CONCURRENCY)
      foreach(run RANGE 1 ${arg_RUNS})
        set(test ${arg_SET}.engine.${arg_PLAN}.${mode}.c${c}.r${run})
        add_test(NAME ${test}
          COMMAND ${PERFMATRIX_DRIVER} point --test ${test} --plan ${arg_PLAN}
            --async ${async} --concurrency ${c} --run ${run} --io-threads ${arg_IO_THREADS}
            --duration-sec ${arg_DURATION_SEC} --warmup-iters ${arg_WARMUP_ITERS}
            --timeout-sec ${arg_TIMEOUT_SEC} --ctest-timeout ${ctest_timeout}
            --output-dir ${out} ${redis_args}
            -- ${arg_ENGINE} --plan_dir ${arg_PLAN_DIR}
          WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
        set_tests_properties(${test} PROPERTIES
          LABELS "${label};engine;${arg_PLAN};${arg_LABELS}"
          TIMEOUT ${ctest_timeout}
          FIXTURES_REQUIRED "${fixtures}")
        pm__set_test_properties(${test} ${arg_SET})
        set_property(GLOBAL APPEND PROPERTY PM_SET_${arg_SET}_POINTS ${test})
      endforeach()
    endforeach()
  endforeach()
endfunction()

function(perf_vm_lifecycle)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "RUNS;BACKEND;TIMEOUT_SEC;SET;VMM"
    "DURATIONS;LABELS")
  pm_require(perf_vm_lifecycle)
  pm_default(arg_DURATIONS ${PERF_VM_DURATIONS})
  pm_default(arg_RUNS ${PERF_RUNS})
  pm_default(arg_BACKEND auto)
  if(NOT arg_BACKEND MATCHES "^(auto|kvm|ptrace)$")
    message(FATAL_ERROR "perf_vm_lifecycle: BACKEND must be auto, kvm or ptrace, not ${arg_BACKEND}")
  endif()
  pm_default(arg_SET perf)
  pm_default(arg_VMM "$<TARGET_FILE:rondo-vmm>")
  pm__use_set(${arg_SET})

  foreach(duration IN LISTS arg_DURATIONS)
    if(NOT duration MATCHES "^[1-9][0-9]*$")
      message(FATAL_ERROR "perf_vm_lifecycle: duration '${duration}' is not a whole number of seconds")
    endif()
    if(arg_TIMEOUT_SEC)
      set(timeout ${arg_TIMEOUT_SEC})
    else()
      math(EXPR timeout "${duration} + ${PERF_VM_TIMEOUT_MARGIN_SEC}")
    endif()
    math(EXPR ctest_timeout "${timeout} + ${PERF_CTEST_MARGIN_SEC}")
    foreach(run RANGE 1 ${arg_RUNS})
      set(test ${arg_SET}.vm.lifecycle.${duration}s.r${run})
      add_test(NAME ${test}
        COMMAND ${PERFMATRIX_DRIVER} vm --test ${test} --output-dir ${out}
          --duration ${duration} --run ${run} --timeout ${timeout} --backend ${arg_BACKEND}
          -- ${arg_VMM}
        WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
      set_tests_properties(${test} PROPERTIES
        LABELS "${label};vm;vmm;lifecycle;${arg_LABELS}"
        TIMEOUT ${ctest_timeout}
        FIXTURES_REQUIRED ${arg_SET}_results)
      pm__set_test_properties(${test} ${arg_SET})
      set_property(GLOBAL APPEND PROPERTY PM_SET_${arg_SET}_VM_POINTS ${test})
    endforeach()
  endforeach()
endfunction()

# One auxiliary measurement of the set `perf` (a hyperfine timing or an
# in-process benchmark): test perf.<kind>.<name> running the driver's
# subcommand with its own timeout.
function(pm__aux_test kind subcommand name timeout labels)
  pm__use_set(perf)
  math(EXPR ctest_timeout "${timeout} + ${PERF_CTEST_MARGIN_SEC}")
  set(test perf.${kind}.${name})
  add_test(NAME ${test}
    COMMAND ${PERFMATRIX_DRIVER} ${subcommand} --name ${name} --timeout-sec ${timeout}
      --output-dir ${out} ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${test} PROPERTIES
    LABELS "perf;${labels}" TIMEOUT ${ctest_timeout} FIXTURES_REQUIRED perf_results)
  pm__set_test_properties(${test} perf)
endfunction()

function(perf_command)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;RUNS;WARMUP;TIMEOUT_SEC" "COMMAND;LABELS;SETUP")
  pm_require(perf_command NAME COMMAND)
  pm_default(arg_TIMEOUT_SEC 120)
  pm_default(arg_RUNS 10)
  pm_default(arg_WARMUP 1)
  set(hyperfine ${HYPERFINE_EXECUTABLE})
  pm_default(hyperfine hyperfine)
  set(setup_args)
  foreach(word IN LISTS arg_SETUP)
    list(APPEND setup_args --setup-arg ${word})
  endforeach()
  pm__aux_test(cmd command ${arg_NAME} ${arg_TIMEOUT_SEC} "${arg_LABELS}"
    --runs ${arg_RUNS} --warmup ${arg_WARMUP} --hyperfine ${hyperfine} ${setup_args}
    -- ${arg_COMMAND})
endfunction()

function(perf_benchmark)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TIMEOUT_SEC" "COMMAND;LABELS")
  pm_require(perf_benchmark NAME COMMAND)
  pm_default(arg_TIMEOUT_SEC 120)
  pm__aux_test(bench bench ${arg_NAME} ${arg_TIMEOUT_SEC} "${arg_LABELS}" -- ${arg_COMMAND})
endfunction()

# perf_vm_scale(COUNTS <n>... [WORKLOAD_SEC <s>] [RUNS <n>] [SET <set>] [VMM <program>])
#   N rondo-vmm at once, sampled once a second (`perfmatrix scale`): tests
#   perf.vm.scale.<N>.r<R> and, without the metrics store,
#   perf.vm.scale.<N>.nostore.r<R>, so the store's marginal cost is measured.
# perf_baseline_prometheus(COUNTS <n>... [WORKLOAD_SEC <s>] [RUNS <n>] [SET <set>])
#   N prometheus-node-exporter and one prometheus scraping them every second,
#   for the same time, sampled the same way: perf.baseline.prometheus.<N>.r<R>.
set(PERF_SCALE_COUNTS "10;50;100" CACHE STRING "VM counts of the scale and baseline points")
set(PERF_SCALE_WORKLOAD_SEC 15 CACHE STRING "Seconds of each scale and baseline point")

function(pm__scale_test set test labels timeout)
  pm__use_set(${set})
  add_test(NAME ${test}
    COMMAND ${PERFMATRIX_DRIVER} scale --test ${test} --output-dir ${out} ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${test} PROPERTIES LABELS "${label};${labels}" TIMEOUT ${timeout}
    FIXTURES_REQUIRED ${set}_results)
  pm__set_test_properties(${test} ${set})
endfunction()

# Omitted knobs of the scale functions follow the cache (a macro: it sets the
# caller's arg_ variables).
macro(pm__scale_defaults fn)
  pm_require(${fn})
  pm_default(arg_COUNTS ${PERF_SCALE_COUNTS})
  pm_default(arg_WORKLOAD_SEC ${PERF_SCALE_WORKLOAD_SEC})
  pm_default(arg_RUNS ${PERF_RUNS})
  pm_default(arg_SET perf)
endmacro()

function(perf_vm_scale)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "WORKLOAD_SEC;RUNS;SET;VMM" "COUNTS")
  pm__scale_defaults(perf_vm_scale)
  pm_default(arg_VMM "$<TARGET_FILE:rondo-vmm>")
  # A hundred monitors share two cores: the grace covers their slowest end.
  math(EXPR timeout "${arg_WORKLOAD_SEC} + 120 + ${PERF_CTEST_MARGIN_SEC}")
  foreach(n IN LISTS arg_COUNTS)
    foreach(run RANGE 1 ${arg_RUNS})
      foreach(kind IN ITEMS vmm vmm_nostore)
        set(test ${arg_SET}.vm.scale.${n}.r${run})
        if(kind STREQUAL "vmm_nostore")
          set(test ${arg_SET}.vm.scale.${n}.nostore.r${run})
        endif()
        pm__scale_test(${arg_SET} ${test} "vm;vmm;scale" ${timeout} --kind ${kind} --count ${n}
          --workload-sec ${arg_WORKLOAD_SEC} --grace-sec 120 -- ${arg_VMM})
      endforeach()
    endforeach()
  endforeach()
endfunction()

function(perf_baseline_prometheus)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "WORKLOAD_SEC;RUNS;SET" "COUNTS")
  pm__scale_defaults(perf_baseline_prometheus)
  set(prometheus ${PROMETHEUS_EXECUTABLE})
  pm_default(prometheus prometheus)
  math(EXPR timeout "${arg_WORKLOAD_SEC} + 60 + ${PERF_CTEST_MARGIN_SEC}")
  foreach(n IN LISTS arg_COUNTS)
    foreach(run RANGE 1 ${arg_RUNS})
      pm__scale_test(${arg_SET} ${arg_SET}.baseline.prometheus.${n}.r${run}
        "baseline;perfmatrix" ${timeout} --kind prometheus --count ${n}
        --workload-sec ${arg_WORKLOAD_SEC} -- ${prometheus})
    endforeach()
  endforeach()
endfunction()
