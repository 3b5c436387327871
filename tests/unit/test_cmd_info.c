// SPDX-License-Identifier: GPL-2.0
/*
 * The list/status/monitor subcommands on the host: option parsing and exit
 * codes, --help, list output (table and --json) on this machine's disks, and
 * status/monitor without the module (the host cannot load it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "unit.h"

static char out[65536], errtext[8192];

/* Run @fn with stdout and stderr captured into out/errtext. */
static int run(int (*fn)(int, char **), int argc, char **argv)
{
	char opath[] = "/tmp/bs-cmd-out-XXXXXX", epath[] = "/tmp/bs-cmd-err-XXXXXX";
	int ofd = mkstemp(opath), efd = mkstemp(epath);
	int ret;

	REQUIRE(ofd >= 0 && efd >= 0);
	ret = run_redirected(fn, argc, argv, ofd, efd);
	read_tmp(ofd, opath, out, sizeof(out));
	read_tmp(efd, epath, errtext, sizeof(errtext));
	return ret;
}

#define RUN(fn, ...) RUN_ARGS(run, fn, __VA_ARGS__)

static void test_usage(void)
{
	CHECK_EQ_INT(RUN(cmd_list, "list", "--help"), BS_EXIT_OK);
	CHECK(!strncmp(out, "Usage: bootseal list", 20));
	CHECK_EQ_INT(RUN(cmd_status, "status", "-h"), BS_EXIT_OK);
	CHECK(!strncmp(out, "Usage: bootseal status", 22));
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "--help"), BS_EXIT_OK);
	CHECK(!strncmp(out, "Usage: bootseal monitor", 23));

	CHECK_EQ_INT(RUN(cmd_list, "list", "--bogus"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "bootseal: Unable to run 'list': unknown option '--bogus'"));
	CHECK(strstr(errtext, "Try 'bootseal list --help'."));
	CHECK_EQ_INT(RUN(cmd_list, "list", "-x"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "unknown option '-x'"));
	CHECK_EQ_INT(RUN(cmd_list, "list", "sda"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "unexpected argument 'sda'"));
	CHECK_EQ_INT(RUN(cmd_status, "status", "--session"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "Unable to run 'status': --session needs a value (ID)"));
	CHECK_EQ_INT(RUN(cmd_status, "status", "--session", "0"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_status, "status", "--session", "-1"), BS_EXIT_USAGE);
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "--session", "12x"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "Unable to run 'monitor': bad value '12x' for --session"));
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "extra"), BS_EXIT_USAGE);
	CHECK_EQ_STR(out, "");
}

/* Lines in @s. */
static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * A usage error is one line that says what is wrong, then "Try ...": the
 * help text does not push it off screen. Every subcommand alike.
 */
