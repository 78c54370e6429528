#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs the Debian 12 packages xdpsplit needs to build and test, and only
# those missing: a second run changes nothing and touches no network.
set -eu

PACKAGES="
	make gcc clang llvm pkg-config libc6-dev linux-libc-dev
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev libmnl-dev
	libyaml-dev libjson-c-dev libcurl4-openssl-dev libmicrohttpd-dev
	libsystemd-dev systemd man-db
	iproute2 ethtool procps util-linux python3 prometheus gnuplot-nox
	haproxy nginx libnginx-mod-stream wrk libclang-rt-14-dev valgrind
	etcd-server bird2
	mandoc tmux
	dpkg-dev debhelper logrotate
"

missing=""
for package in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $package"
	fi
done

if [ -z "$missing" ]; then
	echo "All build and test dependencies are installed."
	exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
echo "Installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	--no-install-recommends $missing
