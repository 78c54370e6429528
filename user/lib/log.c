// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static enum xs_log_level current_level = XS_LOG_WARN;

/* libbpf and libxdp print through this. Their warnings are noise to an
 * operator (libxdp falling back from its dispatcher, for one), and we
 * report every failure ourselves: shown only at debug level. */
static int libbpf_print(enum libbpf_print_level level, const char *format,
			va_list args)
{
	(void)level;
	if (current_level < XS_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, format, args);
}

static int libxdp_print(enum libxdp_print_level level, const char *format,
			va_list args)
{
	return libbpf_print((enum libbpf_print_level)level, format, args);
}

void xs_log_set_level(enum xs_log_level level)
{
	current_level = level;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

void xs_log(enum xs_log_level level, const char *format, ...)
{
	va_list args;

	if (level > current_level)
		return;
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
}