static void test_usage_errors(void)
{
	static const char *const cmds[] = {"flash",  "boot",	"verify", "inspect", "list",
					   "status", "monitor", "help",	  "version"};
	static const struct {
		int (*fn)(int, char **);
		const char *name;
	} all[] = {
		{cmd_flash, "flash"},	  {cmd_boot, "boot"}, {cmd_verify, "verify"},
		{cmd_inspect, "inspect"}, {cmd_list, "list"}, {cmd_status, "status"},
		{cmd_monitor, "monitor"},
	};
	char want[64];
	size_t i;

	CHECK_EQ_INT(RUN(cmd_flash, "flash", "--yse", "a.img", "/dev/sdz"), BS_EXIT_USAGE);
	CHECK_EQ_INT(lines(errtext), 2);
	CHECK(strstr(errtext, "unknown option '--yse'; did you mean --yes?"));
	CHECK(strstr(errtext, "\nTry 'bootseal flash --help'.\n"));
	CHECK(!strstr(errtext, "Options:"));
	CHECK_EQ_INT(RUN(cmd_flash, "flash", "a.img"), BS_EXIT_USAGE);
	CHECK_EQ_INT(lines(errtext), 2);
	CHECK(strstr(errtext, "give an IMAGE and at least one TARGET"));
	CHECK_EQ_INT(RUN(cmd_flash, "flash", "--no-verfy", "a", "b"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "did you mean --no-verify?"));
	CHECK_EQ_INT(RUN(cmd_flash, "flash", "--frobnicate", "a", "b"), BS_EXIT_USAGE);
	CHECK(!strstr(errtext, "did you mean"));
	CHECK_EQ_INT(RUN(cmd_verify, "verify", "--jsno", "a", "b"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "did you mean --json?"));
	CHECK_EQ_INT(lines(errtext), 2);
	CHECK_EQ_INT(RUN(cmd_list, "list", "--jsn"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "did you mean --json?"));
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "--sesion", "3"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "did you mean --session?"));
	CHECK_EQ_INT(RUN(cmd_boot, "boot", "--lop"), BS_EXIT_USAGE);
	CHECK(strstr(errtext, "did you mean --loop?"));
	CHECK_EQ_INT(lines(errtext), 2);
	CHECK_EQ_INT(RUN(cmd_inspect, "inspect"), BS_EXIT_USAGE);
	CHECK_EQ_INT(lines(errtext), 2);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(want, sizeof(want), "\nTry 'bootseal %s --help'.\n", all[i].name);
		CHECK_EQ_INT(RUN(all[i].fn, (char *)all[i].name, "--bogus-option"), BS_EXIT_USAGE);
		CHECK_EQ_INT(lines(errtext), 2);
		CHECK(strstr(errtext, want) != NULL);
		CHECK_EQ_STR(out, "");
	}

	/* subcommands: what main() suggests */
	CHECK_EQ_STR(bs_suggest("flsh", cmds, 9), "flash");
	CHECK_EQ_STR(bs_suggest("stauts", cmds, 9), "status");
	CHECK_EQ_STR(bs_suggest("insp", cmds, 9), "inspect");
	CHECK_EQ_STR(bs_suggest("lsit", cmds, 9), "list");
	CHECK(bs_suggest("xyzzy", cmds, 9) == NULL);
	CHECK(bs_suggest("x", cmds, 9) == NULL);
}

static void test_list(void)
{
	char *line, *save = NULL;
	int lines = 0;

	CHECK_EQ_INT(RUN(cmd_list, "list", "--all"), BS_EXIT_OK);
	CHECK(!strncmp(out, "DEVICE ", 7) || errtext[0]);
	CHECK_EQ_INT(RUN(cmd_list, "list", "--all", "--json"), BS_EXIT_OK);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		CHECK(!strncmp(line, "{\"device\":\"/dev/", 16));
		CHECK(line[strlen(line) - 1] == '}');
		CHECK(strstr(line, "\"usable\":"));
	}
	/* every line is a drive: as many as the table has rows */
	CHECK_EQ_INT(RUN(cmd_list, "list", "-a"), BS_EXIT_OK);
	{
		int rows = -1; /* the header */
		char *p;

		for (p = out; (p = strchr(p, '\n')); p++)
			rows++;
		if (lines)
			CHECK_EQ_INT(rows, lines);
	}
}

/* The host never has the module loaded. */
static void test_no_module(void)
{
	if (!access("/sys/module/bootseal", F_OK))
		return;
	CHECK_EQ_INT(RUN(cmd_status, "status"), BS_EXIT_FAILURE);
	CHECK(strstr(errtext,
		     "bootseal: Unable to query the sessions: bootseal module is not loaded"));
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(RUN(cmd_monitor, "monitor", "--json"), BS_EXIT_FAILURE);
	CHECK(strstr(errtext,
		     "bootseal: Unable to monitor the sessions: bootseal module is not loaded"));
	CHECK(strstr(errtext, "load it with 'sudo modprobe bootseal'"));
	CHECK_EQ_INT(RUN(cmd_status, "status", "--json"), BS_EXIT_FAILURE);
	CHECK(strstr(errtext, "load it with 'sudo modprobe bootseal'"));
}

int main(void)
{
	test_usage();
	test_usage_errors();
	test_list();
	test_no_module();
	return unit_done();
}
