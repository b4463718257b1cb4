// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The runtime's CNI_* environment, and the pod's identity from CNI_ARGS
 * ("IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-1;...").
 */
#include <stdio.h>
#include <string.h>
#include "cni.h"

static const struct {
	const char *name;
	enum weir_cni_cmd cmd;
} commands[] = {
	{ "ADD", WEIR_CNI_ADD },
	{ "DEL", WEIR_CNI_DEL },
	{ "CHECK", WEIR_CNI_CHECK },
	{ "VERSION", WEIR_CNI_VERSION_CMD },
};

/* The spec's container ID: alphanumerics first, then also '_', '.', '-'. */
static bool container_id_valid(const char *s)
{
	size_t i;

	if (!s[0] || strlen(s) > 253)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* One K8S_POD_* value into buf: printable, no '/', not too long. */
static int arg_value(const char *key, const char *v, size_t n, char *buf, size_t len,
		     struct weir_cni_err *e)
{
	size_t i;

	if (n >= len)
		return weir_cni_fail(e, WEIR_CNI_E_ENV, "CNI_ARGS: %s is longer than %zu", key,
				     len - 1);
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '/')
			return weir_cni_fail(e, WEIR_CNI_E_ENV,
					     "CNI_ARGS: %s has a character that cannot be in a "
					     "Kubernetes name",
					     key);
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

static int args_parse(struct weir_cni_env *env, const char *args, struct weir_cni_err *e)
{
	const char *p = args, *end, *eq;
	int ret;

	while (p && *p) {
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (!eq)
			return weir_cni_fail(e, WEIR_CNI_E_ENV,
					     "CNI_ARGS: \"%.*s\" is not KEY=VALUE", (int)(end - p),
					     p);
		ret = 0;
#define ARG(k, field)                                                                              \
	if ((size_t)(eq - p) == strlen(k) && !strncmp(p, k, strlen(k)))                            \
		ret = arg_value(k, eq + 1, (size_t)(end - eq - 1), env->field, sizeof(env->field), \
				e);
		ARG("K8S_POD_NAMESPACE", pod_namespace)
		ARG("K8S_POD_NAME", pod_name)
		ARG("K8S_POD_UID", pod_uid)
#undef ARG
		if (ret)
			return ret;
		p = *end ? end + 1 : end;
	}
	if (!env->pod_namespace[0] != !env->pod_name[0])
		return weir_cni_fail(e, WEIR_CNI_E_ENV,
				     "CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME go together");
	return 0;
}

int weir_cni_env_parse(struct weir_cni_env *env, const char *(*getenv_fn)(const char *),
		       struct weir_cni_err *e)
{
	const char *cmd = getenv_fn("CNI_COMMAND");
	size_t i;

	memset(env, 0, sizeof(*env));
	if (!cmd)
		return weir_cni_fail(e, WEIR_CNI_E_ENV, "CNI_COMMAND is not set");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return weir_cni_fail(e, WEIR_CNI_E_ENV,
				     "CNI_COMMAND \"%.32s\" is none of ADD, DEL, CHECK, VERSION",
				     cmd);
	env->cmd = commands[i].cmd;
	if (env->cmd == WEIR_CNI_VERSION_CMD)
		return 0;
	env->container_id = getenv_fn("CNI_CONTAINERID");
	env->netns = getenv_fn("CNI_NETNS");
	env->ifname = getenv_fn("CNI_IFNAME");
	env->path = getenv_fn("CNI_PATH");
	if (!env->container_id || !container_id_valid(env->container_id))
		return weir_cni_fail(e, WEIR_CNI_E_ENV,
				     "CNI_CONTAINERID is %s: alphanumerics, '_', '.', '-'",
				     env->container_id ? "invalid" : "not set");
	if (!env->ifname || !env->ifname[0])
		return weir_cni_fail(e, WEIR_CNI_E_ENV, "CNI_IFNAME is not set");
	if (env->cmd != WEIR_CNI_DEL && (!env->netns || !env->netns[0]))
		return weir_cni_fail(e, WEIR_CNI_E_ENV, "CNI_NETNS is not set");
	if (env->cmd != WEIR_CNI_DEL && (!env->path || !env->path[0]))
		return weir_cni_fail(e, WEIR_CNI_E_ENV, "CNI_PATH is not set");
	return args_parse(env, getenv_fn("CNI_ARGS"), e);
}
