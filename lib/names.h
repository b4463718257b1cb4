/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names and texts of the datapath's lists (reasons, verdicts, counters),
 * generated from the X-macros in include/weir/.
 */
#ifndef WEIR_LIB_NAMES_H
#define WEIR_LIB_NAMES_H

#include <weir/abi.h>

/* Hubble's spelling, e.g. "CT_TRUNCATED_OR_INVALID_HEADER"; NULL if unknown. */
const char *weir_reason_name(unsigned int code);
const char *weir_reason_text(unsigned int code);
/* Code for a name, or -EINVAL. */
int weir_reason_parse(const char *name);
const char *weir_verdict_name(unsigned int verdict);
const char *weir_counter_name(unsigned int idx);
const char *weir_counter_text(unsigned int idx);

#endif /* WEIR_LIB_NAMES_H */
