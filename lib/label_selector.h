/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kubernetes label selectors over Cilium-style labels, as Hubble's
 * source_label/destination_label filters use them:
 *   k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b); a comma ANDs them.
 * != and notin also match when no label has the key. Labels are
 * "source:key=value" ("k8s:app=web", "reserved:world") or "key=value". A
 * selector key without a source matches a label of any source (or none); a
 * key with one ("k8s:app") matches only that source ("any:" means any).
 */
#ifndef WEIR_LIB_LABEL_SELECTOR_H
#define WEIR_LIB_LABEL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

struct weir_label_selector;

/* Returns 0, or -EINVAL with the reason in err, or -ENOMEM. */
int weir_label_selector_parse(const char *s, struct weir_label_selector **out, char *err,
			      size_t err_len);
void weir_label_selector_free(struct weir_label_selector *sel);
/* Matches labels[0..n) plus extra (one more label, or NULL). Never allocates. */
bool weir_label_selector_match(const struct weir_label_selector *sel, const char *const *labels,
			       size_t n, const char *extra);

/* A label with its source split off once, for matching several selectors
 * against one endpoint's labels on every record of a query.
 */
struct weir_label_view {
	const char *source; /* NULL: the label has none */
	size_t source_len;
	const char *key; /* up to '=' or the end */
};

void weir_label_view_init(struct weir_label_view *v, const char *label);
/* Views of labels[0..n) and extra (or NULL) in views[0..max): their count, or
 * SIZE_MAX when they do not fit.
 */
size_t weir_label_views_init(struct weir_label_view *views, size_t max, char *const *labels,
			     size_t n, const char *extra);
bool weir_label_selector_match_views(const struct weir_label_selector *sel,
				     const struct weir_label_view *views, size_t n);

#endif /* WEIR_LIB_LABEL_SELECTOR_H */
