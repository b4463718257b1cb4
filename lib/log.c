// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One-line, leveled logging to stderr, with libbpf routed through it. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

static enum weir_log_level max_level = WEIR_LOG_INFO;

static const char *const level_names[] = {
	[WEIR_LOG_ERR] = "error",
	[WEIR_LOG_WARN] = "warn",
	[WEIR_LOG_INFO] = "info",
	[WEIR_LOG_DEBUG] = "debug",
};

void weir_log_set_level(enum weir_log_level level)
{
	max_level = level;
}

void weir_log(enum weir_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "level=%s ", level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's messages end in a newline and come in pieces: pass them
	 * through as they are, at debug level.
	 */
	(void)level;
	if (max_level < WEIR_LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void weir_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
