/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal unit-test support: CHECK() records a failure and goes on,
 * REQUIRE() stops the test. unit_done() is the exit status of main().
 */
#ifndef BOOTSEAL_UNIT_H
#define BOOTSEAL_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		unit_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			unit_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		unit_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		unit_checks++;                                                                     \
		if (_a != _b) {                                                                    \
			unit_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",          \
				__FILE__, __LINE__, #a, #b, _a, _b);                               \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		unit_checks++;                                                                     \
		if (!_a || !_b || strcmp(_a, _b)) {                                                \
			unit_failures++;                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",      \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",                    \
				_b ? _b : "(null)");                                               \
		}                                                                                  \
	} while (0)

/* Runs a shell command built from @fmt; says which command failed. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "command too long: %.80s...\n", cmd);
		return -1;
	}
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* Points @target (1 or 2) at @fd; returns the saved @target for unredirect(). */
static inline int redirect(int target, int fd)
{
	int saved;

	fflush(stdout);
	fflush(stderr);
	saved = dup(target);
	REQUIRE(saved >= 0);
	dup2(fd, target);
	return saved;
}

/* Puts @target back as redirect() found it. */
static inline void unredirect(int target, int saved)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved, target);
	close(saved);
}

/* Runs @fn(@argc, @argv) with its stdout on @ofd and its stderr on @efd. */
static inline int run_redirected(int (*fn)(int, char **), int argc, char **argv, int ofd, int efd)
{
	int so = redirect(1, ofd), se = redirect(2, efd), r;

	r = fn(argc, argv);
	unredirect(2, se);
	unredirect(1, so);
	return r;
}

/* Reads the temporary file @fd (at @path) into @buf as a string; closes and removes it. */
static inline void read_tmp(int fd, const char *path, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

/* @runner(@fn, argc, argv) with the arguments after @fn as argv[]. */
#define RUN_ARGS(runner, fn, ...)                                                                  \
	({                                                                                         \
		char *_argv[] = {__VA_ARGS__, NULL};                                               \
		runner(fn, (int)(sizeof(_argv) / sizeof(_argv[0])) - 1, _argv);                    \
	})

static inline int unit_done(void)
{
	fprintf(stderr, "%d checks, %d failed\n", unit_checks, unit_failures);
	if (unit_checks == 0) {
		fprintf(stderr, "no checks ran\n");
		return 1;
	}
	return unit_failures ? 1 : 0;
}

#endif /* BOOTSEAL_UNIT_H */
