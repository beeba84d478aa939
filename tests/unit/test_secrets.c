/* The secrets detector: one true positive per rule (tokens are assembled at run time so this
 * file holds none), private keys made by the openssl and ssh-keygen tools, placeholders and
 * look-alikes that must not be reported, masking that never shows more than a rule's public
 * prefix, and its speed on text without secrets. */
#include <ctype.h>
#include <sys/wait.h>
#include <time.h>

#include "wharf_test.h"

#include "wharf/pkg.h"

/* A deterministic run of n characters from an alphabet, different for each seed. */
static char *random_chars(const char *alphabet, size_t n, unsigned seed)
{
	size_t m = strlen(alphabet);
	char *s = wharf_xmalloc(n + 1);
	uint32_t x = 2463534242u ^ seed * 2654435761u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		s[i] = alphabet[x % m];
	}
	s[n] = '\0';
	return s;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define UPPER32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define B64URL ALNUM "-_"

static void scan(const char *path, const char *text, struct wharf_secret_list *out)
{
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_secrets_scan_buffer(path, (const unsigned char *)text, strlen(text), 2, out, &err), err);
}

/* Exactly one finding with this rule; the secret's tail (after `keep` bytes) is never shown. */
static const struct wharf_secret_finding *expect_one(const struct wharf_secret_list *l, const char *rule,
						      const char *secret, size_t keep, int line)
{
	const struct wharf_secret_finding *f = NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].rule_id, rule) != 0)
			continue;
		if (f)
			fail_msg("rule %s reported twice", rule);
		f = &l->v[i];
	}
	if (!f)
		fail_msg("rule %s not reported (%zu findings, first: %s)", rule, l->n, l->n ? l->v[0].rule_id : "-");
	assert_int_equal(f->line, line);
	assert_int_equal(f->layer, 2);
	assert_true(strlen(f->match) <= 120);
	assert_non_null(f->category), assert_non_null(f->title), assert_non_null(f->severity);
	if (secret) {
		size_t n = strlen(secret);
		if (keep) {
			char *prefix = wharf_xstrndup(secret, keep);
			assert_contains(f->match, prefix);
			free(prefix);
		}
		/* no 4 consecutive characters of the secret's masked part appear in the match */
		for (size_t i = keep; i + 4 <= n; i++) {
			char *piece = wharf_xstrndup(secret + i, 4);
			if (strstr(f->match, piece) && !strstr(secret, "****"))
				fail_msg("match \"%s\" shows \"%s\" of the secret", f->match, piece);
			free(piece);
		}
		assert_non_null(strstr(f->match, "****"));
	}
	return f;
}

