// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Aligned columns, as Go's tabwriter (NewWriter(w, 2, 0, 3, ' ', 0)) makes them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "table.h"

#define TABLE_PADDING	3
#define TABLE_MIN_WIDTH 2

struct row {
	char **cells;
	size_t n;
};

struct weir_table {
	struct row *rows;
	size_t n, cap;
};

struct weir_table *weir_table_new(void)
{
	return calloc(1, sizeof(struct weir_table));
}

size_t weir_table_rows(const struct weir_table *t)
{
	return t ? t->n : 0;
}

const char *weir_table_cell(const struct weir_table *t, size_t row, size_t col)
{
	if (row >= t->n || col >= t->rows[row].n)
		return "";
	return t->rows[row].cells[col];
}

int weir_table_add(struct weir_table *t, const char *const *cells, size_t n)
{
	struct row *r;
	size_t i;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		t->rows = rows;
		t->cap = cap;
	}
	r = &t->rows[t->n];
	r->cells = calloc(n ? n : 1, sizeof(char *));
	if (!r->cells)
		return -ENOMEM;
	r->n = n;
	t->n++;
	for (i = 0; i < n; i++) {
		char *p;

		r->cells[i] = strdup(cells[i] ? cells[i] : "");
		if (!r->cells[i])
			return -ENOMEM;
		/* cells hold what servers sent: nothing that drives a terminal */
		for (p = r->cells[i]; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return 0;
}

/* Display width: UTF-8 characters, as tabwriter counts them. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

int weir_table_print(const struct weir_table *t, FILE *out)
{
	size_t ncols = 0, i, c, *w;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].n > ncols)
			ncols = t->rows[i].n;
	w = calloc(ncols ? ncols : 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* a cell is in a column when a cell follows it on its row */
	for (i = 0; i < t->n; i++)
		for (c = 0; c + 1 < t->rows[i].n; c++) {
			size_t cw = width(t->rows[i].cells[c]) + TABLE_PADDING;

			if (cw > w[c])
				w[c] = cw;
		}
	for (i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];

		for (c = 0; c < r->n; c++) {
			size_t cw = width(r->cells[c]);

			fputs(r->cells[c], out);
			if (c + 1 < r->n)
				fprintf(out, "%*s",
					(int)((w[c] < TABLE_MIN_WIDTH ? TABLE_MIN_WIDTH : w[c]) -
					      cw),
					"");
		}
		fputc('\n', out);
	}
	free(w);
	return ferror(out) ? -EIO : 0;
}

void weir_table_free(struct weir_table *t)
{
	size_t i, c;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		for (c = 0; c < t->rows[i].n; c++)
			free(t->rows[i].cells[c]);
		free(t->rows[i].cells);
	}
	free(t->rows);
	free(t);
}
