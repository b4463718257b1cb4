/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One-line, leveled logging to stderr, with libbpf routed through it. */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

enum weir_log_level {
	WEIR_LOG_ERR,
	WEIR_LOG_WARN,
	WEIR_LOG_INFO,
	WEIR_LOG_DEBUG,
};

void weir_log_set_level(enum weir_log_level level);
void weir_log(enum weir_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends libbpf's messages to weir_log at debug level. */
void weir_log_libbpf(void);

#define log_err(...)   weir_log(WEIR_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  weir_log(WEIR_LOG_WARN, __VA_ARGS__)
#define log_info(...)  weir_log(WEIR_LOG_INFO, __VA_ARGS__)
#define log_debug(...) weir_log(WEIR_LOG_DEBUG, __VA_ARGS__)

#endif /* WEIR_LOG_H */
