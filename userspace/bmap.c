// SPDX-License-Identifier: GPL-2.0
/*
 * bmaptool block maps, formats 1.0 to 1.4 and 2.x, parsed with libxml2.
 *
 * Format history (as bmaptool reads it): 1.0-1.2 carry no checksums; 1.3
 * has a "sha1" attribute per Range and a BmapFileSHA1 element; 1.4 (a
 * mistaken early name of 2.0) and 2.x name the algorithm in ChecksumType,
 * put it in a "chksum" attribute and BmapFileChecksum. The file checksum is
 * computed over the file with the checksum text replaced by ASCII zeros.
 *
 * The file is untrusted: documents with a DTD are refused (no entity
 * tricks), numbers are plain decimal without overflow, ranges must be
 * sorted, disjoint, inside the image and add up to MappedBlocksCount.
 * Unknown elements are ignored, as bmaptool does, so minor format
 * extensions still load.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "bmap.h"
#include "http.h"
#include "imagecheck.h"
#include "sha.h"

#define BMAP_MAX_BYTES (64u << 20) /* a bmap of a fragmented 2 TB image fits */
#define BLOCK_SIZE_MAX (1u << 30)

_Static_assert((int)BS_HASH_SHA1 == (int)BS_BMAP_CSUM_SHA1, "hash ids match bmap ids");
_Static_assert((int)BS_HASH_SHA256 == (int)BS_BMAP_CSUM_SHA256, "hash ids match bmap ids");

struct parse {
	const char *name;
	char *err;
	size_t errlen;
	const char *xml; /* the raw file, for the file checksum */
	size_t len;
	struct bs_bmap *b;
	enum bs_bmap_csum file_csum; /* algorithm named by the format */
	const char *range_attr;	     /* "sha1", "chksum" or NULL */
	const char *file_csum_elem;  /* "BmapFileSHA1", "BmapFileChecksum" or NULL */
	bool csum_type_elem;	     /* the format has a ChecksumType element */
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse *p, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->name, reason);
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trim in place; returns the start. */
static char *trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	return s;
}

/* Plain decimal digits, no sign, no overflow. Consumes *s. */
static int parse_u64(const char **s, uint64_t *out)
{
	const char *c = *s;
	uint64_t v = 0;

	if (*c < '0' || *c > '9')
		return -1;
	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned int d = (unsigned int)(*c - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*s = c;
	*out = v;
	return 0;
}

/*
 * The text of an element that may only hold text (and comments). Returns
 * a malloc'd string or NULL (message set).
 */
static char *elem_text(struct parse *p, xmlNode *n)
{
	size_t len = 0;
	xmlNode *c;
	char *s;

	for (c = n->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
			fail(p, "element %s may only contain text", (const char *)n->name);
			return NULL;
		}
		len += c->content ? strlen((const char *)c->content) : 0;
	}
	s = malloc(len + 1);
	if (!s) {
		fail(p, "out of memory");
		return NULL;
	}
	len = 0;
	for (c = n->children; c; c = c->next) {
		size_t add;

		if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
			continue;
		add = strlen((const char *)c->content);
		memcpy(s + len, c->content, add);
		len += add;
	}
	s[len] = '\0';
	return s;
}

/* The element's text with @t at it trimmed; the text to free, NULL on failure. */
static char *elem_trimmed(struct parse *p, xmlNode *n, const char **t)
{
	char *s = elem_text(p, n);

	if (s)
		*t = trim(s);
	return s;
}

static int elem_u64(struct parse *p, xmlNode *n, uint64_t *out)
{
	const char *t = NULL;
	char *s = elem_trimmed(p, n, &t);
	int r = 0;

	if (!s)
		return -1;
	if (parse_u64(&t, out) || *t)
		r = fail(p, "%s \"%.40s\" is not a non-negative decimal number",
			 (const char *)n->name, trim(s));
	free(s);
	return r;
}

