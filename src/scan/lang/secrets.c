/* The secrets detector: private keys, cloud and API tokens, passwords in configuration and
 * connection strings, in text files of every layer and in the image config.
 *
 * Speed: every rule starts from a fixed anchor ("ghp_", "-----BEGIN ", "password"). One pass over
 * the data looks up each pair of (lower-cased) bytes in a bitmap of the anchors' first two bytes;
 * only where one may start are anchors compared, and only around an anchor do the small matchers
 * below run. Candidates of all rules are collected first; where two overlap, the more specific
 * rule (earlier in enum rule_index) wins.
 * Masking: a finding shows its line (at most 120 bytes around the secret) with every secret
 * found on that line replaced by '*', except a rule's public prefix ("AKIA", "ghp_", "glpat-");
 * a secret without such a prefix is masked whole. */
#include <ctype.h>
#include <string.h>

#include "lang_internal.h"

#define SECRET_MATCH_MAX 120
#define SECRET_HITS_MAX 256
#define SECRET_CONTEXT 40

struct rule {
	const char *id, *category, *severity, *title;
};

enum rule_index {
	R_PRIVATE_KEY,
	R_AWS_KEY_ID,
	R_AWS_SECRET,
	R_GITHUB_PAT,
	R_GITHUB_OAUTH,
	R_GITHUB_APP,
	R_GITHUB_REFRESH,
	R_GITHUB_FINE,
	R_GITLAB_PAT,
	R_SLACK_TOKEN,
	R_SLACK_WEBHOOK,
	R_STRIPE,
	R_GOOGLE_API,
	R_JWT,
	R_NPM_TOKEN,
	R_NPMRC_AUTH,
	R_DOCKER_AUTH,
	R_CONN_STRING,
	R_PASSWORD,
	R_ENV,
	R_COUNT
};

static const struct rule rules[R_COUNT] = {
	[R_PRIVATE_KEY] = {"private-key", "AsymmetricPrivateKey", "HIGH", "Asymmetric Private Key"},
	[R_AWS_KEY_ID] = {"aws-access-key-id", "AWS", "CRITICAL", "AWS Access Key ID"},
	[R_AWS_SECRET] = {"aws-secret-access-key", "AWS", "CRITICAL", "AWS Secret Access Key"},
	[R_GITHUB_PAT] = {"github-pat", "GitHub", "CRITICAL", "GitHub Personal Access Token"},
	[R_GITHUB_OAUTH] = {"github-oauth", "GitHub", "CRITICAL", "GitHub OAuth Access Token"},
	[R_GITHUB_APP] = {"github-app-token", "GitHub", "CRITICAL", "GitHub App Token"},
	[R_GITHUB_REFRESH] = {"github-refresh-token", "GitHub", "CRITICAL", "GitHub Refresh Token"},
	[R_GITHUB_FINE] = {"github-fine-grained-pat", "GitHub", "CRITICAL", "GitHub Fine-grained personal access tokens"},
	[R_GITLAB_PAT] = {"gitlab-pat", "GitLab", "CRITICAL", "GitLab Personal Access Token"},
	[R_SLACK_TOKEN] = {"slack-access-token", "Slack", "HIGH", "Slack token"},
	[R_SLACK_WEBHOOK] = {"slack-web-hook", "Slack", "MEDIUM", "Slack Webhook"},
	[R_STRIPE] = {"stripe-secret-token", "Stripe", "CRITICAL", "Stripe Secret Key"},
	[R_GOOGLE_API] = {"google-api-key", "Google", "HIGH", "Google API Key"},
	[R_JWT] = {"jwt-token", "JWT", "MEDIUM", "JWT token"},
	[R_NPM_TOKEN] = {"npm-access-token", "npm", "CRITICAL", "npm access token"},
	[R_NPMRC_AUTH] = {"npmrc-auth-token", "npm", "HIGH", "npm registry auth token in .npmrc"},
	[R_DOCKER_AUTH] = {"docker-config-auth", "Docker", "HIGH", "Docker registry credentials"},
	[R_CONN_STRING] = {"connection-string-password", "Database", "HIGH", "Password in a connection string"},
	[R_PASSWORD] = {"generic-password", "Generic", "MEDIUM", "Password or secret assigned in a configuration file"},
	[R_ENV] = {"env-secret", "Generic", "HIGH", "Secret in an environment variable of the image config"},
};

