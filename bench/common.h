/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every benchmark needs: CPU pinning, statistics over rounds, option
 * numbers and the PASS/MISS word.
 */
#ifndef WEIR_BENCH_COMMON_H
#define WEIR_BENCH_COMMON_H

#include <stdbool.h>
#include <time.h>

/* Pins the calling thread to want, or with -2 to the last allowed CPU (CPU 0
 * takes most interrupts); -1 leaves it unpinned. Threads started before stay
 * unpinned. Returns the CPU, or -1 when unpinned.
 */
int bench_pin_cpu(int want);
/* 0, or -EINVAL unless s is an integer in [min, max]. */
int bench_parse_num(const char *s, long long min, long long max, long long *out);
int bench_cmp_double(const void *a, const void *b);
double bench_min(const double *v, int n);
double bench_median(const double *v, int n);
double bench_ts_ns(const struct timespec *t);
/* "PASS" or "MISS": a missed target is reported, never a failure. */
const char *bench_verdict(bool ok);

#endif /* WEIR_BENCH_COMMON_H */
