#!/usr/bin/env bash
# A throwaway redis-server on a free 127.0.0.1 port, for CTest fixtures.
#
#   redis-fixture.sh start DIR          start it; DIR/addr holds host:port
#   redis-fixture.sh run DIR -- CMD...  run CMD with @REDIS@ in its arguments
#                                       replaced by host:port (and exported
#                                       as RANKD_TEST_REDIS); exits 77 with
#                                       the reason when there is no server
#   redis-fixture.sh stop DIR           stop it
#
# When redis-server is not installed, start succeeds and records why, so
# the tests that need the server skip (77) instead of failing obscurely.
set -euo pipefail

cmd=${1:?usage: redis-fixture.sh start|run|stop DIR}
dir=${2:?usage: redis-fixture.sh start|run|stop DIR}

case "$cmd" in
start)
  rm -rf "$dir"
  mkdir -p "$dir"
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis-server is not installed (scripts/bootstrap.sh installs it)" >"$dir/unavailable"
    echo "redis fixture: $(cat "$dir/unavailable")"
    exit 0
  fi
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    # An unused port refuses connections: /dev/tcp fails at once.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue
    fi
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
      --maxmemory 256mb
    for _ in $(seq 1 50); do
      if [ -s "$dir/redis.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port" >"$dir/addr"
        echo "redis fixture: listening on 127.0.0.1:$port (pid $(cat "$dir/redis.pid"))"
        exit 0
      fi
      sleep 0.1
    done
    [ -s "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis.pid"
  done
  echo "redis fixture: could not start redis-server (see $dir/redis.log)" >&2
  exit 1
  ;;
run)
  shift 2
  [ "${1:-}" = "--" ] && shift
  if [ -f "$dir/unavailable" ]; then
    echo "skipped: $(cat "$dir/unavailable")"
    exit 77
  fi
  if [ ! -s "$dir/addr" ]; then
    echo "redis fixture: no server in $dir (did the start test run?)" >&2
    exit 1
  fi
  addr=$(cat "$dir/addr")
  export RANKD_TEST_REDIS="$addr"
  args=()
  for a in "$@"; do
    args+=("${a//@REDIS@/$addr}")
  done
  exec "${args[@]}"
  ;;
stop)
  if [ -s "$dir/redis.pid" ]; then
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    echo "redis fixture: stopped pid $pid"
  fi
  ;;
*)
  echo "usage: redis-fixture.sh start|run|stop DIR" >&2
  exit 2
  ;;
esac
