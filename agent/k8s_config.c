// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kubernetes API connection settings: in-cluster, or a kubeconfig read with
 * libyaml (a kubeconfig is YAML, often JSON, which is YAML too).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "k8s_config.h"

#define TOKEN_MAX_BYTES 65536

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void weir_k8s_conn_release(struct weir_k8s_conn *c)
{
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

/* A whole small file, without trailing white space. */
static char *read_small(const char *path)
{
	char *buf = malloc(TOKEN_MAX_BYTES + 1);
	size_t n;
	FILE *f;

	if (!buf)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, TOKEN_MAX_BYTES, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return buf;
}

char *weir_k8s_conn_token(const struct weir_k8s_conn *c)
{
	if (c->token_file)
		return read_small(c->token_file);
	return c->token ? strdup(c->token) : NULL;
}

int weir_k8s_conn_in_cluster(struct weir_k8s_conn *c, const char *sa_dir,
			     const char *(*getenv_fn)(const char *), char *err, size_t err_len)
{
	const char *host = getenv_fn("KUBERNETES_SERVICE_HOST");
	const char *port = getenv_fn("KUBERNETES_SERVICE_PORT");
	char path[PATH_MAX], *token;
	size_t len;

	memset(c, 0, sizeof(*c));
	if (!host || !*host || !port || !*port)
		return fail(err, err_len,
			    "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set "
			    "(use --kubeconfig)");
	len = strlen(host) + strlen(port) + 16;
	c->server = malloc(len);
	if (!c->server)
		return -ENOMEM;
	/* An IPv6 service address needs brackets in a URL. */
	snprintf(c->server, len, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	token = read_small(path);
	if (!token) {
		weir_k8s_conn_release(c);
		return fail(err, err_len, "service-account token %s: %s", path, strerror(errno));
	}
	free(token);
	c->token_file = strdup(path);
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	c->ca_file = strdup(path);
	if (!c->token_file || !c->ca_file) {
		weir_k8s_conn_release(c);
		return -ENOMEM;
	}
	return 0;
}

/* --- kubeconfig ------------------------------------------------------------ */

struct kc {
	yaml_document_t doc;
	char dir[PATH_MAX];
};

static yaml_node_t *map_get(struct kc *k, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&k->doc, p->key);

		if (kn && kn->type == YAML_SCALAR_NODE && kn->data.scalar.length == strlen(key) &&
		    !memcmp(kn->data.scalar.value, key, kn->data.scalar.length))
			return yaml_document_get_node(&k->doc, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* The element of a named list ("clusters", "users", "contexts") called name:
 * its inner object ("cluster", "user", "context").
 */
static yaml_node_t *named(struct kc *k, const char *list, const char *inner, const char *name)
{
	yaml_node_t *seq = map_get(k, yaml_document_get_root_node(&k->doc), list);
	yaml_node_item_t *it;
	const char *n;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&k->doc, *it);

		n = scalar(map_get(k, e, "name"));
		if (n && !strcmp(n, name))
			return map_get(k, e, inner);
	}
	return NULL;
}

/* A path from the file, made absolute against the file's directory. */
static char *path_of(struct kc *k, const char *p)
{
	char *out;
	size_t len;

	if (p[0] == '/')
		return strdup(p);
	len = strlen(k->dir) + strlen(p) + 2;
	out = malloc(len);
	if (out)
		snprintf(out, len, "%s/%s", k->dir, p);
	return out;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard base64 (white space skipped) into a new buffer. */
static int base64_decode(const char *in, char **out, size_t *out_len)
{
	size_t n = strlen(in), o = 0;
	unsigned int acc = 0;
	int bits = 0, v;
	char *buf = malloc(n / 4 * 3 + 4);

	if (!buf)
		return -ENOMEM;
	for (; *in; in++) {
		if (*in == '=' || *in == '\n' || *in == '\r' || *in == ' ')
			continue;
		v = b64_value(*in);
		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}

/* key (a path) or key-data (base64 PEM): at most one is set. */
static int file_or_data(struct kc *k, yaml_node_t *obj, const char *key, char **file, char **pem,
			size_t *pem_len, const char *where, char *err, size_t err_len)
{
	char data_key[64];
	const char *f, *d;

	snprintf(data_key, sizeof(data_key), "%s-data", key);
	f = scalar(map_get(k, obj, key));
	d = scalar(map_get(k, obj, data_key));
	if (d && *d) {
		if (base64_decode(d, pem, pem_len))
			return fail(err, err_len, "%s.%s is not base64", where, data_key);
		return 0;
	}
	if (f && *f) {
		*file = path_of(k, f);
		return *file ? 0 : -ENOMEM;
	}
	return 0;
}

static int kc_cluster(struct kc *k, struct weir_k8s_conn *c, const char *name, char *err,
		      size_t err_len)
{
	yaml_node_t *cl = named(k, "clusters", "cluster", name);
	const char *server, *insecure;
	size_t len;

	if (!cl)
		return fail(err, err_len, "no cluster \"%s\" in clusters", name);
	server = scalar(map_get(k, cl, "server"));
	if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0))
		return fail(err, err_len, "cluster \"%s\": server is not an http(s):// URL", name);
	c->server = strdup(server);
	if (!c->server)
		return -ENOMEM;
	len = strlen(c->server);
	while (len && c->server[len - 1] == '/')
		c->server[--len] = '\0';
	insecure = scalar(map_get(k, cl, "insecure-skip-tls-verify"));
	c->insecure = insecure && !strcmp(insecure, "true");
	return file_or_data(k, cl, "certificate-authority", &c->ca_file, &c->ca_pem, &c->ca_pem_len,
			    "cluster", err, err_len);
}

static int kc_user(struct kc *k, struct weir_k8s_conn *c, const char *name, char *err,
		   size_t err_len)
{
	yaml_node_t *u = named(k, "users", "user", name);
	const char *token, *token_file;
	int ret;

	if (!u)
		return 0; /* a user with nothing: anonymous */
	if (map_get(k, u, "exec") || map_get(k, u, "auth-provider"))
		return fail(err, err_len,
			    "user \"%s\": exec and auth-provider credentials are not supported "
			    "(use a token or a client certificate)",
			    name);
	token = scalar(map_get(k, u, "token"));
	token_file = scalar(map_get(k, u, "tokenFile"));
	if (token && *token) {
		c->token = strdup(token);
		if (!c->token)
			return -ENOMEM;
	} else if (token_file && *token_file) {
		c->token_file = path_of(k, token_file);
		if (!c->token_file)
			return -ENOMEM;
	}
	ret = file_or_data(k, u, "client-certificate", &c->cert_file, &c->cert_pem,
			   &c->cert_pem_len, "user", err, err_len);
	return ret   ?:
		       file_or_data(k, u, "client-key", &c->key_file, &c->key_pem, &c->key_pem_len,
				    "user", err, err_len);
}

int weir_k8s_conn_kubeconfig(struct weir_k8s_conn *c, const char *path, char *err, size_t err_len)
{
	const char *current, *cluster, *user;
	yaml_parser_t parser;
	yaml_node_t *ctx;
	struct kc k;
	char dir[PATH_MAX];
	int ret;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "re");
	if (!f)
		return fail(err, err_len, "kubeconfig %s: %s", path, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(k.dir, sizeof(k.dir), "%s", dirname(dir));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &k.doc)) {
		ret = fail(err, err_len, "kubeconfig %s:%zu: %s", path,
			   parser.problem_mark.line + 1,
			   parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		fclose(f);
		return ret;
	}
	yaml_parser_delete(&parser);
	fclose(f);

	current = scalar(map_get(&k, yaml_document_get_root_node(&k.doc), "current-context"));
	ctx = current ? named(&k, "contexts", "context", current) : NULL;
	cluster = scalar(map_get(&k, ctx, "cluster"));
	user = scalar(map_get(&k, ctx, "user"));
	if (!current || !*current)
		ret = fail(err, err_len, "kubeconfig %s: no current-context", path);
	else if (!ctx || !cluster)
		ret = fail(err, err_len, "kubeconfig %s: context \"%s\" with a cluster not found",
			   path, current);
	else
		ret = kc_cluster(&k, c, cluster, err, err_len);
	if (!ret && user)
		ret = kc_user(&k, c, user, err, err_len);
	yaml_document_delete(&k.doc);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, err_len, "kubeconfig %s: out of memory", path);
		weir_k8s_conn_release(c);
	}
	return ret;
}
