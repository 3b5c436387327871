// SPDX-License-Identifier: GPL-2.0
/*
 * The option parser every subcommand uses (opts.c): long and one-letter
 * forms, values, prefixes, "--", the "given" bits, and the one-line errors
 * that name the subcommand and the option. Then the subcommands themselves:
 * the one-letter aliases each accepts, and run's command after "--".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "opts.h"
#include "unit.h"

struct o {
	bool json, yes, quiet, no_x, no_y;
	const char *name;
	uint64_t size, id;
	unsigned int n;
	struct bs_opt_list list;
};

#define T struct o

static const struct bs_opt table[] = {
	BS_OPT_JSON(T, json, "JSON"),
	BS_OPT_YES(T, yes),
	BS_OPT_QUIET(T, quiet, "Quiet"),
	BS_OPT(T, "name", 'N', BS_OPT_STR, name, "NAME", "A name"),
	BS_OPT_HEAD(T, size, "A size"),
	BS_OPT_SESSION(T, id, "A session"),
	BS_OPT_TIMEOUT(T, n, "Seconds"),
	BS_OPT(T, "no-x", 0, BS_OPT_FLAG, no_x, NULL, "No x"),
	BS_OPT(T, "no-y", 0, BS_OPT_FLAG, no_y, NULL, "No y"),
	BS_OPT(T, "item", 0, BS_OPT_LIST, list, "ITEM", "Repeatable"),
};

#undef T

static const struct bs_optset set = BS_OPTSET("demo", table);

static char errtext[4096];
static char *pos[3];
static struct bs_args args;
static struct o o;

/* Parse the NULL-terminated arguments after "demo"; stderr into errtext. */
static int parse(const char *first, ...)
{
	char epath[] = "/tmp/bs-opts-err-XXXXXX";
	char *argv[32] = {"demo"};
	int argc = 1, efd = mkstemp(epath), se, r;
	const char *a;
	va_list ap;

	REQUIRE(efd >= 0);
	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	memset(&o, 0, sizeof(o));
	memset(&args, 0, sizeof(args));
	args.pos = pos;
	args.maxpos = 3;
	se = redirect(2, efd);
	r = bs_opts_parse(&set, &o, argc, argv, &args);
	unredirect(2, se);
	read_tmp(efd, epath, errtext, sizeof(errtext));
	return r;
}

static void test_forms(void)
{
	CHECK_EQ_INT(parse("--json", "a", "-y", "b", NULL), 0);
	CHECK(o.json && o.yes && !o.quiet);
	CHECK_EQ_INT(args.npos, 2);
	CHECK_EQ_STR(pos[0], "a");
	CHECK_EQ_STR(pos[1], "b");
	/* a cluster; the last letter may take the value, joined or next */
	CHECK_EQ_INT(parse("-jyq", NULL), 0);
	CHECK(o.json && o.yes && o.quiet);
	CHECK_EQ_INT(parse("-jNfoo", NULL), 0);
	CHECK(o.json);
	CHECK_EQ_STR(o.name, "foo");
	CHECK_EQ_INT(parse("-yN", "bar", "x", NULL), 0);
	CHECK_EQ_STR(o.name, "bar");
	CHECK_EQ_INT(args.npos, 1);
	CHECK_EQ_INT(parse("-t5", NULL), 0);
	CHECK_EQ_INT(o.n, 5);
	/* --opt=value and --opt value; a value may start with '-' */
	CHECK_EQ_INT(parse("--name=x=y", "--head", "16K", "--session", "7", NULL), 0);
	CHECK_EQ_STR(o.name, "x=y");
	CHECK_EQ_INT(o.size, 16384);
	CHECK_EQ_INT(o.id, 7);
	CHECK_EQ_INT(parse("--name", "-j", NULL), 0);
	CHECK_EQ_STR(o.name, "-j");
	CHECK(!o.json);
	/* repeatable */
	CHECK_EQ_INT(parse("--item", "1", "--item=2", NULL), 0);
	CHECK_EQ_INT(o.list.n, 2);
	CHECK_EQ_STR(o.list.v[1], "2");
	/* "-" is an argument; "--" ends the options */
	CHECK_EQ_INT(parse("-", "--", "--json", "-y", NULL), 0);
	CHECK(!o.json && !o.yes);
	CHECK_EQ_INT(args.npos, 3);
	CHECK_EQ_STR(pos[0], "-");
	CHECK_EQ_STR(pos[1], "--json");
	CHECK_EQ_STR(pos[2], "-y");
	/* help, however it is asked for */
	CHECK_EQ_INT(parse("--help", NULL), BS_OPTS_HELP);
	CHECK_EQ_INT(parse("-h", NULL), BS_OPTS_HELP);
	CHECK_EQ_INT(parse("-jh", NULL), BS_OPTS_HELP);
	CHECK_EQ_INT(parse("--hel", NULL), BS_OPTS_HELP);
}

