/* Client authentication: the WWW-Authenticate parser and the credential files. */
#include "wharf_test.h"

#include <sys/stat.h>

#include "wharf/client.h"

static void parse_ok(const char *header, struct wharf_auth_challenge *c)
{
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_auth_challenge_parse(header, c, &err), err);
}

static void parse_fails(const char *header, int code, const char *message_part)
{
	struct wharf_auth_challenge c;
	struct wharf_error err = {0};
	int r = wharf_auth_challenge_parse(header, &c, &err);
	assert_wharf_err(r, err, code);
	assert_contains(err.message, message_part);
	assert_null(c.realm);
}

static void test_challenge_bearer(void **state)
{
	(void)state;
	struct wharf_auth_challenge c;
	parse_ok("Bearer realm=\"http://127.0.0.1:5000/token\",service=\"wharf\",scope=\"repository:acme/app:pull,push\"",
		 &c);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "http://127.0.0.1:5000/token");
	assert_string_equal(c.service, "wharf");
	assert_string_equal(c.scope, "repository:acme/app:pull,push"); /* the comma stays inside the quotes */
	assert_null(c.error);
	wharf_auth_challenge_clear(&c);

	parse_ok("  bEaReR  REALM = \"https://h/t\" , error=insufficient_scope,  other=\"x,y\"", &c);
	assert_string_equal(c.realm, "https://h/t");
	assert_string_equal(c.error, "insufficient_scope");
	assert_null(c.scope);
	wharf_auth_challenge_clear(&c);

	parse_ok("Bearer realm=\"a\\\"b, c\", Basic realm=\"other\"", &c); /* only the first challenge */
	assert_string_equal(c.realm, "a\"b, c");
	wharf_auth_challenge_clear(&c);
}

static void test_challenge_basic(void **state)
{
	(void)state;
	struct wharf_auth_challenge c;
	parse_ok("Basic realm=\"wharf\"", &c);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "wharf");
	wharf_auth_challenge_clear(&c);
	parse_ok("Basic", &c);
	assert_null(c.realm);
	wharf_auth_challenge_clear(&c);
}

static void test_challenge_refused(void **state)
{
	(void)state;
	parse_fails("Negotiate abc", WHARF_EUNSUPPORTED, "not Bearer or Basic");
	parse_fails("Bearer service=\"x\"", WHARF_EINVAL, "without a realm");
	parse_fails("Bearer realm=\"", WHARF_EINVAL, "not closed");
	parse_fails("Bearer realm=\"a\",realm=\"b\"", WHARF_EINVAL, "given twice");
	parse_fails("Bearer realm=\"a\" service=\"b\"", WHARF_EINVAL, "expected ','");
	parse_fails("Bearer realm=\"a\x01\"", WHARF_EINVAL, "control character");
	parse_fails("Bearerrealm=\"a\"", WHARF_EUNSUPPORTED, "not Bearer or Basic");
	parse_fails("Bearer =x", WHARF_EINVAL, "expected name=value");
	parse_fails("Bearer r", WHARF_EINVAL, "expected name=value"); /* found by fuzz_challenge: read past the end */
	parse_fails("Bearer realm", WHARF_EINVAL, "expected name=value");

	char *big = wharf_xmalloc(WHARF_CHALLENGE_MAX + 2);
	memset(big, 'a', WHARF_CHALLENGE_MAX + 1);
	memcpy(big, "Bearer realm=", 13);
	big[WHARF_CHALLENGE_MAX + 1] = '\0';
	parse_fails(big, WHARF_ETOOBIG, "longer than 4096");
	big[3000] = '\0'; /* one unquoted value of ~3000 bytes */
	parse_fails(big, WHARF_ETOOBIG, "value is longer than 2048");
	memcpy(big, "Bearer realm=\"", 14); /* the same, quoted */
	big[2999] = '"';
	parse_fails(big, WHARF_ETOOBIG, "value is longer than 2048");
	free(big);

	struct wharf_buf many;
	wharf_buf_init(&many);
	wharf_buf_puts(&many, "Bearer realm=r");
	for (int i = 0; i < 20; i++)
		wharf_buf_printf(&many, ",p%d=v", i);
	parse_fails(many.data, WHARF_ETOOBIG, "more than 16 parameters");
	wharf_buf_free(&many);
}

