// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The strict fast path for flow lines (flow_parse.h). It follows
 * weir_flow_record_from_json() rule for rule on the subset it takes, and
 * gives up (-EAGAIN) on everything else: tests/unit/test_flow_parse.c checks
 * it against the general path on records of every shape and on random
 * mutations of them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <netinet/in.h>
#include "flow_json_priv.h"
#include "flow_parse.h"
#include "hubble_names.h"
#include "json_writer.h"
#include "timefmt.h"

#define LABELS_MAX	64  /* more: the general path */
#define TEXT_MAX	256 /* a string copied to be NUL-terminated: longer, the general path */
#define CACHE_SLOTS	4096
#define CACHE_TEXT_MAX	2048 /* an endpoint's JSON text cached up to this long */
#define UINT_DIGITS_MAX 18   /* digits that cannot overflow; past them, checked */
#define LABEL_WORLD	"reserved:world"
#define LABEL_HOST	"reserved:host"
#define ENUM_MEMOS	16 /* enum names last seen, with their codes */
#define ENUM_TEXT_MAX	24
#define TIME_PREFIX_LEN 19	       /* "2026-08-05T10:12:18": the seconds */
#define TIME_MEMOS	4	       /* a record's times: now, and when its conversation began */
#define TIME_SEC_MAX	18446744072ULL /* below UINT64_MAX / 1e9: no overflow check needed */

struct slice {
	const char *s;
	size_t n;
};

struct cur {
	const char *p;
	const char *end;
	struct weir_endpoint_cache *memo; /* the caller's cache, NULL: no memos */
};

/* Whether the n bytes at a and b are the same, n a constant the compiler
 * folds: a few overlapping word loads instead of a call to memcmp() (keys
 * are compared many times per line).
 */
static inline __attribute__((always_inline)) bool same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	uint32_t u, v, u2, v2;

	if (n > 24)
		return !memcmp(a, b, n);
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		/* n is the literal's length: cppcheck tries others */
		// cppcheck-suppress pointerOutOfBoundsCond
		memcpy(&y2, b + n - 8, 8);
		if (x != y || x2 != y2)
			return false;
		if (n > 16) {
			memcpy(&x, a + 8, 8);
			memcpy(&y, b + 8, 8);
			return x == y;
		}
		return true;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		memcpy(&u2, a + n - 4, 4);
		// cppcheck-suppress pointerOutOfBoundsCond
		memcpy(&v2, b + n - 4, 4);
		return u == v && u2 == v2;
	}
	while (n--)
		if (*a++ != *b++)
			return false;
	return true;
}

#define KEY_IS(k, lit) ((k).n == sizeof(lit) - 1 && same_bytes((k).s, (lit), sizeof(lit) - 1))

/* ---- tokens, as strict as jansson or stricter ---- */

