/* wharf_vulndb_import: read files and directories of advisories into one transaction. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#include <yaml.h>

#include "internal.h"

/* ---- small shared helpers ---- */

char *vulndb_ecosystem_base(const char *ecosystem)
{
	return wharf_xstrndup(ecosystem, strcspn(ecosystem, ":"));
}

char *vulndb_normalize_name(const char *ecosystem, const char *name)
{
	char *out = wharf_xstrdup(name);
	if (!strcmp(ecosystem, WHARF_ECO_PYPI)) {
		char *w = out;
		for (const char *p = name; *p; p++) {
			if (*p == '-' || *p == '_' || *p == '.') {
				if (w == out || w[-1] != '-')
					*w++ = '-';
			} else {
				*w++ = (char)tolower((unsigned char)*p);
			}
		}
		*w = 0;
	} else if (!strcmp(ecosystem, WHARF_ECO_COMPOSER)) {
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	return out;
}

const char *vulndb_severity_word(const char *word)
{
	static const struct {
		const char *word, *sev;
	} map[] = {
		{"critical", "CRITICAL"}, {"high", "HIGH"}, {"important", "HIGH"}, {"moderate", "MEDIUM"},
		{"medium", "MEDIUM"}, {"low", "LOW"}, {"low*", "LOW"}, {"medium*", "MEDIUM"}, {"high*", "HIGH"},
		{"unimportant", "LOW"}, {"negligible", "LOW"}, {"not yet assigned", "UNKNOWN"}, {"unknown", "UNKNOWN"},
		{"end-of-life", "UNKNOWN"},
	};
	if (!word)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(word, map[i].word))
			return map[i].sev;
	return NULL;
}

/* ---- YAML to JSON ---- */

struct yaml_conv {
	yaml_document_t *doc;
	size_t nodes;
	const char *name;
	struct wharf_error *err;
};

static json_t *yaml_node_to_json(struct yaml_conv *c, yaml_node_t *node, int depth)
{
	if (!node)
		return json_null();
	if (depth > VULNDB_YAML_MAX_DEPTH) {
		wharf_error_set(c->err, WHARF_EINVAL, "%s: YAML nested deeper than %d levels", c->name, VULNDB_YAML_MAX_DEPTH);
		return NULL;
	}
	/* Aliases make a small document expand into a huge tree: count what we build. */
	if (++c->nodes > VULNDB_YAML_MAX_NODES) {
		wharf_error_set(c->err, WHARF_ETOOBIG, "%s: YAML expands to more than %d nodes", c->name,
				VULNDB_YAML_MAX_NODES);
		return NULL;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)node->data.scalar.value;
		size_t n = node->data.scalar.length;
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (n == 0 || (n == 1 && s[0] == '~') || !strcmp(s, "null")))
			return json_null();
		json_t *j = json_stringn(s, n);
		if (!j)
			wharf_error_set(c->err, WHARF_EINVAL, "%s: YAML scalar is not valid UTF-8", c->name);
		return j;
	}
	case YAML_SEQUENCE_NODE: {
		json_t *arr = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
			json_t *v = yaml_node_to_json(c, yaml_document_get_node(c->doc, *it), depth + 1);
			if (!v) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	}
	case YAML_MAPPING_NODE: {
		json_t *obj = json_object();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE) {
				wharf_error_set(c->err, WHARF_EINVAL, "%s: YAML mapping key is not a scalar (line %lu)", c->name,
						(unsigned long)(node->start_mark.line + 1));
				json_decref(obj);
				return NULL;
			}
			json_t *v = yaml_node_to_json(c, yaml_document_get_node(c->doc, p->value), depth + 1);
			if (!v) {
				json_decref(obj);
				return NULL;
			}
			char *key = wharf_xstrndup((const char *)k->data.scalar.value, k->data.scalar.length);
			json_object_set_new(obj, key, v);
			free(key);
		}
		return obj;
	}
	default:
		return json_null();
	}
}