static int parse_version(struct parse *p, xmlNode *root)
{
	xmlChar *v = xmlGetProp(root, (const xmlChar *)"version");
	const char *s = (const char *)v;
	uint64_t major = 0, minor = 0;
	int r = 0;

	if (!v)
		return fail(p, "the bmap element has no version attribute");
	s = (const char *)v;
	while (is_space(*s))
		s++;
	if (parse_u64(&s, &major) || *s++ != '.' || parse_u64(&s, &minor))
		r = fail(p, "bad bmap format version \"%.20s\"", (const char *)v);
	while (!r && is_space(*s))
		s++;
	if (!r && *s)
		r = fail(p, "bad bmap format version \"%.20s\"", (const char *)v);
	if (!r && !((major == 1 && minor <= 4) || (major == 2 && minor < 1000)))
		r = fail(p, "unsupported bmap format version %.20s (supported: 1.0 to 1.4 and 2.x)",
			 (const char *)v);
	if (!r) {
		p->b->major = (unsigned int)major;
		p->b->minor = (unsigned int)minor;
	}
	xmlFree(v);
	return r;
}

static int parse_csum_type(struct parse *p, xmlNode *n)
{
	const char *t = NULL;
	char *s = elem_trimmed(p, n, &t);
	int r = 0;

	if (!s)
		return -1;
	if (!strcasecmp(t, "sha256"))
		p->file_csum = BS_BMAP_CSUM_SHA256;
	else if (!strcasecmp(t, "sha1"))
		p->file_csum = BS_BMAP_CSUM_SHA1;
	else
		r = fail(p, "unsupported checksum type \"%.40s\" (supported: sha1, sha256)", t);
	free(s);
	return r;
}

/*
 * The file checksum: the first occurrence of the stored hex text in the
 * file is replaced with zeros before hashing (bmaptool does the same).
 */
static int verify_file_csum(struct parse *p, xmlNode *n)
{
	size_t hexlen = 2 * bs_hash_len((enum bs_hash_alg)p->file_csum);
	unsigned char want[BS_HASH_MAX_LEN], got[BS_HASH_MAX_LEN];
	char *s = elem_text(p, n), *t, *copy = NULL, *at;
	int r = -1;

	if (!s)
		return -1;
	t = trim(s);
	if (strlen(t) != hexlen || bs_hex_parse(t, hexlen, want, hexlen / 2)) {
		fail(p, "%s must be %zu hex digits", (const char *)n->name, hexlen);
		goto out;
	}
	at = memmem(p->xml, p->len, t, hexlen);
	if (!at) {
		fail(p, "cannot locate the %s value in the file", (const char *)n->name);
		goto out;
	}
	copy = malloc(p->len);
	if (!copy) {
		fail(p, "out of memory");
		goto out;
	}
	memcpy(copy, p->xml, p->len);
	memset(copy + (at - p->xml), '0', hexlen);
	if (bs_hash_buf((enum bs_hash_alg)p->file_csum, copy, p->len, got)) {
		fail(p, "cannot compute the %s checksum",
		     bs_hash_name((enum bs_hash_alg)p->file_csum));
		goto out;
	}
	if (!bs_hash_equal(want, got, hexlen / 2)) {
		char hex[2 * BS_HASH_MAX_LEN + 1];

		bs_hex_format(got, hexlen / 2, hex);
		fail(p,
		     "%s mismatch: the file's checksum is %s, it says %s (the bmap file is corrupt "
		     "or was edited)",
		     (const char *)n->name, hex, t);
		goto out;
	}
	r = 0;
out:
	free(copy);
	free(s);
	return r;
}

