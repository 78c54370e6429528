// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/fleet/keys.h"
#include "fleet_conn.h"
#include "splitctl.h"

static int take_endpoints(struct xs_config_fleet *f, char *list)
{
	f->endpoint_count = 0;
	for (char *save = NULL, *url = strtok_r(list, ",", &save); url;
	     url = strtok_r(NULL, ",", &save)) {
		if (f->endpoint_count == XS_FLEET_MAX_ENDPOINTS ||
		    strlen(url) >= sizeof(f->endpoints[0]) ||
		    (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
			return usage_error(
				"fleet",
				"--etcd takes up to %d http:// or https:// URLs separated by commas, not '%s'",
				XS_FLEET_MAX_ENDPOINTS, url);
		strcpy(f->endpoints[f->endpoint_count++], url);
	}
	return f->endpoint_count ? EXIT_OK :
				   usage_error("fleet", "--etcd needs a URL");
}

int fleet_connect(struct fleet_conn *conn, int *argc, char ***argv)
{
	static struct xs_config_file config;
	const char *config_path = NULL, *prefix = NULL;
	char *endpoints = NULL, error[600];
	const char *urls[XS_FLEET_MAX_ENDPOINTS];
	struct xs_config_fleet f = { 0 };
	int rc;

	memset(conn, 0, sizeof(*conn));
	while (*argc >= 2 && (*argv)[0][0] == '-') {
		const char *option = (*argv)[0], *value = (*argv)[1];

		if (is_keyword(option, "--etcd"))
			endpoints = (char *)value;
		else if (is_keyword(option, "--prefix"))
			prefix = value;
		else if (is_keyword(option, "--config"))
			config_path = value;
		else
			break;
		*argc -= 2;
		*argv += 2;
	}
	if (!endpoints || !prefix) {
		const char *path = config_path ?: XS_DEFAULT_CONFIG_FILE;

		if (xs_config_load(path, &config, error, sizeof(error))) {
			if (!endpoints)
				return runtime_error(
					"%s; give the fleet's etcd with --etcd URL[,URL...] or a configuration with a fleet section with --config FILE",
					error);
		} else if (!config.fleet.enabled && !endpoints) {
			return runtime_error(
				"%s has no fleet section; give --etcd URL[,URL...]",
				path);
		} else {
			f = config.fleet;
		}
	}
	if (endpoints) {
		char copy[1024];

		snprintf(copy, sizeof(copy), "%s", endpoints);
		rc = take_endpoints(&f, copy);
		if (rc)
			return rc;
	}
	snprintf(conn->prefix, sizeof(conn->prefix), "%s",
		 prefix		     ?:
			 f.prefix[0] ? f.prefix :
				       XS_FLEET_DEFAULT_PREFIX);
	if (conn->prefix[0] != '/' ||
	    conn->prefix[strlen(conn->prefix) - 1] != '/')
		return usage_error(
			"fleet",
			"--prefix must start and end with '/', not '%s'",
			conn->prefix);
	snprintf(conn->host, sizeof(conn->host), "%s", f.host);
	for (__u32 i = 0; i < f.endpoint_count; i++)
		urls[i] = f.endpoints[i];
	conn->etcd = xs_etcd_open(urls, f.endpoint_count, FLEET_TIMEOUT_MS,
				  error, sizeof(error));
	if (!conn->etcd)
		return runtime_error("%s", error);
	return EXIT_OK;
}

void fleet_disconnect(struct fleet_conn *conn)
{
	xs_etcd_close(conn->etcd);
	conn->etcd = NULL;
}

void fleet_key(const struct fleet_conn *conn, char *out, const char *part,
	       const char *more)
{
	/* the prefix is checked short: a key always fits */
	xs_fleet_key(out, XS_FLEET_KEY_SIZE, conn->prefix, part, more);
}
