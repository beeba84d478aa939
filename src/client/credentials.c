/* Registry credentials of the client: $WHARF_USER/$WHARF_PASSWORD, $WHARF_HOME/auth.json (ours,
 * docker's config.json shape: {"auths": {"host:port": {"auth": base64(user:password)}}}) and,
 * read only, docker's own config.json. Credentials are keyed by host so they are only ever
 * offered to the server they were given for. */
#include <ctype.h>
#include <pwd.h>
#include <string.h>

#include <jansson.h>

#include "wharf/client.h"
#include "wharf/json.h"
#include "wharf/keys.h"

#define AUTH_FILE_MAX (1024u * 1024)
#define HOST_MAX 255

void wharf_credentials_clear(struct wharf_credentials *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->user);
	c->user = c->password = NULL;
	c->source = NULL;
}

int wharf_credentials_host(const char *server, char **out, struct wharf_error *err)
{
	const char *p = strstr(server, "://");
	p = p ? p + 3 : server;
	size_t n = strcspn(p, "/?#");
	if (n == 0 || n > HOST_MAX)
		return wharf_error_set(err, WHARF_EINVAL, "server %s: the host must be 1 to %d characters", server, HOST_MAX);
	char *host = wharf_xstrndup(p, n);
	for (char *c = host; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr(".-:[]_", *c)) {
			free(host);
			return wharf_error_set(err, WHARF_EINVAL,
					       "server %s: the host may hold only letters, digits and . - : [ ] _ "
					       "(no user name or password in it)", server);
		}
		*c = (char)tolower((unsigned char)*c);
	}
	*out = host;
	return 0;
}

static char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (!h || !*h) {
		struct passwd *pw = getpwuid(getuid());
		h = pw ? pw->pw_dir : NULL;
	}
	return h ? wharf_xstrdup(h) : NULL;
}

/* $WHARF_HOME/auth.json, or ~/.wharf/auth.json. */
static int auth_file(char **out, struct wharf_error *err)
{
	const char *env = getenv("WHARF_HOME");
	if (env && *env) {
		*out = wharf_xasprintf("%s/auth.json", env);
		return 0;
	}
	_cleanup_free_ char *home = home_dir();
	if (!home)
		return wharf_error_set(err, WHARF_EINVAL, "neither WHARF_HOME nor HOME is set");
	*out = wharf_xasprintf("%s/.wharf/auth.json", home);
	return 0;
}

static char *docker_file(void)
{
	const char *env = getenv("DOCKER_CONFIG");
	if (env && *env)
		return wharf_xasprintf("%s/config.json", env);
	_cleanup_free_ char *home = home_dir();
	return home ? wharf_xasprintf("%s/.docker/config.json", home) : NULL;
}

/* The JSON document at path; *doc NULL when the file does not exist. */
static int load(const char *path, json_t **doc, struct wharf_error *err)
{
	*doc = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, AUTH_FILE_MAX, &data, &len, err);
	if (r == -WHARF_ENOTFOUND)
		return 0;
	if (r < 0)
		return r;
	if ((r = wharf_json_parse(doc, data, len, AUTH_FILE_MAX, err)) < 0)
		return wharf_error_prefix(err, "%s", path);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return wharf_error_set(err, WHARF_EINVAL, "%s: not a JSON object", path);
	}
	return 0;
}

/* Decode an "auth" value, base64(user:password), into c. */
static int decode_auth(const char *path, const char *host, const char *b64, struct wharf_credentials *c,
		       struct wharf_error *err)
{
	struct wharf_buf raw;
	wharf_buf_init(&raw);
	int r = wharf_base64_decode(b64, &raw, err);
	char *colon = r >= 0 && raw.data ? memchr(raw.data, ':', raw.len) : NULL;
	if (!colon || colon == raw.data || memchr(raw.data, '\0', raw.len)) {
		if (raw.data)
			explicit_bzero(raw.data, raw.len);
		wharf_buf_free(&raw);
		return wharf_error_set(err, WHARF_EINVAL, "%s: the auth entry of %s is not base64 of user:password", path,
				       host);
	}
	c->user = wharf_xstrndup(raw.data, (size_t)(colon - raw.data));
	c->password = wharf_xstrdup(colon + 1);
	explicit_bzero(raw.data, raw.len);
	wharf_buf_free(&raw);
	return 1;
}

