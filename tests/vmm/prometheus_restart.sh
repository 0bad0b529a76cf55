#!/bin/sh
# A VM pushing to Prometheus while Prometheus is down for 22 s and comes back
# on the same data directory and port: the end state must be the same as
# without the fault, every sample of the VM's store in Prometheus, equal.
#   prometheus_restart.sh PERFMATRIX RONDO_VMM RW_PROM_CHECK PROMETHEUS CONFIG WORK
# Exits 77 when prometheus is not installed.
set -u
perfmatrix=$1 vmm=$2 check=$3 prometheus=$4 config=$5 work=$6
rm -rf "$work" && mkdir -p "$work" || exit 1
svc=$work/prometheus
start_prometheus() {
    "$perfmatrix" service start --dir "$svc" --probe http:/-/ready --lifetime-sec 300 "$@" -- \
        "$prometheus" --config.file="$config" --storage.tsdb.path="$svc/data" \
        --web.listen-address=127.0.0.1:{port} --web.enable-remote-write-receiver --log.level=warn
}
start_prometheus || exit 1
addr=$(cat "$svc/addr")
case $addr in skip:*) echo "skipped: ${addr#skip: }"; exit 77 ;; esac
port=${addr##*:}
name=restart_$$
"$vmm" --backend ptrace --workload-duration 40 --metrics-store "$work/store" \
    --remote-write "http://$addr/api/v1/write" --remote-write-interval 2 --vm-name "$name" \
    --json > "$work/summary.json" 2> "$work/vmm.log" &
vm=$!
sleep 6
echo "stopping prometheus for 22 s"
"$perfmatrix" service stop --dir "$svc"
sleep 22
echo "restarting prometheus on port $port, same data directory"
start_prometheus --port "$port" || { kill "$vm"; exit 1; }
wait "$vm"
rc=$?
cat "$work/summary.json" "$work/vmm.log"
status=1
if [ "$rc" -ne 0 ]; then
    echo "rondo-vmm exited $rc"
elif "$check" "$work/store" "$addr" "vm=$name"; then
    status=0
fi
"$perfmatrix" service stop --dir "$svc"
exit $status
