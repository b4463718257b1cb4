// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The assembler's side table: lookups, removal in the middle of a probe run
 * (that wraps around the array's end), growth and the slot swap the
 * assembler uses to turn a conversation round; checked against a plain
 * list of what must be in it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "assembler_sides.h"

#define OBJS 600

struct obj {
	uint64_t hash;
	struct weir_flow_key key;
	bool in;
};

static struct weir_side_table t;
static struct obj objs[OBJS];

static void key_of(struct weir_flow_key *k, unsigned int i)
{
	memset(k, 0, sizeof(*k));
	k->saddr[0] = i;
	k->sport = (uint16_t)(i * 7);
	k->family = 4;
}

/* Hashes that collide on purpose: a few home slots, near the array's end. */
static uint64_t hash_for(unsigned int i, size_t slots)
{
	return (uint64_t)(slots - 1 - i % 5) | (uint64_t)(i + 1) << 40;
}

/* Every object that is in is found (as itself), every other one is not. */
static void check_all(void)
{
	size_t n = 0;
	int i;

	for (i = 0; i < OBJS; i++) {
		void *found = weir_side_table_find(&t, &objs[i].key, objs[i].hash);

		if (objs[i].in) {
			assert_ptr_equal(found, &objs[i]);
			n++;
		} else {
			assert_null(found);
		}
	}
	assert_int_equal(t.n, n);
}

static int setup(void **state)
{
	int i;

	(void)state;
	memset(objs, 0, sizeof(objs));
	for (i = 0; i < OBJS; i++)
		key_of(&objs[i].key, i);
	return weir_side_table_init(&t, 8, offsetof(struct obj, key), offsetof(struct obj, hash));
}

static int teardown(void **state)
{
	(void)state;
	weir_side_table_release(&t);
	return 0;
}

static void obj_insert(int i, uint64_t hash)
{
	assert_int_equal(weir_side_table_insert(&t, &objs[i], hash), 0);
	assert_int_equal(objs[i].hash, hash);
	objs[i].in = true;
}

static void removal_keeps_the_rest_of_a_probe_run_reachable(void **state)
{
	size_t slots = t.mask + 1;
	int i;

	(void)state;
	/* 10 objects on 5 home slots at the end: the runs wrap to the start */
	for (i = 0; i < 10; i++)
		obj_insert(i, hash_for(i, slots));
	assert_int_equal(t.mask + 1, slots); /* no growth yet: 10 of 16 */
	check_all();
	/* from the middle of the runs, the first one, the wrapped end */
	for (i = 0; i < 10; i++) {
		int victim = (i * 3 + 4) % 10;

		weir_side_table_remove(&t, &objs[victim]);
		objs[victim].in = false;
		check_all();
	}
	assert_int_equal(t.n, 0);
	/* removing what is not there changes nothing */
	weir_side_table_remove(&t, &objs[0]);
	assert_int_equal(t.n, 0);
}

static void grows_and_keeps_everything(void **state)
{
	size_t slots0 = t.mask + 1;
	int i;

	(void)state;
	for (i = 0; i < OBJS; i++) {
		obj_insert(i, i % 3 ? (uint64_t)i * 0x9e3779b97f4a7c15ULL : hash_for(i, slots0));
		if (i % 97 == 0)
			check_all();
	}
	assert_true(t.mask + 1 > slots0);
	assert_true(t.n * 4 <= (t.mask + 1) * 3);
	check_all();
	/* every other one out, then back in */
	for (i = 0; i < OBJS; i += 2) {
		weir_side_table_remove(&t, &objs[i]);
		objs[i].in = false;
	}
	check_all();
	for (i = 0; i < OBJS; i += 2)
		obj_insert(i, objs[i].hash);
	check_all();
}

/* What conv_swap_sides() does: the table's slots, then the objects' keys
 * and hashes, trade places; each key then leads to the object holding it.
 */
static void swap_follows_the_keys(void **state)
{
	struct obj tmp;
	int i;

	(void)state;
	for (i = 0; i < 40; i++)
		obj_insert(i, hash_for(i, t.mask + 1));
	for (i = 0; i < 40; i += 2) {
		weir_side_table_swap(&t, &objs[i], &objs[i + 1]);
		tmp = objs[i];
		objs[i] = objs[i + 1];
		objs[i + 1] = tmp;
	}
	check_all();
	for (i = 0; i < 40; i++) {
		struct weir_flow_key k;

		key_of(&k, i ^ 1); /* the key object i holds now */
		assert_memory_equal(&objs[i].key, &k, sizeof(k));
	}
	/* and removal still finds each by its new slot */
	for (i = 0; i < 40; i += 3) {
		weir_side_table_remove(&t, &objs[i]);
		objs[i].in = false;
		check_all();
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(removal_keeps_the_rest_of_a_probe_run_reachable),
		T(grows_and_keeps_everything),
		T(swap_follows_the_keys),
	};

	return cmocka_run_group_tests_name("assembler_sides", tests, NULL, NULL);
}
