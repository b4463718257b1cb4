// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Node status events for follow streams. */
#include <jansson.h>
#include "events.h"
#include "timefmt.h"

char *weir_node_status_line(enum weir_node_state state, const char *const *names, size_t n,
			    const char *message, uint64_t now_real_ns)
{
	char now[WEIR_TIME_STR_LEN] = "";
	json_t *j, *st, *list;
	char *line = NULL;
	size_t i;

	weir_time_format(now_real_ns, now, sizeof(now));
	list = json_array();
	for (i = 0; list && i < n; i++)
		if (json_array_append_new(list, json_string(names[i])))
			goto out_list;
	st = json_pack("{s:s,s:o}", "state_change", weir_node_state_name(state), "node_names",
		       list);
	list = NULL; /* "o" stole it, even on failure */
	if (st && message && message[0] &&
	    json_object_set_new(st, "message", json_string(message))) {
		json_decref(st);
		return NULL;
	}
	j = st ? json_pack("{s:o,s:s}", "node_status", st, "time", now) : NULL;
	if (j)
		line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return line;

out_list:
	json_decref(list);
	return NULL;
}