static int parse_range(struct parse *p, xmlNode *n, size_t i, bool *has_csum)
{
	struct bs_bmap_range *r = &p->b->ranges[i];
	char *s = elem_text(p, n), *t;
	const char *c;
	xmlChar *attr = NULL;
	int ret = -1;

	if (!s)
		return -1;
	t = trim(s);
	c = t;
	if (parse_u64(&c, &r->first)) {
		fail(p, "range %zu \"%.40s\" is not a block number or FIRST-LAST", i + 1, t);
		goto out;
	}
	while (is_space(*c))
		c++;
	if (*c == '-') {
		c++;
		while (is_space(*c))
			c++;
		if (parse_u64(&c, &r->last)) {
			fail(p, "range %zu \"%.40s\" is not a block number or FIRST-LAST", i + 1,
			     t);
			goto out;
		}
	} else {
		r->last = r->first;
	}
	if (*c) {
		fail(p, "range %zu \"%.40s\" is not a block number or FIRST-LAST", i + 1, t);
		goto out;
	}
	if (r->first > r->last) {
		fail(p, "range %zu (%llu-%llu) ends before it starts", i + 1,
		     (unsigned long long)r->first, (unsigned long long)r->last);
		goto out;
	}
	*has_csum = false;
	if (p->range_attr)
		attr = xmlGetProp(n, (const xmlChar *)p->range_attr);
	if (attr) {
		size_t hexlen = 2 * bs_hash_len((enum bs_hash_alg)p->file_csum);
		const char *a = (const char *)attr;

		if (strlen(a) != hexlen || bs_hex_parse(a, hexlen, r->csum, hexlen / 2)) {
			fail(p,
			     "range %zu (%llu-%llu): %s checksum must be %zu hex digits, got "
			     "\"%.80s\"",
			     i + 1, (unsigned long long)r->first, (unsigned long long)r->last,
			     bs_hash_name((enum bs_hash_alg)p->file_csum), hexlen, a);
			goto out;
		}
		*has_csum = true;
	}
	ret = 0;
out:
	xmlFree(attr);
	free(s);
	return ret;
}

static int parse_ranges(struct parse *p, xmlNode *map)
{
	struct bs_bmap *b = p->b;
	size_t nr = 0, i = 0, with_csum = 0;
	uint64_t mapped = 0;
	xmlNode *n;

	for (n = map->children; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE) {
			if (strcmp((const char *)n->name, "Range"))
				return fail(p, "unexpected element %.40s in BlockMap",
					    (const char *)n->name);
			nr++;
		} else if (n->type == XML_TEXT_NODE) {
			const char *c = (const char *)n->content;

			while (c && is_space(*c))
				c++;
			if (c && *c)
				return fail(p, "unexpected text in BlockMap");
		}
	}
	if (nr) {
		b->ranges = calloc(nr, sizeof(*b->ranges));
		if (!b->ranges)
			return fail(p, "out of memory for %zu ranges", nr);
	}
	for (n = map->children; n; n = n->next) {
		struct bs_bmap_range *r;
		bool has;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (parse_range(p, n, i, &has))
			return -1;
		r = &b->ranges[i];
		with_csum += has;
		if (r->last >= b->blocks_total)
			return fail(p, "range %zu (%llu-%llu) is outside the image (%llu blocks)",
				    i + 1, (unsigned long long)r->first,
				    (unsigned long long)r->last,
				    (unsigned long long)b->blocks_total);
		if (i && r->first <= b->ranges[i - 1].last)
			return fail(p,
				    "range %zu (%llu-%llu) overlaps or precedes range %zu "
				    "(%llu-%llu): ranges must be sorted and disjoint",
				    i + 1, (unsigned long long)r->first,
				    (unsigned long long)r->last, i,
				    (unsigned long long)b->ranges[i - 1].first,
				    (unsigned long long)b->ranges[i - 1].last);
		mapped += r->last - r->first + 1;
		i++;
	}
	b->nr_ranges = nr;
	if (with_csum && with_csum != nr)
		return fail(p, "%zu of %zu ranges have no checksum", nr - with_csum, nr);
	if (mapped != b->blocks_mapped)
		return fail(p, "MappedBlocksCount is %llu but the ranges hold %llu blocks",
			    (unsigned long long)b->blocks_mapped, (unsigned long long)mapped);
	if (with_csum) {
		b->csum_type = p->file_csum;
		b->csum_len = bs_hash_len((enum bs_hash_alg)p->file_csum);
	}
	return 0;
}

struct fields {
	xmlNode *image_size, *block_size, *blocks, *mapped, *csum_type, *file_csum, *map;
};

