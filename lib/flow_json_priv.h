/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* flow_json.c's names and rules that flow_parse.c decodes by too: one source. */
#ifndef WEIR_FLOW_JSON_PRIV_H
#define WEIR_FLOW_JSON_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* Cilium's monitor event type of a drop; Hubble's reserved identities. */
#define WEIR_FLOW_JSON_EVENT_DROP     1
#define WEIR_FLOW_JSON_IDENTITY_HOST  1
#define WEIR_FLOW_JSON_IDENTITY_WORLD 2

/* A uuid's record id: 0, or -EINVAL when s is not a UUID. */
int weir_flow_json_uuid_id(const char *s, uint64_t *id);
/* Each: the code for a name Weir writes, or -EINVAL. */
int weir_flow_json_record_type(const char *s);
int weir_flow_json_end_reason(const char *s);
int weir_flow_json_hook(const char *s);
int weir_flow_json_ip_version(const char *s);
/* The protocol an l4 object's key names ("TCP", "ICMPv4", ...), or -1. */
int weir_flow_json_l4_proto(const char *name, size_t n);

#endif /* WEIR_FLOW_JSON_PRIV_H */