static void test_tokens(void **state)
{
	(void)state;
	struct {
		const char *rule, *prefix, *alphabet;
		size_t n, keep;
		const char *severity;
	} cases[] = {
		{"aws-access-key-id", "AKIA", UPPER32, 16, 4, "CRITICAL"},
		{"aws-access-key-id", "ASIA", UPPER32, 16, 4, "CRITICAL"},
		{"github-pat", "ghp_", ALNUM, 36, 4, "CRITICAL"},
		{"github-oauth", "gho_", ALNUM, 36, 4, "CRITICAL"},
		{"github-app-token", "ghs_", ALNUM, 36, 4, "CRITICAL"},
		{"github-app-token", "ghu_", ALNUM, 36, 4, "CRITICAL"},
		{"github-refresh-token", "ghr_", ALNUM, 36, 4, "CRITICAL"},
		{"github-fine-grained-pat", "github_pat_", ALNUM "_", 82, 11, "CRITICAL"},
		{"gitlab-pat", "glpat-", B64URL, 20, 6, "CRITICAL"},
		{"slack-access-token", "xoxb-", ALNUM "-", 40, 5, "HIGH"},
		{"slack-access-token", "xoxp-", ALNUM "-", 60, 5, "HIGH"},
		{"stripe-secret-token", "sk_live_", ALNUM, 24, 8, "CRITICAL"},
		{"google-api-key", "AIza", B64URL, 35, 4, "HIGH"},
		{"npm-access-token", "npm_", ALNUM, 36, 4, "CRITICAL"},
		{"slack-web-hook", "https://hooks.slack.com/services/T", ALNUM "/", 40, 33, "MEDIUM"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tail = random_chars(cases[i].alphabet, cases[i].n, (unsigned)i + 1);
		char *secret = wharf_xasprintf("%s%s", cases[i].prefix, tail);
		char *text = wharf_xasprintf("# settings\n\nvalue: \"%s\" # do not share\n", secret);
		struct wharf_secret_list l = {0};
		scan("app/src/main.py", text, &l);
		const struct wharf_secret_finding *f = expect_one(&l, cases[i].rule, secret, cases[i].keep, 3);
		assert_string_equal(f->severity, cases[i].severity);
		assert_string_equal(f->path, "app/src/main.py");
		assert_int_equal(l.n, 1);
		wharf_secret_list_free(&l);
		/* the same characters glued to a word are not a token */
		char *glued = wharf_xasprintf("x%s", secret);
		if (isalpha((unsigned char)cases[i].prefix[0]) && cases[i].keep < 30) {
			scan("a.txt", glued, &l);
			assert_int_equal(l.n, 0);
		}
		free(glued), free(text), free(secret), free(tail);
	}
}

static void test_aws_secret_and_placeholders(void **state)
{
	(void)state;
	char *secret = random_chars(ALNUM "/+", 40, 77);
	char *text = wharf_xasprintf("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
				     "aws_secret_access_key = %s\n", secret);
	struct wharf_secret_list l = {0};
	scan("root/.aws/credentials", text, &l);
	/* AWS's documented example key ID is not reported; the secret key is, masked whole */
	expect_one(&l, "aws-secret-access-key", secret, 0, 3);
	assert_int_equal(l.n, 1);
	wharf_secret_list_free(&l);
	free(text), free(secret);
	scan("root/.aws/credentials",
	     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", &l);
	assert_int_equal(l.n, 0);
}

static void test_jwt(void **state)
{
	(void)state;
	char *sig = random_chars(B64URL, 43, 5);
	/* {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"wharf"} . signature */
	char *jwt = wharf_xasprintf("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IndoYXJmIn0.%s",
				    sig);
	char *text = wharf_xasprintf("curl -H 'Authorization: Bearer %s' http://localhost/\n", jwt);
	struct wharf_secret_list l = {0};
	scan("usr/local/bin/call.sh", text, &l);
	expect_one(&l, "jwt-token", jwt, 3, 1);
	wharf_secret_list_free(&l);
	free(text), free(jwt), free(sig);
}

static void test_config_files(void **state)
{
	(void)state;
	char *auth = random_chars(ALNUM, 28, 9);
	char *docker = wharf_xasprintf("{\n\t\"auths\": {\n\t\t\"registry.example:5000\": {\n\t\t\t\"auth\": \"%s=\"\n"
				       "\t\t}\n\t}\n}\n", auth);
	struct wharf_secret_list l = {0};
	scan("root/.docker/config.json", docker, &l);
	expect_one(&l, "docker-config-auth", auth, 0, 4);
	assert_int_equal(l.n, 1);
	wharf_secret_list_free(&l);

	char *tok = random_chars(ALNUM, 30, 10);
	char *npmrc = wharf_xasprintf("registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:_authToken=%s\n"
				      "//other/:_authToken=${NPM_TOKEN}\n", tok);
	scan("home/node/.npmrc", npmrc, &l);
	expect_one(&l, "npmrc-auth-token", tok, 0, 2);
	assert_int_equal(l.n, 1);
	wharf_secret_list_free(&l);

	const char *env = "# database\nDB_HOST=db\nDB_PASSWORD=Tr0ub4dor&3xq\nREDIS_PASSWORD=${REDIS_PASSWORD}\n"
			  "ADMIN_PASSWORD=changeme\nPASSWORD_FILE=/run/secrets/db\nSESSION_SECRET=\"q8Jz!2mVx\"\n";
	scan("srv/app/.env", env, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].rule_id, "generic-password");
	assert_int_equal(l.v[0].line, 3);
	assert_string_equal(l.v[0].severity, "MEDIUM");
	assert_string_equal(l.v[0].match, "DB_PASSWORD=*************");
	assert_int_equal(l.v[1].line, 5);
	assert_string_equal(l.v[1].severity, "LOW"); /* a well-known placeholder */
	assert_int_equal(l.v[2].line, 7);
	assert_string_equal(l.v[2].match, "SESSION_SECRET=\"*********\"");
	wharf_secret_list_free(&l);

	const char *yaml = "spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/app\n    password: 'hunter2hunter'\n"
			   "    password_policy: strict\n  token: \"{{ vault_token }}\"\n";
	scan("app/config/application.yaml", yaml, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].line, 4);
	assert_string_equal(l.v[0].match, "    password: '*************'");
	wharf_secret_list_free(&l);

	/* stock files: nsswitch's "passwd:" database, commented examples, OpenSSL's demo config */
	scan("etc/nsswitch.conf", "passwd:         files systemd\nshadow:         files\n", &l);
	scan("etc/app.ini", "; password = example123\n  # db_password: s3cr3tvalue\n// token = abcdefgh\n", &l);
	scan("etc/ssl/openssl.cnf", "ref = 3078 # user identification\nsecret = pass:insta\n", &l);
	scan("usr/share/doc/app/examples/app.conf", "password = s3cr3tvalue\n", &l);
	assert_int_equal(l.n, 0);
	/* a commented-out token of a specific rule is still a leaked token */
	char *gh = random_chars(ALNUM, 36, 21);
	char *commented = wharf_xasprintf("# token = ghp_%s\n", gh);
	scan("etc/app.ini", commented, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].rule_id, "github-pat");
	wharf_secret_list_free(&l);
	free(commented), free(gh);

	/* source code is not a configuration file: no generic password rule there */
	scan("app/login.py", "password = request.form['password']\nif password == 'letmein123':\n", &l);
	assert_int_equal(l.n, 0);
	free(npmrc), free(tok), free(docker), free(auth);
}