static int collect(struct parse *p, xmlNode *root, struct fields *f)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{"ImageSize", offsetof(struct fields, image_size)},
		{"BlockSize", offsetof(struct fields, block_size)},
		{"BlocksCount", offsetof(struct fields, blocks)},
		{"MappedBlocksCount", offsetof(struct fields, mapped)},
		{"ChecksumType", offsetof(struct fields, csum_type)},
		{"BmapFileChecksum", offsetof(struct fields, file_csum)},
		{"BmapFileSHA1", offsetof(struct fields, file_csum)},
		{"BlockMap", offsetof(struct fields, map)},
	};
	xmlNode *n;
	size_t k;

	for (n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			xmlNode **slot = (xmlNode **)((char *)f + known[k].off);

			if (strcmp((const char *)n->name, known[k].name))
				continue;
			/* the file checksum element's name depends on the version */
			if (slot == &f->file_csum &&
			    (!p->file_csum_elem || strcmp(known[k].name, p->file_csum_elem)))
				break;
			if (slot == &f->csum_type && !p->csum_type_elem)
				break;
			if (*slot)
				return fail(p, "element %s appears more than once", known[k].name);
			*slot = n;
			break;
		}
	}
	if (!f->image_size)
		return fail(p, "ImageSize is missing");
	if (!f->block_size)
		return fail(p, "BlockSize is missing");
	if (!f->blocks)
		return fail(p, "BlocksCount is missing");
	if (!f->mapped)
		return fail(p, "MappedBlocksCount is missing");
	if (!f->map)
		return fail(p, "BlockMap is missing");
	return 0;
}

static int parse_doc(struct parse *p, xmlDoc *doc)
{
	struct bs_bmap *b = p->b;
	struct fields f = {0};
	xmlNode *root = xmlDocGetRootElement(doc);
	uint64_t v, blocks;

	if (doc->intSubset || doc->extSubset)
		return fail(p, "a bmap file must not contain a DTD");
	if (!root || strcmp((const char *)root->name, "bmap"))
		return fail(p, "not a bmap file: the root element is <%.40s>, not <bmap>",
			    root ? (const char *)root->name : "");
	if (parse_version(p, root))
		return -1;
	if (b->major >= 2 || b->minor == 4) {
		p->range_attr = "chksum";
		p->file_csum_elem = "BmapFileChecksum";
		p->csum_type_elem = true;
	} else if (b->minor == 3) {
		p->range_attr = "sha1";
		p->file_csum_elem = "BmapFileSHA1";
		p->file_csum = BS_BMAP_CSUM_SHA1;
	}
	if (collect(p, root, &f))
		return -1;
	if (p->csum_type_elem) {
		if (!f.csum_type)
			return fail(p, "ChecksumType is missing (required by format %u.%u)",
				    b->major, b->minor);
		if (parse_csum_type(p, f.csum_type))
			return -1;
	}
	if (f.file_csum && verify_file_csum(p, f.file_csum))
		return -1;

	if (elem_u64(p, f.image_size, &b->image_size) || elem_u64(p, f.block_size, &v))
		return -1;
	if (b->image_size > INT64_MAX)
		return fail(p, "ImageSize %llu is too large", (unsigned long long)b->image_size);
	if (!v || v % 512 || v > BLOCK_SIZE_MAX)
		return fail(p, "BlockSize %llu is not a positive multiple of 512 up to %u",
			    (unsigned long long)v, BLOCK_SIZE_MAX);
	b->block_size = (uint32_t)v;
	if (elem_u64(p, f.blocks, &b->blocks_total) || elem_u64(p, f.mapped, &b->blocks_mapped))
		return -1;
	blocks = b->image_size / b->block_size + (b->image_size % b->block_size != 0);
	if (b->blocks_total != blocks)
		return fail(
			p,
			"BlocksCount is %llu but ImageSize %llu / BlockSize %u needs %llu blocks",
			(unsigned long long)b->blocks_total, (unsigned long long)b->image_size,
			b->block_size, (unsigned long long)blocks);
	if (b->blocks_mapped > b->blocks_total)
		return fail(p, "MappedBlocksCount %llu exceeds BlocksCount %llu",
			    (unsigned long long)b->blocks_mapped,
			    (unsigned long long)b->blocks_total);
	return parse_ranges(p, f.map);
}

