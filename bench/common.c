// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What every benchmark needs: CPU pinning, statistics, numbers, verdicts. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "log.h"

int bench_pin_cpu(int want)
{
	cpu_set_t set;
	int cpu = want;

	if (want == -1 || sched_getaffinity(0, sizeof(set), &set))
		return -1;
	if (want == -2)
		for (cpu = CPU_SETSIZE - 1; cpu > 0 && !CPU_ISSET(cpu, &set); cpu--)
			;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		log_warn("pin to cpu=%d: %s; running unpinned", cpu, strerror(errno));
		return -1;
	}
	return cpu;
}

int bench_parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 0);
	if (errno || end == s || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_min(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double bench_median(const double *v, int n)
{
	double *s = malloc(n * sizeof(*s)), m;

	if (!s)
		return v[n / 2]; /* unsorted, but a figure: benches never fail on memory */
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bench_cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

double bench_ts_ns(const struct timespec *t)
{
	return t->tv_sec * 1e9 + t->tv_nsec;
}

const char *bench_verdict(bool ok)
{
	return ok ? "PASS" : "MISS";
}