struct hit {
	enum rule_index rule;
	size_t start, end; /* the secret */
	size_t keep;       /* bytes of public prefix shown */
	const char *severity;
	const char *suffix; /* shown after the line (private keys: the body is on later lines) */
};

struct scan {
	const char *path;
	const unsigned char *d;
	size_t len;
	bool config; /* a configuration file: the generic password rule applies */
	struct hit hits[SECRET_HITS_MAX];
	size_t nhits;
};

/* Character classes ------------------------------------------------------------------------ */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static bool is_b64url(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}
static bool is_b64(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '/' || c == '=';
}
static bool is_aws_id(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}
static bool is_ident(unsigned char c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

/* Every matcher looks at most SECRET_WINDOW bytes around its anchor, so a hostile file (one
 * 100 MB line full of anchors) costs linear time, not quadratic. */
#define SECRET_WINDOW 4096

static size_t run(const struct scan *s, size_t i, bool (*cls)(unsigned char))
{
	size_t stop = s->len - i > SECRET_WINDOW ? i + SECRET_WINDOW : s->len;
	while (i < stop && cls(s->d[i]))
		i++;
	return i;
}

static size_t run_max(const struct scan *s, size_t i, bool (*cls)(unsigned char), size_t max)
{
	size_t stop = s->len - i > max ? i + max : s->len;
	while (i < stop && cls(s->d[i]))
		i++;
	return i;
}

static size_t line_start(const struct scan *s, size_t pos)
{
	size_t stop = pos > SECRET_WINDOW ? pos - SECRET_WINDOW : 0;
	while (pos > stop && s->d[pos - 1] != '\n')
		pos--;
	return pos;
}

static size_t line_end(const struct scan *s, size_t pos)
{
	size_t n = s->len - pos > SECRET_WINDOW ? SECRET_WINDOW : s->len - pos;
	const unsigned char *nl = memchr(s->d + pos, '\n', n);
	return nl ? (size_t)(nl - s->d) : pos + n;
}

/* Case-insensitive search of a lower-case needle in [h, h + n). */
static bool ci_contains(const unsigned char *h, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (strncasecmp((const char *)h + i, needle, m) == 0)
			return true;
	return false;
}

static struct hit *add_hit(struct scan *s, enum rule_index r, size_t start, size_t end, size_t keep)
{
	if (s->nhits == SECRET_HITS_MAX)
		return NULL;
	struct hit *h = &s->hits[s->nhits++];
	*h = (struct hit){.rule = r, .start = start, .end = end, .keep = keep, .severity = rules[r].severity};
	return h;
}

static void add_hit_graded(struct scan *s, enum rule_index r, size_t start, size_t end);

/* Prefixed tokens --------------------------------------------------------------------------- */

struct token_rule {
	enum rule_index rule;
	bool (*cls)(unsigned char);
	size_t min, max; /* length of the part after the anchor */
};

static void token_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	const struct token_rule *t = arg;
	if (at > 0 && is_alnum(s->d[at - 1]))
		return; /* inside a longer word */
	size_t end = run_max(s, at + alen, t->cls, t->max + 1);
	size_t n = end - at - alen;
	if (n < t->min || n > t->max)
		return;
	if (t->rule == R_AWS_KEY_ID && (memmem(s->d + at, end - at, "EXAMPLE", 7) || (end < s->len && is_alnum(s->d[end]))))
		return; /* AWS's documentation key */
	add_hit(s, t->rule, at, end, alen);
}

static bool is_slack_path(unsigned char c)
{
	return is_b64url(c) || c == '/';
}

static void slack_webhook_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	size_t end = run(s, at + alen, is_slack_path);
	if (end - at - alen >= 20)
		add_hit(s, R_SLACK_WEBHOOK, at, end, alen);
}

/* header.payload.signature, each base64url; header and payload are JSON objects ("eyJ"). */
static void jwt_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg, (void)alen;
	if (at > 0 && is_b64url(s->d[at - 1]))
		return;
	size_t p = run(s, at, is_b64url);
	if (p - at < 10 || p + 4 >= s->len || s->d[p] != '.' || memcmp(s->d + p + 1, "eyJ", 3) != 0)
		return;
	size_t q = run(s, p + 1, is_b64url);
	if (q - p - 1 < 10 || q >= s->len || s->d[q] != '.')
		return;
	size_t e = run(s, q + 1, is_b64url);
	if (e - q - 1 < 10)
		return;
	add_hit(s, R_JWT, at, e, 3);
}

