// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include "etcd_server.h"

const char *etcd_server_binary(void)
{
	const char *binary = getenv("XDPSPLIT_ETCD");

	if (!binary || !*binary)
		binary = ETCD_SERVER_BINARY;
	return access(binary, X_OK) ? NULL : binary;
}

/* Ports handed out in this process, so two members prepared before either
 * starts never get the same one */
static int used_ports[64];
static size_t used_count;

int etcd_server_free_port(void)
{
	for (int tries = 0; tries < 32; tries++) {
		struct sockaddr_in address = { .sin_family = AF_INET };
		socklen_t length = sizeof(address);
		int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
		bool used = false;

		if (fd < 0)
			return -1;
		address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (!bind(fd, (struct sockaddr *)&address, sizeof(address)) &&
		    !getsockname(fd, (struct sockaddr *)&address, &length))
			port = ntohs(address.sin_port);
		close(fd);
		if (port < 0)
			return -1;
		for (size_t i = 0; i < used_count; i++)
			used |= used_ports[i] == port;
		if (used)
			continue;
		used_ports[used_count++ % 64] = port;
		if (used_count > 64)
			used_count = 64;
		return port;
	}
	return -1;
}

int etcd_server_prepare(struct etcd_server *server, const char *name)
{
	memset(server, 0, sizeof(*server));
	snprintf(server->name, sizeof(server->name), "%s", name);
	snprintf(server->dir, sizeof(server->dir), "/tmp/xdpsplit-etcd-XXXXXX");
	if (!mkdtemp(server->dir)) {
		fprintf(stderr, "    couldn't make a directory for etcd: %s\n",
			strerror(errno));
		server->dir[0] = '\0';
		return -1;
	}
	server->client_port = etcd_server_free_port();
	server->peer_port = etcd_server_free_port();
	if (server->client_port < 0 || server->peer_port < 0)
		return -1;
	snprintf(server->client_url, sizeof(server->client_url),
		 "http://127.0.0.1:%d", server->client_port);
	snprintf(server->peer_url, sizeof(server->peer_url),
		 "http://127.0.0.1:%d", server->peer_port);
	return 0;
}

void etcd_server_cluster(const struct etcd_server *servers, size_t count,
			 char *text, size_t size)
{
	size_t used = 0;

	text[0] = '\0';
	for (size_t i = 0; i < count && used < size; i++)
		used += snprintf(text + used, size - used, "%s%s=%s",
				 i ? "," : "", servers[i].name,
				 servers[i].peer_url);
}

int etcd_server_spawn(struct etcd_server *server, const char *initial_cluster)
{
	const char *binary = etcd_server_binary();
	char data[96], log[96], cluster[160], token[32];
	unsigned long hash = 5381;
	pid_t pid;

	if (!binary || !server->dir[0])
		return -1;
	snprintf(data, sizeof(data), "%s/data", server->dir);
	snprintf(log, sizeof(log), "%s/log", server->dir);
	if (!initial_cluster) {
		snprintf(cluster, sizeof(cluster), "%s=%s", server->name,
			 server->peer_url);
		initial_cluster = cluster;
	}
	/* the same for every member of one cluster, another for the next */
	for (const char *c = initial_cluster; *c; c++)
		hash = hash * 33 + (unsigned char)*c;
	snprintf(token, sizeof(token), "xdpsplit-%lx", hash);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execl(binary, binary, "--name", server->name, "--data-dir",
		      data, "--listen-client-urls", server->client_url,
		      "--advertise-client-urls", server->client_url,
		      "--listen-peer-urls", server->peer_url,
		      "--initial-advertise-peer-urls", server->peer_url,
		      "--initial-cluster", initial_cluster,
		      "--initial-cluster-state", "new",
		      "--initial-cluster-token", token, "--heartbeat-interval",
		      "100", "--election-timeout", "1000", "--log-level",
		      "warn", (char *)NULL);
		_exit(127);
	}
	server->pid = pid;
	return 0;
}

static size_t discard(char *chunk, size_t size, size_t count, void *user)
{
	size_t n = size * count;
	char *seen = user;
	size_t used = strlen(seen);

	if (used + n < 256) {
		memcpy(seen + used, chunk, n);
		seen[used + n] = '\0';
	}
	return n;
}

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int etcd_server_wait_ready(const struct etcd_server *server, int timeout_ms)
{
	double deadline = now_seconds() + timeout_ms / 1000.0;
	char url[96], seen[256];
	CURL *curl = curl_easy_init();
	int status;

	if (!curl)
		return -1;
	snprintf(url, sizeof(url), "%s/health", server->client_url);
	while (now_seconds() < deadline) {
		if (server->pid &&
		    waitpid(server->pid, &status, WNOHANG) == server->pid) {
			fprintf(stderr, "    etcd %s exited (status %d)\n",
				server->name, status);
			break;
		}
		seen[0] = '\0';
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 500L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, seen);
		if (curl_easy_perform(curl) == CURLE_OK &&
		    strstr(seen, "\"health\":\"true\"")) {
			curl_easy_cleanup(curl);
			return 0;
		}
		usleep(50 * 1000);
	}
	curl_easy_cleanup(curl);
	fprintf(stderr,
		"    etcd %s on %s not healthy within %d ms; its log:\n",
		server->name, server->client_url, timeout_ms);
	char command[160];
	snprintf(command, sizeof(command), "tail -n 5 %s/log >&2", server->dir);
	if (system(command))
		fprintf(stderr, "    (no log)\n");
	return -1;
}

int etcd_server_start(struct etcd_server *server, const char *name)
{
	if (etcd_server_prepare(server, name) ||
	    etcd_server_spawn(server, NULL))
		return -1;
	return etcd_server_wait_ready(server, 10000);
}

void etcd_server_kill(struct etcd_server *server)
{
	if (server->pid > 0) {
		kill(server->pid, SIGKILL);
		waitpid(server->pid, NULL, 0);
	}
	server->pid = 0;
}

void etcd_server_remove(struct etcd_server *server)
{
	char command[96];

	etcd_server_kill(server);
	if (!server->dir[0] || strncmp(server->dir, "/tmp/xdpsplit-etcd-", 19))
		return;
	snprintf(command, sizeof(command), "rm -rf '%s'", server->dir);
	if (system(command))
		fprintf(stderr, "    couldn't remove %s\n", server->dir);
	server->dir[0] = '\0';
}