static void test_connection_strings(void **state)
{
	(void)state;
	struct wharf_secret_list l = {0};
	const char *text = "DATABASE_URL=postgres://app:S3cretPw42@db.internal:5432/app\n"
			   "MONGO=mongodb+srv://reader:${MONGO_PW}@cluster0/\n"
			   "REDIS=redis://:r3d1sPass@cache:6379/0\n"
			   "DOCS=https://user:pass@example.org/\n"
			   "MYSQL=mysql://root:changeme@localhost/test\n";
	scan("app/settings.txt", text, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].rule_id, "connection-string-password");
	assert_int_equal(l.v[0].line, 1);
	assert_string_equal(l.v[0].match, "DATABASE_URL=postgres://app:**********@db.internal:5432/app");
	assert_int_equal(l.v[1].line, 5);
	assert_string_equal(l.v[1].severity, "LOW");
	wharf_secret_list_free(&l);
	/* user without password, empty password */
	scan("a.txt", "redis://cache:6379\npostgres://app:@db/x\n", &l);
	assert_int_equal(l.n, 0);
}

static void test_image_config_env(void **state)
{
	(void)state;
	char *gh = random_chars(ALNUM, 36, 11);
	char *env = wharf_xasprintf("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin\n"
				    "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\n"
				    "POSTGRES_PASSWORD=pgS3cret!\nAPI_TOKEN=\nGITHUB_TOKEN=ghp_%s\n"
				    "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root\nSTRIPE_API_KEY=$STRIPE\n", gh);
	struct wharf_secret_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_secrets_scan_buffer("config:Env", (const unsigned char *)env, strlen(env), -1, &l, &err),
			err);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].rule_id, "env-secret");
	assert_int_equal(l.v[0].line, 3);
	assert_int_equal(l.v[0].layer, -1);
	assert_string_equal(l.v[0].path, "config:Env");
	assert_string_equal(l.v[0].match, "POSTGRES_PASSWORD=*********");
	assert_string_equal(l.v[1].rule_id, "github-pat"); /* the specific rule wins over env-secret */
	assert_int_equal(l.v[1].line, 5);
	assert_string_equal(l.v[1].match, "GITHUB_TOKEN=ghp_************************************");
	wharf_secret_list_free(&l);
	free(env), free(gh);
}

