// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* CNI errors: a code from the spec's list and a message, as the spec's JSON. */
#include <stdarg.h>
#include <stdio.h>
#include "cni.h"

int weir_cni_fail(struct weir_cni_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

json_t *weir_cni_err_json(const struct weir_cni_err *e, const char *cni_version)
{
	json_t *j = json_pack("{s:s, s:i, s:s}", "cniVersion",
			      cni_version ? cni_version : WEIR_CNI_VERSION, "code", e->code, "msg",
			      e->msg);

	if (j && e->details[0])
		json_object_set_new(j, "details", json_string(e->details));
	return j;
}
