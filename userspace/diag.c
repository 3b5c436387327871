// SPDX-License-Identifier: GPL-2.0
/* Diagnostics: data goes to stdout, every diagnostic to stderr. */
#include <stdio.h>
#include <string.h>

#include "helper.h"

const char *bs_prog = "bootseal";

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", bs_prog, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

_Thread_local char bs_last_error[512];

void bs_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bs_last_error, sizeof(bs_last_error), fmt, ap);
	va_end(ap);
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

/* Optimal string alignment distance (edits and swaps of neighbours), capped. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, k;
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (k = 0; k <= lb; k++)
		d[0][k] = k;
	for (i = 1; i <= la; i++)
		for (k = 1; k <= lb; k++) {
			size_t v = d[i - 1][k - 1] + (a[i - 1] != b[k - 1]);

			if (d[i - 1][k] + 1 < v)
				v = d[i - 1][k] + 1;
			if (d[i][k - 1] + 1 < v)
				v = d[i][k - 1] + 1;
			if (i > 1 && k > 1 && a[i - 1] == b[k - 2] && a[i - 2] == b[k - 1] &&
			    d[i - 2][k - 2] + 1 < v)
				v = d[i - 2][k - 2] + 1;
			d[i][k] = v;
		}
	return d[la][lb];
}

const char *bs_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL, *prefix = NULL;
	size_t i, bd = 99, len = strlen(word), nprefix = 0;

	if (!len)
		return NULL;
	for (i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		if (!strncmp(cands[i], word, len)) {
			prefix = cands[i];
			nprefix++;
		}
		d = distance(word, cands[i]);
		if (d < bd) {
			bd = d;
			best = cands[i];
		}
	}
	if (nprefix == 1)
		return prefix;
	/* at most two edits, and fewer than the word has letters */
	return bd <= 2 && bd < len ? best : NULL;
}

void bs_try_help(const char *cmd)
{
	if (cmd)
		fprintf(stderr, "Try '%s %s --help'.\n", bs_prog, cmd);
	else
		fprintf(stderr, "Try '%s --help'.\n", bs_prog);
}

int bs_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
	bs_try_help(cmd);
	return BS_EXIT_USAGE;
}