/* An unambiguous prefix is the option, as getopt_long() took it. */
static void test_prefixes(void)
{
	CHECK_EQ_INT(parse("--js", "--ye", NULL), 0);
	CHECK(o.json && o.yes);
	CHECK_EQ_INT(parse("--no-x", NULL), 0);
	CHECK(o.no_x && !o.no_y);
	CHECK_EQ_INT(parse("--sess=3", NULL), 0);
	CHECK_EQ_INT(o.id, 3);
	CHECK_EQ_INT(parse("--no-", NULL), -1);
	CHECK(strstr(errtext,
		     "Unable to run 'demo': option '--no-' is ambiguous (--no-x, --no-y)"));
	CHECK_EQ_INT(parse("--h", NULL), -1); /* --head or --help */
	CHECK(strstr(errtext, "ambiguous (--head, --help)"));
	CHECK_EQ_INT(parse("--", "--=", NULL), 0);
	CHECK_EQ_INT(parse("--=x", NULL), -1);
	CHECK(strstr(errtext, "unknown option '--=x'"));
}

static void test_given(void)
{
	CHECK_EQ_INT(parse("a", NULL), 0);
	CHECK(!bs_opts_given(&set, &args, "head") && !bs_opts_given(&set, &args, "json"));
	/* a value equal to the default is still given */
	CHECK_EQ_INT(parse("--head=0", "-j", NULL), 0);
	CHECK(bs_opts_given(&set, &args, "head") && bs_opts_given(&set, &args, "json"));
	CHECK(!bs_opts_given(&set, &args, "yes") && !bs_opts_given(&set, &args, "nonesuch"));
	CHECK_EQ_INT(o.size, 0);
}

