#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Builds or tears down the test and demo network, all in namespaces named
# PREFIX-*, so parallel or leftover runs never collide:
#
#   PREFIX-client 10.77.0.2   fd77::2  --+
#   PREFIX-lb     10.77.0.1   fd77::1  --+-- br0 in PREFIX-sw
#   PREFIX-blue1  10.77.0.11  fd77::11 --+   (and blue2 .12, green1 .21,
#   ...                                      green2 .22, canary1 .31, canary2 .32)
#
# The client routes the VIPs (10.77.100.0/24, fd77:100::/64) via the LB.
# Backends hold every VIP on lo (arp_ignore/arp_announce so they never
# answer ARP for it) and reply to clients directly: direct server return.
# Backends run xdp_decap on eth0, so they take ipip (which it strips) and
# l2dsr (which it passes) alike.
#
# Usage: topology.sh up PREFIX BUILD_DIR | down PREFIX
#        topology.sh backend PREFIX BUILD_DIR NAME   (re-creates one backend)
set -euo pipefail

BACKENDS="blue1:11 blue2:12 green1:21 green2:22 canary1:31 canary2:32"
VIP_ADDRESSES_V4="10.77.100.1 10.77.100.2 10.77.100.3"
VIP_ADDRESSES_V6="fd77:100::1 fd77:100::2 fd77:100::3"

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# A namespace with eth0 plugged into the bridge as port p-NAME.
add_host() {
	local prefix=$1 name=$2 v4=$3 v6=$4
	local ns=$prefix-$name
	ip netns add "$ns"
	ip link add eth0 netns "$ns" type veth peer name "p-$name" netns "$prefix-sw"
	in_ns "$ns" ip link set lo up
	# static addresses outlive the link going down, IPv6 ones too (as
	# IPv4's always do): a test that downs the LB's link keeps its v6
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
	in_ns "$ns" ip addr add "$v4/24" dev eth0
	in_ns "$ns" ip -6 addr add "$v6/64" dev eth0 nodad
	in_ns "$ns" ip link set eth0 up
	ip -n "$prefix-sw" link set "p-$name" master br0 up
}

up() {
	local prefix=$1 build=$2
	ip netns add "$prefix-sw"
	ip -n "$prefix-sw" link add br0 type bridge
	ip -n "$prefix-sw" link set br0 up
	# br_netfilter, when loaded, would filter bridged frames in here
	for table in iptables ip6tables arptables; do
		in_ns "$prefix-sw" sysctl -qw "net.bridge.bridge-nf-call-$table=0" 2>/dev/null || true
	done

	add_host "$prefix" lb 10.77.0.1 fd77::1
	add_host "$prefix" client 10.77.0.2 fd77::2

	# the LB forwards with XDP_TX; its bridge port must run XDP to take
	# those frames (see KERNEL-NOTES); ipip needs kernel forwarding on
	ip -n "$prefix-sw" link set p-lb xdpdrv obj "$build/xdp_pass.bpf.o" sec xdp
	in_ns "$prefix-lb" sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1

	# the client: complete checksums (XDP forwards frames as they are),
	# VIPs through the LB
	in_ns "$prefix-client" ethtool -K eth0 tx off >/dev/null
	# the flood test's generator sends live frames out of the client's
	# eth0: the bridge port takes them only with XDP on it
	ip -n "$prefix-sw" link set p-client xdpdrv obj "$build/xdp_pass.bpf.o" sec xdp
	in_ns "$prefix-client" ip route add 10.77.100.0/24 via 10.77.0.1
	in_ns "$prefix-client" ip -6 route add fd77:100::/64 via fd77::1

	for backend in $BACKENDS; do
		add_backend "$prefix" "$build" "$backend"
	done
}

# A backend NAME:OCTET: its host, the VIPs on its loopback (answering no ARP
# for them: direct server return), the tunnel decap on its eth0.
add_backend() {
	local prefix=$1 build=$2 backend=$3
	local name=${backend%%:*} octet=${backend##*:}
	local ns=$prefix-$name
	add_host "$prefix" "$name" "10.77.0.$octet" "fd77::$octet"
	in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
	for vip in $VIP_ADDRESSES_V4; do in_ns "$ns" ip addr add "$vip/32" dev lo; done
	for vip in $VIP_ADDRESSES_V6; do in_ns "$ns" ip -6 addr add "$vip/128" dev lo nodad; done
	in_ns "$ns" ip link set dev eth0 xdpdrv obj "$build/xdp_decap.bpf.o" sec xdp
}

down() {
	local prefix=$1
	for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns"
	done
}

case "${1:-}" in
up) [ $# -eq 3 ] || { echo "usage: $0 up PREFIX BUILD_DIR" >&2; exit 2; }
    down "$2"; up "$2" "$3" ;;
down) [ $# -eq 2 ] || { echo "usage: $0 down PREFIX" >&2; exit 2; }
      down "$2" ;;
backend) # re-creates one backend host (a test deletes one mid-connection)
	[ $# -eq 4 ] || { echo "usage: $0 backend PREFIX BUILD_DIR NAME" >&2; exit 2; }
	for backend in $BACKENDS; do
		[ "${backend%%:*}" = "$4" ] && { add_backend "$2" "$3" "$backend"; exit 0; }
	done
	echo "no backend $4" >&2; exit 2 ;;
*) echo "usage: $0 { up PREFIX BUILD_DIR | down PREFIX | backend PREFIX BUILD_DIR NAME }" >&2; exit 2 ;;
esac
