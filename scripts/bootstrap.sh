#!/usr/bin/env bash
# Installs every Debian package perfmatrix builds, tests or measures with.
# Idempotent: packages already present are skipped, and `apt-get update`
# runs at most once per invocation (and not at all when nothing is missing).
set -euo pipefail

packages=(
  build-essential pkg-config cmake ninja-build git iproute2
  clang libclang-rt-14-dev clang-format
  libcjson-dev libcurl4-openssl-dev libcmocka-dev
  libpcre2-dev libuv1-dev libhiredis-dev redis-server
  libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
  libmicrohttpd-dev zlib1g-dev
  hyperfine gnuplot-nox
  prometheus prometheus-node-exporter
  chromium
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

echo "bootstrap: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
# Services such as redis-server and prometheus are started by the tests on
# loopback ports of their own; the distribution's daemons are not needed.
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
  --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
