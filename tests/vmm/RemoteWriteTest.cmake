# rondo-vmm with --remote-write against the test Prometheus (run through
# `perfmatrix service run`, which gives ADDR or exits 77 without prometheus):
# after the VM's clean end, Prometheus holds every sample of every series of
# its store, values and timestamps equal (rw_prom_check), labelled with this
# VM's name. Inputs: VMM, CHECK, STORE, ADDR.
file(REMOVE_RECURSE ${STORE})
string(RANDOM LENGTH 10 ALPHABET abcdefghijklmnopqrstuvwxyz run)
set(name "vmtest_${run}")
execute_process(COMMAND ${VMM} --backend ptrace --workload-duration 3 --metrics-store ${STORE}
    --remote-write http://${ADDR}/api/v1/write --remote-write-interval 1 --vm-name ${name} --json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
message(STATUS "rondo-vmm: ${rc}\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rondo-vmm failed with ${rc}")
endif()
string(JSON sent GET "${out}" remote_write samples_sent)
string(JSON gave_up GET "${out}" remote_write gave_up)
if(sent LESS 1 OR gave_up)
  message(FATAL_ERROR "the exporter sent ${sent} samples (gave up: ${gave_up})")
endif()
execute_process(COMMAND ${CHECK} ${STORE} ${ADDR} vm=${name} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES " 0 differences")
  message(FATAL_ERROR "Prometheus differs from the VM's store")
endif()