static inline void ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static inline bool punct(struct cur *c, char ch)
{
	/* Weir writes compact JSON: the next byte, most of the time */
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool peek(struct cur *c, char ch)
{
	ws(c);
	return c->p < c->end && *c->p == ch;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the 8 bytes in w is '"', '\\', a control or not ASCII. */
static inline bool word_special(uint64_t w)
{
	uint64_t quote = w ^ (ONES * '"'), bslash = w ^ (ONES * '\\');

	return ((((quote - ONES) & ~quote) | ((bslash - ONES) & ~bslash) | (w - ONES * 0x20) | w) &
		HIGHS) != 0;
}

/* p moved to the first '"', '\\', control or non-ASCII byte at or after it,
 * or to (near) end: the bulk of a string's bytes, many at a time.
 */
static inline const char *skip_plain(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* signed: bytes from 0x80 on are negative, below ' ' like controls */
		__m128i sp = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
			_mm_cmplt_epi8(v, space));
		unsigned int mask = (unsigned int)_mm_movemask_epi8(sp);

		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	uint64_t w;

	while (end - p >= 8) {
		memcpy(&w, p, sizeof(w));
		if (word_special(w))
			break;
		p += 8;
	}
	return p;
}

/* A string without escapes or controls, UTF-8 as jansson takes it. */
static inline __attribute__((always_inline)) bool str(struct cur *c, struct slice *out)
{
	const char *s;
	bool ascii = true;

	if (!punct(c, '"'))
		return false;
	s = c->p;
	for (;;) {
		c->p = skip_plain(c->p, c->end);
		if (c->p >= c->end)
			return false;
		if (*c->p == '"')
			break;
		if (*c->p == '\\' || (unsigned char)*c->p < 0x20)
			return false;
		if ((unsigned char)*c->p >= 0x80)
			ascii = false;
		c->p++;
	}
	out->s = s;
	out->n = (size_t)(c->p - s);
	c->p++;
	return ascii || weir_json_utf8_valid(s, out->n);
}

/* s as a C string in buf (TEXT_MAX). */
static bool cstr(const struct slice *s, char *buf)
{
	if (s->n >= TEXT_MAX)
		return false;
	memcpy(buf, s->s, s->n);
	buf[s->n] = '\0';
	return true;
}

/* A non-negative integer up to max, as jansson reads one ("0", or no
 * leading zero); fractions, exponents and signs: the general path.
 */
static bool uint_max(struct cur *c, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	ws(c);
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return false;
	if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
		return false;
	/* jansson's integers are int64: more is its error to report */
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (++n > UINT_DIGITS_MAX &&
		    (__builtin_mul_overflow(v, 10, &v) ||
		     __builtin_add_overflow(v, (uint64_t)(*c->p - '0'), &v) || v > INT64_MAX))
			return false;
		if (n <= UINT_DIGITS_MAX)
			v = v * 10 + (uint64_t)(*c->p - '0');
		c->p++;
	}
	if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
		return false;
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool boolean(struct cur *c, bool *out)
{
	ws(c);
	if ((size_t)(c->end - c->p) >= 4 && !memcmp(c->p, "true", 4)) {
		c->p += 4;
		*out = true;
	} else if ((size_t)(c->end - c->p) >= 5 && !memcmp(c->p, "false", 5)) {
		c->p += 5;
		*out = false;
	} else {
		return false;
	}
	return c->p == c->end || !is_alpha(*c->p);
}

/* Object members: 1 with the key read and the cursor at its value, 0 at the
 * end, -1 on anything else. A key seen twice (bit in *seen) is the general
 * path's to judge (jansson keeps the last).
 */
static int member(struct cur *c, bool *first, struct slice *key)
{
	if (punct(c, '}'))
		return 0;
	if (!*first && !punct(c, ','))
		return -1;
	*first = false;
	if (!str(c, key) || !punct(c, ':'))
		return -1;
	return 1;
}

static bool once(uint32_t *seen, uint32_t bit)
{
	if (*seen & bit)
		return false;
	*seen |= bit;
	return true;
}

static bool time_memo_hit(const struct weir_endpoint_cache *m, const struct slice *s,
			  uint64_t *out);
static void time_memo_put(struct weir_endpoint_cache *m, const struct slice *s, uint64_t ns);
static bool enum_memo_hit(const struct weir_endpoint_cache *m, int (*parse)(const char *),
			  const struct slice *s, int *code);
static void enum_memo_put(struct weir_endpoint_cache *m, int (*parse)(const char *),
			  const struct slice *s, int code);

/* The text of s as weir_time_parse_rfc3339() reads it. */
static bool time_slice(struct weir_endpoint_cache *memo, const struct slice *s, uint64_t *out)
{
	char buf[TEXT_MAX];

	if (memo && time_memo_hit(memo, s, out))
		return true;
	if (!cstr(s, buf) || weir_time_parse_rfc3339(buf, out))
		return false;
	if (memo)
		time_memo_put(memo, s, *out);
	return true;
}

/* A time string as weir_time_parse_rfc3339() reads it. */
static bool time_val(struct cur *c, uint64_t *out)
{
	struct slice s;

	return str(c, &s) && time_slice(c->memo, &s, out);
}

/* A name as parse() reads it, remembered. */
static bool name_code(struct weir_endpoint_cache *memo, int (*parse)(const char *),
		      const struct slice *s, int *code)
{
	char buf[TEXT_MAX];

	if (memo && enum_memo_hit(memo, parse, s, code))
		return true;
	if (!cstr(s, buf))
		return false;
	*code = parse(buf);
	if (memo)
		enum_memo_put(memo, parse, s, *code);
	return true;
}

/* An enum by name (parse) or by number up to max. */
static bool enum_val(struct cur *c, int (*parse)(const char *), uint64_t max, unsigned int *out)
{
	struct slice s;
	uint64_t u;
	int code;

	if (peek(c, '"')) {
		if (!str(c, &s) || !name_code(c->memo, parse, &s, &code))
			return false;
		if (code < 0)
			return false;
		*out = (unsigned int)code;
		return true;
	}
	if (!uint_max(c, max, &u))
		return false;
	*out = (unsigned int)u;
	return true;
}

static int verdict_parse(const char *s)
{
	return weir_hubble_verdict_parse(s);
}

/* ---- the flow's parts ---- */

/* inet_pton(AF_INET) on a slice, by its rules: four decimal octets up to
 * 255, no leading zeros, nothing else.
 */
static bool ipv4_slice(const struct slice *s, uint8_t *out)
{
	unsigned int octets = 0, v = 0;
	bool digit = false;
	uint8_t tmp[4];
	size_t i;

	for (i = 0; i < s->n; i++) {
		char ch = s->s[i];

		if (ch >= '0' && ch <= '9') {
			if (digit && v == 0)
				return false;
			v = v * 10 + (unsigned int)(ch - '0');
			if (v > 255)
				return false;
			if (!digit) {
				if (++octets > 4)
					return false;
				digit = true;
			}
			tmp[octets - 1] = (uint8_t)v;
		} else if (ch == '.' && digit) {
			if (octets == 4)
				return false;
			digit = false;
			v = 0;
		} else {
			return false;
		}
	}
	if (octets < 4)
		return false;
	memcpy(out, tmp, sizeof(tmp));
	return true;
}

/* An address of the family (4 or 6) into out (16 bytes), as inet_pton() takes it. */
static bool addr_slice(unsigned int family, const struct slice *s, uint8_t *out)
{
	char buf[TEXT_MAX];

	if (family != 6)
		return ipv4_slice(s, out);
	return cstr(s, buf) && inet_pton(AF_INET6, buf, out) == 1;
}

static bool ip_obj(struct cur *c, struct weir_flow_record *r)
{
	struct slice k, src = { 0 }, dst = { 0 };
	bool first = true, have_src = false, have_dst = false;
	unsigned int ver = 0;
	uint32_t seen = 0;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		if (KEY_IS(k, "source") && once(&seen, 1))
			have_src = str(c, &src);
		else if (KEY_IS(k, "destination") && once(&seen, 2))
			have_dst = str(c, &dst);
		else if (KEY_IS(k, "ipVersion") && once(&seen, 4))
			m = enum_val(c, weir_flow_json_ip_version, 2, &ver) ? 1 : -1;
		else
			return false;
		if (m < 0 || (KEY_IS(k, "source") && !have_src) ||
		    (KEY_IS(k, "destination") && !have_dst))
			return false;
	}
	if (m < 0)
		return false;
	if (ver == 1 || ver == 2)
		ver = ver == 1 ? 4 : 6;
	if (!ver && have_src)
		ver = memchr(src.s, ':', src.n) ? 6 : 4;
	r->family = (uint8_t)ver;
	if (have_src && src.n && !addr_slice(ver, &src, r->saddr))
		return false;
	if (have_dst && dst.n && !addr_slice(ver, &dst, r->daddr))
		return false;
	return true;
}

