/* config: wharfd defaults, --listen parsing, and the JSON config file. */
#include "wharf_test.h"
#include "wharf/registry.h"

struct ctx {
	char *dir;
	struct wharf_config cfg;
};

static int setup(void **state)
{
	struct ctx *c = wharf_xcalloc(1, sizeof(*c));
	c->dir = test_mkdtemp();
	wharf_config_init(&c->cfg);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	wharf_config_free(&c->cfg);
	test_rmtree(c->dir);
	free(c);
	return 0;
}

/* Write a config file with the given text; returns its path. */
static char *write_config(struct ctx *c, const char *text)
{
	char *path = wharf_xasprintf("%s/wharfd.json", c->dir);
	test_write_file(path, text, strlen(text));
	return path;
}

static void init_sets_documented_defaults(void **state)
{
	struct ctx *c = *state;
	struct wharf_config *cfg = &c->cfg;
	assert_string_equal(cfg->listen_host, "127.0.0.1");
	assert_int_equal(cfg->listen_port, 5000);
	assert_non_null(cfg->data_dir);
	if (strcmp(cfg->data_dir, "data") != 0 && strcmp(cfg->data_dir, "./data") != 0)
		fail_msg("default data directory is '%s', documented as ./data", cfg->data_dir);
	assert_true(cfg->access_log);
	assert_int_equal(cfg->gc_interval, 0); /* online GC off */
	assert_int_equal(cfg->gc_grace, 3600);
	assert_int_equal(cfg->upload_ttl, 24 * 3600);
	assert_non_null(cfg->log_level);

	/* Free then free again: the second is harmless, pointers are cleared. */
	wharf_config_free(cfg);
	assert_null(cfg->listen_host);
	assert_null(cfg->data_dir);
	wharf_config_free(cfg);
	wharf_config_init(cfg);
}

static void set_listen_ipv4_and_ipv6(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "0.0.0.0:8443", &err), err);
	assert_string_equal(c->cfg.listen_host, "0.0.0.0");
	assert_int_equal(c->cfg.listen_port, 8443);

	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "[::1]:80", &err), err);
	assert_string_equal(c->cfg.listen_host, "::1");
	assert_int_equal(c->cfg.listen_port, 80);

	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "localhost:65535", &err), err);
	assert_string_equal(c->cfg.listen_host, "localhost");
	assert_int_equal(c->cfg.listen_port, 65535);

	/* Port 0: let the kernel pick (tests use it). */
	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "127.0.0.1:0", &err), err);
	assert_int_equal(c->cfg.listen_port, 0);

	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "[fe80::1%eth0]:5000", &err), err);
	assert_string_equal(c->cfg.listen_host, "fe80::1%eth0");
	assert_int_equal(c->cfg.listen_port, 5000);
}

static void set_listen_rejects_bad_ports(void **state)
{
	struct ctx *c = *state;
	struct wharf_error first = {0};
	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "10.0.0.1:7000", &first), first);
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1:80x",
		"127.0.0.1:99999999999999999999999", "[::1]", "", ":", "127.0.0.1: 80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct wharf_error err = {0};
		int r = wharf_config_set_listen(&c->cfg, bad[i], &err);
		if (r != -WHARF_EINVAL)
			fail_msg("listen address '%s' should be rejected, got %d (host '%s' port %u)", bad[i], r,
				 c->cfg.listen_host, c->cfg.listen_port);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err.message, quoted);
		/* A rejected address leaves the previous one in place. */
		assert_string_equal(c->cfg.listen_host, "10.0.0.1");
		assert_int_equal(c->cfg.listen_port, 7000);
	}
}

static void load_known_keys(void **state)
{
	struct ctx *c = *state;
	char *path = write_config(c,
		"{\n"
		"  \"listen\": \"[::]:5443\",\n"
		"  \"data\": \"/var/lib/wharf\",\n"
		"  \"log_level\": \"debug\",\n"
		"  \"access_log\": false,\n"
		"  \"delete_enabled\": false,\n"
		"  \"threads\": 8,\n"
		"  \"max_connections\": 1000,\n"
		"  \"idle_timeout\": 30,\n"
		"  \"gc_interval\": \"15m\",\n"
		"  \"gc_grace\": \"2h\",\n"
		"  \"upload_ttl\": 600\n"
		"}\n");
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_config_load(&c->cfg, path, &err), err);
	struct wharf_config *cfg = &c->cfg;
	assert_string_equal(cfg->listen_host, "::");
	assert_int_equal(cfg->listen_port, 5443);
	assert_string_equal(cfg->data_dir, "/var/lib/wharf");
	assert_string_equal(cfg->log_level, "debug");
	assert_false(cfg->access_log);
	assert_false(cfg->delete_enabled);
	assert_int_equal(cfg->threads, 8);
	assert_int_equal(cfg->max_connections, 1000);
	assert_int_equal(cfg->idle_timeout, 30);
	assert_int_equal(cfg->gc_interval, 15 * 60);
	assert_int_equal(cfg->gc_grace, 2 * 3600);
	assert_int_equal(cfg->upload_ttl, 600);
	free(path);
}

