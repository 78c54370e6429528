// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpsplit-flood: a SYN flood from forged sources, for the flood test.
 *
 *   xdpsplit-flood IFACE DEST_MAC VIP PORT PACKETS [CLIENT_PREFIX]
 *
 * Sends PACKETS TCP SYNs out of IFACE to VIP:PORT, each from another client
 * (CLIENT_PREFIX, default 198.18.0.0, with random low 16 bits and a random
 * port), with correct checksums. The frames are made in the kernel by the
 * generator program under BPF_PROG_TEST_RUN with live frames, so the rate is
 * what one core can push (0.5 to 1.8 million a second here, as the receiver
 * allows). Prints one JSON line: packets sent, seconds, rate.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib/generator.h"
#include "testlib/live_frames.h"
#include "generator.skel.h"
#include "testlib/packet.h"

#define CHUNK (1U << 20) /* packets per test run: stays interruptible */

static int own_mac(const char *interface, __u8 *mac)
{
	struct ifreq request = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;

	if (fd < 0)
		return -errno;
	snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", interface);
	err = ioctl(fd, SIOCGIFHWADDR, &request) ? -errno : 0;
	close(fd);
	memcpy(mac, request.ifr_hwaddr.sa_data, ETH_ALEN);
	return err;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"Usage: xdpsplit-flood IFACE DEST_MAC VIP PORT PACKETS [CLIENT_PREFIX]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct packet_spec spec = { .family = 4,
				    .protocol = IPPROTO_TCP,
				    .tcp_flags = 0x02 };
	unsigned long long packets, sent = 0;
	struct generator *gen;
	double start, seconds;
	char *end;
	int ifindex, err = 0;
	long port;

	if (argc < 6 || argc > 7)
		return usage();
	ifindex = (int)if_nametoindex(argv[1]);
	port = strtol(argv[4], &end, 10);
	if (*end || port < 1 || port > 65535)
		return usage();
	packets = strtoull(argv[5], &end, 10);
	if (!ifindex || *end || !packets) {
		fprintf(stderr, "Error: no interface %s, or no packet count\n",
			argv[1]);
		return 2;
	}
	if (own_mac(argv[1], spec.source_mac)) {
		fprintf(stderr, "Error: no MAC on %s\n", argv[1]);
		return 1;
	}
	parse_mac(argv[2], spec.destination_mac);
	spec.client = argc == 7 ? argv[6] : "198.18.0.0";
	spec.vip = argv[3];
	spec.client_port = 1024;
	spec.vip_port = (__u16)port;

	gen = generator__open_and_load();
	if (!gen) {
		fprintf(stderr, "Error: couldn't load the generator\n");
		return 1;
	}
	memset(gen->bss->template.bytes, 0, TEMPLATE_BYTES);
	build_packet(&spec, gen->bss->template.bytes);
	gen->bss->template.random_sources = 1;

	start = now();
	while (sent < packets && !err) {
		__u32 chunk = packets - sent < CHUNK ? packets - sent : CHUNK;

		err = live_frames_send(gen, ifindex, chunk);
		sent += chunk;
	}
	seconds = now() - start;
	generator__destroy(gen);
	if (err) {
		fprintf(stderr, "Error: live-frames run failed: %s\n",
			strerror(-err));
		return 1;
	}
	printf("{\"packets\": %llu, \"seconds\": %.3f, \"rate\": %.0f}\n", sent,
	       seconds, sent / seconds);
	return 0;
}