int vulndb_yaml_to_json(const char *name, const char *data, size_t len, json_t **out, struct wharf_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return wharf_error_set(err, WHARF_EINTERNAL, "%s: cannot start the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int r = wharf_error_set(err, WHARF_EINVAL, "%s: not valid YAML: %s at line %lu", name,
					parser.problem ? parser.problem : "error", (unsigned long)(parser.problem_mark.line + 1));
		yaml_parser_delete(&parser);
		return r;
	}
	struct yaml_conv c = {&doc, 0, name, err};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	json_t *j = root ? yaml_node_to_json(&c, root, 0) : NULL;
	int r = 0;
	if (!root)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: empty YAML document", name);
	else if (!j)
		r = -err->code;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (r == 0)
		*out = j;
	return r;
}

int vulndb_parse_document(const char *name, const char *data, size_t len, json_t **out, struct wharf_error *err)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '[')) {
		json_error_t je;
		json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
		if (!j)
			return wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: %s at line %d", name, je.text, je.line);
		*out = j;
		return 0;
	}
	return vulndb_yaml_to_json(name, data, len, out, err);
}

/* ---- large JSON objects, member by member ---- */

static size_t skip_ws(const char *d, size_t len, size_t i)
{
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
		i++;
	return i;
}

/* The end (one past) of the JSON value starting at d[i], or 0 when it does not end. Strings
 * are skipped with their escapes; containers by depth, without recursion. */
static size_t value_end(const char *d, size_t len, size_t i)
{
	size_t depth = 0;
	bool in_string = false;
	for (; i < len; i++) {
		char c = d[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"') {
				in_string = false;
				if (depth == 0)
					return i + 1;
			}
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i; /* a scalar ended by its container */
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && c == ',') {
			return i;
		}
	}
	return depth == 0 && !in_string ? len : 0;
}

static json_t *load_span(const char *d, size_t n)
{
	return json_loadb(d, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
}

int vulndb_json_members(const char *name, const char *data, size_t len, vulndb_member_fn fn, void *ctx,
			struct wharf_error *err)
{
	size_t i = skip_ws(data, len, 0);
	if (i >= len || data[i] != '{')
		return wharf_error_set(err, WHARF_EINVAL, "%s: expected a JSON object", name);
	i = skip_ws(data, len, i + 1);
	if (i < len && data[i] == '}')
		return skip_ws(data, len, i + 1) == len ? 0 : wharf_error_set(err, WHARF_EINVAL, "%s: data after the object", name);
	for (;;) {
		size_t kend = i < len && data[i] == '"' ? value_end(data, len, i) : 0;
		json_t *key = kend ? load_span(data + i, kend - i) : NULL;
		if (!json_is_string(key)) {
			json_decref(key);
			return wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: expected a member name at byte %zu", name, i);
		}
		i = skip_ws(data, len, kend);
		if (i >= len || data[i] != ':') {
			json_decref(key);
			return wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: expected ':' at byte %zu", name, i);
		}
		i = skip_ws(data, len, i + 1);
		size_t vend = value_end(data, len, i);
		json_t *value = vend > i ? load_span(data + i, vend - i) : NULL;
		if (!value) {
			int r = wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: member \"%.60s\" at byte %zu", name,
						json_string_value(key), i);
			json_decref(key);
			return r;
		}
		int r = fn(ctx, json_string_value(key), value, err);
		json_decref(key);
		json_decref(value);
		if (r < 0)
			return r;
		i = skip_ws(data, len, vend);
		if (i < len && data[i] == ',') {
			i = skip_ws(data, len, i + 1);
			continue;
		}
		if (i < len && data[i] == '}' && skip_ws(data, len, i + 1) == len)
			return 0;
		return wharf_error_set(err, WHARF_EINVAL, "%s: not valid JSON: expected ',' or '}' at byte %zu", name, i);
	}
}

/* ---- import ---- */