/* Only the exact names the general path looks up; any other key: give up. */
static bool tcp_flags_obj(struct cur *c, struct weir_flow_record *r)
{
	bool first = true, on;
	uint32_t seen = 0;
	struct slice k;
	size_t i;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		for (i = 0; i < sizeof(weir_tcp_flags) / sizeof(weir_tcp_flags[0]); i++)
			if (strlen(weir_tcp_flags[i].name) == k.n &&
			    !memcmp(weir_tcp_flags[i].name, k.s, k.n))
				break;
		if (i == sizeof(weir_tcp_flags) / sizeof(weir_tcp_flags[0]) ||
		    !once(&seen, 1u << i) || !boolean(c, &on))
			return false;
		if (on)
			r->tcp_flags |= weir_tcp_flags[i].bit;
	}
	return m == 0;
}

static bool l4_obj(struct cur *c, struct weir_flow_record *r)
{
	bool first = true, ports, icmp;
	uint32_t seen = 0;
	struct slice k;
	uint64_t u;
	int m, proto;

	if (!punct(c, '{'))
		return false;
	/* exactly one protocol key */
	if (member(c, &first, &k) <= 0)
		return false;
	proto = weir_flow_json_l4_proto(k.s, k.n);
	if (proto < 0 || !punct(c, '{'))
		return false;
	r->proto = (uint8_t)proto;
	ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
	icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
	first = true;
	while ((m = member(c, &first, &k)) > 0) {
		if (ports && KEY_IS(k, "source_port") && once(&seen, 1) &&
		    uint_max(c, UINT16_MAX, &u))
			r->sport = (uint16_t)u;
		else if (ports && KEY_IS(k, "destination_port") && once(&seen, 2) &&
			 uint_max(c, UINT16_MAX, &u))
			r->dport = (uint16_t)u;
		else if (icmp && KEY_IS(k, "type") && once(&seen, 4) && uint_max(c, UINT8_MAX, &u))
			r->icmp_type = (uint8_t)u;
		else if (icmp && KEY_IS(k, "code") && once(&seen, 8) && uint_max(c, UINT8_MAX, &u))
			r->icmp_code = (uint8_t)u;
		else if (proto == IPPROTO_TCP && KEY_IS(k, "flags") && once(&seen, 16) &&
			 tcp_flags_obj(c, r))
			continue;
		else
			return false;
	}
	return m == 0 && punct(c, '}');
}

/* ---- endpoints ---- */

struct cache_slot {
	uint64_t hash;
	char *text;
	size_t len;
	struct weir_endpoint *ep;
};

struct enum_memo {
	int (*parse)(const char *);
	size_t n;
	char text[ENUM_TEXT_MAX];
	int code;
};

struct weir_endpoint_cache {
	struct cache_slot slots[CACHE_SLOTS];
	/* What a name or a time decoded to last time: a stream repeats them.
	 * Each is filled from what the general function returned.
	 */
	struct enum_memo enums[ENUM_MEMOS];
	unsigned int enum_next;
	struct time_memo {
		bool valid;
		char prefix[TIME_PREFIX_LEN];
		uint64_t sec; /* what prefix + "Z" decodes to, in seconds */
	} times[TIME_MEMOS];
	unsigned int time_next;
	uint64_t uuid_mask; /* the bits of a uuid's low 64 that are the id */
	/* The node name of the last line: the next record is made with it in
	 * its own block (weir_flow_record_new_named()), no copy of its own.
	 */
	size_t node_len;
	char node[TEXT_MAX];
};