/* Private keys: a "-----BEGIN ... PRIVATE KEY...-----" line followed by a base64 body. ---- */

static void private_key_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	size_t le = line_end(s, at);
	size_t hdr_end = at + alen;
	const unsigned char *close = memmem(s->d + hdr_end, le - hdr_end, "-----", 5);
	if (!close || !memmem(s->d + hdr_end, (size_t)(close - s->d) - hdr_end, "PRIVATE KEY", 11))
		return;
	/* the body: the first line of 16+ base64 characters after optional RFC 1421 headers */
	size_t p = le + 1, body = 0;
	for (int lines = 0; p < s->len && lines < 6 && !body; lines++) {
		size_t e = line_end(s, p), b = p;
		while (b < e && (s->d[b] == ' ' || s->d[b] == '\t'))
			b++;
		size_t r = b;
		while (r < e && is_b64(s->d[r]))
			r++;
		if (r - b >= 16 && (r == e || s->d[r] == '\r'))
			body = b;
		else if (e - b > 5 && memcmp(s->d + b, "-----", 5) == 0)
			return; /* END with no body */
		p = e + 1;
	}
	if (!body)
		return;
	/* the BEGIN line is shown whole; the body, on the lines below, is the masked span */
	const unsigned char *endm = memmem(s->d + body, s->len - body, "-----END", 8);
	size_t end = endm ? (size_t)(endm - s->d) : s->len;
	struct hit *h = add_hit(s, R_PRIVATE_KEY, le, end, 0);
	if (h)
		h->suffix = " ********";
}

/* Keyword rules -------------------------------------------------------------------------- */

