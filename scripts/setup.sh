#!/bin/bash
# Installs what vmm needs (Debian packages) when something is missing, then builds it and the
# default guest into build/. Used by scripts/boot.sh and scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# libcap-dev and libseccomp-dev: vmm's sandbox (capabilities, system-call filter), static archives.
# clang and libclang-rt-14-dev (libFuzzer, the sanitizer runtimes): the hardening suite's fuzz targets.
# musl-tools: the guests' static /init (guest/init.c) at a tenth of glibc's size.
packages=(gcc meson ninja-build pkg-config liburing-dev libcap-dev libseccomp-dev linux-libc-dev acpica-tools cpio gzip lz4
	  musl-tools busybox-static linux-image-amd64 qemu-system-x86 iperf3 gnuplot-nox python3 clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
cd "$root"
if [ ! -f build/build.ninja ]; then
	echo "setup: configuring build/"
	meson setup build
fi
echo "setup: building vmm and the default guest"
ninja -C build
