#!/usr/bin/env bash
# Installs what the build needs beyond gcc, make and cmake, from Debian's
# packages, when it is missing. Safe to run repeatedly; does nothing when all
# is present.
set -euo pipefail

need=()
pkg-config --exists cmocka 2>/dev/null || need+=(libcmocka-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v clang >/dev/null || need+=(clang)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.a ] ||
  dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
command -v taskset >/dev/null || need+=(util-linux)
# bench_wire compares the wire format with protobuf-c (bench/proto/).
command -v protoc-c >/dev/null || need+=(protobuf-c-compiler)
[ -e /usr/include/protobuf-c/protobuf-c.h ] || need+=(libprotobuf-c-dev)
# examples/embed_libevent.c runs cmojo's embedder mode inside libevent.
pkg-config --exists libevent_core 2>/dev/null || need+=(libevent-dev)
# bench_ipc compares cross-process round trips with sd-bus, nng and ZeroMQ.
[ -e /usr/include/systemd/sd-bus.h ] || need+=(libsystemd-dev)
[ -e /usr/include/nng/nng.h ] || need+=(libnng-dev)
[ -e /usr/include/zmq.h ] || need+=(libzmq3-dev)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
