/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Real etcd members for tests: each in a data directory of its own under
 * /tmp, on 127.0.0.1 ports picked free, killed by pid (and by the kernel
 * should the test process die first: PR_SET_PDEATHSIG).
 */
#ifndef XDPSPLIT_TESTS_ETCD_SERVER_H
#define XDPSPLIT_TESTS_ETCD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ETCD_SERVER_BINARY "/usr/bin/etcd"

struct etcd_server {
	char name[16];
	char dir[64]; /* mkdtemp'd; holds data/ and log */
	int client_port;
	int peer_port;
	char client_url[48]; /* http://127.0.0.1:PORT */
	char peer_url[48];
	pid_t pid; /* 0 when not running */
};

/* The etcd binary ($XDPSPLIT_ETCD, else ETCD_SERVER_BINARY), or NULL
 * when it is not there: the caller skips. */
const char *etcd_server_binary(void);

/* Names member, makes its directory and picks its two ports; no process
 * yet. 0 or -1. */
int etcd_server_prepare(struct etcd_server *server, const char *name);

/*
 * Starts the member: alone when initial_cluster is NULL, else as one of
 * "name=peer_url,..." (all prepared first). A restart after
 * etcd_server_kill keeps the member's data. 0 or -1.
 */
int etcd_server_spawn(struct etcd_server *server, const char *initial_cluster);

/* Polls the member's /health until it has a leader ("true"), up to
 * timeout_ms. 0 or -1 (and says why on stderr, with its log's tail). */
int etcd_server_wait_ready(const struct etcd_server *server, int timeout_ms);

/* spawn + wait_ready for a one-member cluster. */
int etcd_server_start(struct etcd_server *server, const char *name);

/* SIGKILL and reap (a crash, as far as etcd can tell); keeps the data. */
void etcd_server_kill(struct etcd_server *server);

/* Kills it if running and removes its directory. */
void etcd_server_remove(struct etcd_server *server);

/* The "name=peer_url,..." of count prepared members, into text. */
void etcd_server_cluster(const struct etcd_server *servers, size_t count,
			 char *text, size_t size);

/* A TCP port on 127.0.0.1 nobody listens on right now, or -1. */
int etcd_server_free_port(void);

#endif /* XDPSPLIT_TESTS_ETCD_SERVER_H */