static bool time_memo_hit(const struct weir_endpoint_cache *m, const struct slice *s, uint64_t *out)
{
	const char *p = s->s + TIME_PREFIX_LEN, *end = s->s + s->n;
	const struct time_memo *t;
	uint64_t frac = 0;
	int nfrac = 0;

	if (s->n <= TIME_PREFIX_LEN)
		return false;
	for (t = m->times; t < m->times + TIME_MEMOS; t++)
		if (t->valid && !memcmp(s->s, t->prefix, TIME_PREFIX_LEN))
			break;
	if (t == m->times + TIME_MEMOS)
		return false;
	if (*p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac == 9)
				return false;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		if (!nfrac)
			return false;
		for (; nfrac < 9; nfrac++)
			frac *= 10;
	}
	if (end - p != 1 || (*p != 'Z' && *p != 'z'))
		return false;
	*out = t->sec * 1000000000ULL + frac;
	return true;
}

/* Remembers the seconds of a time in UTC ("...Z") that decoded to ns. */
static void time_memo_put(struct weir_endpoint_cache *m, const struct slice *s, uint64_t ns)
{
	char last = s->n ? s->s[s->n - 1] : '\0';
	struct time_memo *t;

	if (s->n <= TIME_PREFIX_LEN || (last != 'Z' && last != 'z') ||
	    (s->s[TIME_PREFIX_LEN] != '.' && s->n != TIME_PREFIX_LEN + 1) ||
	    ns / 1000000000ULL > TIME_SEC_MAX)
		return;
	t = &m->times[m->time_next++ % TIME_MEMOS];
	memcpy(t->prefix, s->s, TIME_PREFIX_LEN);
	t->sec = ns / 1000000000ULL;
	t->valid = true;
}

static bool enum_memo_hit(const struct weir_endpoint_cache *m, int (*parse)(const char *),
			  const struct slice *s, int *code)
{
	const struct enum_memo *e;

	for (e = m->enums; e < m->enums + ENUM_MEMOS; e++) {
		if (e->parse == parse && e->n == s->n && !memcmp(e->text, s->s, s->n)) {
			*code = e->code;
			return true;
		}
	}
	return false;
}

static void enum_memo_put(struct weir_endpoint_cache *m, int (*parse)(const char *),
			  const struct slice *s, int code)
{
	struct enum_memo *e = &m->enums[m->enum_next++ % ENUM_MEMOS];

	if (s->n > sizeof(e->text))
		return;
	e->parse = parse;
	e->n = s->n;
	memcpy(e->text, s->s, s->n);
	e->code = code;
}

int weir_endpoint_cache_new(struct weir_endpoint_cache **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (weir_flow_json_uuid_id("ffffffff-ffff-ffff-ffff-ffffffffffff", &(*out)->uuid_mask)) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

void weir_endpoint_cache_free(struct weir_endpoint_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CACHE_SLOTS; i++) {
		free(c->slots[i].text);
		weir_endpoint_put(c->slots[i].ep);
	}
	free(c);
}

/* Two words at a time in two lanes (the text is compared in full on a hit
 * anyway).
 */
static uint64_t text_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, h2 = 0xc2b2ae3d27d4eb4fULL, w, w2;
	size_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		memcpy(&w, s + i, sizeof(w));
		memcpy(&w2, s + i + 8, sizeof(w2));
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h2 = (h2 ^ w2) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 32;
		h2 ^= h2 >> 29;
	}
	h ^= h2 * 0x9e3779b97f4a7c15ULL;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* The extent of the object at c (its text, braces included) without
 * decoding it; 0 when it holds an escape or is cut short (then decode it).
 * Any answer is safe: a cached text is a whole object the decoder took, so a
 * line that begins with it holds that object. With SSE2, 16 bytes at a time:
 * what is inside strings is the prefix XOR of the quotes (no escapes), and
 * only the brackets outside them are counted, one branch per bracket.
 */
static size_t object_extent(const struct cur *c)
{
	const char *p = c->p;
	bool in_str = false;
	int depth = 0;

#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i obrace = _mm_set1_epi8('{'), cbrace = _mm_set1_epi8('}');
	const __m128i obrack = _mm_set1_epi8('['), cbrack = _mm_set1_epi8(']');

	while (c->end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned int q = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
		unsigned int bs = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bslash));
		unsigned int open = (unsigned int)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, obrace), _mm_cmpeq_epi8(v, obrack)));
		unsigned int close = (unsigned int)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, cbrace), _mm_cmpeq_epi8(v, cbrack)));
		unsigned int str_mask = q, ev, i;

		/* bit i: byte i is in a string (an opening quote is, a closing one not) */
		str_mask ^= str_mask << 1;
		str_mask ^= str_mask << 2;
		str_mask ^= str_mask << 4;
		str_mask ^= str_mask << 8;
		str_mask &= 0xffff;
		if (in_str)
			str_mask ^= 0xffff;
		open &= ~str_mask;
		close &= ~str_mask;
		for (ev = open | close | bs; ev; ev &= ev - 1) {
			i = (unsigned int)__builtin_ctz(ev);
			if (bs & (1u << i))
				return 0;
			if (open & (1u << i))
				depth++;
			else if (--depth == 0)
				return (size_t)(p + i + 1 - c->p);
		}
		in_str = (str_mask >> 15) & 1;
		p += 16;
	}
