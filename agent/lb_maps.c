// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer's maps, written the way include/weir/lb.h says. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "datapath.h"
#include "lb_maps.h"
#include "log.h"

static int map_fd(struct weir_datapath *dp, const char *name, int *out)
{
	int fd = weir_datapath_map_fd(dp, name);

	if (fd < 0) {
		log_err("lb: no map name=%s in the datapath: %s", name, strerror(-fd));
		return fd;
	}
	*out = fd;
	return 0;
}

int weir_lb_maps_open(struct weir_lb_maps *m, struct weir_datapath *dp)
{
	int err;

	err = map_fd(dp, WEIR_MAP_LB_SERVICES, &m->services);
	err = err ?: map_fd(dp, WEIR_MAP_LB_MAGLEV, &m->maglev);
	err = err ?: map_fd(dp, WEIR_MAP_LB_BACKENDS, &m->backends);
	err = err ?: map_fd(dp, WEIR_MAP_LB_CT, &m->ct);
	err = err ?: map_fd(dp, WEIR_MAP_LB_SVC_STATS, &m->svc_stats);
	err = err ?: map_fd(dp, WEIR_MAP_LB_BACKEND_STATS, &m->backend_stats);
	err = err ?: map_fd(dp, WEIR_MAP_LB_CONFIG, &m->config);
	return err;
}

int weir_lb_maps_seed(const struct weir_lb_maps *m, uint32_t *seed)
{
	struct weir_lb_config cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(m->config, &key, &cfg))
		return -errno;
	*seed = cfg.seed;
	return 0;
}

int weir_lb_maps_set_backend(const struct weir_lb_maps *m, uint32_t id,
			     const struct weir_lb_backend *b)
{
	if (bpf_map_update_elem(m->backends, &id, b, BPF_ANY)) {
		int err = -errno;

		log_err("lb: write backend id=%u: %s", id, strerror(-err));
		return err;
	}
	return 0;
}

int weir_lb_maps_clear_backend(const struct weir_lb_maps *m, uint32_t id)
{
	struct weir_lb_backend none = { 0 };

	return weir_lb_maps_set_backend(m, id, &none);
}

int weir_lb_maps_set_table(const struct weir_lb_maps *m, uint32_t svc_id, const uint32_t *table,
			   uint32_t size)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = WEIR_LB_MAGLEV_INNER_FLAGS);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 slots = WEIR_LB_MAGLEV_SLOTS(size), count = slots, i;
	__u32 *keys = NULL, *vals = NULL;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weir_lb_mg_in", sizeof(__u32), sizeof(__u32),
			    slots, &o);
	if (fd < 0) {
		err = -errno;
		log_err("lb: create Maglev table svc_id=%u size=%u: %s", svc_id, size,
			strerror(-err));
		return err;
	}
	keys = malloc(slots * sizeof(*keys));
	vals = malloc(slots * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < slots; i++)
		keys[i] = i;
	vals[0] = size;
	memcpy(vals + 1, table, size * sizeof(*vals));
	if (bpf_map_update_batch(fd, keys, vals, &count, &bo)) {
		/* Kernels without batch ops on arrays: one slot at a time. */
		for (i = 0; i < slots; i++) {
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY)) {
				err = -errno;
				log_err("lb: fill Maglev table svc_id=%u: %s", svc_id,
					strerror(-err));
				goto out;
			}
		}
	}
	if (bpf_map_update_elem(m->maglev, &svc_id, &fd, BPF_ANY)) {
		err = -errno;
		log_err("lb: swap in Maglev table svc_id=%u: %s", svc_id, strerror(-err));
		goto out;
	}
	err = 0;
out:
	free(keys);
	free(vals);
	close(fd); /* the outer map holds the table now */
	return err;
}

int weir_lb_maps_set_service(const struct weir_lb_maps *m, const struct weir_lb_svc_key *k,
			     const struct weir_lb_svc *v)
{
	if (bpf_map_update_elem(m->services, k, v, BPF_ANY)) {
		int err = -errno;

		log_err("lb: write service id=%u: %s%s", v->id, strerror(-err),
			err == -E2BIG ? " (service map full: raise lb-services-max)" : "");
		return err;
	}
	return 0;
}

int weir_lb_maps_delete_service(const struct weir_lb_maps *m, const struct weir_lb_svc_key *k,
				uint32_t svc_id)
{
	int err = 0;

	if (bpf_map_delete_elem(m->services, k) && errno != ENOENT) {
		err = -errno;
		log_err("lb: delete service id=%u: %s", svc_id, strerror(-err));
	}
	if (bpf_map_delete_elem(m->maglev, &svc_id) && errno != ENOENT) {
		err = -errno;
		log_err("lb: delete Maglev table svc_id=%u: %s", svc_id, strerror(-err));
	}
	return err;
}

int weir_lb_maps_for_each_service(const struct weir_lb_maps *m,
				  void (*fn)(void *ctx, const struct weir_lb_svc_key *k,
					     const struct weir_lb_svc *v),
				  void *ctx)
{
	struct weir_lb_svc_key key, next;
	struct weir_lb_svc v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(m->services, prev, &next)) {
		if (!bpf_map_lookup_elem(m->services, &next, &v))
			fn(ctx, &next, &v);
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}
