// SPDX-License-Identifier: GPL-2.0
/*
 * The documentation agrees with the code: for every subcommand the options
 * of its table (opts.h), those in its --help, in its section of bootseal(8)
 * and those bash completion offers are the same set (long and one-letter;
 * -h/--help aside, which every command takes). Also: the man page's synopsis names every option
 * of status, flash --help lists every exit status flash can end with, the
 * USB ids boot handles are named alike in boot --help, the man page and
 * the README, and completion never offers the disk that holds /.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "opts.h"
#include "unit.h"

static const char *src;
static char out[65536];

/* Run @fn(argc, argv) with stdout captured into out. */
static int run(int (*fn)(int, char **), char *a0, char *a1)
{
	char opath[] = "/tmp/bs-docs-out-XXXXXX";
	char *argv[] = {a0, a1, NULL};
	int ofd = mkstemp(opath), so, ret;

	REQUIRE(ofd >= 0);
	so = redirect(1, ofd);
	ret = fn(2, argv);
	unredirect(1, so);
	read_tmp(ofd, opath, out, sizeof(out));
	return ret;
}

/* A set of option words, kept sorted and unique, as one " a b c " string. */
struct set {
	char s[2048];
};

static void add(struct set *set, const char *w, size_t len)
{
	char word[64], *words[128], buf[2048], *tok, *save = NULL;
	size_t n = 0, i, k;

	if (len >= sizeof(word) || !len)
		return;
	memcpy(word, w, len);
	word[len] = '\0';
	if (!strcmp(word, "-h") || !strcmp(word, "--help"))
		return;
	snprintf(buf, sizeof(buf), "%s", set->s);
	for (tok = strtok_r(buf, " ", &save); tok && n < 127; tok = strtok_r(NULL, " ", &save))
		words[n++] = tok;
	for (i = 0; i < n; i++)
		if (!strcmp(words[i], word))
			return;
	words[n++] = word;
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && strcmp(words[k - 1], words[k]) > 0; k--) {
			char *t = words[k];

			words[k] = words[k - 1];
			words[k - 1] = t;
		}
	set->s[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(set->s, " ", sizeof(set->s) - strlen(set->s) - 1);
		strncat(set->s, words[i], sizeof(set->s) - strlen(set->s) - 1);
	}
}

/* Every "-x" and "--word" in @s (after "\-" became "-"). */
static void scan(struct set *set, const char *s)
{
	const char *p = s;

	while ((p = strchr(p, '-'))) {
		size_t n = 0;

		if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '-')) {
			p++;
			continue;
		}
		if (p[1] == '-') {
			n = 2;
			while (isalnum((unsigned char)p[n]) || p[n] == '-')
				n++;
			if (n > 2)
				add(set, p, n);
		} else if (isalpha((unsigned char)p[1]) && !isalnum((unsigned char)p[2]) &&
			   p[2] != '-') {
			n = 2;
			add(set, p, n);
		}
		p += n ? n : 1;
	}
}

/* Options of @cmd's --help: the first column of lines that start with "-". */
static void help_set(struct set *set, int (*fn)(int, char **), const char *cmd)
{
	char *line, *save = NULL;

	memset(set, 0, sizeof(*set));
	CHECK_EQ_INT(run(fn, (char *)cmd, "--help"), BS_EXIT_OK);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *end;

		while (*line == ' ')
			line++;
		if (*line != '-')
			continue;
		end = strstr(line, "  ");
		if (end)
			*end = '\0';
		scan(set, line);
	}
}