static void load_keeps_unmentioned_values(void **state)
{
	struct ctx *c = *state;
	struct wharf_error err = {0};
	/* Command line first, then a file that sets only one key. */
	assert_wharf_ok(wharf_config_set_listen(&c->cfg, "0.0.0.0:6000", &err), err);
	char *path = write_config(c, "{\"gc_grace\": \"1d\"}");
	assert_wharf_ok(wharf_config_load(&c->cfg, path, &err), err);
	assert_int_equal(c->cfg.gc_grace, 86400);
	assert_string_equal(c->cfg.listen_host, "0.0.0.0");
	assert_int_equal(c->cfg.listen_port, 6000);
	assert_int_equal(c->cfg.upload_ttl, 24 * 3600);
	free(path);
	/* An empty object changes nothing. */
	path = write_config(c, "{}");
	assert_wharf_ok(wharf_config_load(&c->cfg, path, &err), err);
	assert_int_equal(c->cfg.gc_grace, 86400);
	free(path);
}

static void load_unknown_key_is_named(void **state)
{
	struct ctx *c = *state;
	char *path = write_config(c, "{\"listen\": \"127.0.0.1:5000\", \"gc_intervall\": \"1h\"}");
	struct wharf_error err = {0};
	assert_wharf_err(wharf_config_load(&c->cfg, path, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "'gc_intervall'");
	assert_contains(err.message, path);
	free(path);
}

static void load_bad_values_name_key_and_value(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *json;
		const char *key;
		const char *value; /* expected in the message, or NULL */
	} cases[] = {
		{"{\"gc_interval\": \"15x\"}", "gc_interval", "15x"},
		{"{\"gc_grace\": \"-1h\"}", "gc_grace", "-1h"},
		{"{\"upload_ttl\": -5}", "upload_ttl", NULL},
		{"{\"upload_ttl\": true}", "upload_ttl", NULL},
		{"{\"threads\": \"8\"}", "threads", NULL},
		{"{\"threads\": -1}", "threads", NULL},
		{"{\"max_connections\": 2000000}", "max_connections", NULL},
		{"{\"access_log\": \"yes\"}", "access_log", NULL},
		{"{\"data\": 5}", "data", NULL},
		{"{\"listen\": 5000}", "listen", NULL},
		{"{\"listen\": \"127.0.0.1:70000\"}", "127.0.0.1:70000", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *path = write_config(c, cases[i].json);
		struct wharf_error err = {0};
		int r = wharf_config_load(&c->cfg, path, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("config %s should be rejected, got %d", cases[i].json, r);
		assert_contains(err.message, cases[i].key);
		if (cases[i].value)
			assert_contains(err.message, cases[i].value);
		free(path);
	}
}

static void load_rejects_bad_files(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[] = {
		"", "not json", "[]", "\"string\"", "{\"threads\": 1,}", "{\"threads\": 1, \"threads\": 2}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *path = write_config(c, bad[i]);
		struct wharf_error err = {0};
		int r = wharf_config_load(&c->cfg, path, &err);
		if (r >= 0)
			fail_msg("config file content '%s' should be rejected", bad[i]);
		assert_int_equal(err.code, -r);
		assert_contains(err.message, path);
		free(path);
	}
	/* A missing file says which file. */
	char *missing = wharf_xasprintf("%s/absent.json", c->dir);
	struct wharf_error err = {0};
	int r = wharf_config_load(&c->cfg, missing, &err);
	assert_true(r < 0);
	assert_contains(err.message, missing);
	free(missing);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(init_sets_documented_defaults),
		T(set_listen_ipv4_and_ipv6),
		T(set_listen_rejects_bad_ports),
		T(load_known_keys),
		T(load_keeps_unmentioned_values),
		T(load_unknown_key_is_named),
		T(load_bad_values_name_key_and_value),
		T(load_rejects_bad_files),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