#endif
	while (p < c->end) {
		if (in_str) {
			p = skip_plain(p, c->end);
			if (p >= c->end)
				return 0;
			if (*p == '\\')
				return 0;
			if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return (size_t)(p + 1 - c->p);
		}
		p++;
	}
	return 0;
}

static struct weir_endpoint *cache_find(struct weir_endpoint_cache *c, const char *s, size_t n,
					uint64_t h)
{
	struct cache_slot *e = &c->slots[h % CACHE_SLOTS];

	if (e->ep && e->hash == h && e->len == n && !memcmp(e->text, s, n))
		return weir_endpoint_get(e->ep);
	return NULL;
}

static void cache_put(struct weir_endpoint_cache *c, const char *s, size_t n, uint64_t h,
		      struct weir_endpoint *ep)
{
	struct cache_slot *e = &c->slots[h % CACHE_SLOTS];
	char *text = malloc(n);

	if (!text)
		return;
	memcpy(text, s, n);
	free(e->text);
	weir_endpoint_put(e->ep);
	e->hash = h;
	e->text = text;
	e->len = n;
	e->ep = weir_endpoint_get(ep);
}

static char *dup_slice(const struct slice *s, bool *ok)
{
	char *d;

	if (!s->s || !s->n)
		return NULL;
	d = malloc(s->n + 1);
	if (!d) {
		*ok = false;
		return NULL;
	}
	memcpy(d, s->s, s->n);
	d[s->n] = '\0';
	return d;
}

static bool slice_is(const struct slice *s, const char *prefix, bool whole)
{
	size_t n = strlen(prefix);

	return s->n >= n && !memcmp(s->s, prefix, n) && (!whole || s->n == n);
}

/* endpoint_from_json()'s rules; an absent endpoint (o false) is the world. */
static bool endpoint_obj(struct cur *c, bool present, struct weir_endpoint_cache *cache,
			 struct weir_endpoint **out)
{
	struct slice k, ns = { 0 }, pod = { 0 }, wname = { 0 }, wkind = { 0 };
	struct slice labels[LABELS_MAX];
	enum weir_identity identity = WEIR_IDENTITY_POD;
	bool first = true, have_w = false, ok = true;
	const char *start = NULL;
	struct weir_endpoint *ep;
	uint64_t id_num = 0, h = 0;
	size_t i, n = 0;
	uint32_t seen = 0;
	int m;

	if (present) {
		ws(c);
		start = c->p;
		if (cache) {
			/* the same text as before: the same endpoint, no decoding */
			size_t n_text = object_extent(c);

			if (n_text && n_text <= CACHE_TEXT_MAX) {
				h = text_hash(start, n_text);
				*out = cache_find(cache, start, n_text, h);
				if (*out) {
					c->p += n_text;
					return true;
				}
			}
		}
		if (!punct(c, '{'))
			return false;
		while ((m = member(c, &first, &k)) > 0) {
			if (KEY_IS(k, "namespace") && once(&seen, 1)) {
				if (!str(c, &ns))
					return false;
			} else if (KEY_IS(k, "pod_name") && once(&seen, 2)) {
				if (!str(c, &pod))
					return false;
			} else if (KEY_IS(k, "identity") && once(&seen, 4)) {
				if (!uint_max(c, UINT32_MAX, &id_num))
					return false;
			} else if (KEY_IS(k, "labels") && once(&seen, 8)) {
				bool lfirst = true;

				if (!punct(c, '['))
					return false;
				while (!punct(c, ']')) {
					if ((!lfirst && !punct(c, ',')) || n == LABELS_MAX ||
					    !str(c, &labels[n]))
						return false;
					lfirst = false;
					n++;
				}
			} else if (KEY_IS(k, "workloads") && once(&seen, 16)) {
				bool wfirst = true;
				uint32_t wseen = 0;
				struct slice wk;

				/* [] or [{name, kind}]: more, the general path */
				if (!punct(c, '['))
					return false;
				if (punct(c, ']'))
					continue;
				if (!punct(c, '{'))
					return false;
				have_w = true;
				while ((m = member(c, &wfirst, &wk)) > 0) {
					if (KEY_IS(wk, "name") && once(&wseen, 1)) {
						if (!str(c, &wname))
							return false;
					} else if (KEY_IS(wk, "kind") && once(&wseen, 2)) {
						if (!str(c, &wkind))
							return false;
					} else {
						return false;
					}
				}
				if (m < 0 || !punct(c, ']'))
					return false;
			} else {
				return false;
			}
		}
		if (m < 0)
			return false;
		if (cache)
			h = text_hash(start, (size_t)(c->p - start));
	}
	for (i = 0; i < n; i++) {
		if (slice_is(&labels[i], LABEL_WORLD, false))
			identity = WEIR_IDENTITY_WORLD;
		else if (slice_is(&labels[i], LABEL_HOST, true) && identity == WEIR_IDENTITY_POD)
			identity = WEIR_IDENTITY_HOST;
	}
	if (identity == WEIR_IDENTITY_POD && id_num == WEIR_FLOW_JSON_IDENTITY_HOST)
		identity = WEIR_IDENTITY_HOST;
	else if (identity == WEIR_IDENTITY_POD &&
		 (id_num == WEIR_FLOW_JSON_IDENTITY_WORLD || (!n && !ns.n && !pod.n && !have_w)))
		identity = WEIR_IDENTITY_WORLD;
	if (identity == WEIR_IDENTITY_WORLD && !ns.n && !pod.n && !have_w &&
	    (!n || (n == 1 && slice_is(&labels[0], LABEL_WORLD, true)))) {
		*out = weir_endpoint_world();
		return true;
	}
	ep = weir_endpoint_new(identity);
	if (!ep)
		return false;
	if (n) {
		ep->labels = calloc(n, sizeof(*ep->labels));
		ok = ep->labels != NULL;
		for (i = 0; ok && i < n; i++) {
			ep->labels[i] = malloc(labels[i].n + 1);
			ok = ep->labels[i] != NULL;
			if (ok) {
				memcpy(ep->labels[i], labels[i].s, labels[i].n);
				ep->labels[i][labels[i].n] = '\0';
				ep->n_labels++;
			}
		}
	}
	ep->namespace = dup_slice(&ns, &ok);
	ep->pod_name = dup_slice(&pod, &ok);
	ep->workload_name = dup_slice(&wname, &ok);
	ep->workload_kind = dup_slice(&wkind, &ok);
	if (!ok) {
		weir_endpoint_put(ep);
		return false;
	}
	if (cache && present && (size_t)(c->p - start) <= CACHE_TEXT_MAX)
		cache_put(cache, start, (size_t)(c->p - start), h, ep);
	*out = ep;
	return true;
}

