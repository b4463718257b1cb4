// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir: the command line client of an agent or the relay. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "weir: not built yet\n");
	return 1;
}
