/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven option parsing for subcommands: each option names a field
 * of the command's option struct by offset, so adding an option is one
 * table line. Long options ("--name" and "--name=VALUE" / "--name VALUE"),
 * and a one-letter alias where the table gives one ("-y", "-yq", "-t 4",
 * "-t4"); "--" ends the options; "-" alone is a positional argument.
 */
#ifndef BOOTSEAL_OPTS_H
#define BOOTSEAL_OPTS_H

#include <stddef.h>
#include <stdio.h>

enum bs_opt_kind {
	BS_OPT_FLAG, /* bool */
	BS_OPT_STR,  /* const char * */
	BS_OPT_SIZE, /* uint64_t, "4096", "16K", "1MiB" */
	BS_OPT_UINT, /* unsigned int */
	BS_OPT_LIST, /* struct bs_opt_list: a repeatable string option */
};

#define BS_OPT_LIST_MAX 64

struct bs_opt_list {
	const char *v[BS_OPT_LIST_MAX];
	size_t n;
};

struct bs_opt {
	const char *name; /* without "--" */
	enum bs_opt_kind kind;
	size_t off;	 /* offsetof() the field in the option struct */
	const char *arg; /* "FILE", "HEX", ...; NULL for flags */
	const char *help;
	char short_name; /* 'y' for -y, 0 for none */
};

#define BS_OPTS_HELP 1

/*
 * Parse argv[1..argc) into @dst per @table; positional arguments go into
 * @pos (at most @maxpos, count in @npos). Returns 0, BS_OPTS_HELP for
 * --help/-h, or -1 after reporting the problem in one line (an unknown
 * option with "did you mean --X?" when one is close); the caller then
 * says bs_try_help().
 */
int bs_opts_parse(const struct bs_opt *table, size_t n, void *dst, int argc, char **argv,
		  char **pos, size_t *npos, size_t maxpos);
/* The "Options:" block of a usage text. */
void bs_opts_help(FILE *f, const struct bs_opt *table, size_t n);

#endif /* BOOTSEAL_OPTS_H */
