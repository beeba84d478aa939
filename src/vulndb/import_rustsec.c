/* RustSec advisories (the advisory-db's Markdown files): a ```toml front block with
 * [advisory] (id, package, aliases, cvss, url, informational, withdrawn) and [versions]
 * (patched, unaffected: Cargo requirements), then "# title" and the description. Only the
 * TOML this format uses is read: tables, quoted strings and arrays of quoted strings. */
#include <ctype.h>
#include <string.h>

#include "internal.h"

#define RUSTSEC_MAX_LIST 256

struct rustsec {
	char *id, *package, *cvss, *url, *informational, *withdrawn;
	json_t *aliases, *patched, *unaffected;
};

static void rustsec_free(struct rustsec *a)
{
	free(a->id);
	free(a->package);
	free(a->cvss);
	free(a->url);
	free(a->informational);
	free(a->withdrawn);
	json_decref(a->aliases);
	json_decref(a->patched);
	json_decref(a->unaffected);
}

struct cursor {
	const char *p, *end;
	int line;
};

static void skip_blank(struct cursor *c, bool newlines)
{
	while (c->p < c->end) {
		if (*c->p == '#') {
			while (c->p < c->end && *c->p != '\n')
				c->p++;
		} else if (*c->p == '\n' && newlines) {
			c->line++;
			c->p++;
		} else if (*c->p == ' ' || *c->p == '\t' || *c->p == '\r') {
			c->p++;
		} else {
			break;
		}
	}
}

/* A basic string "..." with \" \\ \n \t escapes. */
static char *read_string(struct cursor *c)
{
	if (c->p >= c->end || *c->p != '"')
		return NULL;
	c->p++;
	struct wharf_buf b;
	wharf_buf_init(&b);
	while (c->p < c->end && *c->p != '"' && *c->p != '\n') {
		char ch = *c->p++;
		if (ch == '\\' && c->p < c->end) {
			char e = *c->p++;
			ch = e == 'n' ? '\n' : e == 't' ? '\t' : e;
		}
		wharf_buf_append(&b, &ch, 1);
	}
	if (c->p >= c->end || *c->p != '"') {
		wharf_buf_free(&b);
		return NULL;
	}
	c->p++;
	if (!b.data)
		return wharf_xstrdup("");
	return wharf_buf_steal(&b);
}

/* An array of strings; other element types are an error. */
static json_t *read_array(struct cursor *c)
{
	json_t *arr = json_array();
	c->p++; /* '[' */
	for (;;) {
		skip_blank(c, true);
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return arr;
		}
		char *s = read_string(c);
		if (!s || json_array_size(arr) >= RUSTSEC_MAX_LIST) {
			free(s);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_string(s));
		free(s);
		skip_blank(c, true);
		if (c->p < c->end && *c->p == ',')
			c->p++;
	}
}

/* Skip a value of another type (numbers, dates, booleans, inline tables) to the line end. */
static void skip_value(struct cursor *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
}

static void keep_string(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static int parse_toml(const char *name, struct cursor *c, struct rustsec *a, struct wharf_error *err)
{
	char section[64] = "";
	for (;;) {
		skip_blank(c, true);
		if (c->p >= c->end)
			return 0;
		if (*c->p == '[') {
			const char *close = memchr(c->p, ']', (size_t)(c->end - c->p));
			if (!close || close - c->p - 1 >= (long)sizeof(section))
				return wharf_error_set(err, WHARF_EINVAL, "%s:%d: bad table header", name, c->line);
			memcpy(section, c->p + 1, (size_t)(close - c->p - 1));
			section[close - c->p - 1] = 0;
			c->p = close + 1;
			continue;
		}
		const char *k = c->p;
		size_t klen;
		if (*c->p == '"') {
			/* a quoted key ("crate::function" under [affected.functions]) */
			char *qk = read_string(c);
			if (!qk)
				return wharf_error_set(err, WHARF_EINVAL, "%s:%d: unterminated quoted key", name, c->line);
			free(qk);
			k = "\"";
			klen = 1;
		} else {
			while (c->p < c->end && (isalnum((unsigned char)*c->p) || *c->p == '_' || *c->p == '-' || *c->p == '.'))
				c->p++;
			klen = (size_t)(c->p - k);
		}
		skip_blank(c, false);
		if (!klen || c->p >= c->end || *c->p != '=')
			return wharf_error_set(err, WHARF_EINVAL, "%s:%d: expected key = value", name, c->line);
		c->p++;
		skip_blank(c, false);
		char key[64];
		snprintf(key, sizeof(key), "%s.%.*s", section, (int)(klen < 40 ? klen : 40), k);
		if (c->p < c->end && *c->p == '"') {
			char *s = read_string(c);
			if (!s)
				return wharf_error_set(err, WHARF_EINVAL, "%s:%d: unterminated string", name, c->line);
			if (!strcmp(key, "advisory.id"))
				keep_string(&a->id, s);
			else if (!strcmp(key, "advisory.package"))
				keep_string(&a->package, s);
			else if (!strcmp(key, "advisory.cvss"))
				keep_string(&a->cvss, s);
			else if (!strcmp(key, "advisory.url"))
				keep_string(&a->url, s);
			else if (!strcmp(key, "advisory.informational"))
				keep_string(&a->informational, s);
			else if (!strcmp(key, "advisory.withdrawn"))
				keep_string(&a->withdrawn, s);
			else
				free(s);
		} else if (c->p < c->end && *c->p == '[') {
			json_t *arr = read_array(c);
			if (!arr) {
				/* arrays of tables or numbers (affected.functions, ...) are not ours */
				if (strcmp(key, "advisory.aliases") && strcmp(key, "versions.patched") &&
				    strcmp(key, "versions.unaffected")) {
					skip_value(c);
					continue;
				}
				return wharf_error_set(err, WHARF_EINVAL, "%s:%d: %s must be a list of at most %d strings", name,
						       c->line, key, RUSTSEC_MAX_LIST);
			}
			json_t **dst = !strcmp(key, "advisory.aliases")      ? &a->aliases
				       : !strcmp(key, "versions.patched")    ? &a->patched
				       : !strcmp(key, "versions.unaffected") ? &a->unaffected
									     : NULL;
			if (dst) {
				json_decref(*dst);
				*dst = arr;
			} else {
				json_decref(arr);
			}
		} else {
			skip_value(c);
		}
	}
}

/* "# Title" and the text after it, from the Markdown body. */
static void markdown_text(const char *p, const char *end, char **title, char **desc)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p < end && *p == '#') {
		while (p < end && *p == '#')
			p++;
		while (p < end && *p == ' ')
			p++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		*title = wharf_xstrndup(p, (size_t)((nl ? nl : end) - p));
		p = nl ? nl : end;
	}
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p < end)
		*desc = wharf_xstrndup(p, (size_t)(end - p) > 8192 ? 8192 : (size_t)(end - p));
}

