/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one option parser of every subcommand. Each command has a table:
 * per option a long name, an optional one-letter alias, a kind (flag or
 * value), the field of the command's option struct it fills (by offset),
 * the value's name and a one-line help text; the command's --help, and
 * the test that holds the man page and the bash completion to the same
 * options, are generated from it.
 *
 * Accepted: "--name", "--name=VALUE", "--name VALUE", an unambiguous
 * prefix of a long name ("--js" for --json), "-y", "-yq" (a cluster), "-t 4",
 * "-t4"; "-h" and "--help" everywhere; "--" ends the options; "-" alone is
 * a positional argument. Options and positional arguments may be mixed.
 */
#ifndef BOOTSEAL_OPTS_H
#define BOOTSEAL_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum bs_opt_kind {
	BS_OPT_FLAG, /* bool */
	BS_OPT_STR,  /* const char * */
	BS_OPT_SIZE, /* uint64_t, "4096", "16K", "1MiB" */
	BS_OPT_UINT, /* unsigned int, decimal, within [min, max] */
	BS_OPT_U64,  /* uint64_t, decimal, within [min, max] */
	BS_OPT_LIST, /* struct bs_opt_list: a repeatable string option */
};

#define BS_OPT_LIST_MAX 64

struct bs_opt_list {
	const char *v[BS_OPT_LIST_MAX];
	size_t n;
};

struct bs_opt {
	const char *name; /* without "--" */
	char short_name;  /* 'y' for -y, 0 for none */
	enum bs_opt_kind kind;
	size_t off;		     /* offsetof() the field in the option struct */
	const char *arg;	     /* "FILE", "HEX", ...; NULL for flags */
	const char *help;	     /* one line */
	unsigned long long min, max; /* BS_OPT_UINT, BS_OPT_U64: the range */
	const char *expect;	     /* BS_OPT_UINT, BS_OPT_U64: "seconds (1-86400)" */
};

/* A subcommand's options. */
struct bs_optset {
	const char *cmd; /* "flash" */
	const struct bs_opt *opts;
	size_t n;
};

#define BS_OPTSET(cmd, table)                                                                      \
	{                                                                                          \
		cmd, table, sizeof(table) / sizeof((table)[0])                                     \
	}

/* At most 64 options a command: bs_opts_parse() records which were given. */
#define BS_OPTS_MAX 64

/* What bs_opts_parse() found besides the options' values. */
struct bs_args {
	char **pos; /* in: room for maxpos positional arguments */
	size_t maxpos;
	size_t npos;	/* out: how many there were */
	uint64_t given; /* out: bit i when set->opts[i] was on the command line */
};

#define BS_OPTS_HELP 1

/*
 * Parse argv[1..argc) into @dst per @set (argv[0] is the subcommand's
 * name). Returns 0, BS_OPTS_HELP for --help/-h, or -1 after reporting the
 * problem in one line that names the subcommand and the option (an unknown
 * option with "did you mean --X?" when one is close); the caller then says
 * bs_try_help().
 */
int bs_opts_parse(const struct bs_optset *set, void *dst, int argc, char **argv, struct bs_args *a);
/*
 * A subcommand's start: bs_opts_parse(), then on --help @usage(stdout).
 * BS_OPTS_GO to go on, else the exit status to return: BS_EXIT_OK after
 * the help, BS_EXIT_USAGE after the error and "Try 'bootseal CMD --help'.".
 */
#define BS_OPTS_GO (-1)
int bs_opts_cmd(const struct bs_optset *set, void *dst, int argc, char **argv, struct bs_args *a,
		void (*usage)(FILE *f));
/* Whether the option @name (long name) was given. */
bool bs_opts_given(const struct bs_optset *set, const struct bs_args *a, const char *name);
/* The "Options:" block of a usage text, -h/--help last. */
void bs_opts_help(FILE *f, const struct bs_optset *set);

/*
 * Options that several subcommands take, defined once: @T is the
 * command's option struct, @f its field, @h the help line where the
 * commands word it differently.
 */