/* ---- the flow ---- */

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* weir_flow_json_uuid_id() on a slice: 36 characters, dashes at 8, 13, 18
 * and 23, hex digits elsewhere; the id is in the low 64 bits, under the mask
 * the general path applies (memo->uuid_mask, learnt from it).
 */
static bool uuid_id(const struct weir_endpoint_cache *memo, const struct slice *s, uint64_t *id)
{
	char buf[TEXT_MAX];
	uint64_t lo = 0;
	int i, x;

	if (!memo) {
		if (!cstr(s, buf))
			return false;
		return !weir_flow_json_uuid_id(buf, id);
	}
	if (s->n != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s->s[i] != '-')
				return false;
			continue;
		}
		x = hex_digit(s->s[i]);
		if (x < 0)
			return false;
		if (i >= 19)
			lo = lo << 4 | (uint64_t)x;
	}
	*id = lo & memo->uuid_mask;
	return true;
}

/* What verdict_from_json() works from. */
struct verdict_in {
	unsigned int verdict, dir;
	uint64_t ev_type, ev_sub;
	bool have_desc, desc_is_str, have_reply, reply;
	struct slice desc;
	uint64_t desc_num;
};

static bool event_type_obj(struct cur *c, struct verdict_in *v)
{
	bool first = true;
	uint32_t seen = 0;
	struct slice k;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		if (KEY_IS(k, "type") && once(&seen, 1)) {
			if (!uint_max(c, INT32_MAX, &v->ev_type))
				return false;
		} else if (KEY_IS(k, "sub_type") && once(&seen, 2)) {
			if (!uint_max(c, INT32_MAX, &v->ev_sub))
				return false;
		} else {
			return false;
		}
	}
	return m == 0;
}

static bool verdict_apply(struct weir_endpoint_cache *memo, const struct verdict_in *v,
			  struct weir_flow_record *r)
{
	uint64_t fallback = 0, reason;
	int code = -1;

	if (v->ev_type == WEIR_FLOW_JSON_EVENT_DROP && v->ev_sub <= UINT8_MAX)
		fallback = v->ev_sub;
	reason = fallback;
	if (v->have_desc && v->desc_is_str) {
		if (!name_code(memo, weir_hubble_drop_reason_parse, &v->desc, &code))
			return false;
		if (code >= 0)
			reason = (uint64_t)code;
		else if (!fallback)
			return false; /* an unknown name: the general path says so */
	} else if (v->have_desc) {
		reason = v->desc_num;
	}
	r->verdict = (uint8_t)v->verdict;
	r->reason = (uint8_t)reason;
	r->dir = (uint8_t)v->dir;
	if (v->have_reply)
		r->is_reply = v->reply ? WEIR_REPLY_YES : WEIR_REPLY_NO;
	return true;
}

static bool iface_obj(struct cur *c, struct weir_flow_record *r)
{
	bool first = true;
	uint32_t seen = 0;
	struct slice k, name;
	uint64_t idx;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		if (KEY_IS(k, "index") && once(&seen, 1) && uint_max(c, UINT32_MAX, &idx)) {
			r->ifindex = (uint32_t)idx;
		} else if (KEY_IS(k, "name") && once(&seen, 2) && str(c, &name)) {
			if (name.n >= sizeof(r->ifname) || memchr(name.s, '\0', name.n))
				return false;
			memcpy(r->ifname, name.s, name.n);
			r->ifname[name.n] = '\0';
		} else {
			return false;
		}
	}
	return m == 0;
}

