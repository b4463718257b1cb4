/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Aligned columns the way Go's tabwriter lays out Hubble's tables (padding
 * 3, minimum width 2): every cell but a row's last is padded to its column's
 * widest cell. Rows are kept until printed, so the widths fit them all.
 * Control characters in cells print as '?'.
 */
#ifndef WEIR_CLI_TABLE_H
#define WEIR_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct weir_table;

struct weir_table *weir_table_new(void);
/* Copies n cells (NULL is ""). Returns 0 or -ENOMEM. */
int weir_table_add(struct weir_table *t, const char *const *cells, size_t n);
size_t weir_table_rows(const struct weir_table *t);
/* The cell at row, col; "" past the row's end. */
const char *weir_table_cell(const struct weir_table *t, size_t row, size_t col);
/* Writes the rows; returns 0 or -EIO. */
int weir_table_print(const struct weir_table *t, FILE *out);
void weir_table_free(struct weir_table *t);

#endif /* WEIR_CLI_TABLE_H */