static bool ci_equal(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Values that only stand for a secret: references to variables and templates, and emptiness. */
static bool is_reference(const unsigned char *v, size_t n)
{
	if (n == 0)
		return true;
	if (v[0] == '$' || v[0] == '<' || v[0] == '{' || v[0] == '[' || v[0] == '%' || v[0] == '(' ||
	    v[0] == '@' || (n >= 2 && v[0] == '#' && v[1] == '{'))
		return true;
	size_t stars = 0;
	for (size_t i = 0; i < n; i++)
		stars += v[i] == '*' || v[i] == 'x' || v[i] == 'X' || v[i] == '.';
	if (stars == n)
		return true;
	static const char *const words[] = {"null", "none", "nil", "true", "false", "undefined", "empty",
					    "redacted", "required", "optional", "os.environ", "env"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (ci_equal((const char *)v, n, words[i]))
			return true;
	return memmem(v, n, "getenv", 6) || memmem(v, n, "environ", 7) || memmem(v, n, "process.env", 11);
}

/* Well-known stand-ins: still reported (someone may ship them), at LOW severity. */
static bool is_placeholder(const unsigned char *v, size_t n)
{
	static const char *const words[] = {"changeme", "change_me", "change-me", "changeit", "password",
					    "passw0rd", "secret", "example", "test", "admin", "123456", "12345678",
					    "your_password", "yourpassword", "your-password", "mypassword",
					    "default", "pass", "foobar", "dummy", "placeholder", "todo", "fixme"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (ci_equal((const char *)v, n, words[i]))
			return true;
	return memmem(v, n, "example", 7) || memmem(v, n, "EXAMPLE", 7);
}

/* After a key ending at p: optional closing quote, spaces, '=' / ':' / '=>', spaces, an optional
 * opening quote; then the value up to its closing quote, or to a space, ',', ';' or line end. */
static bool assigned_value(const struct scan *s, size_t p, size_t le, size_t *vs, size_t *ve)
{
	if (p < le && (s->d[p] == '"' || s->d[p] == '\''))
		p++;
	while (p < le && (s->d[p] == ' ' || s->d[p] == '\t'))
		p++;
	if (p >= le || (s->d[p] != '=' && s->d[p] != ':'))
		return false;
	if (p + 1 < le && s->d[p + 1] == '=')
		return false; /* a comparison */
	p++;
	if (p < le && s->d[p] == '>')
		p++;
	while (p < le && (s->d[p] == ' ' || s->d[p] == '\t'))
		p++;
	unsigned char quote = 0;
	if (p < le && (s->d[p] == '"' || s->d[p] == '\''))
		quote = s->d[p++];
	size_t e = p;
	if (quote) {
		while (e < le && s->d[e] != quote)
			e++;
		if (e >= le)
			return false;
	} else {
		while (e < le && s->d[e] != ' ' && s->d[e] != '\t' && s->d[e] != ',' && s->d[e] != ';' &&
		       s->d[e] != '\r' && s->d[e] != '#')
			e++;
	}
	*vs = p;
	*ve = e;
	return true;
}

static bool key_is_secret(const char *k, size_t n)
{
	static const char *const ends[] = {"password", "passwd", "secret", "token", "api_key", "apikey",
					   "secret_key", "access_key", "private_key", "credentials", "pwd"};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t m = strlen(ends[i]);
		if (n >= m && strncasecmp(k + n - m, ends[i], m) == 0)
			return n == m || !is_alnum((unsigned char)k[n - m - 1]) || strcmp(ends[i], "password") == 0 ||
			       strcmp(ends[i], "secret") == 0 || strcmp(ends[i], "token") == 0;
	}
	return false;
}

/* A line that starts with '#', ';' or "//": commented-out examples in stock configuration files
 * ("# input_password = secret") are documentation, not a configured password. */
static bool is_comment_line(const struct scan *s, size_t at)
{
	size_t p = line_start(s, at);
	while (p < at && (s->d[p] == ' ' || s->d[p] == '\t'))
		p++;
	return p < at && (s->d[p] == '#' || s->d[p] == ';' || (s->d[p] == '/' && p + 1 < at && s->d[p + 1] == '/'));
}

/* A keyword ("password", "secret", ...) at `at`: widen to the whole key and read its value.
 * A 40-character base64 value of a secret key on a line that says "aws" is an AWS secret access
 * key (in any file); anything else counts only in configuration files. */
static void assignment_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	size_t ks = at, ke = at + alen;
	while (ks > 0 && at - ks < 256 && is_ident(s->d[ks - 1]))
		ks--;
	ke = run_max(s, ke, is_ident, 256);
	if (!key_is_secret((const char *)s->d + ks, ke - ks))
		return;
	size_t le = line_end(s, ke), vs, ve;
	if (!assigned_value(s, ke, le, &vs, &ve) || ve - vs < 4 || is_reference(s->d + vs, ve - vs))
		return;
	if (ve - vs == 40 && run(s, vs, is_b64) >= ve) {
		size_t ls = line_start(s, at);
		if (ci_contains(s->d + ls, le - ls, "aws") || ci_contains(s->d + ks, ke - ks, "secret_access")) {
			if (!is_placeholder(s->d + vs, ve - vs))
				add_hit(s, R_AWS_SECRET, vs, ve, 0);
			return;
		}
	}
	if (s->config && !is_comment_line(s, at) && !ci_equal((const char *)s->d + ks, ke - ks, "passwd"))
		add_hit_graded(s, R_PASSWORD, vs, ve);
}

/* Rules whose values may be stand-ins report those at LOW severity. */
static void add_hit_graded(struct scan *s, enum rule_index r, size_t start, size_t end)
{
	struct hit *h = add_hit(s, r, start, end, 0);
	if (h && is_placeholder(s->d + start, end - start))
		h->severity = "LOW";
}

static bool is_config_path(const char *path)
{
	/* documentation, and stock files whose demo values ship in every image of a distribution
	 * (OpenSSL's CMP example "secret = pass:insta") */
	static const char *const not_config[] = {"usr/share/doc/", "usr/share/man/", "usr/include/",
						 "etc/ssl/openssl.cnf", "usr/lib/ssl/openssl.cnf"};
	for (size_t i = 0; i < sizeof(not_config) / sizeof(not_config[0]); i++)
		if (wharf_str_has_prefix(path, not_config[i]))
			return false;
	static const char *const exts[] = {".env", ".ini", ".conf", ".cfg", ".cnf", ".properties", ".yaml", ".yml",
					   ".json", ".toml", ".xml", ".npmrc", ".pypirc", ".netrc", ".pgpass"};
	const char *base = lang_basename(path);
	if (wharf_str_has_prefix(base, ".env") || wharf_str_has_prefix(path, "etc/"))
		return true;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (wharf_str_has_suffix(base, exts[i]))
			return true;
	return false;
}

/* config:Env: "KEY=VALUE" lines whose key names a secret. */
static void scan_env(struct scan *s)
{
	size_t p = 0;
	while (p < s->len && s->nhits < SECRET_HITS_MAX) {
		size_t le = line_end(s, p);
		const unsigned char *eq = memchr(s->d + p, '=', le - p);
		if (eq) {
			size_t k = (size_t)(eq - s->d), vs = k + 1, ve = le;
			if (ve > vs && s->d[ve - 1] == '\r')
				ve--;
			static const char *const words[] = {"password", "passwd", "secret", "token", "api_key",
							    "apikey", "access_key", "private_key", "credential"};
			bool secret_key = false;
			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !secret_key; i++)
				secret_key = ci_contains(s->d + p, k - p, words[i]);
			bool names_a_file = (k - p > 5 && (strncasecmp((const char *)s->d + k - 5, "_file", 5) == 0 ||
							   strncasecmp((const char *)s->d + k - 5, "_path", 5) == 0));
			if (secret_key && !names_a_file && !is_reference(s->d + vs, ve - vs))
				add_hit_graded(s, R_ENV, vs, ve);
		}
		p = le + 1;
	}
}