/* Look host up in the "auths" of the file at path; docker also keys entries by URL. */
static int lookup_in(const char *path, const char *host, bool docker, struct wharf_credentials *c,
		     struct wharf_error *err)
{
	json_t *doc = NULL;
	int r = load(path, &doc, err);
	if (r < 0 || !doc)
		return r;
	json_t *auths = json_object_get(doc, "auths");
	json_t *entry = json_object_get(auths, host);
	for (int i = 0; docker && !entry && i < 2; i++) {
		_cleanup_free_ char *key = wharf_xasprintf("%s://%s", i ? "https" : "http", host);
		entry = json_object_get(auths, key);
	}
	const char *b64 = json_string_value(json_object_get(entry, "auth"));
	r = b64 && *b64 ? decode_auth(path, host, b64, c, err) : 0;
	json_decref(doc);
	return r;
}

int wharf_credentials_lookup(const char *host, struct wharf_credentials *out, struct wharf_error *err)
{
	*out = (struct wharf_credentials){0};
	const char *user = getenv("WHARF_USER"), *pw = getenv("WHARF_PASSWORD");
	if (user && *user && pw) {
		out->user = wharf_xstrdup(user);
		out->password = wharf_xstrdup(pw);
		out->source = "WHARF_USER/WHARF_PASSWORD";
		return 1;
	}
	_cleanup_free_ char *ours = NULL;
	int r = auth_file(&ours, err);
	if (r < 0)
		return r;
	if ((r = lookup_in(ours, host, false, out, err)) != 0) {
		out->source = "auth.json";
		return r;
	}
	_cleanup_free_ char *theirs = docker_file();
	if (theirs && (r = lookup_in(theirs, host, true, out, err)) != 0) {
		out->source = "docker config";
		return r;
	}
	return 0;
}

/* Read auth.json (or start an empty one), let edit change it, write it back atomically, 0600. */
static int rewrite(const char *host, const char *auth, bool *removed, struct wharf_error *err)
{
	_cleanup_free_ char *path = NULL;
	json_t *doc = NULL;
	int r = auth_file(&path, err);
	if (r < 0 || (r = load(path, &doc, err)) < 0)
		return r;
	_cleanup_free_ char *dir = wharf_xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if ((r = wharf_mkdir_p(dir, 0700, err)) < 0) {
		json_decref(doc);
		return r;
	}
	if (!doc)
		doc = json_object();
	json_t *auths = json_object_get(doc, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(doc, "auths", auths);
	}
	if (auth)
		json_object_set_new(auths, host, json_pack("{s:s}", "auth", auth));
	else
		*removed = json_object_del(auths, host) == 0;
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	r = wharf_atomic_write(path, text, strlen(text), 0600, err);
	explicit_bzero(text, strlen(text));
	free(text);
	return r < 0 ? wharf_error_prefix(err, "cannot write %s", path) : 0;
}

int wharf_credentials_store(const char *host, const char *user, const char *password, struct wharf_error *err)
{
	if (!*user || strchr(user, ':'))
		return wharf_error_set(err, WHARF_EINVAL, "user name '%s': must be non-empty and hold no ':'", user);
	_cleanup_free_ char *pair = wharf_xasprintf("%s:%s", user, password);
	char *b64 = wharf_base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	int r = rewrite(host, b64, NULL, err);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	return r;
}

int wharf_credentials_erase(const char *host, bool *removed, struct wharf_error *err)
{
	*removed = false;
	return rewrite(host, NULL, removed, err);
}