int bs_bmap_parse(const char *xml, size_t len, const char *name, struct bs_bmap *out, char *err,
		  size_t errlen)
{
	struct parse p = {
		.name = name ? name : "bmap",
		.err = err,
		.errlen = errlen,
		.xml = xml,
		.len = len,
		.b = out,
	};
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > BMAP_MAX_BYTES)
		return fail(&p, "file is too large for a bmap (%zu bytes, limit %u)", len,
			    BMAP_MAX_BYTES);
	if (!len)
		return fail(&p, "file is empty");
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return fail(&p, "out of memory");
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[200] = "malformed XML";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			trim(msg);
		}
		r = fail(&p, "not valid XML (line %d): %s", e ? e->line : 0, msg);
	} else {
		r = parse_doc(&p, doc);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	if (r)
		bs_bmap_free(out);
	return r;
}

int bs_bmap_load(const char *path, struct bs_bmap *out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r = -1;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > BMAP_MAX_BYTES) {
		snprintf(err, errlen, "%s: file is too large for a bmap (%lld bytes, limit %u)",
			 path, (long long)st.st_size, BMAP_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r = bs_bmap_parse(buf, got, path, out, err, errlen);
out:
	free(buf);
	close(fd);
	return r;
}

void bs_bmap_free(struct bs_bmap *b)
{
	if (!b)
		return;
	free(b->ranges);
	memset(b, 0, sizeof(*b));
}

void bs_bmap_range_bytes(const struct bs_bmap *b, const struct bs_bmap_range *r, uint64_t *off,
			 uint64_t *len)
{
	uint64_t start = r->first * b->block_size;
	uint64_t end = (r->last + 1) * b->block_size;

	if (end > b->image_size)
		end = b->image_size;
	*off = start;
	*len = end > start ? end - start : 0;
}

static char *try_bmap(const char *base, size_t baselen)
{
	struct stat st;
	char *path;

	if (asprintf(&path, "%.*s.bmap", (int)baselen, base) < 0)
		return NULL;
	if (!stat(path, &st) && S_ISREG(st.st_mode))
		return path;
	free(path);
	return NULL;
}

char *bs_bmap_find(const char *image)
{
	size_t len, base;
	char *path;

	if (!image || !*image || !strcmp(image, "-"))
		return NULL;
	len = strlen(image);
	path = try_bmap(image, len);
	if (path)
		return path;
	base = bs_name_base_len(image);
	return base < len ? try_bmap(image, base) : NULL;
}

/* @url with @suffix inserted before its query or fragment, compression suffix
   @strip (e.g. ".xz") removed first when given. malloc'd or NULL. */
char *bs_url_with_suffix(const char *url, const char *strip, const char *suffix)
{
	size_t end = strcspn(url, "?#"), cut = end, sl = strip ? strlen(strip) : 0;
	char *out;

	if (sl) {
		if (end <= sl || strncmp(url + end - sl, strip, sl))
			return NULL;
		cut = end - sl;
	}
	if (asprintf(&out, "%.*s%s%s", (int)cut, url, suffix, url + end) < 0)
		return NULL;
	return out;
}

int bs_bmap_fetch(const char *url, struct bs_bmap *out, char *err, size_t errlen)
{
	char *xml = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = bs_http_fetch(url, BMAP_MAX_BYTES, &xml, &len, err, errlen);
	if (r <= 0)
		return r;
	r = bs_bmap_parse(xml, len, url, out, err, errlen) ? -1 : 1;
	free(xml);
	return r;
}

int bs_bmap_find_url(const char *image, struct bs_bmap *out, char **used, char *err, size_t errlen)
{
	static const char *const suffixes[] = {NULL, ".xz", ".gz", ".bz2", ".zst", ".zip"};
	size_t i;

	*used = NULL;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *url = bs_url_with_suffix(image, suffixes[i], ".bmap");
		int r;

		if (!url)
			continue;
		r = bs_bmap_fetch(url, out, err, errlen);
		if (r) {
			if (r > 0)
				*used = url;
			else
				free(url);
			return r;
		}
		free(url);
	}
	return 0;
}
