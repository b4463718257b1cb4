// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* RFC 3339 times and durations to and from nanoseconds, with the calendar done
 * here (days from civil dates) so that neither TZ nor timegm() is involved.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "timefmt.h"

#define NS_PER_SEC 1000000000ULL
/* The last second a u64 of ns reaches: 2554-07-21T23:34:33Z. */
#define MAX_SEC	   (UINT64_MAX / NS_PER_SEC)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *weir_time_format(uint64_t ns, char *buf, size_t len)
{
	uint64_t sec = ns / NS_PER_SEC, sod = sec % 86400;
	uint32_t frac = ns % NS_PER_SEC;
	unsigned int mon, day;
	char fs[11] = "";
	int64_t year;
	int n;

	civil_from_days((int64_t)(sec / 86400), &year, &mon, &day);
	/* protojson: the shortest of 0, 3, 6 or 9 digits that is exact */
	if (frac % 1000000 == 0) {
		if (frac)
			snprintf(fs, sizeof(fs), ".%03u", frac / 1000000);
	} else if (frac % 1000 == 0) {
		snprintf(fs, sizeof(fs), ".%06u", frac / 1000);
	} else {
		snprintf(fs, sizeof(fs), ".%09u", frac);
	}
	n = snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u%sZ", (long long)year, mon, day,
		     (unsigned int)(sod / 3600), (unsigned int)(sod / 60 % 60),
		     (unsigned int)(sod % 60), fs);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

/* Exactly n decimal digits at *p; advances *p. */
static bool digits(const char **p, int n, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (unsigned int)(c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static bool leap_year(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int month_days(unsigned int y, unsigned int m)
{
	static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

int weir_time_parse_rfc3339(const char *s, uint64_t *out_ns)
{
	unsigned int y, mo, d, h, mi, sec, oh = 0, om = 0;
	const char *p = s;
	int64_t days, secs, off = 0;
	uint64_t frac = 0;
	int nfrac = 0;

	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
	    !digits(&p, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac == 9)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		if (!nfrac)
			return -EINVAL;
		for (; nfrac < 9; nfrac++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		off = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;

	days = days_from_civil(y, mo, d);
	secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off;
	if (secs < 0 || (uint64_t)secs > MAX_SEC)
		return -EINVAL;
	if ((uint64_t)secs == MAX_SEC && frac > UINT64_MAX % NS_PER_SEC)
		return -EINVAL;
	*out_ns = (uint64_t)secs * NS_PER_SEC + frac;
	return 0;
}

struct unit {
	const char *name;
	uint64_t ns;
};

/* Longest names first: "ms" before "m". */
static const struct unit units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", NS_PER_SEC },
	{ "m", 60 * NS_PER_SEC },
	{ "h", 3600 * NS_PER_SEC },
	{ "d", 86400 * NS_PER_SEC },
};

int weir_duration_parse(const char *s, uint64_t *out_ns)
{
	uint64_t total = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	while (*p) {
		const struct unit *u = NULL;
		uint64_t v = 0, part;
		size_t i;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
				return -EINVAL;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);

			if (!strncmp(p, units[i].name, n) && !(p[n] >= 'a' && p[n] <= 'z')) {
				u = &units[i];
				p += n;
				break;
			}
		}
		if (!u || __builtin_mul_overflow(v, u->ns, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -EINVAL;
	}
	*out_ns = total;
	return 0;
}
