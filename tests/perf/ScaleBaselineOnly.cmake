# A sweep whose only scale point is the Prometheus baseline (no rondo-vmm
# with a store, so no capture to draw) still gets its scale plot:
#   cmake -DPERFMATRIX=<program> -DGNUPLOT=<program> -DTEMPLATES=<dir> -DWORK=<dir> -P ...
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/sweep_baseline)
file(WRITE ${WORK}/.current_sweep "sweep_baseline\n")
file(WRITE ${WORK}/sweep_baseline/baseline.json [=[
{"kind": "scale", "test": "baseline", "stack": "prometheus", "count": 2, "wall_s": 6.2,
 "peak_rss_kb_per_vm": 35834, "mean_rss_kb_per_vm": 31218, "own_peak_rss_kb_per_vm": 35834,
 "cpu_s_per_vm_s": 0.027, "completed": 2, "samples_per_s": 1100, "series": 2100,
 "bytes_on_disk": 8192, "status": "ok"}
]=])
execute_process(COMMAND ${PERFMATRIX} report --output-dir ${WORK} --gnuplot ${GNUPLOT}
  --templates ${TEMPLATES} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${WORK}/plots_baseline/vm_scale.png)
  message(FATAL_ERROR "report of a baseline-only sweep: exit ${rc}\n${out}${err}")
endif()
message("a baseline-only sweep gets its scale plot")
