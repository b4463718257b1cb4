/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* RFC 3339 times as Hubble writes them (protojson's Timestamp: UTC, "Z", 0, 3,
 * 6 or 9 fractional digits) and as users type them, to and from
 * CLOCK_REALTIME nanoseconds. One place for flow JSON and the filter language.
 */
#ifndef WEIR_LIB_TIMEFMT_H
#define WEIR_LIB_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-08-05T10:12:18.510175415Z" is 30 characters. */
#define WEIR_TIME_STR_LEN 32

/* Writes ns as protojson does: "2026-08-05T10:12:18Z", "...18.510Z",
 * "...18.510175Z" or "...18.510175415Z". Returns buf, or NULL if len is too short.
 */
char *weir_time_format(uint64_t ns, char *buf, size_t len);

/* RFC 3339: "2026-08-05T10:12:18Z", with an optional fraction of 1 to 9 digits
 * and "Z" or a "+hh:mm"/"-hh:mm" offset ("t", "z" and a space for "T" are
 * accepted). Returns 0 and the ns since the epoch, or -EINVAL (malformed, or
 * outside 1970..2554, what a u64 of ns holds).
 */
int weir_time_parse_rfc3339(const char *s, uint64_t *out_ns);

/* A duration: one or more <digits><unit> with units ns, us, ms, s, m, h, d,
 * e.g. "30s", "90s", "5m", "1h30m", "1d". Returns 0 or -EINVAL.
 */
int weir_duration_parse(const char *s, uint64_t *out_ns);

#endif /* WEIR_LIB_TIMEFMT_H */