static void test_credentials_host(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	char *h = NULL;
	assert_wharf_ok(wharf_credentials_host("http://Registry.Example:5000/v2/x", &h, &err), err);
	assert_string_equal(h, "registry.example:5000");
	free(h);
	assert_wharf_ok(wharf_credentials_host("127.0.0.1:5000", &h, &err), err);
	assert_string_equal(h, "127.0.0.1:5000");
	free(h);
	assert_wharf_err(wharf_credentials_host("http://u:p@evil/", &h, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "no user name or password");
	assert_wharf_err(wharf_credentials_host("http:///x", &h, &err), err, WHARF_EINVAL);
}

static void write_text(const char *path, const char *text)
{
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_atomic_write(path, text, strlen(text), 0600, &err), err);
}

static void test_credentials_files(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	char *docker = wharf_xasprintf("%s/docker", dir);
	mkdir(docker, 0700);
	setenv("WHARF_HOME", dir, 1);
	setenv("DOCKER_CONFIG", docker, 1);
	unsetenv("WHARF_USER");
	unsetenv("WHARF_PASSWORD");
	struct wharf_error err = {0};
	struct wharf_credentials c;
	assert_int_equal(wharf_credentials_lookup("h:1", &c, &err), 0);

	assert_wharf_ok(wharf_credentials_store("h:1", "alice", "pw:with:colons", &err), err);
	assert_wharf_ok(wharf_credentials_store("other:2", "bob", "x", &err), err);
	char *path = wharf_xasprintf("%s/auth.json", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *text = NULL;
	size_t len = 0;
	assert_wharf_ok(wharf_read_file(path, 1 << 20, &text, &len, &err), err);
	assert_contains(text, "\"auths\"");
	assert_contains(text, "\"h:1\"");
	assert_null(strstr(text, "pw:with:colons")); /* stored as base64, like docker */
	free(text);

	assert_int_equal(wharf_credentials_lookup("h:1", &c, &err), 1);
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.password, "pw:with:colons");
	assert_string_equal(c.source, "auth.json");
	wharf_credentials_clear(&c);

	/* docker's file is read for hosts we do not know, also keyed by URL */
	char *dpath = wharf_xasprintf("%s/config.json", docker);
	write_text(dpath, "{\"auths\": {\"https://d:3\": {\"auth\": \"Y2Fyb2w6c2VjcmV0\"}}}"); /* carol:secret */
	assert_int_equal(wharf_credentials_lookup("d:3", &c, &err), 1);
	assert_string_equal(c.user, "carol");
	assert_string_equal(c.password, "secret");
	assert_string_equal(c.source, "docker config");
	wharf_credentials_clear(&c);

	/* the environment wins */
	setenv("WHARF_USER", "env-user", 1);
	setenv("WHARF_PASSWORD", "env-pw", 1);
	assert_int_equal(wharf_credentials_lookup("h:1", &c, &err), 1);
	assert_string_equal(c.user, "env-user");
	wharf_credentials_clear(&c);
	unsetenv("WHARF_USER");
	unsetenv("WHARF_PASSWORD");

	bool removed = false;
	assert_wharf_ok(wharf_credentials_erase("h:1", &removed, &err), err);
	assert_true(removed);
	assert_wharf_ok(wharf_credentials_erase("h:1", &removed, &err), err);
	assert_false(removed);
	assert_int_equal(wharf_credentials_lookup("h:1", &c, &err), 0);
	assert_int_equal(wharf_credentials_lookup("other:2", &c, &err), 1);
	wharf_credentials_clear(&c);

	write_text(path, "{\"auths\": {\"bad:1\": {\"auth\": \"bm9jb2xvbg==\"}}}"); /* "nocolon" */
	assert_wharf_err(wharf_credentials_lookup("bad:1", &c, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "not base64 of user:password");
	write_text(path, "[1]");
	assert_wharf_err(wharf_credentials_lookup("bad:1", &c, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "not a JSON object");
	assert_wharf_err(wharf_credentials_store("h:1", "a:b", "x", &err), err, WHARF_EINVAL);
	free(dpath);
	free(path);
	free(docker);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_bearer),  cmocka_unit_test(test_challenge_basic),
		cmocka_unit_test(test_challenge_refused), cmocka_unit_test(test_credentials_host),
		cmocka_unit_test(test_credentials_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