static char *slurp(const char *rel)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", src, rel);
	f = fopen(path, "r");
	REQUIRE(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	REQUIRE(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return buf;
}

/* "\-" -> "-", in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++)
		if (!(s[0] == '\\' && s[1] == '-'))
			*d++ = *s;
	*d = '\0';
}

/* Options defined in @cmd's section of the man page: the line after each .TP. */
static void man_set(struct set *set, const char *man, const char *cmd)
{
	char head[64], *sec, *end, *line, *save = NULL;
	bool tp = false;

	memset(set, 0, sizeof(*set));
	snprintf(head, sizeof(head), "\n.SS %s\n", cmd);
	sec = strstr(man, head);
	REQUIRE(sec);
	sec = strdup(sec + strlen(head));
	REQUIRE(sec);
	end = strstr(sec, "\n.SS ");
	if (end)
		*end = '\0';
	end = strstr(sec, "\n.SH ");
	if (end)
		*end = '\0';
	unescape(sec);
	for (line = strtok_r(sec, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (tp)
			scan(set, line);
		tp = !strcmp(line, ".TP");
	}
	free(sec);
}

/* What completion offers after "bootseal CMD -". */
static void completion_set(struct set *set, const char *cmd)
{
	char line[256];
	FILE *p;

	memset(set, 0, sizeof(*set));
	snprintf(out, sizeof(out),
		 "bash -c '. %s/userspace/completion/bootseal; COMP_WORDS=(bootseal %s -); "
		 "COMP_CWORD=2; _bootseal; printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
		 src, cmd);
	p = popen(out, "r");
	REQUIRE(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		scan(set, line);
	}
	CHECK_EQ_INT(pclose(p), 0);
}

/* Every option of @set, long and one-letter, as the other sets hold them. */
static void table_set(struct set *set, const struct bs_optset *os)
{
	char w[64];
	size_t i;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < os->n; i++) {
		snprintf(w, sizeof(w), "--%s", os->opts[i].name);
		add(set, w, strlen(w));
		if (os->opts[i].short_name) {
			snprintf(w, sizeof(w), "-%c", os->opts[i].short_name);
			add(set, w, 2);
		}
	}
}

/*
 * For every subcommand, the options of its table are exactly those its
 * --help lists (generated from the table), its section of the man page
 * defines and bash completion offers: one the docs lack, or one they name
 * that the table does not have, fails.
 */
static void test_option_sets(void)
{
	static const struct {
		const struct bs_optset *set;
		int (*fn)(int, char **);
	} cmds[] = {
		{&bs_flash_optset, cmd_flash},	   {&bs_boot_optset, cmd_boot},
		{&bs_verify_optset, cmd_verify},   {&bs_inspect_optset, cmd_inspect},
		{&bs_list_optset, cmd_list},	   {&bs_status_optset, cmd_status},
		{&bs_monitor_optset, cmd_monitor}, {&bs_stage_optset, cmd_stage},
		{&bs_run_optset, cmd_run},	   {&bs_partitions_optset, cmd_partitions},
		{&bs_seal_optset, cmd_seal},	   {&bs_unstage_optset, cmd_unstage},
	};
	char *man = slurp("userspace/man/bootseal.8");
	struct set t, h, m, c;
	size_t i, total = 0;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *name = cmds[i].set->cmd;

		table_set(&t, cmds[i].set);
		help_set(&h, cmds[i].fn, name);
		man_set(&m, man, name);
		completion_set(&c, name);
		fprintf(stderr, "%s:\n  table:%s\n  help: %s\n  man:  %s\n  bash: %s\n", name, t.s,
			h.s, m.s, c.s);
		CHECK_EQ_STR(h.s, t.s);
		CHECK_EQ_STR(m.s, t.s);
		CHECK_EQ_STR(c.s, t.s);
		total += cmds[i].set->n;
	}
	/* the tables are not empty: flash alone has more than twenty options */
	CHECK(total > 40);
	free(man);
}

/* The synopsis names every option of status (and monitor). */
static void test_synopsis(void)
{
	char *man = slurp("userspace/man/bootseal.8"), *syn, *end;

	unescape(man);
	syn = strstr(man, ".SH SYNOPSIS");
	REQUIRE(syn);
	end = strstr(syn, ".SH DESCRIPTION");
	REQUIRE(end);
	*end = '\0';
	syn = strstr(syn, ".B bootseal status");
	REQUIRE(syn);
	end = strstr(syn, ".br");
	REQUIRE(end);
	*end = '\0';
	CHECK(strstr(syn, "--json") && strstr(syn, "--session"));
	free(man);
}