static int run_cmd(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Keys written by the real tools: PKCS#1 RSA, SEC1 EC, PKCS#8, encrypted PKCS#8, OpenSSH. */
static void test_private_keys(void **state)
{
	(void)state;
	char *dir = test_mkdtemp();
	const char *cmds[] = {
		"openssl genrsa -traditional -out '%s/k' 1024 2>/dev/null",
		"openssl ecparam -name prime256v1 -genkey -noout -out '%s/k' 2>/dev/null",
		"openssl genpkey -algorithm ed25519 -out '%s/k' 2>/dev/null",
		"openssl genpkey -algorithm ed25519 -aes256 -pass pass:wharf -out '%s/k' 2>/dev/null",
		"ssh-keygen -q -t ed25519 -N '' -f '%s/k' >/dev/null 2>&1",
	};
	const char *headers[] = {"-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----",
				 "-----BEGIN PRIVATE KEY-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----",
				 "-----BEGIN OPENSSH PRIVATE KEY-----"};
	size_t made = 0;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *k = wharf_xasprintf("%s/k", dir), *cmd = wharf_xasprintf(cmds[i], dir);
		unlink(k);
		if (run_cmd(cmd) != 0) {
			fprintf(stderr, "# could not run: %s\n", cmd);
			free(k), free(cmd);
			continue;
		}
		size_t len = 0;
		char *pem = NULL;
		struct wharf_error err = {0};
		assert_wharf_ok(wharf_read_file(k, 1 << 20, &pem, &len, &err), err);
		char *text = wharf_xasprintf("# deploy key\n%s", pem);
		struct wharf_secret_list l = {0};
		scan("root/.ssh/id_deploy", text, &l);
		const struct wharf_secret_finding *f = expect_one(&l, "private-key", NULL, 0, 2);
		assert_string_equal(f->category, "AsymmetricPrivateKey");
		assert_contains(f->match, headers[i]);
		/* no line of the key's body appears in the match */
		const char *body = strchr(pem, '\n') + 1;
		char *first = wharf_xstrndup(body, 16);
		assert_null(strstr(f->match, first));
		assert_int_equal(l.n, 1);
		wharf_secret_list_free(&l);
		free(first), free(text), free(pem), free(k), free(cmd);
		made++;
	}
	assert_true(made >= 3);
	test_rmtree(dir);

	/* a header alone (code that looks for keys) and a public key are not private keys */
	struct wharf_secret_list l = {0};
	scan("src/pem.c", "if (strstr(s, \"-----BEGIN RSA PRIVATE KEY-----\"))\n\treturn 1;\n", &l);
	scan("etc/ssl/pub.pem", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n", &l);
	assert_int_equal(l.n, 0);
}

static void test_masking_long_lines(void **state)
{
	(void)state;
	char *filler = random_chars("abcdefghij ", 5000, 3);
	char *gh = random_chars(ALNUM, 36, 12), *gl = random_chars(ALNUM, 20, 13);
	/* a minified file: two secrets on one very long line */
	char *text = wharf_xasprintf("%s\"ghp_%s\",\"glpat-%s\"%s", filler, gh, gl, filler);
	struct wharf_secret_list l = {0};
	scan("app/dist/bundle.min.js", text, &l);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(strlen(l.v[i].match) <= 120);
		assert_int_equal(l.v[i].line, 1);
		/* neither finding shows the other's secret */
		for (size_t j = 0; j + 4 <= 20; j++) {
			char *a = wharf_xstrndup(gh + j, 4), *b = wharf_xstrndup(gl + j, 4);
			assert_null(strstr(l.v[i].match, a));
			assert_null(strstr(l.v[i].match, b));
			free(a), free(b);
		}
	}
	wharf_secret_list_free(&l);
	free(text), free(gh), free(gl), free(filler);
}

static void test_binary_and_empty(void **state)
{
	(void)state;
	char *gh = random_chars(ALNUM, 36, 14);
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "ELF\x01%cghp_%s\n", 0, gh);
	struct wharf_secret_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_secrets_scan_buffer("usr/bin/x", (unsigned char *)buf, (size_t)n, 0, &l, &err), err);
	assert_int_equal(l.n, 0);
	assert_wharf_ok(wharf_secrets_scan_buffer("empty", (const unsigned char *)"", 0, 0, &l, &err), err);
	assert_int_equal(l.n, 0);
	free(gh);
}