/* weir.lb: {"backend": IP, "backend_port": N}, in the record's family (IP,
 * which the writer puts before weir).
 */
static bool lb_obj(struct cur *c, struct weir_flow_record *r)
{
	bool first = true, have_ip = false;
	struct slice k, ip = { 0 };
	uint32_t seen = 0;
	uint64_t port = 0;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		if (KEY_IS(k, "backend") && once(&seen, 1) && str(c, &ip))
			have_ip = true;
		else if (!(KEY_IS(k, "backend_port") && once(&seen, 2) &&
			   uint_max(c, UINT16_MAX, &port)))
			return false;
	}
	if (m < 0)
		return false;
	if (have_ip && !addr_slice(r->family, &ip, r->lb_backend))
		return false;
	r->lb_backend_port = (uint16_t)port;
	return true;
}

/* destination_service: {"name": NAME}, the one field kept. */
static bool service_obj(struct cur *c, struct weir_flow_record *r)
{
	bool first = true, ok = true;
	struct slice k, name = { 0 };
	uint32_t seen = 0;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		if (!(KEY_IS(k, "name") && once(&seen, 1) && str(c, &name)))
			return false;
	}
	if (m < 0 || (name.n && memchr(name.s, '\0', name.n)))
		return false;
	r->dst_service = dup_slice(&name, &ok);
	return ok;
}

static bool weir_obj(struct cur *c, struct weir_flow_record *r)
{
	unsigned int type = 0, end = 0, hook = 0;
	bool first = true, l3 = false;
	uint64_t proto = 0;
	uint32_t seen = 0;
	struct slice k;
	int m;

	if (!punct(c, '{'))
		return false;
	while ((m = member(c, &first, &k)) > 0) {
		bool ok;

		if (KEY_IS(k, "record") && once(&seen, 1))
			ok = enum_val(c, weir_flow_json_record_type, WEIR_RECORD_DROP, &type);
		else if (KEY_IS(k, "end_reason") && once(&seen, 2))
			ok = enum_val(c, weir_flow_json_end_reason, WEIR_END_RESOURCES, &end);
		else if (KEY_IS(k, "first_seen") && once(&seen, 4))
			ok = time_val(c, &r->first_seen_ns);
		else if (KEY_IS(k, "last_seen") && once(&seen, 8))
			ok = time_val(c, &r->last_seen_ns);
		else if (KEY_IS(k, "packets") && once(&seen, 16))
			ok = uint_max(c, UINT64_MAX, &r->packets);
		else if (KEY_IS(k, "bytes") && once(&seen, 32))
			ok = uint_max(c, UINT64_MAX, &r->bytes);
		else if (KEY_IS(k, "reply_packets") && once(&seen, 64))
			ok = uint_max(c, UINT64_MAX, &r->reply_packets);
		else if (KEY_IS(k, "reply_bytes") && once(&seen, 128))
			ok = uint_max(c, UINT64_MAX, &r->reply_bytes);
		else if (KEY_IS(k, "hook") && once(&seen, 256))
			ok = enum_val(c, weir_flow_json_hook, WEIR_HOOK_MAX - 1, &hook);
		else if (KEY_IS(k, "l3_only") && once(&seen, 512))
			ok = boolean(c, &l3);
		else if (KEY_IS(k, "protocol") && once(&seen, 1024))
			ok = uint_max(c, UINT8_MAX, &proto);
		else if (KEY_IS(k, "lb") && once(&seen, 2048))
			ok = lb_obj(c, r);
		else
			ok = false;
		if (!ok)
			return false;
	}
	if (m < 0)
		return false;
	r->type = (enum weir_record_type)type;
	r->end_reason = (enum weir_end_reason)end;
	r->hook = (uint8_t)hook;
	r->l3_only = l3;
	if (proto && !r->proto)
		r->proto = (uint8_t)proto;
	return true;
}

/* What the flow and the response around it say of node and time. */
struct outer {
	bool have_time, have_node;
	struct slice time, node;
};

static bool flow_obj(struct cur *c, struct weir_endpoint_cache *cache, struct weir_flow_record *r,
		     struct outer *fl)
{
	struct verdict_in v = { 0 };
	bool first = true, have_src = false, have_dst = false, have_weir = false;
	struct slice k, uuid;
	uint32_t seen = 0;
	int m;