static void test_exit_and_ids(void)
{
	char *man = slurp("userspace/man/bootseal.8"), *readme = slurp("README.md"), *sec;
	const char *code;

	CHECK_EQ_INT(run(cmd_flash, "flash", "--help"), BS_EXIT_OK);
	/* every status flash can end with; 7 with --usbboot */
	for (code = "0123456"; *code; code++) {
		char want[8];

		snprintf(want, sizeof(want), " %c ", *code);
		if (!strstr(out, want))
			want[0] = '\n';
		CHECK(strstr(out, want) != NULL);
	}
	CHECK(strstr(out, "7 USB boot failed") != NULL);
	CHECK(strstr(out, "130") && strstr(out, "143"));

	CHECK_EQ_INT(run(cmd_boot, "boot", "--help"), BS_EXIT_OK);
	CHECK(strstr(out, "0a5c:2763/2764/2711/2712") != NULL);
	sec = strstr(man, ".SS boot");
	REQUIRE(sec);
	CHECK(strstr(sec, "0a5c:2712") && strstr(sec, "0a5c:2711"));
	CHECK(strstr(readme, "(0a5c:2763, 2764, 2711, 2712)") != NULL);
	free(man);
	free(readme);
}

/* What completion offers after "@bs flash x.img /dev/". */
static void offered(const char *bs, char *buf, size_t len)
{
	char cmd[1024], line[256];
	FILE *p;

	buf[0] = '\0';
	snprintf(cmd, sizeof(cmd),
		 "bash -c '. %s/userspace/completion/bootseal; "
		 "COMP_WORDS=(%s flash x.img /dev/); COMP_CWORD=3; _bootseal; "
		 "printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
		 src, bs);
	p = popen(cmd, "r");
	REQUIRE(p);
	while (fgets(line, sizeof(line), p))
		strncat(buf, line, len - strlen(buf) - 1);
	pclose(p);
}

/* Completion never offers the disk holding / (when this machine has one). */
static void test_no_system_disk(void)
{
	char root[64] = "", want[80], got[4096], bs[512];
	FILE *p;

	p = popen("s=$(findmnt -no SOURCE / 2>/dev/null) && "
		  "lsblk -ndo PKNAME,NAME \"$s\" 2>/dev/null | awk '{print $1}'",
		  "r");
	if (p) {
		if (fgets(root, sizeof(root), p))
			root[strcspn(root, "\n")] = '\0';
		pclose(p);
	}
	if (!root[0]) {
		fprintf(stderr,
			"no block device holds /: completion of the system disk not checked\n");
		return;
	}
	snprintf(want, sizeof(want), "/dev/%s\n", root);
	/* without a bootseal to ask */
	offered("/nonexistent/bootseal", got, sizeof(got));
	CHECK(!strstr(got, want));
	/* asking the helper (bootseal list --json) */
	snprintf(bs, sizeof(bs), "%s/build/bootseal", src);
	if (!access(bs, X_OK)) {
		offered(bs, got, sizeof(got));
		CHECK(!strstr(got, want));
	}
}

/* Staged devices: every command has its man section, the README its section and one-liner. */
static void test_staged_docs(void)
{
	static const char *const cmds[] = {"stage", "partitions", "seal", "unstage", "run"};
	char *man = slurp("userspace/man/bootseal.8"), *readme = slurp("README.md"), head[32];
	struct set c;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(head, sizeof(head), "\n.SS %s\n", cmds[i]);
		CHECK(strstr(man, head) != NULL);
	}
	CHECK(strstr(man, ".SH STAGED DEVICES") != NULL);
	CHECK(strstr(readme, "\n## Imaging scripts: staged devices\n") != NULL);
	CHECK(strstr(readme, "bootseal run /dev/sdb -- ./make-card.sh") != NULL);
	CHECK(strstr(readme, "bootseal partitions \"$BOOTSEAL_DEV\"") != NULL);
	/* the commands that take only NAME offer only --help */
	for (i = 1; i < 4; i++) {
		completion_set(&c, cmds[i]);
		CHECK_EQ_STR(c.s, "");
		CHECK_EQ_INT(run(cmds[i][0] == 'p'   ? cmd_partitions
				 : cmds[i][0] == 's' ? cmd_seal
						     : cmd_unstage,
				 (char *)cmds[i], "--help"),
			     BS_EXIT_OK);
		CHECK(strstr(out, "Usage: ") && strstr(out, " NAME"));
	}
	free(man);
	free(readme);
}

int main(void)
{
	src = getenv("BOOTSEAL_SRC");
	if (!src)
		src = ".";
	test_option_sets();
	test_synopsis();
	test_exit_and_ids();
	test_staged_docs();
	test_no_system_disk();
	return unit_done();
}