/* Text without secrets, as most files are: measured (CPU time: the machine is shared), and
 * bounded so a regression shows. */
static void test_speed(void **state)
{
	(void)state;
	size_t len = 16u << 20;
	const char *line = "The quick brown fox set password_policy: strict and read https://example.org/docs key=42\n";
	char *text = wharf_xmalloc(len + 1);
	for (size_t off = 0; off < len; off += strlen(line))
		memcpy(text + off, line, len - off < strlen(line) ? len - off : strlen(line));
	text[len] = '\0';
	struct timespec a, b;
	struct wharf_secret_list l = {0};
	struct wharf_error err = {0};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	assert_wharf_ok(wharf_secrets_scan_buffer("etc/app.conf", (unsigned char *)text, len, 0, &l, &err), err);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "# secrets: 16 MiB of configuration text in %.1f ms (%.0f MiB/s)\n", s * 1e3, 16 / s);
	assert_int_equal(l.n, 0);
	assert_true(s < 2.0);
	free(text);
}

/* Real text: the C headers under /usr/include, up to 16 MiB, scanned file by file. */
static void test_speed_headers(void **state)
{
	(void)state;
	FILE *f = popen("find /usr/include -name '*.h' -size -256k 2>/dev/null | head -4000", "r");
	assert_non_null(f);
	char name[4096];
	size_t total = 0, files = 0;
	double secs = 0;
	struct wharf_secret_list l = {0};
	while (total < (16u << 20) && fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
		char *data = NULL;
		size_t len = 0;
		struct wharf_error err = {0};
		if (wharf_read_file(name, 1 << 20, &data, &len, &err) < 0)
			continue;
		struct timespec a, b;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		assert_wharf_ok(wharf_secrets_scan_buffer(name + 1, (unsigned char *)data, len, 0, &l, &err), err);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		secs += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		total += len, files++;
		free(data);
	}
	pclose(f);
	if (files == 0)
		skip();
	fprintf(stderr, "# secrets: %zu headers, %.1f MiB in %.1f ms (%.0f MiB/s), %zu findings\n", files,
		(double)total / 1048576, secs * 1e3, (double)total / 1048576 / secs, l.n);
	for (size_t i = 0; i < l.n && i < 5; i++)
		fprintf(stderr, "#   %s:%d %s %s\n", l.v[i].path, l.v[i].line, l.v[i].rule_id, l.v[i].match);
	assert_true(l.n <= 3); /* system headers hold no secrets: a few look-alikes at most */
	wharf_secret_list_free(&l);
}

/* One 8 MiB line of back-to-back anchors: every matcher is bounded, so time stays linear. */
static void test_hostile_line(void **state)
{
	(void)state;
	const char *pieces[] = {"github_pat_", "passwordpassword", "-----BEGIN ", "mongodb+srv://", "eyJeyJ.",
				"AKIAAKIA", "\"auth\":\"auths\""};
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		size_t len = 8u << 20, n = strlen(pieces[k]);
		char *text = wharf_xmalloc(len + 1);
		for (size_t off = 0; off < len; off += n)
			memcpy(text + off, pieces[k], len - off < n ? len - off : n);
		text[len] = '\0';
		struct timespec a, b;
		struct wharf_secret_list l = {0};
		struct wharf_error err = {0};
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		assert_wharf_ok(wharf_secrets_scan_buffer("etc/x.conf", (unsigned char *)text, len, 0, &l, &err), err);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (secs > 5.0)
			fail_msg("8 MiB of \"%s\" took %.1f s", pieces[k], secs);
		assert_true(l.n <= 256);
		wharf_secret_list_free(&l);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_aws_secret_and_placeholders),
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_config_files),
		cmocka_unit_test(test_connection_strings),
		cmocka_unit_test(test_image_config_env),
		cmocka_unit_test(test_private_keys),
		cmocka_unit_test(test_masking_long_lines),
		cmocka_unit_test(test_binary_and_empty),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_speed_headers),
		cmocka_unit_test(test_hostile_line),
	};
	return cmocka_run_group_tests_name("secrets", tests, NULL, NULL);
}
