// SPDX-License-Identifier: GPL-2.0
/* The table-driven option parser of every subcommand (opts.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "flash.h"
#include "opts.h"

/* The option named @name (@len bytes): an exact match, else the one it is a prefix of. */
static const struct bs_opt *find_long(const struct bs_optset *set, const char *cmd,
				      const char *name, size_t len, bool *help, bool *ambiguous)
{
	const struct bs_opt *prefix = NULL;
	size_t i, nprefix = 0;

	*help = *ambiguous = false;
	if (!len)
		return NULL;
	if (len == 4 && !strncmp(name, "help", 4)) {
		*help = true;
		return NULL;
	}
	for (i = 0; i < set->n; i++)
		if (strlen(set->opts[i].name) == len && !strncmp(set->opts[i].name, name, len))
			return &set->opts[i];
	for (i = 0; i < set->n; i++)
		if (!strncmp(set->opts[i].name, name, len)) {
			prefix = &set->opts[i];
			nprefix++;
		}
	if (!strncmp("help", name, len)) {
		if (!nprefix) {
			*help = true;
			return NULL;
		}
		nprefix++;
	}
	if (nprefix == 1)
		return prefix;
	if (nprefix > 1) {
		char names[512] = "";

		for (i = 0; i < set->n; i++)
			if (!strncmp(set->opts[i].name, name, len))
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s--%s", names[0] ? ", " : "", set->opts[i].name);
		if (!strncmp("help", name, len))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), ", --help");
		bs_error("Unable to run '%s': option '--%.*s' is ambiguous (%s)", cmd, (int)len,
			 name, names);
		*ambiguous = true;
	}
	return NULL;
}

static const struct bs_opt *find_short(const struct bs_optset *set, char c)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->opts[i].short_name && set->opts[i].short_name == c)
			return &set->opts[i];
	return NULL;
}

/* "--session" or "-s (--session)": how an error names the option as given. */
static void spelled(const struct bs_opt *o, bool as_short, char *buf, size_t len)
{
	if (as_short)
		snprintf(buf, len, "-%c (--%s)", o->short_name, o->name);
	else
		snprintf(buf, len, "--%s", o->name);
}

static int bad_value(const char *cmd, const struct bs_opt *o, bool as_short, const char *val,
		     const char *expect)
{
	char name[64];

	spelled(o, as_short, name, sizeof(name));
	bs_error("Unable to run '%s': bad value '%s' for %s: expected %s", cmd, val, name, expect);
	return -1;
}

/* Decimal @val within [min, max] into @v. */
static bool parse_range(const char *val, const struct bs_opt *o, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(val, &end, 10);
	return !errno && *val >= '0' && *val <= '9' && !*end && *v >= o->min && *v <= o->max;
}

static int store(const struct bs_opt *o, bool as_short, void *dst, const char *cmd, const char *val)
{
	char *field = (char *)dst + o->off;
	unsigned long long v;

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
		return bad_value(cmd, o, as_short, val, "a size like 4096, 16K or 1MiB");
	case BS_OPT_UINT:
		if (!parse_range(val, o, &v))
			return bad_value(cmd, o, as_short, val, o->expect);
		*(unsigned int *)field = (unsigned int)v;
		return 0;
	case BS_OPT_U64:
		if (!parse_range(val, o, &v))
			return bad_value(cmd, o, as_short, val, o->expect);
		*(uint64_t *)field = v;
		return 0;
	}
	return -1;
}

/* Record that @o was given. */
static void mark(const struct bs_optset *set, struct bs_args *a, const struct bs_opt *o)
{
	size_t i = (size_t)(o - set->opts);

	if (i < 64)
		a->given |= 1ULL << i;
}