/* scheme://user:password@host for database and message-queue URLs. */
static void conn_string_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	static const char *const schemes[] = {"postgres", "postgresql", "mysql", "mariadb", "mongodb",
					      "mongodb+srv", "redis", "rediss", "amqp", "amqps", "mssql",
					      "sqlserver", "oracle", "ldap", "ldaps", "ftp", "smtp", "smtps"};
	size_t ss = at;
	while (ss > 0 && at - ss < 16 && (isalnum(s->d[ss - 1]) || s->d[ss - 1] == '+'))
		ss--;
	bool known = false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !known; i++)
		known = ci_equal((const char *)s->d + ss, at - ss, schemes[i]);
	if (!known)
		return;
	size_t le = line_end(s, at), u = at + alen, p = u;
	while (p < le && s->d[p] != ':' && s->d[p] != '@' && s->d[p] != '/' && !isspace(s->d[p]))
		p++;
	if (p >= le || s->d[p] != ':' || p == u)
		return;
	size_t ps = p + 1, pe = ps;
	while (pe < le && s->d[pe] != '@' && s->d[pe] != '/' && !isspace(s->d[pe]) && s->d[pe] != '"' &&
	       s->d[pe] != '\'')
		pe++;
	if (pe >= le || s->d[pe] != '@' || pe == ps || is_reference(s->d + ps, pe - ps))
		return;
	add_hit_graded(s, R_CONN_STRING, ps, pe);
}

/* .docker/config.json: {"auths": {"host": {"auth": "base64(user:password)"}}} */
static void docker_auth_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	size_t le = line_end(s, at), p = at + alen;
	while (p < le && (s->d[p] == ' ' || s->d[p] == '\t'))
		p++;
	if (p >= le || s->d[p] != ':')
		return;
	p++;
	while (p < le && (s->d[p] == ' ' || s->d[p] == '\t'))
		p++;
	if (p >= le || s->d[p] != '"')
		return;
	size_t vs = p + 1, ve = run(s, vs, is_b64);
	if (ve - vs >= 8 && ve < le && s->d[ve] == '"')
		add_hit(s, R_DOCKER_AUTH, vs, ve, 0);
}

/* .npmrc: //registry/:_authToken=VALUE (also _auth and _password) */
static void npmrc_at(struct scan *s, size_t at, size_t alen, const void *arg)
{
	(void)arg;
	size_t le = line_end(s, at), vs = at + alen, ve = vs;
	while (ve < le && !isspace(s->d[ve]))
		ve++;
	if (ve - vs >= 8 && !is_reference(s->d + vs, ve - vs))
		add_hit(s, R_NPMRC_AUTH, vs, ve, 0);
}

/* Rendering ------------------------------------------------------------------------------- */

/* Lines between from and pos (hits are emitted in order, so counting is linear overall). */
static int count_lines(const struct scan *s, size_t from, size_t pos)
{
	int n = 0;
	for (const unsigned char *p = s->d + from, *e = s->d + pos; p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++)
		n++;
	return n;
}

static bool masked(const struct scan *s, size_t i)
{
	for (size_t h = 0; h < s->nhits; h++)
		if (i >= s->hits[h].start + s->hits[h].keep && i < s->hits[h].end)
			return true;
	return false;
}

