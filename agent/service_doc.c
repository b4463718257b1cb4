// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Service documents: JSON to a service's configuration, refusing anything
 * unexpected by the name of the field; and the document back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "doc_check.h"
#include "maglev.h"
#include "service_doc.h"

#define FIELD_LEN 64

#define HEALTH_INTERVAL_MS_DEFAULT 1000
#define HEALTH_INTERVAL_MS_MIN	   10
#define HEALTH_INTERVAL_MS_MAX	   3600000
#define HEALTH_TIMEOUT_MS_DEFAULT  500
#define HEALTH_RISE_DEFAULT	   2
#define HEALTH_FALL_DEFAULT	   3
#define HEALTH_COUNT_MAX	   100
#define HEALTH_SEND_DEFAULT	   "ping"

#define STATE_NAME(name, code, text) [(code)] = (text),
static const char *const state_names[] = { WEIR_LB_BACKEND_STATES(STATE_NAME) };
#undef STATE_NAME
#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))
static const char *const health_names[] = { "none", "tcp", "udp", "http" };

/* An optional integer within [min, max]; *out keeps its default when absent. */
static int get_uint(const json_t *obj, const char *key, const char *field, uint64_t min,
		    uint64_t max, uint64_t *out, char *err, size_t err_len)
{
	const json_t *v = json_object_get(obj, key);
	char shown[WEIR_DOC_SHOW_LEN];

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max)
		return weir_doc_err(err, err_len, "service", "", field,
				    "%s is not an integer in [%llu, %llu]",
				    weir_doc_show(v, shown, sizeof(shown)), (unsigned long long)min,
				    (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* An optional printable-ASCII string of at most max bytes, copied to out. */
static int get_text(const json_t *obj, const char *key, const char *field, size_t max, char *out,
		    char *err, size_t err_len)
{
	const json_t *v = json_object_get(obj, key);
	char shown[WEIR_DOC_SHOW_LEN];
	const char *s;
	size_t i, n;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return weir_doc_err(err, err_len, "service", "", field, "%s is not a string",
				    weir_doc_show(v, shown, sizeof(shown)));
	s = json_string_value(v);
	n = json_string_length(v);
	if (!n || n > max)
		return weir_doc_err(err, err_len, "service", "", field,
				    "%s is empty or longer than %zu characters",
				    weir_doc_show(v, shown, sizeof(shown)), max);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return weir_doc_err(err, err_len, "service", "", field,
					    "%s has a non-printable character",
					    weir_doc_show(v, shown, sizeof(shown)));
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* One of names[0..n), case-insensitive; *out keeps its default when absent. */
static int get_choice(const json_t *obj, const char *key, const char *field,
		      const char *const *names, size_t n, int *out, char *err, size_t err_len)
{
	const json_t *v = json_object_get(obj, key);
	char shown[WEIR_DOC_SHOW_LEN], list[96] = "";
	size_t i;

	if (!v)
		return 0;
	for (i = 0; json_is_string(v) && i < n; i++) {
		if (!strcasecmp(json_string_value(v), names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
	return weir_doc_err(err, err_len, "service", "", field, "%s is not %s",
			    weir_doc_show(v, shown, sizeof(shown)), list);
}

/* An address a service or backend can use: not unspecified, multicast or
 * broadcast.
 */
static bool addr_usable(const struct weir_addr *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a->bytes, zero, a->family == 4 ? 4 : 16))
		return false;
	if (a->family == 4)
		return a->bytes[0] < 224;
	return a->bytes[0] != 0xff;
}

static int get_ip(const json_t *obj, const char *key, const char *field, struct weir_addr *out,
		  char *err, size_t err_len)
{
	const json_t *v = json_object_get(obj, key);
	char shown[WEIR_DOC_SHOW_LEN];

	if (!v)
		return weir_doc_err(err, err_len, "service", "", field, "is required");
	if (weir_doc_ip(v, out))
		return weir_doc_err(err, err_len, "service", "", field, "%s is not an IP address",
				    weir_doc_show(v, shown, sizeof(shown)));
	if (!addr_usable(out))
		return weir_doc_err(
			err, err_len, "service", "", field,
			"%s is unspecified, multicast or broadcast: not a unicast address",
			weir_doc_show(v, shown, sizeof(shown)));
	return 0;
}

bool weir_service_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n > WEIR_SVC_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int parse_health(const json_t *doc, struct weir_health_cfg *h, char *err, size_t err_len)
{
	static const char *const known[] = { "type", "interval_ms", "timeout_ms", "rise", "fall",
					     "port", "path",	    "send",	  NULL };
	const json_t *o = json_object_get(doc, "health");
	uint64_t interval = HEALTH_INTERVAL_MS_DEFAULT, timeout = HEALTH_TIMEOUT_MS_DEFAULT;
	uint64_t rise = HEALTH_RISE_DEFAULT, fall = HEALTH_FALL_DEFAULT, port = 0;
	char shown[WEIR_DOC_SHOW_LEN];
	int type = WEIR_HEALTH_NONE, ret;

	memset(h, 0, sizeof(*h));
	strcpy(h->path, "/");
	strcpy(h->send, HEALTH_SEND_DEFAULT);
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return weir_doc_err(err, err_len, "service", "", "health", "%s is not an object",
				    weir_doc_show(o, shown, sizeof(shown)));
	ret = weir_doc_check_keys(o, known, "service", "", "health", err, err_len);
	if (!json_object_get(o, "type") && !ret)
		return weir_doc_err(err, err_len, "service", "", "health.type", "is required");
	ret = ret ?: get_choice(o, "type", "health.type", health_names, 4, &type, err, err_len);
	ret = ret   ?:
		      get_uint(o, "interval_ms", "health.interval_ms", HEALTH_INTERVAL_MS_MIN,
			       HEALTH_INTERVAL_MS_MAX, &interval, err, err_len);
	ret = ret   ?:
		      get_uint(o, "timeout_ms", "health.timeout_ms", 1, HEALTH_INTERVAL_MS_MAX,
			       &timeout, err, err_len);
	ret = ret ?: get_uint(o, "rise", "health.rise", 1, HEALTH_COUNT_MAX, &rise, err, err_len);
	ret = ret ?: get_uint(o, "fall", "health.fall", 1, HEALTH_COUNT_MAX, &fall, err, err_len);
	ret = ret ?: get_uint(o, "port", "health.port", 1, 65535, &port, err, err_len);
	ret = ret   ?:
		      get_text(o, "path", "health.path", WEIR_SVC_HEALTH_PATH_MAX, h->path, err,
			       err_len);
	ret = ret   ?:
		      get_text(o, "send", "health.send", WEIR_SVC_HEALTH_SEND_MAX, h->send, err,
			       err_len);
	if (ret)
		return ret;
	if (h->path[0] != '/' || strchr(h->path, ' '))
		return weir_doc_err(err, err_len, "service", "", "health.path",
				    "\"%s\" is not an absolute path without spaces", h->path);
	if (timeout > interval)
		return weir_doc_err(err, err_len, "service", "", "health.timeout_ms",
				    "%llu is longer than interval_ms (%llu)",
				    (unsigned long long)timeout, (unsigned long long)interval);
	h->type = type;
	h->interval_ms = (uint32_t)interval;
	h->timeout_ms = (uint32_t)timeout;
	h->rise = (uint32_t)rise;
	h->fall = (uint32_t)fall;
	h->port = (uint16_t)port;
	return 0;
}

static int parse_backend(const json_t *v, size_t i, const struct weir_service_cfg *svc,
			 struct weir_backend_cfg *b, char *err, size_t err_len)
{
	static const char *const known[] = { "ip", "port", "weight", "state", NULL };
	char field[FIELD_LEN], shown[WEIR_DOC_SHOW_LEN];
	uint64_t port = svc->port, weight = WEIR_SVC_WEIGHT_DEFAULT;
	int state = WEIR_LB_BACKEND_ACTIVE, ret;

	snprintf(field, sizeof(field), "backends[%zu]", i);
	if (!json_is_object(v))
		return weir_doc_err(err, err_len, "service", "", field, "%s is not an object",
				    weir_doc_show(v, shown, sizeof(shown)));
	ret = weir_doc_check_keys(v, known, "service", "", field, err, err_len);
	if (ret)
		return ret;
	snprintf(field, sizeof(field), "backends[%zu].ip", i);
	ret = get_ip(v, "ip", field, &b->addr, err, err_len);
	if (ret)
		return ret;
	if (b->addr.family != svc->vip.family)
		return weir_doc_err(err, err_len, "service", "", field,
				    "is IPv%u but the vip is IPv%u", b->addr.family,
				    svc->vip.family);
	snprintf(field, sizeof(field), "backends[%zu].port", i);
	ret = get_uint(v, "port", field, 1, 65535, &port, err, err_len);
	snprintf(field, sizeof(field), "backends[%zu].weight", i);
	ret = ret ?: get_uint(v, "weight", field, 1, WEIR_SVC_WEIGHT_MAX, &weight, err, err_len);
	snprintf(field, sizeof(field), "backends[%zu].state", i);
	ret = ret ?: get_choice(v, "state", field, state_names, N_STATES, &state, err, err_len);
	if (ret)
		return ret;
	b->port = (uint16_t)port;
	b->weight = (uint32_t)weight;
	b->state = state;
	return 0;
}

static int backend_cmp(const void *x, const void *y)
{
	const struct weir_backend_cfg *a = x, *b = y;
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	return c ? c : (int)a->port - (int)b->port;
}

static int parse_backends(const json_t *doc, struct weir_service_cfg *cfg, char *err,
			  size_t err_len)
{
	const json_t *arr = json_object_get(doc, "backends");
	struct weir_backend_cfg *sorted;
	char shown[WEIR_DOC_SHOW_LEN], a[INET6_ADDRSTRLEN], field[FIELD_LEN];
	size_t i, n;
	int ret;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return weir_doc_err(err, err_len, "service", "", "backends", "%s is not an array",
				    weir_doc_show(arr, shown, sizeof(shown)));
	n = json_array_size(arr);
	if (n > WEIR_SVC_BACKENDS_MAX)
		return weir_doc_err(err, err_len, "service", "", "backends",
				    "has %zu backends, at most %d", n, WEIR_SVC_BACKENDS_MAX);
	if (!n)
		return 0;
	cfg->backends = calloc(n, sizeof(*cfg->backends));
	if (!cfg->backends)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		ret = parse_backend(json_array_get(arr, i), i, cfg, &cfg->backends[i], err,
				    err_len);
		if (ret)
			return ret;
		cfg->n_backends++;
	}
	/* Duplicates, found in a sorted copy: O(n log n) for 64k backends. */
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, cfg->backends, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), backend_cmp);
	for (i = 1; i < n; i++) {
		size_t first = 0, second;

		if (backend_cmp(&sorted[i - 1], &sorted[i]))
			continue;
		while (backend_cmp(&cfg->backends[first], &sorted[i]))
			first++;
		second = first + 1;
		while (backend_cmp(&cfg->backends[second], &sorted[i]))
			second++;
		weir_addr_str(sorted[i].addr.family, sorted[i].addr.bytes, a, sizeof(a));
		free(sorted);
		snprintf(field, sizeof(field), "backends[%zu]", second);
		return weir_doc_err(err, err_len, "service", "", field,
				    "%s port %u is listed twice (also backends[%zu])", a,
				    cfg->backends[second].port, first);
	}
	free(sorted);
	return 0;
}

int weir_service_doc_parse(const json_t *doc, uint32_t default_table_size, uint32_t max_table_size,
			   struct weir_service_cfg *cfg, char *err, size_t err_len)
{
	static const char *const known[] = { "name",	 "vip",	       "port",
					     "protocol", "table_size", "affinity_timeout",
					     "health",	 "backends",   NULL };
	static const char *const protos[] = { "TCP", "UDP" };
	uint64_t port = 0, table_size = default_table_size, affinity = 0;
	const json_t *name;
	char shown[WEIR_DOC_SHOW_LEN];
	int proto = 0, ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!json_is_object(doc))
		return weir_doc_err(err, err_len, "service", "", "", "%s is not an object",
				    doc ? weir_doc_show(doc, shown, sizeof(shown)) : "nothing");
	ret = weir_doc_check_keys(doc, known, "service", "", "", err, err_len);
	if (ret)
		return ret;
	name = json_object_get(doc, "name");
	if (!name)
		return weir_doc_err(err, err_len, "service", "", "name", "is required");
	if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name) ||
	    !weir_service_name_ok(json_string_value(name)))
		return weir_doc_err(err, err_len, "service", "", "name",
				    "%s is not 1-%d characters of A-Z, a-z, 0-9, '.', '_', '-' "
				    "(not starting with '.')",
				    weir_doc_show(name, shown, sizeof(shown)), WEIR_SVC_NAME_MAX);
	snprintf(cfg->name, sizeof(cfg->name), "%s", json_string_value(name));
	ret = get_ip(doc, "vip", "vip", &cfg->vip, err, err_len);
	if (ret)
		return ret;
	if (!json_object_get(doc, "port"))
		return weir_doc_err(err, err_len, "service", "", "port", "is required");
	ret = get_uint(doc, "port", "port", 1, 65535, &port, err, err_len);
	ret = ret ?: get_choice(doc, "protocol", "protocol", protos, 2, &proto, err, err_len);
	ret = ret   ?:
		      get_uint(doc, "table_size", "table_size", WEIR_MAGLEV_SIZE_MIN,
			       max_table_size, &table_size, err, err_len);
	if (ret)
		return ret;
	if (!weir_maglev_is_prime((uint32_t)table_size))
		return weir_doc_err(err, err_len, "service", "", "table_size",
				    "%llu is not a prime (e.g. 251, 1021, 4093, 16381, 65521)",
				    (unsigned long long)table_size);
	ret = get_uint(doc, "affinity_timeout", "affinity_timeout", 0, WEIR_SVC_AFFINITY_MAX_S,
		       &affinity, err, err_len);
	if (ret)
		return ret;
	cfg->port = (uint16_t)port;
	cfg->proto = proto ? IPPROTO_UDP : IPPROTO_TCP;
	cfg->table_size = (uint32_t)table_size;
	cfg->affinity_timeout_s = (uint32_t)affinity;
	ret = parse_health(doc, &cfg->health, err, err_len);
	ret = ret ?: parse_backends(doc, cfg, err, err_len);
	if (ret)
		weir_service_cfg_release(cfg);
	return ret;
}

