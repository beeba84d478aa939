/* Rust: Cargo.lock ([[package]] tables with name and version) and binaries built with
 * cargo-auditable, whose ELF section .dep-v0 holds zlib-compressed JSON
 * {"packages":[{"name","version","source","kind","dependencies","root"}]}.
 * Cargo.lock is read with a small TOML subset: table headers, and key = "basic string" pairs;
 * everything else (arrays, [metadata]) is skipped. Packages without a source (the workspace's
 * own crates) are reported too: they are what the image ships. Auditable binaries skip
 * build-time dependencies (kind "build"), which are not in the binary. */
#include <jansson.h>
#include <string.h>

#include "wharf/json.h"

#include "lang_internal.h"

#define CARGO_LOCK_MAX (16u << 20)
#define CARGO_BINARY_MAX (256ull << 20)
#define CARGO_DEP_JSON_MAX (16u << 20)

static int wants_lock(const char *path, mode_t mode, uint64_t size)
{
	(void)mode;
	return size <= CARGO_LOCK_MAX && strcmp(lang_basename(path), "Cargo.lock") == 0;
}

/* The value of `key = "..."` on the line [p, le), unescaped into a new string, or NULL. */
static char *toml_string(const char *p, const char *le, const char *key)
{
	size_t klen = strlen(key);
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(le - p) <= klen || memcmp(p, key, klen) != 0)
		return NULL;
	p += klen;
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= le || *p != '=')
		return NULL;
	p++;
	while (p < le && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= le || *p != '"')
		return NULL;
	p++;
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (; p < le && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < le)
			p++; /* names and versions need no escapes beyond \" and \\ */
		wharf_buf_append(&b, p, 1);
	}
	if (p >= le) {
		wharf_buf_free(&b);
		return NULL; /* unterminated */
	}
	return wharf_buf_steal(&b);
}

struct cargo_pkg {
	char *name, *version;
};

static void flush(struct cargo_pkg *cp, const char *path, struct wharf_pkg_list *out)
{
	if (cp->name && cp->version)
		lang_pkg_add(out, WHARF_ECO_CARGO, path, "cargo", NULL, cp->name, cp->version);
	free(cp->name);
	free(cp->version);
	cp->name = cp->version = NULL;
}

static int parse_lock(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
		      struct wharf_error *err)
{
	if (len > CARGO_LOCK_MAX)
		return wharf_error_set(err, WHARF_ETOOBIG, "Cargo.lock %s: over the limit of %u bytes", path,
				       CARGO_LOCK_MAX);
	if (memchr(data, '\0', len))
		return wharf_error_set(err, WHARF_EINVAL, "Cargo.lock %s: holds a NUL byte, not TOML", path);
	const char *p = (const char *)data, *end = p + len;
	struct cargo_pkg cp = {0};
	bool in_package = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *q = p;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (q < le && *q == '[') {
			flush(&cp, path, out);
			in_package = (size_t)(le - q) >= 11 && memcmp(q, "[[package]]", 11) == 0;
		} else if (in_package) {
			char *v;
			if (!cp.name && (v = toml_string(q, le, "name")))
				cp.name = v;
			else if (!cp.version && (v = toml_string(q, le, "version")))
				cp.version = v;
		}
		p = nl ? nl + 1 : end;
	}
	flush(&cp, path, out);
	return 0;
}

const struct wharf_cataloger wharf_cataloger_cargo_lock = {
	.name = "cargo-lock",
	.max_size = CARGO_LOCK_MAX,
	.wants = wants_lock,
	.parse = parse_lock,
};

static int wants_binary(const char *path, mode_t mode, uint64_t size)
{
	(void)path;
	return size >= 64 && size <= CARGO_BINARY_MAX && (mode & 0111);
}

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}

static int parse_dep_json(const char *path, const unsigned char *js, size_t len, struct wharf_pkg_list *out,
			  struct wharf_error *err)
{
	_cleanup_(json_decref_p) json_t *root = NULL;
	int r = wharf_json_parse(&root, (const char *)js, len, CARGO_DEP_JSON_MAX, err);
	if (r < 0)
		return wharf_error_prefix(err, "Rust binary %s: section .dep-v0", path);
	json_t *pkgs = json_object_get(root, "packages");
	if (!json_is_array(pkgs))
		return wharf_error_set(err, WHARF_EINVAL, "Rust binary %s: .dep-v0 has no \"packages\" array", path);
	size_t i;
	json_t *v;
	json_array_foreach(pkgs, i, v) {
		const char *kind = json_string_value(json_object_get(v, "kind"));
		if (kind && strcmp(kind, "build") == 0)
			continue;
		lang_pkg_add(out, WHARF_ECO_CARGO, path, "cargo", NULL, json_string_value(json_object_get(v, "name")),
			     json_string_value(json_object_get(v, "version")));
	}
	return 0;
}

static int parse_binary(const char *path, const unsigned char *data, size_t len, struct wharf_pkg_list *out,
			struct wharf_error *err)
{
	if (len < 4 || memcmp(data, "\x7f" "ELF", 4) != 0)
		return 0;
	struct lang_elf elf;
	int r = lang_elf_open(&elf, path, data, len, err);
	if (r < 0)
		return r;
	struct lang_elf_section sec;
	r = lang_elf_section(&elf, ".dep-v0", &sec, err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		return wharf_error_prefix(err, "Rust binary %s", path);
	_cleanup_free_ char *what = wharf_xasprintf("Rust binary %s: section .dep-v0", path);
	_cleanup_free_ unsigned char *js = NULL;
	size_t js_len = 0;
	r = lang_inflate(what, sec.data, sec.size, 1, 0, CARGO_DEP_JSON_MAX, &js, &js_len, err);
	if (r < 0)
		return r;
	return parse_dep_json(path, js, js_len, out, err);
}

const struct wharf_cataloger wharf_cataloger_cargo_auditable = {
	.name = "cargo-auditable",
	.max_size = CARGO_BINARY_MAX,
	.wants = wants_binary,
	.parse = parse_binary,
};