static char *render(const struct scan *s, const struct hit *h)
{
	size_t ls = line_start(s, h->start), le = line_end(s, h->start);
	size_t from = h->start > ls + SECRET_CONTEXT ? h->start - SECRET_CONTEXT : ls;
	size_t room = SECRET_MATCH_MAX - (h->suffix ? strlen(h->suffix) : 0);
	size_t to = le - from > room ? from + room : le;
	struct wharf_buf b;
	wharf_buf_init(&b);
	for (size_t i = from; i < to; i++) {
		unsigned char c = s->d[i];
		char out = masked(s, i) ? '*' : (c < 0x20 || c >= 0x7f) ? (c == '\t' ? ' ' : '?') : (char)c;
		if (c == '\r' && i + 1 == to)
			break;
		wharf_buf_append(&b, &out, 1);
	}
	if (h->suffix)
		wharf_buf_puts(&b, h->suffix);
	return wharf_buf_steal(&b);
}

static int hit_order(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void emit(struct scan *s, int layer, struct wharf_secret_list *out)
{
	qsort(s->hits, s->nhits, sizeof(s->hits[0]), hit_order);
	size_t counted = 0;
	int line = 1;
	for (size_t i = 0; i < s->nhits; i++) {
		const struct hit *h = &s->hits[i];
		struct wharf_secret_finding *f = wharf_secret_list_add(out);
		f->rule_id = wharf_xstrdup(rules[h->rule].id);
		f->category = wharf_xstrdup(rules[h->rule].category);
		f->severity = wharf_xstrdup(h->severity);
		f->title = wharf_xstrdup(rules[h->rule].title);
		f->path = wharf_xstrdup(s->path);
		line += count_lines(s, counted, h->start);
		counted = h->start;
		f->line = line;
		f->match = render(s, h);
		f->layer = layer;
	}
}

/* The dispatcher ---------------------------------------------------------------------------- */

struct anchor {
	const char *text;
	bool exact; /* case-sensitive (tokens); keywords match in any case */
	void (*fn)(struct scan *s, size_t at, size_t alen, const void *arg);
	const void *arg;
};

#define TOKEN(text, rule, cls, min, max)                                                   \
	{                                                                                  \
		text, true, token_at, &(const struct token_rule) { rule, cls, min, max } \
	}

static const struct anchor anchors[] = {
	{"-----BEGIN ", true, private_key_at, NULL},
	TOKEN("AKIA", R_AWS_KEY_ID, is_aws_id, 16, 16),
	TOKEN("ASIA", R_AWS_KEY_ID, is_aws_id, 16, 16),
	TOKEN("ghp_", R_GITHUB_PAT, is_alnum, 36, 255),
	TOKEN("gho_", R_GITHUB_OAUTH, is_alnum, 36, 255),
	TOKEN("ghu_", R_GITHUB_APP, is_alnum, 36, 255),
	TOKEN("ghs_", R_GITHUB_APP, is_alnum, 36, 255),
	TOKEN("ghr_", R_GITHUB_REFRESH, is_alnum, 36, 255),
	TOKEN("github_pat_", R_GITHUB_FINE, is_b64url, 50, 255),
	TOKEN("glpat-", R_GITLAB_PAT, is_b64url, 20, 255),
	TOKEN("xoxb-", R_SLACK_TOKEN, is_b64url, 10, 255),
	TOKEN("xoxa-", R_SLACK_TOKEN, is_b64url, 10, 255),
	TOKEN("xoxp-", R_SLACK_TOKEN, is_b64url, 10, 255),
	TOKEN("xoxr-", R_SLACK_TOKEN, is_b64url, 10, 255),
	TOKEN("xoxs-", R_SLACK_TOKEN, is_b64url, 10, 255),
	TOKEN("sk_live_", R_STRIPE, is_alnum, 20, 255),
	TOKEN("rk_live_", R_STRIPE, is_alnum, 20, 255),
	TOKEN("AIza", R_GOOGLE_API, is_b64url, 35, 35),
	TOKEN("npm_", R_NPM_TOKEN, is_alnum, 36, 36),
	{"hooks.slack.com/services/", true, slack_webhook_at, NULL},
	{"eyJ", true, jwt_at, NULL},
	{"\"auth\"", true, docker_auth_at, NULL},
	{":_authToken=", true, npmrc_at, NULL},
	{"://", true, conn_string_at, NULL},
	/* keywords: "secret" also finds AWS secret keys in any file; the rest serve config files */
	{"secret", false, assignment_at, NULL},
	{"password", false, assignment_at, NULL},
	{"passwd", false, assignment_at, NULL},
	{"pwd", false, assignment_at, NULL},
	{"token", false, assignment_at, NULL},
	{"api_key", false, assignment_at, NULL},
	{"apikey", false, assignment_at, NULL},
	{"access_key", false, assignment_at, NULL},
	{"private_key", false, assignment_at, NULL},
	{"credentials", false, assignment_at, NULL},
};
#define NANCHORS (sizeof(anchors) / sizeof(anchors[0]))

static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline unsigned pair_of(unsigned char a, unsigned char b)
{
	return (unsigned)ascii_lower(a) << 8 | ascii_lower(b);
}

static bool anchor_here(const struct scan *s, const struct anchor *a, size_t i, size_t alen)
{
	if (s->len - i < alen)
		return false;
	if (a->exact)
		return memcmp(s->d + i, a->text, alen) == 0;
	for (size_t j = 0; j < alen; j++)
		if (ascii_lower(s->d[i + j]) != (unsigned char)a->text[j])
			return false;
	return true;
}

static void dispatch(struct scan *s, bool keywords_everywhere)
{
	uint64_t bits[65536 / 64] = {0};
	size_t alen[NANCHORS];
	unsigned key[NANCHORS];
	size_t active[NANCHORS], nactive = 0;
	for (size_t a = 0; a < NANCHORS; a++) {
		alen[a] = strlen(anchors[a].text);
		key[a] = pair_of((unsigned char)anchors[a].text[0], (unsigned char)anchors[a].text[1]);
		if (anchors[a].exact || keywords_everywhere || strcmp(anchors[a].text, "secret") == 0) {
			active[nactive++] = a;
			bits[key[a] >> 6] |= 1ull << (key[a] & 63);
		}
	}
	bool docker = memmem(s->d, s->len, "\"auths\"", 7) != NULL;
	unsigned k = ascii_lower(s->d[0]);
	for (size_t i = 0; i + 1 < s->len; i++) {
		k = (k << 8 | ascii_lower(s->d[i + 1])) & 0xffff;
		if (!(bits[k >> 6] >> (k & 63) & 1))
			continue;
		for (size_t j = 0; j < nactive; j++) {
			size_t a = active[j];
			if (key[a] != k || !anchor_here(s, &anchors[a], i, alen[a]))
				continue;
			if (anchors[a].fn == docker_auth_at && !docker)
				continue;
			anchors[a].fn(s, i, alen[a], anchors[a].arg);
		}
	}
}

/* Where candidates overlap, keep the most specific rule's (the lowest rule index). */
static int hit_priority(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void resolve_overlaps(struct scan *s)
{
	qsort(s->hits, s->nhits, sizeof(s->hits[0]), hit_priority);
	size_t kept = 0;
	for (size_t i = 0; i < s->nhits; i++) {
		const struct hit *h = &s->hits[i];
		bool clash = false;
		for (size_t j = 0; j < kept && !clash; j++) {
			const struct hit *k = &s->hits[j];
			/* an empty span (never produced today) would otherwise never clash */
			clash = h->start < (k->end > k->start ? k->end : k->start + 1) &&
				k->start < (h->end > h->start ? h->end : h->start + 1);
		}
		if (!clash)
			s->hits[kept++] = *h;
	}
	s->nhits = kept;
}

int wharf_secrets_scan_buffer(const char *path, const unsigned char *data, size_t len, int layer,
			      struct wharf_secret_list *out, struct wharf_error *err)
{
	(void)err;
	if (len == 0 || memchr(data, '\0', len))
		return 0; /* binary */
	struct scan *s = wharf_xcalloc(1, sizeof(*s));
	s->path = path;
	s->d = data;
	s->len = len;
	bool env = strcmp(path, "config:Env") == 0;
	s->config = !env && (is_config_path(path) || wharf_str_has_prefix(path, "config:"));
	dispatch(s, s->config);
	if (env)
		scan_env(s);
	resolve_overlaps(s);
	emit(s, layer, out);
	free(s);
	return 0;
}