void weir_service_cfg_release(struct weir_service_cfg *cfg)
{
	free(cfg->backends);
	cfg->backends = NULL;
	cfg->n_backends = 0;
}

int weir_service_cfg_copy(struct weir_service_cfg *dst, const struct weir_service_cfg *src)
{
	*dst = *src;
	dst->backends = NULL;
	if (!src->n_backends)
		return 0;
	dst->backends = malloc(src->n_backends * sizeof(*dst->backends));
	if (!dst->backends)
		return -ENOMEM;
	memcpy(dst->backends, src->backends, src->n_backends * sizeof(*dst->backends));
	return 0;
}

const char *weir_backend_state_name(enum weir_lb_backend_state s)
{
	return (unsigned int)s < N_STATES && state_names[s] ? state_names[s] : "unknown";
}

int weir_backend_state_parse(const char *s, enum weir_lb_backend_state *out)
{
	size_t i;

	for (i = 0; i < N_STATES; i++) {
		if (state_names[i] && !strcasecmp(s, state_names[i])) {
			*out = (enum weir_lb_backend_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *weir_health_type_name(enum weir_health_type t)
{
	return (unsigned int)t < 4 ? health_names[t] : "unknown";
}

json_t *weir_backend_doc_json(const struct weir_backend_cfg *b)
{
	char a[INET6_ADDRSTRLEN];

	return json_pack("{s:s,s:i,s:i,s:s}", "ip",
			 weir_addr_str(b->addr.family, b->addr.bytes, a, sizeof(a)), "port",
			 (int)b->port, "weight", (int)b->weight, "state",
			 weir_backend_state_name(b->state));
}

static json_t *health_json(const struct weir_health_cfg *h)
{
	json_t *j;

	if (h->type == WEIR_HEALTH_NONE)
		return json_pack("{s:s}", "type", "none");
	j = json_pack("{s:s,s:I,s:I,s:I,s:I}", "type", weir_health_type_name(h->type),
		      "interval_ms", (json_int_t)h->interval_ms, "timeout_ms",
		      (json_int_t)h->timeout_ms, "rise", (json_int_t)h->rise, "fall",
		      (json_int_t)h->fall);
	if (!j)
		return NULL;
	if (h->port)
		json_object_set_new(j, "port", json_integer(h->port));
	if (h->type == WEIR_HEALTH_HTTP)
		json_object_set_new(j, "path", json_string(h->path));
	if (h->type == WEIR_HEALTH_UDP)
		json_object_set_new(j, "send", json_string(h->send));
	return j;
}

json_t *weir_service_doc_json(const struct weir_service_cfg *cfg)
{
	char vip[INET6_ADDRSTRLEN];
	json_t *j, *arr;
	size_t i;

	j = json_pack("{s:s,s:s,s:i,s:s,s:I,s:I,s:o}", "name", cfg->name, "vip",
		      weir_addr_str(cfg->vip.family, cfg->vip.bytes, vip, sizeof(vip)), "port",
		      (int)cfg->port, "protocol", cfg->proto == IPPROTO_UDP ? "UDP" : "TCP",
		      "table_size", (json_int_t)cfg->table_size, "affinity_timeout",
		      (json_int_t)cfg->affinity_timeout_s, "health", health_json(&cfg->health));
	arr = json_array();
	if (!j || !arr) {
		json_decref(j);
		json_decref(arr);
		return NULL;
	}
	for (i = 0; i < cfg->n_backends; i++) {
		if (json_array_append_new(arr, weir_backend_doc_json(&cfg->backends[i]))) {
			json_decref(j);
			json_decref(arr);
			return NULL;
		}
	}
	json_object_set_new(j, "backends", arr);
	return j;
}