	if (!punct(c, '{'))
		return false;
	/* the weir object goes last: its protocol defers to l4's */
	while ((m = member(c, &first, &k)) > 0) {
		bool ok;

		if (KEY_IS(k, "time") && once(&seen, 1)) {
			ok = str(c, &fl->time);
			fl->have_time = ok;
		} else if (KEY_IS(k, "uuid") && once(&seen, 2)) {
			ok = str(c, &uuid) && uuid_id(c->memo, &uuid, &r->id);
		} else if (KEY_IS(k, "verdict") && once(&seen, 4)) {
			ok = enum_val(c, verdict_parse, UINT8_MAX, &v.verdict);
		} else if (KEY_IS(k, "IP") && once(&seen, 8)) {
			ok = ip_obj(c, r);
		} else if (KEY_IS(k, "l4") && once(&seen, 16) && !have_weir) {
			ok = l4_obj(c, r);
		} else if (KEY_IS(k, "source") && once(&seen, 32)) {
			ok = endpoint_obj(c, true, cache, &r->src);
			have_src = ok;
		} else if (KEY_IS(k, "destination") && once(&seen, 64)) {
			ok = endpoint_obj(c, true, cache, &r->dst);
			have_dst = ok;
		} else if ((KEY_IS(k, "Type") && once(&seen, 128)) ||
			   (KEY_IS(k, "Summary") && once(&seen, 16384))) {
			ok = str(c, &uuid); /* what they say, the rest says too */
		} else if (KEY_IS(k, "node_name") && once(&seen, 256)) {
			ok = str(c, &fl->node);
			fl->have_node = ok;
		} else if (KEY_IS(k, "event_type") && once(&seen, 512)) {
			ok = event_type_obj(c, &v);
		} else if (KEY_IS(k, "traffic_direction") && once(&seen, 1024)) {
			ok = enum_val(c, weir_hubble_dir_parse, UINT8_MAX, &v.dir);
		} else if (KEY_IS(k, "drop_reason_desc") && once(&seen, 2048)) {
			v.have_desc = true;
			v.desc_is_str = peek(c, '"');
			ok = v.desc_is_str ? str(c, &v.desc) : uint_max(c, UINT8_MAX, &v.desc_num);
		} else if (KEY_IS(k, "is_reply") && once(&seen, 4096)) {
			ok = boolean(c, &v.reply);
			v.have_reply = true;
		} else if (KEY_IS(k, "interface") && once(&seen, 8192)) {
			ok = iface_obj(c, r);
		} else if (KEY_IS(k, "destination_service") && once(&seen, 65536)) {
			ok = service_obj(c, r);
		} else if (KEY_IS(k, "weir") && once(&seen, 32768)) {
			ok = weir_obj(c, r);
			have_weir = true;
		} else {
			ok = false;
		}
		if (!ok)
			return false;
	}
	if (m < 0 || !verdict_apply(c->memo, &v, r))
		return false;
	/* absent endpoints are the world, as the general path decodes them */
	if (!have_src && !endpoint_obj(c, false, NULL, &r->src))
		return false;
	if (!have_dst && !endpoint_obj(c, false, NULL, &r->dst))
		return false;
	return true;
}

int weir_flow_record_parse_line(const char *line, size_t len, struct weir_endpoint_cache *cache,
				struct weir_flow_record **out)
{
	struct cur c = { .p = line, .end = line + len, .memo = cache };
	struct outer fl = { 0 }, top = { 0 };
	const struct slice *node;
	struct weir_flow_record *r;
	bool first = true, have_flow = false, ok = true;
	char buf[TEXT_MAX];
	uint32_t seen = 0;
	struct slice k;
	int m;

	*out = NULL;
	r = cache && cache->node_len ? weir_flow_record_new_named(cache->node, cache->node_len) :
				       weir_flow_record_new();
	if (!r)
		return -EAGAIN;
	if (!punct(&c, '{'))
		goto fail;
	while ((m = member(&c, &first, &k)) > 0) {
		if (KEY_IS(k, "flow") && once(&seen, 1)) {
			ok = flow_obj(&c, cache, r, &fl);
			have_flow = ok;
		} else if (KEY_IS(k, "node_name") && once(&seen, 2)) {
			ok = str(&c, &top.node);
			top.have_node = ok;
		} else if (KEY_IS(k, "time") && once(&seen, 4)) {
			ok = str(&c, &top.time);
			top.have_time = ok;
		} else {
			ok = false;
		}
		if (!ok)
			goto fail;
	}
	ws(&c);
	if (m < 0 || !have_flow || c.p != c.end)
		goto fail;
	/* time and node name: the flow's, else the response's */
	if (fl.have_time && !time_slice(cache, &fl.time, &r->time_ns))
		goto fail;
	if (!r->time_ns && top.have_time && !time_slice(cache, &top.time, &r->time_ns))
		goto fail;
	node = fl.have_node ? &fl.node : top.have_node ? &top.node : NULL;
	if (!node || !node->n) {
		if (r->node_name && weir_flow_record_set_node_name(r, NULL))
			goto fail;
	} else if (!r->node_name || cache->node_len != node->n ||
		   memcmp(r->node_name, node->s, node->n) != 0) {
		/* not the name made with: its own copy, and the next guess */
		if (!cstr(node, buf) || weir_flow_record_set_node_name(r, buf))
			goto fail;
		if (cache) {
			memcpy(cache->node, buf, node->n + 1);
			cache->node_len = node->n;
		}
	}
	*out = r;
	return 0;
fail:
	weir_flow_record_put(r);
	return -EAGAIN;
}
