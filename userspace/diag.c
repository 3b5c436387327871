// SPDX-License-Identifier: GPL-2.0
/* Diagnostics: data goes to stdout, every diagnostic to stderr. */
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
