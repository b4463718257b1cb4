// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The registrations' state file: restored at start, rewritten on change. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "endpoints.h"
#include "endpoints_state.h"
#include "log.h"
#include "state_file.h"

#define ERR_LEN 512

struct weir_endpoints_state {
	char *path;
};

int weir_endpoints_state_new(struct weir_endpoints_state **out, const char *dir)
{
	struct weir_endpoints_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	if (asprintf(&st->path, "%s/" WEIR_ENDPOINTS_STATE_FILE, dir) < 0) {
		free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

void weir_endpoints_state_free(struct weir_endpoints_state *st)
{
	if (!st)
		return;
	free(st->path);
	free(st);
}

const char *weir_endpoints_state_path(const struct weir_endpoints_state *st)
{
	return st->path;
}

int weir_endpoints_state_save(struct weir_endpoints_state *st, struct weir_endpoints *eps)
{
	json_t *root, *regs = weir_endpoints_registrations(eps);
	int err;

	root = regs ? json_pack("{s:i,s:o}", "version", WEIR_ENDPOINTS_STATE_VERSION, "endpoints",
				regs) :
		      NULL;
	err = root ? weir_state_file_write(st->path, root, JSON_INDENT(1)) : -ENOMEM;
	json_decref(root);
	if (err)
		log_err("endpoints: state file path=%s not written, registrations will not "
			"survive a restart: %s",
			st->path, strerror(-err));
	return err;
}

static void on_registrations(void *ctx, struct weir_endpoints *eps)
{
	weir_endpoints_state_save(ctx, eps);
}

void weir_endpoints_state_follow(struct weir_endpoints_state *st, struct weir_endpoints *eps)
{
	weir_endpoints_on_registrations(eps, on_registrations, st);
}

/* The file's "endpoints" into *docs (a borrowed reference of root). */
static int state_docs(const json_t *root, const json_t **docs, char *err, size_t err_len)
{
	const json_t *version = json_object_get(root, "version");

	if (!json_is_object(root)) {
		snprintf(err, err_len, "expected a JSON object");
		return -EINVAL;
	}
	if (!json_is_integer(version) ||
	    json_integer_value(version) != WEIR_ENDPOINTS_STATE_VERSION) {
		snprintf(err, err_len, "version: expected %d", WEIR_ENDPOINTS_STATE_VERSION);
		return -EINVAL;
	}
	*docs = json_object_get(root, "endpoints");
	if (!json_is_array(*docs)) {
		snprintf(err, err_len, "endpoints: expected an array");
		return -EINVAL;
	}
	return 0;
}

/* Reads the file; a damaged one is set aside. -ENOENT when there is none. */
static int state_load(struct weir_endpoints_state *st, json_t **root, const json_t **docs)
{
	char err[ERR_LEN];
	int ret, moved;

	ret = weir_state_file_read(st->path, root, err, sizeof(err));
	if (ret == -ENOENT)
		return ret;
	if (!ret) {
		ret = state_docs(*root, docs, err, sizeof(err));
		if (ret)
			json_decref(*root);
	}
	if (ret == -ENOMEM)
		return ret;
	if (ret == -EINVAL) {
		moved = weir_state_file_set_aside(st->path);
		log_err("endpoints: state file path=%s is damaged (%s): %s; starting without "
			"registrations",
			st->path, err,
			moved ? strerror(-moved) :
				"moved aside to " WEIR_ENDPOINTS_STATE_FILE
					WEIR_STATE_FILE_BAD_SUFFIX);
	} else if (ret) {
		log_err("endpoints: state file not read, starting without registrations: %s", err);
	}
	return ret;
}

static const char *doc_str(const json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return s ? s : "?";
}

int weir_endpoints_state_restore(struct weir_endpoints_state *st, struct weir_endpoints *eps,
				 weir_iface_exists_fn exists, void *ctx)
{
	char err[ERR_LEN];
	size_t i, dropped = 0;
	const json_t *docs, *doc;
	const char *iface;
	json_t *root;
	int ret, n = 0;

	ret = state_load(st, &root, &docs);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return 0;
	json_array_foreach(docs, i, doc)
	{
		iface = json_string_value(json_object_get(doc, "interface"));
		if (iface && exists && !exists(ctx, iface)) {
			log_warn(
				"endpoints: registration dropped namespace=%s pod=%s: its "
				"interface=%s is gone (the pod went away while the agent was down)",
				doc_str(doc, "namespace"), doc_str(doc, "pod_name"), iface);
			dropped++;
			continue;
		}
		ret = weir_endpoints_register(eps, doc, err, sizeof(err));
		if (ret == -ENOMEM)
			goto out;
		if (ret) {
			log_err("endpoints: state file path=%s: registration endpoints[%zu] "
				"dropped: %s",
				st->path, i, err);
			dropped++;
			continue;
		}
		n++;
	}
	ret = 0;
	log_info("endpoints: registrations restored path=%s restored=%d dropped=%zu", st->path, n,
		 dropped);
	if (dropped)
		weir_endpoints_state_save(st, eps);
out:
	json_decref(root);
	return ret ? ret : n;
}