#define BS_OPT_JSON(T, f, h)                                                                       \
	{                                                                                          \
		"json", 'j', BS_OPT_FLAG, offsetof(T, f), NULL, h, 0, 0, NULL                      \
	}
#define BS_OPT_YES(T, f)                                                                           \
	{                                                                                          \
		"yes", 'y', BS_OPT_FLAG, offsetof(T, f), NULL, "Do not ask for confirmation", 0,   \
			0, NULL                                                                    \
	}
#define BS_OPT_QUIET(T, f, h)                                                                      \
	{                                                                                          \
		"quiet", 'q', BS_OPT_FLAG, offsetof(T, f), NULL, h, 0, 0, NULL                     \
	}
#define BS_OPT_ALLOW_FIXED(T, f)                                                                   \
	{                                                                                          \
		"allow-fixed", 0, BS_OPT_FLAG, offsetof(T, f), NULL, "Allow non-removable disks",  \
			0, 0, NULL                                                                 \
	}
#define BS_OPT_UNMOUNT(T, f, h)                                                                    \
	{                                                                                          \
		"unmount", 0, BS_OPT_FLAG, offsetof(T, f), NULL, h, 0, 0, NULL                     \
	}
#define BS_OPT_HEAD(T, f, h)                                                                       \
	{                                                                                          \
		"head", 0, BS_OPT_SIZE, offsetof(T, f), "SIZE", h, 0, 0, NULL                      \
	}
#define BS_OPT_BMAP(T, f, h)                                                                       \
	{                                                                                          \
		"bmap", 0, BS_OPT_STR, offsetof(T, f), "FILE", h, 0, 0, NULL                       \
	}
#define BS_OPT_NO_BMAP(T, f, h)                                                                    \
	{                                                                                          \
		"no-bmap", 0, BS_OPT_FLAG, offsetof(T, f), NULL, h, 0, 0, NULL                     \
	}
#define BS_OPT_THREADS(T, f)                                                                       \
	{                                                                                          \
		"threads", 0, BS_OPT_UINT, offsetof(T, f), "N",                                    \
			"Decoder threads for xz (default: CPUs)", 0, 1024,                         \
			"a number from 0 to 1024"                                                  \
	}
#define BS_OPT_SESSION(T, f, h)                                                                    \
	{                                                                                          \
		"session", 's', BS_OPT_U64, offsetof(T, f), "ID", h, 1, UINT64_MAX, "a session id" \
	}
#define BS_OPT_FIRMWARE(T, f, h)                                                                   \
	{                                                                                          \
		"firmware", 'f', BS_OPT_STR, offsetof(T, f), "DIR", h, 0, 0, NULL                  \
	}
#define BS_OPT_PORT(T, f, h)                                                                       \
	{                                                                                          \
		"port", 'p', BS_OPT_STR, offsetof(T, f), "PATH", h, 0, 0, NULL                     \
	}
#define BS_OPT_LOOP(T, f, h)                                                                       \
	{                                                                                          \
		"loop", 'l', BS_OPT_FLAG, offsetof(T, f), NULL, h, 0, 0, NULL                      \
	}
#define BS_OPT_TIMEOUT(T, f, h)                                                                    \
	{                                                                                          \
		"timeout", 't', BS_OPT_UINT, offsetof(T, f), "SEC", h, 1, 86400,                   \
			"seconds (1-86400)"                                                        \
	}
/* Any other option: no one-letter alias unless @s. */
#define BS_OPT(T, name, s, kind, f, arg, h)                                                        \
	{                                                                                          \
		name, s, kind, offsetof(T, f), arg, h, 0, 0, NULL                                  \
	}

/* Every subcommand's options (for the documentation test). */
extern const struct bs_optset bs_flash_optset, bs_boot_optset, bs_verify_optset, bs_inspect_optset,
	bs_list_optset, bs_status_optset, bs_monitor_optset, bs_stage_optset, bs_run_optset,
	bs_partitions_optset, bs_seal_optset, bs_unstage_optset;

#endif /* BOOTSEAL_OPTS_H */
