/* auth: base64url, Basic credentials, scopes, argon2id passwords, ES256 tokens (and the tokens
 * they must refuse), and decisions over a real auth.db. */
#include "wharf_test.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "wharf/auth.h"
#include "wharf/keys.h"
#include "../../src/auth/internal.h"

static void b64url_round_trip(void **state)
{
	(void)state;
	for (size_t len = 0; len < 40; len++) {
		unsigned char in[40];
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(i * 37 + len);
		char *enc = wharf_b64url_encode(in, len);
		assert_null(strpbrk(enc, "+/="));
		unsigned char *dec = NULL;
		size_t n = 0;
		assert_int_equal(wharf_b64url_decode(enc, strlen(enc), &dec, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		free(dec);
		free(enc);
	}
	unsigned char *dec = NULL;
	size_t n = 0;
	assert_int_equal(wharf_b64url_decode("ab+c", 4, &dec, &n), -WHARF_EINVAL);
	assert_int_equal(wharf_b64url_decode("abcde", 5, &dec, &n), -WHARF_EINVAL);
}

static void basic_parse_cases(void **state)
{
	(void)state;
	char *u = NULL, *p = NULL;
	struct wharf_error err = {0};
	assert_int_equal(wharf_basic_parse("Basic YWxpY2U6czNjcjp0", &u, &p, &err), 0); /* alice:s3cr:t */
	assert_string_equal(u, "alice");
	assert_string_equal(p, "s3cr:t");
	free(u);
	free(p);
	assert_wharf_err(wharf_basic_parse("Bearer abc", &u, &p, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_basic_parse("Basic !!!!", &u, &p, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "base64");
	assert_wharf_err(wharf_basic_parse("Basic YWxpY2U=", &u, &p, &err), err, WHARF_EINVAL); /* no colon */
	assert_contains(err.message, "user:password");
}

static void scope_parse_cases(void **state)
{
	(void)state;
	struct wharf_scope sc;
	struct wharf_error err = {0};
	assert_int_equal(wharf_scope_parse("repository:acme/app:pull,push", &sc, &err), 0);
	assert_string_equal(sc.type, "repository");
	assert_string_equal(sc.name, "acme/app");
	assert_int_equal(sc.actions, WHARF_ACT_PULL | WHARF_ACT_PUSH);
	assert_int_equal(wharf_scope_parse("repository:localhost:5000/a/b:pull", &sc, &err), 0);
	assert_string_equal(sc.name, "localhost:5000/a/b");
	assert_int_equal(wharf_scope_parse("repository:a/b:*", &sc, &err), 0);
	assert_true(sc.star);
	assert_int_equal(sc.actions, WHARF_ACT_REPO_ALL);
	assert_int_equal(wharf_scope_parse("registry:catalog:*", &sc, &err), 0);
	assert_int_equal(sc.actions, WHARF_ACT_CATALOG);
	assert_int_equal(wharf_scope_parse("repository:a/b:frobnicate", &sc, &err), 0);
	assert_int_equal(sc.actions, 0);
	assert_wharf_err(wharf_scope_parse("repository:nothing", &sc, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_scope_parse("volume:a:pull", &sc, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "volume:a:pull");
}

static void password_hash_and_verify(void **state)
{
	(void)state;
	char *h1 = NULL, *h2 = NULL;
	struct wharf_error err = {0};
	assert_int_equal(wharf_password_hash("correct horse", &h1, &err), 0);
	assert_int_equal(wharf_password_hash("correct horse", &h2, &err), 0);
	assert_true(wharf_str_has_prefix(h1, "$argon2id$"));
	assert_string_not_equal(h1, h2); /* salted */
	assert_true(wharf_password_verify(h1, "correct horse"));
	assert_false(wharf_password_verify(h1, "correct horsf"));
	assert_false(wharf_password_verify("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aaaa", "x"));
	assert_wharf_err(wharf_password_hash("", &h2 /* untouched on failure */, &err), err, WHARF_EINVAL);
	free(h1);
	free(h2);
}

static struct wharf_jwt_key *new_key(char **pem_out)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	struct wharf_jwt_key *k = NULL;
	struct wharf_error err = {0};
	assert_int_equal(wharf_jwt_key_from_pem(&k, data, (size_t)n, &err), 0);
	if (pem_out)
		*pem_out = wharf_xstrndup(data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return k;
}

static json_t *sample_claims(int64_t now)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:[{s:s,s:s,s:[s,s]}]}", "iss", "wharf", "aud", "wharf", "sub", "alice",
			 "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp", (json_int_t)(now + 300), "access", "type",
			 "repository", "name", "acme/app", "actions", "pull", "push");
}

static void jwt_sign_verify_and_claims(void **state)
{
	(void)state;
	struct wharf_jwt_key *k = new_key(NULL);
	int64_t now = wharf_now();
	json_t *c = sample_claims(now);
	char *tok = NULL;
	struct wharf_error err = {0};
	assert_int_equal(wharf_jwt_sign(k, c, &tok, &err), 0);
	json_t *got = NULL;
	assert_int_equal(wharf_jwt_verify(k, tok, &got, &err), 0);
	assert_int_equal(wharf_jwt_check_claims(got, "wharf", "wharf", now, 30, &err), 0);
	assert_int_equal(wharf_jwt_access_actions(got, "repository", "acme/app"), WHARF_ACT_PULL | WHARF_ACT_PUSH);
	assert_int_equal(wharf_jwt_access_actions(got, "repository", "acme/other"), 0);
	assert_wharf_err(wharf_jwt_check_claims(got, "wharf", "other", now, 30, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "audience");
	assert_wharf_err(wharf_jwt_check_claims(got, "evil", "wharf", now, 30, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_jwt_check_claims(got, "wharf", "wharf", now + 400, 30, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "expired");
	assert_wharf_err(wharf_jwt_check_claims(got, "wharf", "wharf", now - 100, 30, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "not valid yet");
	json_decref(got);
	/* another key */
	struct wharf_jwt_key *other = new_key(NULL);
	assert_wharf_err(wharf_jwt_verify(other, tok, &got, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "does not verify");
	/* one flipped signature byte */
	size_t len = strlen(tok);
	tok[len - 5] = tok[len - 5] == 'A' ? 'B' : 'A';
	assert_wharf_err(wharf_jwt_verify(k, tok, &got, &err), err, WHARF_EINVAL);
	free(tok);
	json_decref(c);
	wharf_jwt_key_free(k);
	wharf_jwt_key_free(other);
}

static char *forge(const char *alg, const json_t *claims, const unsigned char *hmac_key, size_t keylen)
{
	char *hj = wharf_xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	char *h = wharf_b64url_encode((unsigned char *)hj, strlen(hj));
	char *cj = json_dumps(claims, JSON_COMPACT);
	char *c = wharf_b64url_encode((unsigned char *)cj, strlen(cj));
	char *input = wharf_xasprintf("%s.%s", h, c);
	char *sig = wharf_xstrdup("");
	if (hmac_key) {
		unsigned char md[32];
		unsigned int mdlen = 0;
		HMAC(EVP_sha256(), hmac_key, (int)keylen, (unsigned char *)input, strlen(input), md, &mdlen);
		free(sig);
		sig = wharf_b64url_encode(md, mdlen);
	}
	char *tok = wharf_xasprintf("%s.%s", input, sig);
	free(hj), free(h), free(cj), free(c), free(input), free(sig);
	return tok;
}

static void jwt_refuses_none_and_hmac(void **state)
{
	(void)state;
	char *pem = NULL;
	struct wharf_jwt_key *k = new_key(&pem);
	json_t *c = sample_claims(wharf_now());
	json_t *got = NULL;
	struct wharf_error err = {0};
	char *none = forge("none", c, NULL, 0);
	assert_wharf_err(wharf_jwt_verify(k, none, &got, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "is not ES256");
	char *hs = forge("HS256", c, (unsigned char *)pem, strlen(pem));
	assert_wharf_err(wharf_jwt_verify(k, hs, &got, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "'HS256' is not ES256");
	char *es_nosig = forge("ES256", c, NULL, 0);
	assert_wharf_err(wharf_jwt_verify(k, es_nosig, &got, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_jwt_verify(k, "a.b", &got, &err), err, WHARF_EINVAL);
	assert_wharf_err(wharf_jwt_verify(k, "a.b.c.d", &got, &err), err, WHARF_EINVAL);
	free(none), free(hs), free(es_nosig), free(pem);
	json_decref(c);
	wharf_jwt_key_free(k);
}

static void config_object_keys(void **state)
{
	(void)state;
	struct wharf_auth_config cfg;
	wharf_auth_config_init(&cfg);
	assert_false(cfg.enabled);
	assert_int_equal(cfg.token_ttl, 300);
	struct wharf_error err = {0};
	json_t *ok = json_loads("{\"enabled\":true,\"admin_user\":\"root\",\"token_ttl\":\"10m\",\"realm\":\"https://r/token\"}", 0, NULL);
	assert_int_equal(wharf_auth_config_load(&cfg, ok, &err), 0);
	assert_true(cfg.enabled);
	assert_int_equal(cfg.token_ttl, 600);
	assert_string_equal(cfg.realm, "https://r/token");
	json_decref(ok);
	static const char *const bad[][2] = {
		{"{\"enable\":true}", "auth.enable' is not known"},
		{"{\"enabled\":1}", "auth.enabled' must be true or false"},
		{"{\"token_ttl\":\"2d\"}", "10s to 24h"},
		{"{\"token_ttl\":\"soon\"}", "auth.token_ttl' must be a duration"},
		{"{\"service\":\"\"}", "auth.service' must be a non-empty string"},
		{"[]", "'auth' must be an object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i][0], JSON_DECODE_ANY, NULL);
		assert_wharf_err(wharf_auth_config_load(&cfg, j, &err), err, WHARF_EINVAL);
		assert_contains(err.message, bad[i][1]);
		json_decref(j);
	}
	wharf_auth_config_free(&cfg);
}

struct model_ctx {
	char *dir;
	struct wharf_auth *auth;
};

static int model_setup(void **state)
{
	struct model_ctx *c = wharf_xcalloc(1, sizeof(*c));
	c->dir = test_mkdtemp();
	struct wharf_auth_config cfg;
	wharf_auth_config_init(&cfg);
	cfg.enabled = true;
	cfg.admin_user = wharf_xstrdup("root");
	setenv("WHARF_ADMIN_PASSWORD", "rootpw", 1);
	struct wharf_error err = {0};
	int r = wharf_auth_open(&c->auth, &cfg, c->dir, &err);
	wharf_auth_config_free(&cfg);
	if (r < 0)
		fail_msg("wharf_auth_open: %s", err.message);
	*state = c;
	return 0;
}

static int model_teardown(void **state)
{
	struct model_ctx *c = *state;
	wharf_auth_free(c->auth);
	test_rmtree(c->dir);
	free(c);
	return 0;
}

static char *basic_header(const char *user, const char *pw)
{
	char *raw = wharf_xasprintf("%s:%s", user, pw);
	unsigned char out[256];
	int n = EVP_EncodeBlock(out, (unsigned char *)raw, (int)strlen(raw));
	free(raw);
	return wharf_xasprintf("Basic %.*s", n, out);
}

static bool allowed(struct wharf_auth *a, const char *user, const char *repo, enum wharf_action act)
{
	_cleanup_free_ char *h = user ? basic_header(user, "pw123456") : NULL;
	struct wharf_access acc = {.repository = repo, .action = act, .authorization = h, .host = "reg.example"};
	struct wharf_auth_decision d;
	wharf_auth_decide(a, &acc, &d);
	if (!d.allowed)
		assert_true(d.status == 401 || d.status == 403);
	return d.allowed;
}

static void model_roles_and_decisions(void **state)
{
	struct model_ctx *c = *state;
	struct auth_model *m = c->auth->model;
	struct wharf_error err = {0};
	for (const char *const *u = (const char *const[]){"owner", "dev", "qa", "out", NULL}; *u; u++)
		assert_int_equal(model_user_add(m, *u, "pw123456", false, &err), 0);
	assert_wharf_err(model_user_add(m, "dev", "x", false, &err), err, WHARF_EEXIST);
	assert_wharf_err(model_user_add(m, "Bad Name", "x", false, &err), err, WHARF_EINVAL);
	assert_int_equal(model_org_add(m, "acme", "owner", &err), 0);
	assert_int_equal(model_team_add(m, "acme", "devs", &err), 0);
	assert_int_equal(model_team_add(m, "acme", "qa", &err), 0);
	assert_int_equal(model_team_member(m, "acme", "devs", "dev", true, &err), 0);
	assert_int_equal(model_team_member(m, "acme", "qa", "qa", true, &err), 0);
	assert_int_equal(model_team_member(m, "acme", "qa", "dev", true, &err), 0);
	assert_int_equal(model_team_grant(m, "acme", "devs", "acme/app", PERM_WRITE, &err), 0);
	assert_int_equal(model_team_grant(m, "acme", "qa", "acme/app", PERM_READ, &err), 0);
	assert_wharf_err(model_team_grant(m, "acme", "qa", "other/app", PERM_READ, &err), err, WHARF_EINVAL);
	assert_wharf_err(model_team_member(m, "acme", "nope", "dev", true, &err), err, WHARF_ENOTFOUND);

	struct wharf_auth *a = c->auth;
	assert_true(allowed(a, "dev", "acme/app", WHARF_ACTION_PUSH)); /* highest grant wins */
	assert_false(allowed(a, "dev", "acme/app", WHARF_ACTION_DELETE));
	assert_true(allowed(a, "qa", "acme/app", WHARF_ACTION_PULL));
	assert_false(allowed(a, "qa", "acme/app", WHARF_ACTION_PUSH));
	assert_true(allowed(a, "owner", "acme/app", WHARF_ACTION_DELETE));
	assert_false(allowed(a, "out", "acme/app", WHARF_ACTION_PULL));
	assert_true(allowed(a, "out", "out/mine", WHARF_ACTION_PUSH)); /* a user's own namespace */
	assert_false(allowed(a, NULL, "acme/app", WHARF_ACTION_PULL));
	assert_int_equal(model_repo_set_public(m, "acme/app", true, &err), 0);
	assert_true(allowed(a, NULL, "acme/app", WHARF_ACTION_PULL));
	assert_false(allowed(a, NULL, "acme/app", WHARF_ACTION_PUSH));
	/* changes reach cached Basic decisions at once */
	assert_int_equal(model_user_disable(m, "dev", true, &err), 0);
	assert_false(allowed(a, "dev", "acme/app", WHARF_ACTION_PUSH));
	assert_int_equal(model_user_rm(m, "qa", &err), 0);
	assert_wharf_err(model_user_rm(m, "qa", &err), err, WHARF_ENOTFOUND);

	struct wharf_access acc = {.repository = "acme/app", .action = WHARF_ACTION_PUSH, .host = "reg.example"};
	struct wharf_auth_decision d;
	wharf_auth_decide(a, &acc, &d);
	assert_int_equal(d.status, 401);
	assert_string_equal(d.www_authenticate,
			    "Bearer realm=\"http://reg.example/token\",service=\"wharf\",scope=\"repository:acme/app:pull,push\"");
	/* hostile Host headers and names never reach the quoted parameters */
	acc.host = "evil\",error=\"x";
	acc.repository = "acme/a\"pp";
	wharf_auth_decide(a, &acc, &d);
	assert_string_equal(d.www_authenticate, "Bearer realm=\"http://localhost/token\",service=\"wharf\"");
}

static void model_robot_scopes(void **state)
{
	struct model_ctx *c = *state;
	struct auth_model *m = c->auth->model;
	struct wharf_error err = {0};
	char *secret = NULL;
	assert_int_equal(model_robot_add(m, "ci", "acme/*", WHARF_ACT_PULL, 0, &secret, &err), 0);
	struct subject s;
	assert_int_equal(model_authenticate(m, "ci", secret, &s, &err), 0);
	assert_int_equal(s.kind, SUBJECT_ROBOT);
	assert_int_equal(model_repo_actions(m, &s, "acme/x"), WHARF_ACT_PULL);
	assert_int_equal(model_repo_actions(m, &s, "other/x"), 0);
	assert_wharf_err(model_authenticate(m, "ci", "wrong", &s, &err), err, WHARF_EINVAL);
	free(secret);
	assert_int_equal(model_robot_add(m, "old", "acme/*", WHARF_ACT_PULL, wharf_now() - 5, &secret, &err), 0);
	assert_wharf_err(model_authenticate(m, "old", secret, &s, &err), err, WHARF_EINVAL);
	free(secret);
}

/* Events reach the audit log with the caller's subject and remote, fields cannot override them,
 * and without a log the call is a no-op that still takes the fields. */
static void audit_event_records_subject_and_fields(void **state)
{
	(void)state;
	char *dir = test_mkdtemp(); /* test_rmtree frees it */
	_cleanup_free_ char *log = wharf_xasprintf("%s/audit.log", dir);
	struct wharf_auth_config cfg;
	wharf_auth_config_init(&cfg);
	cfg.enabled = true;
	cfg.admin_user = wharf_xstrdup("root");
	cfg.ext.audit_log = wharf_xstrdup(log);
	setenv("WHARF_ADMIN_PASSWORD", "rootpw", 1);
	struct wharf_auth *a = NULL;
	struct wharf_error err = {0};
	assert_int_equal(wharf_auth_open(&a, &cfg, dir, &err), 0);
	wharf_auth_config_free(&cfg);
	assert_true(wharf_auth_audit_enabled(a));
	wharf_auth_audit_event(a, "push", "alice", "192.0.2.7",
			       json_pack("{s:s,s:s,s:s}", "repository", "acme/app", "user", "mallory", "type", "x"));
	wharf_auth_audit_event(a, "delete", NULL, NULL, NULL);
	wharf_auth_free(a);
	size_t records = 0;
	assert_int_equal(wharf_audit_verify(log, &records, &err), 0);
	assert_int_equal(records, 2);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	assert_int_equal(wharf_read_file(log, 1 << 20, &text, &len, &err), 0);
	json_t *first = json_loadb(text, strcspn(text, "\n"), 0, NULL);
	assert_non_null(first);
	assert_string_equal(json_string_value(json_object_get(first, "type")), "push");
	assert_string_equal(json_string_value(json_object_get(first, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(first, "remote")), "192.0.2.7");
	assert_string_equal(json_string_value(json_object_get(first, "repository")), "acme/app");
	json_decref(first);
	assert_non_null(strstr(text, "\"type\":\"delete\",\"user\":\"\""));
	test_rmtree(dir);

	struct wharf_auth *off = wharf_auth_allow_all();
	assert_false(wharf_auth_audit_enabled(off));
	wharf_auth_audit_event(off, "push", "alice", "-", json_pack("{s:s}", "repository", "r")); /* ASan: no leak */
	wharf_auth_free(off);
}

#define M(f) cmocka_unit_test_setup_teardown(f, model_setup, model_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_round_trip),
		cmocka_unit_test(basic_parse_cases),
		cmocka_unit_test(scope_parse_cases),
		cmocka_unit_test(password_hash_and_verify),
		cmocka_unit_test(jwt_sign_verify_and_claims),
		cmocka_unit_test(jwt_refuses_none_and_hmac),
		cmocka_unit_test(config_object_keys),
		cmocka_unit_test(audit_event_records_subject_and_fields),
		M(model_roles_and_decisions),
		M(model_robot_scopes),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