int vulndb_import_buffer(struct vulndb_writer *w, const char *format, const char *name, const char *data,
			 size_t len, struct wharf_error *err)
{
	if (len > WHARF_VULNDB_MAX_FILE)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than %u bytes", name, WHARF_VULNDB_MAX_FILE);
	if (!strcmp(format, WHARF_VULNDB_FMT_OSV))
		return vulndb_import_osv(w, name, data, len, err);
	if (!strcmp(format, WHARF_VULNDB_FMT_DEBIAN))
		return vulndb_import_debian(w, name, data, len, err);
	if (!strcmp(format, WHARF_VULNDB_FMT_ALPINE))
		return vulndb_import_alpine(w, name, data, len, err);
	if (!strcmp(format, WHARF_VULNDB_FMT_NVD))
		return vulndb_import_nvd(w, name, data, len, err);
	if (!strcmp(format, WHARF_VULNDB_FMT_RUSTSEC))
		return vulndb_import_rustsec(w, name, data, len, err);
	return wharf_error_set(err, WHARF_EINVAL, "unknown import format \"%s\" (osv, debian, alpine, nvd, rustsec)", format);
}

static int read_limited(const char *path, bool follow, char **out, size_t *len, struct wharf_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return wharf_error_sys(err, "cannot open %s", path);
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return wharf_error_sys(err, "cannot stat %s", path);
	if (!S_ISREG(sb.st_mode))
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a regular file", path);
	if ((uint64_t)sb.st_size > WHARF_VULNDB_MAX_FILE)
		return wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than the limit of %u bytes per file", path,
				       WHARF_VULNDB_MAX_FILE);
	struct wharf_buf b;
	wharf_buf_init(&b);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			wharf_buf_free(&b);
			return wharf_error_sys(err, "cannot read %s", path);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > WHARF_VULNDB_MAX_FILE) {
			wharf_buf_free(&b);
			return wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than the limit of %u bytes per file", path,
					       WHARF_VULNDB_MAX_FILE);
		}
		wharf_buf_append(&b, chunk, (size_t)n);
	}
	*len = b.len;
	*out = wharf_buf_steal(&b);
	return 0;
}

static int import_file(struct vulndb_writer *w, const char *format, const char *path, bool follow,
		       struct wharf_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = read_limited(path, follow, &data, &len, err);
	if (r == 0)
		r = vulndb_import_buffer(w, format, path, data, len, err);
	free(data);
	if (r == 0)
		w->stats.files++;
	return r;
}

static bool is_advisory_file(const char *format, const char *path)
{
	if (!strcmp(format, WHARF_VULNDB_FMT_RUSTSEC))
		return wharf_str_has_suffix(path, ".md") && !wharf_str_has_suffix(path, "README.md");
	return wharf_str_has_suffix(path, ".json") || wharf_str_has_suffix(path, ".yaml") ||
	       wharf_str_has_suffix(path, ".yml");
}

/* nftw has no user pointer: the walk collects into this list (one walk at a time per thread). */
static _Thread_local struct wharf_strv *walk_files;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_F)
		wharf_strv_push(walk_files, path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Most entries a zip archive may have (OSV's all.zip of PyPI has about 15,000). */
#define VULNDB_ZIP_MAX_ENTRIES 1000000

/* One entry of a zip archive, read whole within the per-file limit. */
static int import_zip_entry(struct vulndb_writer *w, const char *format, const char *zip, struct archive *a,
			    struct archive_entry *e, struct wharf_error *err)
{
	char *name = wharf_xasprintf("%s:%s", zip, archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
	struct wharf_buf b;
	wharf_buf_init(&b);
	int r = 0;
	char chunk[65536];
	for (;;) {
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s: cannot read: %s", name, archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > WHARF_VULNDB_MAX_FILE) {
			r = wharf_error_set(err, WHARF_ETOOBIG, "%s: larger than the limit of %u bytes per file", name,
					    WHARF_VULNDB_MAX_FILE);
			break;
		}
		wharf_buf_append(&b, chunk, (size_t)n);
	}
	if (r == 0)
		r = vulndb_import_buffer(w, format, name, b.data ? b.data : "", b.len, err);
	if (r == 0)
		w->stats.files++;
	wharf_buf_free(&b);
	free(name);
	return r;
}

/* A zip archive of advisory files (OSV publishes one per ecosystem): every regular entry
 * with an advisory file name, read from the archive without touching the filesystem. */
static int import_zip(struct vulndb_writer *w, const char *format, const char *path, struct wharf_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip(a);
	int r = 0;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: not a readable zip archive: %s", path, archive_error_string(a));
	size_t n = 0;
	struct archive_entry *e;
	while (r == 0) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = wharf_error_set(err, WHARF_EINVAL, "%s: corrupt zip archive: %s", path, archive_error_string(a));
			break;
		}
		if (++n > VULNDB_ZIP_MAX_ENTRIES) {
			r = wharf_error_set(err, WHARF_ETOOBIG, "%s: more than %d entries", path, VULNDB_ZIP_MAX_ENTRIES);
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) == AE_IFREG && name && is_advisory_file(format, name))
			r = import_zip_entry(w, format, path, a, e, err);
	}
	archive_read_free(a);
	return r;
}

