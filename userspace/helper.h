/* SPDX-License-Identifier: GPL-2.0 */
/* The bootseal helper: subcommands, exit codes and shared diagnostics. */
#ifndef BOOTSEAL_HELPER_H
#define BOOTSEAL_HELPER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Exit status, documented in bootseal(8). With several targets the most
 * severe failure wins, in this order: usage, image, device, write, verify.
 */
enum bs_exit {
	BS_EXIT_OK = 0,	      /* every target sealed and verified */
	BS_EXIT_FAILURE = 1,  /* anything not covered below */
	BS_EXIT_USAGE = 2,    /* bad command line, declined confirmation */
	BS_EXIT_IMAGE = 3,    /* image unreadable, corrupt, bad bmap/checksum */
	BS_EXIT_DEVICE = 4,   /* target refused, busy, missing, too small */
	BS_EXIT_WRITE = 5,    /* a write, flush or seal failed */
	BS_EXIT_VERIFY = 6,   /* read-back differs from the image */
	BS_EXIT_USB = 7,      /* usbboot failed */
	BS_EXIT_SIGNAL = 128, /* + the signal: interrupted (129 SIGHUP, 130 SIGINT,
				 143 SIGTERM) */
};

struct bs_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
};

extern const char *bs_prog;

/* Every subcommand: argv[0] is the subcommand name, returns enum bs_exit. */
int cmd_flash(int argc, char **argv);
int cmd_boot(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_stage(int argc, char **argv);
int cmd_partitions(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_unstage(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* "bootseal: <message>" on stderr. */
void bs_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message bs_error() printed in this thread ("" if none). */
extern _Thread_local char bs_last_error[512];
void bs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: "bootseal: <message>" and "Try 'bootseal CMD --help'." */
int bs_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "Try 'bootseal CMD --help'." (@cmd NULL: "Try 'bootseal --help'.") */
void bs_try_help(const char *cmd);
/*
 * The candidate closest to @word: the only one it is a prefix of, or one
 * at most two edits away (fewer than @word has letters). NULL if none.
 */
const char *bs_suggest(const char *word, const char *const *cands, size_t n);

#endif /* BOOTSEAL_HELPER_H */
