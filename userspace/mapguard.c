// SPDX-License-Identifier: GPL-2.0
/* SIGBUS-safe reads of file mappings (see mapguard.h). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "mapguard.h"

/* Where a SIGBUS in this thread jumps to, NULL outside a guarded read. */
static __thread sigjmp_buf *volatile guard_jmp;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *jb = guard_jmp;

	(void)si;
	(void)uc;
	if (jb)
		siglongjmp(*jb, 1);
	/* not ours: die of it as if there were no handler */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int bs_map_guarded(void (*fn)(void *arg), void *arg)
{
	sigjmp_buf jb;

	pthread_once(&guard_once, guard_install);
	if (sigsetjmp(jb, 1)) {
		guard_jmp = NULL;
		return -1;
	}
	guard_jmp = &jb;
	fn(arg);
	guard_jmp = NULL;
	return 0;
}

struct cmp_job {
	const void *a, *b;
	size_t n;
	int res;
};

static void cmp_fn(void *arg)
{
	struct cmp_job *j = arg;

	j->res = memcmp(j->a, j->b, j->n);
}

int bs_map_memcmp(const void *a, const void *b, size_t n, int *res)
{
	struct cmp_job j = {a, b, n, 0};

	if (bs_map_guarded(cmp_fn, &j))
		return -1;
	*res = j.res;
	return 0;
}
