// SPDX-License-Identifier: GPL-2.0
/* bootseal: one table drives dispatch and the usage text. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct bs_command commands[] = {
	{"flash", cmd_flash, "Write an image to one or more targets, seal and verify"},
	{"boot", cmd_boot, "Boot Compute Modules over USB into mass-storage devices"},
	{"verify", cmd_verify, "Compare a device with an image"},
	{"inspect", cmd_inspect, "Show the partition table and boot files of an image or device"},
	{"stage", cmd_stage, "Stage a disk for an imaging script or another writer"},
	{"partitions", cmd_partitions, "Map the partitions of a staged disk"},
	{"seal", cmd_seal, "Seal a staged disk: bootable only once all of it is written"},
	{"unstage", cmd_unstage, "Give up a staged disk: it is left without a partition table"},
	{"run", cmd_run, "Stage a disk, run a command, seal only if it succeeds"},
	{"list", cmd_list, "List candidate target drives, and why a drive is refused"},
	{"status", cmd_status, "Show live flashing sessions"},
	{"monitor", cmd_monitor, "Follow every flashing event"},
	{"help", cmd_help, "Show this help, or a command's help"},
	{"version", cmd_version, "Show the helper's and the module's versions"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: %s <command> [<args>]\n\nCommands:\n", bs_prog);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun '%s <command> --help' for a command's options.\n", bs_prog);
}

static const struct bs_command *find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct bs_command *c;
	char *hargv[] = {NULL, "--help", NULL};

	if (argc < 2) {
		usage(stdout);
		return BS_EXIT_OK;
	}
	c = find(argv[1]);
	if (!c || c->run == cmd_help || c->run == cmd_version) {
		if (c) {
			printf("Usage: %s %s\n  %s\n", bs_prog, c->name, c->summary);
			return BS_EXIT_OK;
		}
		bs_error("Unable to show help for '%s': no such command", argv[1]);
		bs_try_help(NULL);
		return BS_EXIT_USAGE;
	}
	hargv[0] = (char *)c->name;
	return c->run(2, hargv);
}

#define MODULE_VERSION_PATH "/sys/module/bootseal/version"

/*
 * The loaded module's version into @buf: 1 when read, 0 when the module is
 * not loaded, -1 (with @why) when it is loaded but the version is unreadable.
 */
static int module_version(char *buf, size_t len, const char **why)
{
	FILE *f = fopen(MODULE_VERSION_PATH, "re");
	size_t n;

	if (!f) {
		if (errno == ENOENT && access("/sys/module/bootseal", F_OK))
			return 0;
		*why = strerror(errno);
		return -1;
	}
	if (!fgets(buf, (int)len, f)) {
		*why = ferror(f) ? strerror(errno) : "empty file";
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	for (n = 0; buf[n]; n++) {
		if (buf[n] < 0x21 || buf[n] > 0x7e) {
			*why = "not a version string";
			return -1;
		}
	}
	if (!n) {
		*why = "empty file";
		return -1;
	}
	return 1;
}

static int cmd_version(int argc, char **argv)
{
	const char *why = NULL;
	char mod[64];

	printf("bootseal %s\n", BOOTSEAL_VERSION);
	switch (module_version(mod, sizeof(mod), &why)) {
	case 1:
		printf("module   %s\n", mod);
		if (strcmp(mod, BOOTSEAL_VERSION))
			bs_warn("the helper (%s) and the loaded module (%s) differ; install "
				"both from one source tree (make install dkms-install)",
				BOOTSEAL_VERSION, mod);
		break;
	case 0:
		printf("module   not loaded\n");
		break;
	default:
		printf("module   unknown\n");
		bs_warn("Unable to read %s: %s", MODULE_VERSION_PATH, why);
		break;
	}
	return BS_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct bs_command *c;

	if (argc < 2) {
		usage(stderr);
		return BS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return cmd_version(1, argv + 1);
	c = find(argv[1]);
	if (!c) {
		const char *names[sizeof(commands) / sizeof(commands[0])];
		const char *s;
		size_t i;

		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			names[i] = commands[i].name;
		s = argv[1][0] == '-' ? NULL : bs_suggest(argv[1], names, i);
		if (s)
			bs_error("Unable to run '%s': no such command; did you mean '%s'?", argv[1],
				 s);
		else if (argv[1][0] == '-')
			bs_error("Unable to run '%s': give a command first, e.g. '%s flash %s ...'",
				 argv[1], bs_prog, argv[1]);
		else
			bs_error("Unable to run '%s': no such command", argv[1]);
		bs_try_help(NULL);
		return BS_EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