static int import_path(struct vulndb_writer *w, const char *format, const char *path, struct wharf_error *err)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return wharf_error_sys(err, "%s", path);
	if (!S_ISDIR(sb.st_mode) && wharf_str_has_suffix(path, ".zip"))
		return import_zip(w, format, path, err);
	if (!S_ISDIR(sb.st_mode))
		return import_file(w, format, path, true, err);
	struct wharf_strv files = {0};
	walk_files = &files;
	/* FTW_PHYS: symbolic links inside the tree are not followed. */
	int wr = nftw(path, collect, 32, FTW_PHYS);
	walk_files = NULL;
	int r = wr < 0 ? wharf_error_sys(err, "cannot walk %s", path) : 0;
	if (files.n)
		qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	for (size_t i = 0; r == 0 && i < files.n; i++)
		if (is_advisory_file(format, files.v[i]))
			r = import_file(w, format, files.v[i], false, err);
	wharf_strv_free(&files);
	return r;
}

static void remove_db_files(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		char *p = wharf_xasprintf("%s%s", path, suffixes[i]);
		unlink(p);
		free(p);
	}
}

int wharf_vulndb_import(const char *db_path, const char *format, const char *const *paths, size_t npaths,
			struct wharf_vulndb_import_stats *stats, struct wharf_error *err)
{
	if (strcmp(format, WHARF_VULNDB_FMT_OSV) && strcmp(format, WHARF_VULNDB_FMT_DEBIAN) &&
	    strcmp(format, WHARF_VULNDB_FMT_ALPINE) && strcmp(format, WHARF_VULNDB_FMT_NVD) &&
	    strcmp(format, WHARF_VULNDB_FMT_RUSTSEC))
		return wharf_error_set(err, WHARF_EINVAL, "unknown import format \"%s\" (osv, debian, alpine, nvd, rustsec)",
				       format);
	struct stat sb;
	bool existed = stat(db_path, &sb) == 0;
	struct vulndb_writer *w = NULL;
	int r = vulndb_writer_open(&w, db_path, err);
	if (r < 0) {
		if (!existed)
			remove_db_files(db_path);
		return r;
	}
	for (size_t i = 0; r == 0 && i < npaths; i++)
		r = import_path(w, format, paths[i], err);
	if (r == 0 && w->stats.files == 0)
		r = wharf_error_set(err, WHARF_ENOTFOUND, "no %s advisory files (%s) found", format,
				    strcmp(format, WHARF_VULNDB_FMT_RUSTSEC) ? "*.json, *.yaml, *.yml" : "*.md");
	if (stats)
		*stats = w->stats;
	if (r < 0)
		vulndb_writer_abort(w);
	else
		r = vulndb_writer_commit(w, format, err);
	if (r < 0 && !existed)
		remove_db_files(db_path);
	return r;
}