static void unknown(const struct bs_optset *set, const char *cmd, const char *arg)
{
	const char *names[BS_OPTS_MAX + 1];
	const char *s = NULL;
	char word[40];
	size_t i, k = 0;

	if (!strncmp(arg, "--", 2)) {
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
		for (i = 0; i < set->n && k < BS_OPTS_MAX; i++)
			names[k++] = set->opts[i].name;
		names[k++] = "help";
		s = bs_suggest(word, names, k);
	}
	if (s)
		bs_error("Unable to run '%s': unknown option '%s'; did you mean --%s?", cmd, arg,
			 s);
	else
		bs_error("Unable to run '%s': unknown option '%s'", cmd, arg);
}

static int missing(const char *cmd, const struct bs_opt *o, bool as_short)
{
	char name[64];

	spelled(o, as_short, name, sizeof(name));
	bs_error("Unable to run '%s': %s needs a value (%s)", cmd, name, o->arg);
	return -1;
}

/* -abc: a cluster of one-letter options; the last may take a value ("-t5", "-t 5"). */
static int parse_short(const struct bs_optset *set, void *dst, int argc, char **argv, int *i,
		       struct bs_args *args)
{
	const char *a = argv[*i];
	size_t k;

	for (k = 1; a[k]; k++) {
		const struct bs_opt *o = find_short(set, a[k]);
		const char *val = NULL;
		char opt[3] = {'-', a[k], '\0'};

		if (a[k] == 'h')
			return BS_OPTS_HELP;
		if (!o) {
			unknown(set, argv[0], opt);
			return -1;
		}
		if (o->kind != BS_OPT_FLAG) {
			if (a[k + 1])
				val = a + k + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else
				return missing(argv[0], o, true);
		}
		if (store(o, true, dst, argv[0], val))
			return -1;
		mark(set, args, o);
		if (val)
			break;
	}
	return 0;
}

int bs_opts_parse(const struct bs_optset *set, void *dst, int argc, char **argv,
		  struct bs_args *args)
{
	bool opts_done = false, help, ambiguous;
	int i, r;

	args->npos = 0;
	args->given = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct bs_opt *o;

		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			if (args->npos >= args->maxpos) {
				if (args->maxpos)
					bs_error("Unable to run '%s': unexpected argument '%s' (at "
						 "most %zu)",
						 argv[0], a, args->maxpos);
				else
					bs_error("Unable to run '%s': unexpected argument '%s'",
						 argv[0], a);
				return -1;
			}
			args->pos[args->npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			r = parse_short(set, dst, argc, argv, &i, args);
			if (r)
				return r;
			continue;
		}
		eq = strchr(a + 2, '=');
		o = find_long(set, argv[0], a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2), &help,
			      &ambiguous);
		if (help && !eq)
			return BS_OPTS_HELP;
		if (ambiguous)
			return -1;
		if (!o) {
			unknown(set, argv[0], a);
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
			return missing(argv[0], o, false);
		}
		if (store(o, false, dst, argv[0], val))
			return -1;
		mark(set, args, o);
	}
	return 0;
}

int bs_opts_cmd(const struct bs_optset *set, void *dst, int argc, char **argv, struct bs_args *a,
		void (*usage)(FILE *f))
{
	int r = bs_opts_parse(set, dst, argc, argv, a);

	if (r == BS_OPTS_HELP) {
		usage(stdout);
		return BS_EXIT_OK;
	}
	if (r) {
		bs_try_help(argv[0]);
		return BS_EXIT_USAGE;
	}
	return BS_OPTS_GO;
}

bool bs_opts_given(const struct bs_optset *set, const struct bs_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < set->n && i < 64; i++)
		if (!strcmp(set->opts[i].name, name))
			return a->given & (1ULL << i);
	return false;
}

void bs_opts_help(FILE *f, const struct bs_optset *set)
{
	size_t i;

	fprintf(f, "\nOptions:\n");
	for (i = 0; i < set->n; i++) {
		const struct bs_opt *o = &set->opts[i];
		char left[64], sh[8] = "    ";

		if (o->short_name)
			snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
		snprintf(left, sizeof(left), "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-24s %s\n", left, o->help);
	}
	fprintf(f, "  %-24s %s\n", "-h, --help", "Show this help");
}
