// SPDX-License-Identifier: GPL-2.0
/* Diagnostics: data goes to stdout, every diagnostic to stderr. */
#include <getopt.h>
#include <stdio.h>

#include "bootseal.h"

const char *bs_prog = "bootseal";

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", bs_prog, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void bs_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void bs_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

int bs_getopt_fail(int c, char **argv)
{
	if (c == ':')
		bs_error("Unable to parse the command line: %s needs an argument",
			 argv[optind - 1]);
	else if (optopt)
		bs_error("Unable to parse the command line: unknown option '-%c'", optopt);
	else
		bs_error("Unable to parse the command line: unknown option '%s'",
			 argv[optind - 1]);
	if (c != ':')
		fprintf(stderr, "Try '%s %s --help'.\n", bs_prog, argv[0]);
	return BS_EXIT_USAGE;
}

int bs_extra_args(char **argv)
{
	bs_error("Unable to parse the command line: unexpected argument '%s'", argv[optind]);
	fprintf(stderr, "Try '%s %s --help'.\n", bs_prog, argv[0]);
	return BS_EXIT_USAGE;
}