/* One line each, naming the subcommand and the option as it was written. */
static void test_errors(void)
{
	CHECK_EQ_INT(parse("--jsno", NULL), -1);
	CHECK_EQ_STR(
		errtext,
		"bootseal: Unable to run 'demo': unknown option '--jsno'; did you mean --json?\n");
	CHECK_EQ_INT(parse("--frobnicate", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': unknown option '--frobnicate'\n");
	CHECK_EQ_INT(parse("-jx", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': unknown option '-x'\n");
	CHECK_EQ_INT(parse("--name", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': --name needs a value (NAME)\n");
	CHECK_EQ_INT(parse("-N", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': -N (--name) needs a value (NAME)\n");
	CHECK_EQ_INT(parse("--json=1", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': --json takes no value\n");
	CHECK_EQ_INT(parse("--head", "12Q", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': bad value '12Q' for --head: "
			      "expected a size like 4096, 16K or 1MiB\n");
	CHECK_EQ_INT(parse("-t", "0", NULL), -1);
	CHECK_EQ_STR(errtext, "bootseal: Unable to run 'demo': bad value '0' for -t (--timeout): "
			      "expected seconds (1-86400)\n");
	CHECK_EQ_INT(parse("--timeout=86401", NULL), -1);
	CHECK_EQ_INT(parse("--timeout=86400", NULL), 0);
	CHECK_EQ_INT(o.n, 86400);
	CHECK_EQ_INT(parse("--session", "0", NULL), -1);
	CHECK(strstr(errtext, "bad value '0' for --session: expected a session id"));
	CHECK_EQ_INT(parse("--session", "-1", NULL), -1);
	CHECK_EQ_INT(parse("--session", "12x", NULL), -1);
	CHECK_EQ_INT(parse("--session", "99999999999999999999", NULL), -1);
	CHECK_EQ_INT(parse("a", "b", "c", "d", NULL), -1);
	CHECK_EQ_STR(errtext,
		     "bootseal: Unable to run 'demo': unexpected argument 'd' (at most 3)\n");
}

/* Generated from the table: every option, its alias and value name, then -h. */
static void test_help(void)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	REQUIRE(f);
	bs_opts_help(f, &set);
	fclose(f);
	CHECK(strstr(buf, "\nOptions:\n"));
	CHECK(strstr(buf, "\n  -j, --json               JSON\n"));
	CHECK(strstr(buf, "\n  -N, --name NAME          A name\n"));
	CHECK(strstr(buf, "\n      --head SIZE          A size\n"));
	CHECK(strstr(buf, "\n  -h, --help               Show this help\n"));
}

/* Every one-letter alias is one letter of one option, and never -h. */
static void test_tables(void)
{
	const struct bs_optset *all[] = {
		&bs_flash_optset,   &bs_boot_optset,  &bs_verify_optset,
		&bs_inspect_optset, &bs_list_optset,  &bs_status_optset,
		&bs_monitor_optset, &bs_stage_optset, &bs_run_optset,
	};
	size_t i, k, m;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		CHECK(all[i]->n <= BS_OPTS_MAX);
		for (k = 0; k < all[i]->n; k++) {
			const struct bs_opt *a = &all[i]->opts[k];

			CHECK(a->short_name != 'h' && strcmp(a->name, "help"));
			CHECK((a->kind == BS_OPT_FLAG) == !a->arg);
			CHECK(a->help && a->help[0]);
			for (m = k + 1; m < all[i]->n; m++) {
				CHECK(strcmp(a->name, all[i]->opts[m].name));
				CHECK(!a->short_name ||
				      a->short_name != all[i]->opts[m].short_name);
			}
			/* the shared options are spelled alike everywhere */
			if (!strcmp(a->name, "json"))
				CHECK_EQ_INT(a->short_name, 'j');
			if (!strcmp(a->name, "yes"))
				CHECK_EQ_INT(a->short_name, 'y');
			if (!strcmp(a->name, "quiet"))
				CHECK_EQ_INT(a->short_name, 'q');
		}
	}
}

/* Run @fn with stdout and stderr to /dev/null. */
static int quiet_run(int (*fn)(int, char **), int argc, char **argv)
{
	int null = open("/dev/null", O_WRONLY), r;

	REQUIRE(null >= 0);
	r = run_redirected(fn, argc, argv, null, null);
	close(null);
	return r;
}

#define RUN(fn, ...) RUN_ARGS(quiet_run, fn, __VA_ARGS__)

static void test_commands(void)
{
	/* -j wherever there is --json; -h and --help everywhere */
	CHECK_EQ_INT(RUN(cmd_flash, "flash", "-j", "--help"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_verify, "verify", "-jq", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_inspect, "inspect", "-j", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_stage, "stage", "-jy", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_list, "list", "-ja", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_status, "status", "-j", "-s", "1", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "-js1", "-h"), BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_boot, "boot", "-lvj", "-t", "5", "-f", "d", "-p", "1-1", "-h"),
		     BS_EXIT_OK);
	CHECK_EQ_INT(RUN(cmd_seal, "seal", "-h"), BS_EXIT_OK);
	/* run takes no --json, stage takes no --usbboot */
	CHECK_EQ_INT(RUN(cmd_run, "run", "-j", "x", "--", "true"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_stage, "stage", "--usbboot", "x"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_partitions, "partitions", "--json", "x"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_inspect, "inspect", "a", "b"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_boot, "boot", "--count", "0"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_boot, "boot", "-n", "2", "-l"), BS_EXIT_USAGE);
	/*
	 * run: what follows the first "--" is the command's, never parsed:
	 * "--head 0" or "-h" there is no usage error; the device is then
	 * refused (it does not exist).
	 */
	CHECK_EQ_INT(RUN(cmd_run, "run", "--yes", "/nonexistent/disk", "--", "sh", "--head", "0",
			 "-h", "--"),
		     BS_EXIT_DEVICE);
	CHECK_EQ_INT(RUN(cmd_run, "run", "--yes", "--head", "0", "/nonexistent/disk", "--", "sh"),
		     BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_run, "run", "--yes", "/nonexistent/disk", "--"), BS_EXIT_USAGE);
}

int main(void)
{
	test_forms();
	test_prefixes();
	test_given();
	test_errors();
	test_help();
	test_tables();
	test_commands();
	return unit_done();
}
