/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON emitter for "one object per line" output (--json): build an
 * object with the bs_json_* calls, then bs_json_print() writes it as one line
 * with a single write, so lines from several threads never interleave.
 *
 *   struct bs_json j;
 *
 *   bs_json_begin(&j);
 *   bs_json_str(&j, "type", "event");
 *   bs_json_uint(&j, "session", 3);
 *   bs_json_print(&j, stdout);		(also frees)
 *
 * Inside an array pass NULL as the key. Strings are escaped per RFC 8259;
 * bytes that are not valid UTF-8 become U+FFFD, so the output is always valid
 * JSON whatever a device reports as its model name. Non-finite numbers are
 * written as null. Allocation failures are sticky: bs_json_print() then
 * returns -1 and writes nothing.
 */
#ifndef BOOTSEAL_JSON_H
#define BOOTSEAL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BS_JSON_MAX_DEPTH 16

struct bs_json {
	char *buf;
	size_t len;
	size_t cap;
	int depth;			/* open objects/arrays */
	bool first[BS_JSON_MAX_DEPTH];	/* next member is the first at this depth */
	char closer[BS_JSON_MAX_DEPTH]; /* '}' or ']' */
	bool failed;			/* out of memory or misuse */
};

/* Start a top-level object ("{"). */
void bs_json_begin(struct bs_json *j);

void bs_json_str(struct bs_json *j, const char *key, const char *val); /* NULL val: null */
void bs_json_int(struct bs_json *j, const char *key, int64_t val);
void bs_json_uint(struct bs_json *j, const char *key, uint64_t val);
/* @decimals digits after the point (0-9); NaN and infinities are null. */
void bs_json_double(struct bs_json *j, const char *key, double val, int decimals);
void bs_json_bool(struct bs_json *j, const char *key, bool val);
void bs_json_null(struct bs_json *j, const char *key);

void bs_json_object_begin(struct bs_json *j, const char *key);
void bs_json_object_end(struct bs_json *j);
void bs_json_array_begin(struct bs_json *j, const char *key);
void bs_json_array_end(struct bs_json *j);

/*
 * Close every open container and return the text (no newline), owned by
 * @j; NULL after an allocation failure or misuse. Free with bs_json_free().
 */
const char *bs_json_finish(struct bs_json *j);
/* bs_json_finish(), write the text and '\n' to @f, flush, free. 0 or -1. */
int bs_json_print(struct bs_json *j, FILE *f);
void bs_json_free(struct bs_json *j);

/*
 * Append @s as a quoted, escaped JSON string to @out (capacity @outlen,
 * always NUL-terminated). Returns the length the full text needs (without
 * the NUL), like snprintf.
 */
size_t bs_json_quote(const char *s, char *out, size_t outlen);

#endif /* BOOTSEAL_JSON_H */