static int store(struct vulndb_writer *w, const char *name, struct rustsec *a, const char *body, const char *end,
		 struct wharf_error *err)
{
	char *title = NULL, *desc = NULL;
	markdown_text(body, end, &title, &desc);
	struct vulndb_vuln v = {.id = a->id, .source = "osv", .title = title, .description = desc, .primary_url = a->url};
	double score;
	if (a->cvss && wharf_cvss3_base_score(a->cvss, &score, NULL) == 0) {
		v.cvss_vector = a->cvss;
		v.cvss_score = score;
		v.severity = wharf_severity_name(wharf_severity_from_cvss(score));
	}
	int r = vulndb_put_vuln(w, &v, err);
	size_t i;
	json_t *al;
	json_array_foreach(a->aliases, i, al) {
		if (r == 0)
			r = vulndb_put_alias(w, a->id, json_string_value(al), err);
	}
	json_t *range = json_pack("[{s:s,s:o,s:o}]", "type", "CARGO_REQ", "patched",
				  a->patched ? json_incref(a->patched) : json_array(), "unaffected",
				  a->unaffected ? json_incref(a->unaffected) : json_array());
	char *rj = json_dumps(range, JSON_COMPACT);
	if (r == 0)
		r = vulndb_put_osv(w, a->id, WHARF_ECO_CARGO, a->package, rj, "[]", err);
	(void)name;
	free(rj);
	json_decref(range);
	free(title);
	free(desc);
	return r;
}

int vulndb_import_rustsec(struct vulndb_writer *w, const char *name, const char *data, size_t len,
			  struct wharf_error *err)
{
	static const char open[] = "```toml\n";
	if (len < sizeof(open) - 1 || memcmp(data, open, sizeof(open) - 1))
		return wharf_error_set(err, WHARF_EINVAL, "%s: a RustSec advisory starts with a ```toml block", name);
	const char *toml = data + sizeof(open) - 1, *end = data + len;
	const char *close = NULL;
	for (const char *p = toml; p + 3 <= end; p++)
		if ((p == toml || p[-1] == '\n') && !memcmp(p, "```", 3)) {
			close = p;
			break;
		}
	if (!close)
		return wharf_error_set(err, WHARF_EINVAL, "%s: the ```toml block is not closed", name);
	struct rustsec a = {0};
	struct cursor c = {toml, close, 2};
	int r = parse_toml(name, &c, &a, err);
	if (r == 0 && (!a.id || !a.package || !*a.id || !*a.package || strlen(a.id) > 128 || strlen(a.package) > 256))
		r = wharf_error_set(err, WHARF_EINVAL, "%s: [advisory] needs id and package", name);
	if (r == 0) {
		r = vulndb_del_osv(w, a.id, err);
		if (r == 0)
			r = vulndb_del_aliases(w, a.id, err);
	}
	if (r == 0 && (a.withdrawn || a.informational)) {
		/* Withdrawn advisories, and notices (unmaintained crates) that name no vulnerability. */
		w->stats.skipped++;
	} else if (r == 0) {
		r = store(w, name, &a, close + 3, end, err);
		if (r == 0)
			w->stats.advisories++;
	}
	rustsec_free(&a);
	return r;
}
