// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-cni: a chained CNI plugin. After the cluster's main plugin (bridge,
 * ptp, ...) has wired the pod, ADD registers the pod's addresses, identity
 * and host-side interface with weir-agent, which attaches its TC programs
 * there; DEL unregisters (idempotently); CHECK asks the agent whether the
 * registration and the attachment are in place. prevResult passes through
 * unchanged. Errors are the spec's JSON on stdout and exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cni.h"

static bool is_bridge(const char *ifname)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", ifname);
	return !stat(path, &st);
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* stdin, bounded: the configuration is small; more is a mistake. */
static int read_stdin(char **out, size_t *len, struct weir_cni_err *e)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1), *p;
	ssize_t r;

	if (!buf)
		return weir_cni_fail(e, WEIR_CNI_E_IO, "out of memory");
	for (;;) {
		if (n == cap) {
			if (cap >= WEIR_CNI_STDIN_MAX_BYTES) {
				free(buf);
				return weir_cni_fail(e, WEIR_CNI_E_DECODE,
						     "network configuration over %d bytes",
						     WEIR_CNI_STDIN_MAX_BYTES);
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return weir_cni_fail(e, WEIR_CNI_E_IO, "out of memory");
			}
			buf = p;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return weir_cni_fail(e, WEIR_CNI_E_IO, "read stdin: %s", strerror(errno));
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int print_json(json_t *j)
{
	int ret = j ? json_dumpf(j, stdout, JSON_COMPACT) : -1;

	json_decref(j);
	putchar('\n');
	return fflush(stdout) || ret ? -1 : 0;
}

/* Percent-encodes what may not stand in a URL path segment or query value. */
static void url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* The agent did not answer, or answered 503. */
static bool unavailable(int ret, const struct weir_cni_reply *r)
{
	return ret == WEIR_CNI_E_TRY_AGAIN || r->status == 503;
}

static int cmd_add(const struct weir_cni_conf *conf, const struct weir_cni_env *env,
		   struct weir_cni_err *e)
{
	struct weir_cni_reply reply;
	struct weir_cni_prev prev;
	char *body;
	json_t *doc;
	int ret;

	if (!conf->prev_result)
		return weir_cni_fail(e, WEIR_CNI_E_CONFIG,
				     "no prevResult: weir-cni is a chained plugin and runs after "
				     "the plugin that sets up the pod's network");
	ret = weir_cni_prev_parse(conf->prev_result, is_bridge, &prev, e);
	if (ret)
		return ret;
	doc = weir_cni_reg_doc(env, &prev);
	body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return weir_cni_fail(e, WEIR_CNI_E_IO, "out of memory");
	if (!prev.host_if[0])
		fprintf(stderr, "weir-cni: prevResult has no host-side interface: registering "
				"the pod's addresses only\n");
	ret = weir_cni_agent_call(conf, "POST", "/v1/endpoints", body, &reply, e);
	free(body);
	if (unavailable(ret, &reply) && conf->fail_open) {
		fprintf(stderr, "weir-cni: %s; fail_open: the pod starts unobserved\n",
			ret ? e->msg : weir_cni_reply_error(&reply));
		weir_cni_reply_release(&reply);
		return print_json(json_incref((json_t *)conf->prev_result)) ? WEIR_CNI_E_IO : 0;
	}
	if (ret)
		return ret;
	if (reply.status != 201) {
		ret = weir_cni_fail(e,
				    reply.status == 503 ? WEIR_CNI_E_TRY_AGAIN : WEIR_CNI_E_AGENT,
				    "weir-agent refused the registration (HTTP %ld): %s",
				    reply.status, weir_cni_reply_error(&reply));
		weir_cni_reply_release(&reply);
		return ret;
	}
	weir_cni_reply_release(&reply);
	if (print_json(json_incref((json_t *)conf->prev_result)))
		return weir_cni_fail(e, WEIR_CNI_E_IO, "write the result: %s", strerror(errno));
	return 0;
}

/* DEL succeeds whenever nothing of this container's stays registered: not
 * registered (404), registered again by a newer container (409), or the
 * agent down (its registrations live in its memory and went with it).
 */
static int cmd_del(const struct weir_cni_conf *conf, const struct weir_cni_env *env,
		   struct weir_cni_err *e)
{
	char path[2560], ns[256 * 3], pod[256 * 3], cid[256 * 3];
	struct weir_cni_reply reply;
	const char *namespace, *name;
	int ret;

	weir_cni_pod_id(env, &namespace, &name);
	url_escape(namespace, ns, sizeof(ns));
	url_escape(name, pod, sizeof(pod));
	url_escape(env->container_id, cid, sizeof(cid));
	snprintf(path, sizeof(path), "/v1/endpoints/%s/%s?container_id=%s", ns, pod, cid);
	ret = weir_cni_agent_call(conf, "DELETE", path, NULL, &reply, e);
	if (ret == WEIR_CNI_E_TRY_AGAIN) {
		fprintf(stderr, "weir-cni: DEL: %s; nothing to unregister\n", e->msg);
		return 0;
	}
	if (ret)
		return ret;
	if (reply.status != 204 && reply.status != 404 && reply.status != 409)
		ret = weir_cni_fail(e,
				    reply.status == 503 ? WEIR_CNI_E_TRY_AGAIN : WEIR_CNI_E_AGENT,
				    "weir-agent refused to unregister %s/%s (HTTP %ld): %s",
				    namespace, name, reply.status, weir_cni_reply_error(&reply));
	weir_cni_reply_release(&reply);
	return ret;
}

static int cmd_check(const struct weir_cni_conf *conf, const struct weir_cni_env *env,
		     struct weir_cni_err *e)
{
	struct weir_cni_reply reply;
	struct weir_cni_prev prev;
	json_error_t jerr;
	json_t *all;
	int ret;

	if (!strcmp(conf->cni_version, "0.3.0") || !strcmp(conf->cni_version, "0.3.1"))
		return weir_cni_fail(e, WEIR_CNI_E_VERSION,
				     "CHECK needs cniVersion 0.4.0 or later, not %s",
				     conf->cni_version);
	if (!conf->prev_result)
		return weir_cni_fail(e, WEIR_CNI_E_CONFIG, "no prevResult to check against");
	ret = weir_cni_prev_parse(conf->prev_result, is_bridge, &prev, e);
	if (ret)
		return ret;
	ret = weir_cni_agent_call(conf, "GET", "/v1/endpoints", NULL, &reply, e);
	if (unavailable(ret, &reply) && conf->fail_open) {
		fprintf(stderr, "weir-cni: CHECK: %s; fail_open\n",
			ret ? e->msg : weir_cni_reply_error(&reply));
		weir_cni_reply_release(&reply);
		return 0;
	}
	if (ret)
		return ret;
	if (reply.status != 200) {
		ret = weir_cni_fail(e, WEIR_CNI_E_AGENT,
				    "weir-agent: GET /v1/endpoints: HTTP %ld: %s", reply.status,
				    weir_cni_reply_error(&reply));
		weir_cni_reply_release(&reply);
		return ret;
	}
	all = json_loadb(reply.body ? reply.body : "", reply.len, 0, &jerr);
	weir_cni_reply_release(&reply);
	if (!all)
		return weir_cni_fail(e, WEIR_CNI_E_AGENT, "weir-agent: bad endpoint list: %s",
				     jerr.text);
	ret = weir_cni_check_registration(all, env, &prev, e);
	json_decref(all);
	return ret;
}

static int cmd_version(const char *text, size_t len)
{
	json_t *in = json_loadb(text, len, 0, NULL);
	const char *v = json_string_value(json_object_get(in, "cniVersion"));
	json_t *out = json_pack("{s:s, s:o}", "cniVersion",
				v && weir_cni_version_supported(v) ? v : WEIR_CNI_VERSION,
				"supportedVersions", weir_cni_versions_json());

	json_decref(in);
	return print_json(out) ? 1 : 0;
}

int main(void)
{
	struct weir_cni_conf conf = { 0 };
	struct weir_cni_err e = { 0 };
	struct weir_cni_env env;
	const char *version;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = weir_cni_env_parse(&env, env_get, &e);
	if (!ret)
		ret = read_stdin(&text, &len, &e);
	if (!ret && env.cmd == WEIR_CNI_VERSION_CMD) {
		ret = cmd_version(text, len);
		free(text);
		return ret;
	}
	if (!ret)
		ret = weir_cni_conf_parse(&conf, text, len, &e);
	free(text);
	if (!ret) {
		switch (env.cmd) {
		case WEIR_CNI_ADD:
			ret = cmd_add(&conf, &env, &e);
			break;
		case WEIR_CNI_DEL:
			ret = cmd_del(&conf, &env, &e);
			break;
		case WEIR_CNI_CHECK:
			ret = cmd_check(&conf, &env, &e);
			break;
		case WEIR_CNI_VERSION_CMD:
			break;
		}
	}
	if (ret) {
		version = conf.cni_version && weir_cni_version_supported(conf.cni_version) ?
				  conf.cni_version :
				  WEIR_CNI_VERSION;
		fprintf(stderr, "weir-cni: %s\n", e.msg);
		print_json(weir_cni_err_json(&e, version));
	}
	weir_cni_conf_release(&conf);
	return ret ? 1 : 0;
}
