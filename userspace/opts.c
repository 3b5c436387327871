// SPDX-License-Identifier: GPL-2.0
/* Table-driven long-option parsing for the subcommands. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootseal.h"
#include "flash.h"
#include "opts.h"

static const struct bs_opt *find(const struct bs_opt *t, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(t[i].name) == len && !strncmp(t[i].name, name, len))
			return &t[i];
	return NULL;
}

static int store(const struct bs_opt *o, void *dst, const char *cmd, const char *val)
{
	char *field = (char *)dst + o->off;
	unsigned long v;
	char *end;

	switch (o->kind) {
	case BS_OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case BS_OPT_STR:
		*(const char **)field = val;
		return 0;
	case BS_OPT_LIST: {
		struct bs_opt_list *l = (struct bs_opt_list *)field;

		if (l->n == BS_OPT_LIST_MAX) {
			bs_error("Unable to run '%s': --%s given more than %d times", cmd, o->name,
				 BS_OPT_LIST_MAX);
			return -1;
		}
		l->v[l->n++] = val;
		return 0;
	}
	case BS_OPT_SIZE:
		if (bs_parse_size(val, (uint64_t *)field) == 0)
			return 0;
		bs_error("Unable to parse --%s %s: expected a size like 4096, 16K or 1MiB", o->name,
			 val);
		return -1;
	case BS_OPT_UINT:
		errno = 0;
		v = strtoul(val, &end, 10);
		if (!errno && *val >= '0' && *val <= '9' && !*end && v <= 1024) {
			*(unsigned int *)field = (unsigned int)v;
			return 0;
		}
		bs_error("Unable to parse --%s %s: expected a number from 0 to 1024", o->name, val);
		return -1;
	}
	return -1;
}

static const struct bs_opt *find_short(const struct bs_opt *t, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].short_name && t[i].short_name == c)
			return &t[i];
	return NULL;
}

static void unknown(const struct bs_opt *t, size_t n, const char *cmd, const char *a)
{
	const char *names[64];
	const char *s = NULL;
	char word[40];
	size_t i, k = 0;

	if (!strncmp(a, "--", 2)) {
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(a + 2, "="), a + 2);
		for (i = 0; i < n && k < sizeof(names) / sizeof(names[0]) - 1; i++)
			names[k++] = t[i].name;
		names[k++] = "help";
		s = bs_suggest(word, names, k);
	}
	if (s)
		bs_error("Unable to run '%s': unknown option %s; did you mean --%s?", cmd, a, s);
	else
		bs_error("Unable to run '%s': unknown option %s", cmd, a);
}

/* -abc: a cluster of one-letter options; the last may take a value. */
static int parse_short(const struct bs_opt *table, size_t n, void *dst, int argc, char **argv,
		       int *i)
{
	const char *a = argv[*i];
	size_t k;

	for (k = 1; a[k]; k++) {
		const struct bs_opt *o = find_short(table, n, a[k]);
		const char *val = NULL;
		char opt[3] = {'-', a[k], '\0'};

		if (a[k] == 'h')
			return BS_OPTS_HELP;
		if (!o) {
			unknown(table, n, argv[0], opt);
			return -1;
		}
		if (o->kind != BS_OPT_FLAG) {
			if (a[k + 1])
				val = a + k + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else {
				bs_error("Unable to run '%s': -%c needs a value (%s)", argv[0],
					 a[k], o->arg);
				return -1;
			}
		}
		if (store(o, dst, argv[0], val))
			return -1;
		if (val)
			break;
	}
	return 0;
}

int bs_opts_parse(const struct bs_opt *table, size_t n, void *dst, int argc, char **argv,
		  char **pos, size_t *npos, size_t maxpos)
{
	bool opts_done = false;
	int i, r;

	*npos = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct bs_opt *o;

		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			if (*npos >= maxpos) {
				bs_error("Unable to run '%s': too many arguments (at most %zu)",
					 argv[0], maxpos);
				return -1;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!strcmp(a, "--help"))
			return BS_OPTS_HELP;
		if (strncmp(a, "--", 2)) {
			r = parse_short(table, n, dst, argc, argv, &i);
			if (r)
				return r;
			continue;
		}
		eq = strchr(a + 2, '=');
		o = find(table, n, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!o) {
			unknown(table, n, argv[0], a);
			return -1;
		}
		if (o->kind == BS_OPT_FLAG) {
			if (eq) {
				bs_error("Unable to run '%s': --%s takes no value", argv[0],
					 o->name);
				return -1;
			}
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			bs_error("Unable to run '%s': --%s needs a value (%s)", argv[0], o->name,
				 o->arg);
			return -1;
		}
		if (store(o, dst, argv[0], val))
			return -1;
	}
	return 0;
}

void bs_opts_help(FILE *f, const struct bs_opt *table, size_t n)
{
	size_t i;

	fprintf(f, "\nOptions:\n");
	for (i = 0; i < n; i++) {
		char left[64], sh[8] = "    ";

		if (table[i].short_name)
			snprintf(sh, sizeof(sh), "-%c, ", table[i].short_name);
		snprintf(left, sizeof(left), "%s--%s%s%s", sh, table[i].name,
			 table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
		fprintf(f, "  %-24s %s\n", left, table[i].help);
	}
	fprintf(f, "  %-24s %s\n", "-h, --help", "Show this help");
}
