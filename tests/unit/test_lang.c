/* Language catalogers on real files: lock files written by npm and cargo, Python metadata and
 * jars shipped by Debian, gemspecs from Debian's ruby packages (fixtures/lang/, see its README),
 * Go binaries built here by the go tool and those installed on the system (checked against
 * `go version -m`), and hostile inputs that must fail with a clear message. */
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "wharf_test.h"

#include "wharf/lang.h"
#include "wharf/pkg.h"

static char *fixture_dir;

static int find_fixtures(void **state)
{
	(void)state;
	const char *env = getenv("WHARF_LANG_FIXTURES");
	char *from_file = wharf_xstrdup(__FILE__);
	char *slash = strrchr(from_file, '/');
	if (slash)
		*slash = '\0';
	char *from_file_dir = wharf_xasprintf("%s/fixtures/lang", slash ? from_file : ".");
	const char *candidates[] = {env, "tests/unit/fixtures/lang", "../tests/unit/fixtures/lang", from_file_dir};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct stat st;
		if (candidates[i] && stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			fixture_dir = wharf_xstrdup(candidates[i]);
			break;
		}
	}
	free(from_file);
	free(from_file_dir);
	if (!fixture_dir) {
		fprintf(stderr, "fixtures/lang not found: set WHARF_LANG_FIXTURES\n");
		return -1;
	}
	return 0;
}

static int free_fixtures(void **state)
{
	(void)state;
	free(fixture_dir);
	return 0;
}

static char *read_path(const char *path, size_t *len)
{
	char *data = NULL;
	struct wharf_error err = {0};
	if (wharf_read_file(path, 512u << 20, &data, len, &err) < 0)
		fail_msg("reading %s: %s", path, err.message);
	return data;
}

static char *read_fixture(const char *rel, size_t *len)
{
	char *path = wharf_xasprintf("%s/%s", fixture_dir, rel);
	char *data = read_path(path, len);
	free(path);
	return data;
}

/* Run one named cataloger over a fixture, as found at image_path. */
static void catalog(const char *cataloger, const char *rel, const char *image_path, struct wharf_pkg_list *out)
{
	const struct wharf_cataloger *c = wharf_lang_cataloger_find(cataloger);
	assert_non_null(c);
	size_t len = 0;
	char *data = read_fixture(rel, &len);
	assert_true(c->wants(image_path, 0644, len));
	struct wharf_error err = {0};
	assert_wharf_ok(c->parse(image_path, (unsigned char *)data, len, out, &err), err);
	free(data);
}

static const struct wharf_pkg *find_pkg(const struct wharf_pkg_list *l, const char *name, const char *version)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0 && (!version || strcmp(l->v[i].version, version) == 0))
			return &l->v[i];
	return NULL;
}

static void expect_pkg(const struct wharf_pkg_list *l, const char *eco, const char *name, const char *version,
		       const char *path, const char *purl)
{
	const struct wharf_pkg *p = find_pkg(l, name, version);
	if (!p)
		fail_msg("package %s %s not found among %zu", name, version, l->n);
	assert_string_equal(p->ecosystem, eco);
	assert_string_equal(p->path, path);
	assert_string_equal(p->purl, purl);
	assert_int_equal(p->layer, -1);
	assert_null(p->layer_digest);
}

/* npm ------------------------------------------------------------------------------------- */

static void expect_npm_lock(const char *rel)
{
	struct wharf_pkg_list l = {0};
	catalog("npm-lock", rel, "srv/app/package-lock.json", &l);
	assert_int_equal(l.n, 4);
	const char *p = "srv/app/package-lock.json";
	expect_pkg(&l, WHARF_ECO_NPM, "@tootallnate/once", "2.0.0", p, "pkg:npm/%40tootallnate/once@2.0.0");
	expect_pkg(&l, WHARF_ECO_NPM, "debug", "4.3.4", p, "pkg:npm/debug@4.3.4");
	expect_pkg(&l, WHARF_ECO_NPM, "ms", "2.1.3", p, "pkg:npm/ms@2.1.3");
	expect_pkg(&l, WHARF_ECO_NPM, "ms", "2.1.2", p, "pkg:npm/ms@2.1.2"); /* nested under debug */
	assert_null(find_pkg(&l, "fixture-app", NULL));                       /* the root is the app */
	wharf_pkg_list_free(&l);
}

static void test_npm_lock_v1(void **state)
{
	(void)state;
	expect_npm_lock("npm/v1/package-lock.json");
}

static void test_npm_lock_v2(void **state)
{
	(void)state;
	/* v2 carries both "packages" and the v1 "dependencies": read once, not twice */
	expect_npm_lock("npm/v2/package-lock.json");
}

static void test_npm_lock_v3(void **state)
{
	(void)state;
	expect_npm_lock("npm/v3/package-lock.json");
}

static void test_npm_lock_rules(void **state)
{
	(void)state;
	const struct wharf_cataloger *c = wharf_lang_cataloger_find("npm-lock");
	assert_true(c->wants("app/npm-shrinkwrap.json", 0644, 10));
	assert_false(c->wants("app/node_modules/.package-lock.json", 0644, 10));
	assert_false(c->wants("app/package.json", 0644, 10));
	/* one name@version nested twice in a v1 lock is one package; links and workspaces are not */
	const char *lock = "{\"lockfileVersion\":1,\"dependencies\":{"
			   "\"a\":{\"version\":\"1.0.0\",\"dependencies\":{\"x\":{\"version\":\"2.0.0\"}}},"
			   "\"b\":{\"version\":\"1.0.0\",\"dependencies\":{\"x\":{\"version\":\"2.0.0\"}}}}}";
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(c->parse("package-lock.json", (const unsigned char *)lock, strlen(lock), &l, &err), err);
	assert_int_equal(l.n, 3);
	wharf_pkg_list_free(&l);
	const char *v3 = "{\"lockfileVersion\":3,\"packages\":{\"\":{\"name\":\"app\",\"version\":\"1.0.0\"},"
			 "\"packages/web\":{\"name\":\"web\",\"version\":\"0.1.0\"},"
			 "\"node_modules/web\":{\"resolved\":\"packages/web\",\"link\":true},"
			 "\"node_modules/alias\":{\"name\":\"real-name\",\"version\":\"3.0.0\"}}}";
	assert_wharf_ok(c->parse("package-lock.json", (const unsigned char *)v3, strlen(v3), &l, &err), err);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "real-name");
	wharf_pkg_list_free(&l);
}

static void test_npm_lock_bad(void **state)
{
	(void)state;
	const struct wharf_cataloger *c = wharf_lang_cataloger_find("npm-lock");
	size_t len = 0;
	char *data = read_fixture("npm/v3/package-lock.json", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_err(c->parse("app/package-lock.json", (unsigned char *)data, len / 2, &l, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "app/package-lock.json");
	assert_int_equal(l.n, 0);
	free(data);
}

static void test_npm_node_modules(void **state)
{
	(void)state;
	const struct wharf_cataloger *c = wharf_lang_cataloger_find("npm-package");
	assert_false(c->wants("srv/app/package.json", 0644, 100));               /* the app itself */
	assert_false(c->wants("srv/app/node_modules/debug/src/package.json", 0644, 100)); /* inside a package */
	struct wharf_pkg_list l = {0};
	const char *files[][2] = {
		{"npm/node_modules/debug/package.json", "srv/app/node_modules/debug/package.json"},
		{"npm/node_modules/debug/node_modules/ms/package.json",
		 "srv/app/node_modules/debug/node_modules/ms/package.json"},
		{"npm/node_modules/ms/package.json", "srv/app/node_modules/ms/package.json"},
		{"npm/node_modules/@tootallnate/once/package.json", "srv/app/node_modules/@tootallnate/once/package.json"},
	};
	for (size_t i = 0; i < 4; i++)
		catalog("npm-package", files[i][0], files[i][1], &l);
	assert_int_equal(l.n, 4);
	expect_pkg(&l, WHARF_ECO_NPM, "debug", "4.3.4", files[0][1], "pkg:npm/debug@4.3.4");
	expect_pkg(&l, WHARF_ECO_NPM, "ms", "2.1.2", files[1][1], "pkg:npm/ms@2.1.2");
	expect_pkg(&l, WHARF_ECO_NPM, "ms", "2.1.3", files[2][1], "pkg:npm/ms@2.1.3");
	expect_pkg(&l, WHARF_ECO_NPM, "@tootallnate/once", "2.0.0", files[3][1], "pkg:npm/%40tootallnate/once@2.0.0");
	wharf_pkg_list_free(&l);
}

/* Python ---------------------------------------------------------------------------------- */

static void test_python_fixtures(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *dp = "usr/lib/python3/dist-packages/";
	char *p1 = wharf_xasprintf("%sPyYAML-6.0.dist-info/METADATA", dp);
	char *p2 = wharf_xasprintf("%slazr.restfulclient-0.14.5.egg-info/PKG-INFO", dp);
	char *p3 = wharf_xasprintf("%sPyJWT-2.6.0.egg-info/PKG-INFO", dp);
	catalog("python", "python/PyYAML-6.0.dist-info/METADATA", p1, &l);
	catalog("python", "python/lazr.restfulclient-0.14.5.egg-info/PKG-INFO", p2, &l);
	catalog("python", "python/PyJWT-2.6.0.egg-info/PKG-INFO", p3, &l);
	assert_int_equal(l.n, 3);
	expect_pkg(&l, WHARF_ECO_PYPI, "PyYAML", "6.0", p1, "pkg:pypi/pyyaml@6.0");
	expect_pkg(&l, WHARF_ECO_PYPI, "lazr.restfulclient", "0.14.5", p2, "pkg:pypi/lazr-restfulclient@0.14.5");
	expect_pkg(&l, WHARF_ECO_PYPI, "PyJWT", "2.6.0", p3, "pkg:pypi/pyjwt@2.6.0");
	free(p1), free(p2), free(p3);
	wharf_pkg_list_free(&l);
}

/* "Name-1.2.3.dist-info": the directory name pip or dh-python chose agrees with the headers. */
static void test_python_system(void **state)
{
	(void)state;
	const char *root = "/usr/lib/python3/dist-packages";
	DIR *d = opendir(root);
	if (!d)
		skip();
	const struct wharf_cataloger *c = wharf_lang_cataloger_find("python");
	struct dirent *de;
	size_t checked = 0;
	while ((de = readdir(d))) {
		const char *suffix = strstr(de->d_name, ".dist-info") ? "METADATA" : strstr(de->d_name, ".egg-info") ? "PKG-INFO" : NULL;
		if (!suffix)
			continue;
		const char *dot = strstr(de->d_name, strcmp(suffix, "METADATA") == 0 ? ".dist-info" : ".egg-info");
		const char *dash = dot;
		while (dash > de->d_name && *dash != '-')
			dash--;
		if (*dash != '-')
			continue; /* "cryptography.egg-info": no version in the name */
		char *path = wharf_xasprintf("%s/%s/%s", root, de->d_name, suffix);
		struct stat st;
		if (stat(path, &st) != 0) {
			free(path);
			continue;
		}
		size_t len = 0;
		char *data = read_path(path, &len);
		struct wharf_pkg_list l = {0};
		struct wharf_error err = {0};
		assert_true(c->wants(path + 1, 0644, len));
		assert_wharf_ok(c->parse(path + 1, (unsigned char *)data, len, &l, &err), err);
		assert_int_equal(l.n, 1);
		/* "PyYAML-6.0.dist-info": compare normalised names (dist-info folders use '_' for '-') */
		char *dir_name = wharf_xstrndup(de->d_name, (size_t)(dash - de->d_name));
		char *dir_version = wharf_xstrndup(dash + 1, (size_t)(dot - dash - 1));
		char *want_purl = NULL;
		for (char *q = dir_name; *q; q++)
			*q = (*q == '_' || *q == '.') ? '-' : (char)tolower((unsigned char)*q);
		want_purl = wharf_xasprintf("pkg:pypi/%s@%s", dir_name, dir_version);
		assert_string_equal(l.v[0].version, dir_version);
		assert_string_equal(l.v[0].purl, want_purl);
		free(dir_name), free(dir_version), free(want_purl), free(data), free(path);
		wharf_pkg_list_free(&l);
		checked++;
	}
	closedir(d);
	assert_true(checked >= 5);
}

/* Go ---------------------------------------------------------------------------------------- */

static int run_cmd(const char *cmd, char **out)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	struct wharf_buf b;
	wharf_buf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		wharf_buf_append(&b, chunk, n);
	int st = pclose(f);
	*out = wharf_buf_steal(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The oracle: `go version -m BINARY` lines "\tmod\tpath\tversion", "\tdep\t...", "\t=>\t...". */
static void expected_from_go_tool(const char *binary, struct wharf_pkg_list *want)
{
	char *cmd = wharf_xasprintf("go version -m '%s' 2>/dev/null", binary), *text = NULL;
	assert_int_equal(run_cmd(cmd, &text), 0);
	char *save = NULL;
	struct wharf_pkg *last = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind[16] = "", path[512] = "", version[128] = "";
		if (strchr(line, ':') && strstr(line, ": go1.")) {
			last = wharf_pkg_list_add(want);
			last->name = wharf_xstrdup("stdlib");
			last->version = wharf_xasprintf("v%s", strstr(line, ": go1.") + 4);
			continue;
		}
		if (sscanf(line, "\t%15[^\t]\t%511[^\t]\t%127[^\t]", kind, path, version) < 2)
			continue;
		if (strcmp(kind, "mod") == 0 || strcmp(kind, "dep") == 0) {
			last = wharf_pkg_list_add(want);
			last->name = wharf_xstrdup(path);
			last->version = wharf_xstrdup(version);
		} else if (strcmp(kind, "=>") == 0 && last) {
			free(last->version);
			last->version = wharf_xstrdup(path[0] == '.' || path[0] == '/' ? "(devel)" : version);
			if (path[0] != '.' && path[0] != '/') {
				free(last->name);
				last->name = wharf_xstrdup(path);
			}
		}
	}
	free(text);
	free(cmd);
}

static void check_go_binary(const char *binary, size_t min_modules)
{
	const char *image_path = binary[0] == '/' ? binary + 1 : binary;
	size_t len = 0;
	char *data = read_path(binary, &len);
	const struct wharf_cataloger *c = wharf_lang_cataloger_find("gobinary");
	assert_true(c->wants(image_path, 0755, len));
	struct wharf_pkg_list got = {0}, want = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(c->parse(image_path, (unsigned char *)data, len, &got, &err), err);
	expected_from_go_tool(binary, &want);
	if (got.n != want.n)
		fail_msg("%s: %zu modules found, go version -m lists %zu", binary, got.n, want.n);
	assert_true(got.n >= min_modules);
	for (size_t i = 0; i < want.n; i++) {
		const struct wharf_pkg *p = find_pkg(&got, want.v[i].name, want.v[i].version);
		if (!p)
			fail_msg("%s: module %s %s missing", binary, want.v[i].name, want.v[i].version);
		assert_string_equal(p->ecosystem, WHARF_ECO_GO);
		assert_string_equal(p->path, image_path);
		assert_true(wharf_str_has_prefix(p->purl, "pkg:golang/"));
	}
	wharf_pkg_list_free(&got);
	wharf_pkg_list_free(&want);
	free(data);
}

static bool have_go(void)
{
	char *out = NULL;
	int r = run_cmd("go version 2>/dev/null", &out);
	free(out);
	return r == 0;
}

/* Build a module with a dependency replaced by a local directory, and a second module. */
static void test_go_built_here(void **state)
{
	(void)state;
	if (!have_go()) {
		fprintf(stderr, "# skipped: the go tool is missing (scripts/deps.sh test installs golang-go)\n");
		skip();
	}
	char *dir = test_mkdtemp();
	struct {
		const char *name, *text;
	} files[] = {
		{"go.mod", "module example.com/wharfdemo\n\ngo 1.19\n\nrequire (\n\texample.com/dep v1.2.3\n"
			   "\texample.org/util v0.4.0\n)\n\nreplace example.com/dep => ./dep\n"
			   "replace example.org/util v0.4.0 => ./util\n"},
		{"main.go", "package main\n\nimport (\n\t\"example.com/dep\"\n\t\"example.org/util\"\n)\n\n"
			    "func main() { println(dep.Answer() + util.One()) }\n"},
		{"dep/go.mod", "module example.com/dep\n\ngo 1.19\n"},
		{"dep/dep.go", "package dep\n\nfunc Answer() int { return 41 }\n"},
		{"util/go.mod", "module example.org/util\n\ngo 1.19\n"},
		{"util/util.go", "package util\n\nfunc One() int { return 1 }\n"},
	};
	struct wharf_error err = {0};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = wharf_xasprintf("%s/%s", dir, files[i].name);
		char *sl = strrchr(p, '/');
		*sl = '\0';
		assert_wharf_ok(wharf_mkdir_p(p, 0755, &err), err);
		*sl = '/';
		assert_wharf_ok(wharf_atomic_write(p, files[i].text, strlen(files[i].text), 0644, &err), err);
		free(p);
	}
	/* no network (GOPROXY=off); a HOME for the go tool's caches when the environment has none */
	char *home = getenv("HOME") ? wharf_xstrdup("") : wharf_xasprintf("HOME='%s' ", dir);
	char *cmd = wharf_xasprintf("cd '%s' && %sGOFLAGS=-mod=mod GOPROXY=off GOWORK=off CGO_ENABLED=0 "
				    "go build -o bin/demo . 2>&1", dir, home), *out = NULL;
	free(home);
	int r = run_cmd(cmd, &out);
	if (r != 0)
		fail_msg("go build failed: %s", out);
	char *binary = wharf_xasprintf("%s/bin/demo", dir);
	check_go_binary(binary, 4); /* main module, two deps, stdlib */
	struct wharf_pkg_list got = {0};
	size_t len = 0;
	char *data = read_path(binary, &len);
	assert_wharf_ok(wharf_cataloger_gobinary.parse("bin/demo", (unsigned char *)data, len, &got, &err), err);
	expect_pkg(&got, WHARF_ECO_GO, "example.com/wharfdemo", "(devel)", "bin/demo",
		   "pkg:golang/example.com/wharfdemo@%28devel%29");
	expect_pkg(&got, WHARF_ECO_GO, "example.com/dep", "(devel)", "bin/demo",
		   "pkg:golang/example.com/dep@%28devel%29");
	assert_non_null(find_pkg(&got, "stdlib", NULL));
	/* cut short inside the build info: an error naming the file, never a crash */
	const unsigned char *magic = memmem(data, len, "\xff Go buildinf:", 14);
	assert_non_null(magic);
	wharf_pkg_list_free(&got);
	free(data), free(binary), free(out), free(cmd);
	test_rmtree(dir);
}

static void test_go_system_binaries(void **state)
{
	(void)state;
	if (!have_go()) {
		fprintf(stderr, "# skipped: the go tool is missing (scripts/deps.sh test installs golang-go)\n");
		skip();
	}
	/* terraform, where installed, is a module-mode build with some 200 dependencies */
	const char *bins[] = {"/usr/bin/skopeo", "/usr/sbin/runc", "/usr/bin/podman", "/usr/bin/umoci",
			      "/usr/local/bin/terraform"};
	size_t checked = 0;
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		struct stat st;
		if (stat(bins[i], &st) != 0)
			continue;
		check_go_binary(bins[i], 1); /* Debian builds in GOPATH mode: often only stdlib */
		checked++;
	}
	if (!checked) {
		fprintf(stderr, "# skipped: no Go binary installed (scripts/deps.sh test installs skopeo)\n");
		skip();
	}
}

/* Build info in both layouts (fixtures/lang/go/make-elf.py): the pre-1.18 pointers to string
 * headers, which no Go on Debian 12 writes any more, and the 1.18+ inline strings. */
static void test_go_layouts(void **state)
{
	(void)state;
	if (!have_go()) {
		fprintf(stderr, "# skipped: the go tool is missing (scripts/deps.sh test installs golang-go)\n");
		skip();
	}
	const char *names[] = {"go/pre118.elf", "go/inline.elf"};
	for (size_t i = 0; i < 2; i++) {
		char *path = wharf_xasprintf("%s/%s", fixture_dir, names[i]);
		check_go_binary(path, 4);
		free(path);
	}
	struct wharf_pkg_list l = {0};
	catalog("gobinary", "go/pre118.elf", "usr/bin/old", &l);
	assert_int_equal(l.n, 4);
	expect_pkg(&l, WHARF_ECO_GO, "github.com/pkg/errors", "v0.9.1", "usr/bin/old", "pkg:golang/github.com/pkg/errors@v0.9.1");
	expect_pkg(&l, WHARF_ECO_GO, "stdlib", "v1.16.15", "usr/bin/old", "pkg:golang/stdlib@v1.16.15");
	expect_pkg(&l, WHARF_ECO_GO, "example.com/old", "v0.9.0", "usr/bin/old", "pkg:golang/example.com/old@v0.9.0");
	assert_null(find_pkg(&l, "github.com/pkg/errors", "v0.8.0")); /* replaced */
	wharf_pkg_list_free(&l);
	/* every truncation of the file: an error or fewer modules, never a crash or a read past the end */
	size_t len = 0;
	char *data = read_fixture("go/pre118.elf", &len);
	for (size_t n = 0; n < len; n++) {
		unsigned char *copy = wharf_xmalloc(n ? n : 1);
		memcpy(copy, data, n);
		struct wharf_error err = {0};
		int r = wharf_cataloger_gobinary.parse("usr/bin/old", copy, n, &l, &err);
		assert_true(r == 0 || (r == -WHARF_EINVAL && strstr(err.message, "usr/bin/old")));
		free(copy);
	}
	wharf_pkg_list_free(&l);
	free(data);
}

static void test_go_not_go(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	size_t len = 0;
	char *data = read_path("/bin/sh", &len); /* a C program: no build info */
	assert_wharf_ok(wharf_cataloger_gobinary.parse("bin/sh", (unsigned char *)data, len, &l, &err), err);
	assert_int_equal(l.n, 0);
	/* a damaged section table is an error naming the file */
	data[0x28] = 0xff, data[0x29] = 0xff, data[0x2a] = 0xff; /* e_shoff far past the end */
	assert_wharf_err(wharf_cataloger_gobinary.parse("bin/sh", (unsigned char *)data, len, &l, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "bin/sh");
	const char *script = "#!/bin/sh\necho hi\n";
	assert_wharf_ok(wharf_cataloger_gobinary.parse("bin/x", (const unsigned char *)script, strlen(script), &l, &err),
			err);
	assert_int_equal(l.n, 0);
	free(data);
}

/* Java ------------------------------------------------------------------------------------- */

static void test_java_jar(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *p = "usr/share/java/commons-cli-1.5.0.jar";
	catalog("java", "java/commons-cli-1.5.0.jar", p, &l);
	assert_int_equal(l.n, 1);
	expect_pkg(&l, WHARF_ECO_MAVEN, "commons-cli:commons-cli", "1.5.0", p, "pkg:maven/commons-cli/commons-cli@1.5.0");
	wharf_pkg_list_free(&l);
}

static void test_java_war_nested(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *p = "srv/app.war";
	catalog("java", "java/app.war", p, &l);
	assert_int_equal(l.n, 3);
	expect_pkg(&l, WHARF_ECO_MAVEN, "commons-cli:commons-cli", "1.5.0", p, "pkg:maven/commons-cli/commons-cli@1.5.0");
	expect_pkg(&l, WHARF_ECO_MAVEN, "com.google.errorprone:error_prone_annotations", "2.18.0", p,
		   "pkg:maven/com.google.errorprone/error_prone_annotations@2.18.0");
	/* depth 3, manifest only: Bundle-SymbolicName and Bundle-Version */
	expect_pkg(&l, WHARF_ECO_MAVEN, "javax.inject", "1.0.0", p, "pkg:maven/javax.inject@1.0.0");
	wharf_pkg_list_free(&l);
}

static void test_java_bad(void **state)
{
	(void)state;
	size_t len = 0;
	char *data = read_fixture("java/commons-cli-1.5.0.jar", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	/* the central directory cut off */
	assert_wharf_err(wharf_cataloger_java.parse("a.jar", (unsigned char *)data, len - 30, &l, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "a.jar");
	/* the central directory offset pointing past the end of the file */
	data[len - 6] = 0xff, data[len - 5] = 0xff, data[len - 4] = 0xff, data[len - 3] = 0x7f;
	assert_wharf_err(wharf_cataloger_java.parse("b.jar", (unsigned char *)data, len, &l, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "central directory");
	assert_int_equal(l.n, 0);
	free(data);
}

/* A zip written here: entries stored (method 0) or raw-deflated (8), with a declared size. */
struct zentry {
	const char *name;
	const unsigned char *data;
	size_t len;
	int deflate;
	uint32_t declared; /* 0: the real size */
};

static void put16(struct wharf_buf *b, unsigned v)
{
	unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	wharf_buf_append(b, x, 2);
}

static void put32(struct wharf_buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static char *make_zip(const struct zentry *e, size_t n, size_t *out_len)
{
	struct wharf_buf z, cd;
	wharf_buf_init(&z);
	wharf_buf_init(&cd);
	for (size_t i = 0; i < n; i++) {
		unsigned char *c = (unsigned char *)e[i].data;
		uLong clen = e[i].len;
		unsigned char *owned = NULL;
		if (e[i].deflate) {
			z_stream zs = {0};
			assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
			clen = deflateBound(&zs, e[i].len);
			owned = wharf_xmalloc(clen);
			zs.next_in = (unsigned char *)e[i].data, zs.avail_in = (uInt)e[i].len;
			zs.next_out = owned, zs.avail_out = (uInt)clen;
			assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
			clen = zs.total_out;
			deflateEnd(&zs);
			c = owned;
		}
		uint32_t off = (uint32_t)z.len, usize = e[i].declared ? e[i].declared : (uint32_t)e[i].len;
		size_t nl = strlen(e[i].name);
		put32(&z, 0x04034b50), put16(&z, 20), put16(&z, 0), put16(&z, e[i].deflate ? 8 : 0);
		put32(&z, 0), put32(&z, 0), put32(&z, (uint32_t)clen), put32(&z, usize), put16(&z, (unsigned)nl), put16(&z, 0);
		wharf_buf_append(&z, e[i].name, nl);
		wharf_buf_append(&z, c, clen);
		put32(&cd, 0x02014b50), put16(&cd, 20), put16(&cd, 20), put16(&cd, 0), put16(&cd, e[i].deflate ? 8 : 0);
		put32(&cd, 0), put32(&cd, 0), put32(&cd, (uint32_t)clen), put32(&cd, usize);
		put16(&cd, (unsigned)nl), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put16(&cd, 0), put32(&cd, 0), put32(&cd, off);
		wharf_buf_append(&cd, e[i].name, nl);
		free(owned);
	}
	uint32_t cd_off = (uint32_t)z.len;
	wharf_buf_append(&z, cd.data, cd.len);
	put32(&z, 0x06054b50), put16(&z, 0), put16(&z, 0), put16(&z, (unsigned)n), put16(&z, (unsigned)n);
	put32(&z, (uint32_t)cd.len), put32(&z, cd_off), put16(&z, 0);
	wharf_buf_free(&cd);
	*out_len = z.len;
	return wharf_buf_steal(&z);
}

/* A deflate bomb in the manifest, and archives nested deeper than the limit of 4 levels. */
static void test_java_limits(void **state)
{
	(void)state;
	size_t big = 8u << 20, len = 0;
	unsigned char *zeros = wharf_xcalloc(1, big);
	struct zentry bomb[] = {{"META-INF/MANIFEST.MF", zeros, big, 1, 100}};
	char *zip = make_zip(bomb, 1, &len);
	assert_true(len < 64 * 1024); /* 8 MiB that claims to be 100 bytes, in a few KiB */
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_err(wharf_cataloger_java.parse("opt/bomb.jar", (unsigned char *)zip, len, &l, &err), err,
			 WHARF_ETOOBIG);
	assert_contains(err.message, "opt/bomb.jar: entry META-INF/MANIFEST.MF");
	free(zip), free(zeros);

	/* level k holds pom.properties for artifact "lk" and the archive of level k+1 */
	char *inner = NULL;
	size_t inner_len = 0;
	for (int k = 6; k >= 1; k--) {
		char *props = wharf_xasprintf("groupId=org.example\nartifactId=l%d\nversion=1.0.%d\n", k, k);
		char *pname = wharf_xasprintf("META-INF/maven/org.example/l%d/pom.properties", k);
		struct zentry e[2] = {{pname, (unsigned char *)props, strlen(props), k % 2, 0},
				      {"lib/inner.jar", (unsigned char *)inner, inner_len, 0, 0}};
		size_t nlen = 0;
		char *next = make_zip(e, inner ? 2 : 1, &nlen);
		free(inner), free(props), free(pname);
		inner = next, inner_len = nlen;
	}
	assert_wharf_ok(wharf_cataloger_java.parse("opt/deep.jar", (unsigned char *)inner, inner_len, &l, &err), err);
	assert_int_equal(l.n, 4); /* levels 1-4; 5 and 6 are past the depth limit */
	expect_pkg(&l, WHARF_ECO_MAVEN, "org.example:l4", "1.0.4", "opt/deep.jar", "pkg:maven/org.example/l4@1.0.4");
	assert_null(find_pkg(&l, "org.example:l5", NULL));
	wharf_pkg_list_free(&l);
	free(inner);
}

/* Every jar Debian installed on this machine reads without error. */
static void test_java_system(void **state)
{
	(void)state;
	DIR *d = opendir("/usr/share/java");
	if (!d)
		skip();
	struct dirent *de;
	size_t jars = 0, found = 0;
	while ((de = readdir(d))) {
		if (!wharf_str_has_suffix(de->d_name, ".jar"))
			continue;
		char *path = wharf_xasprintf("/usr/share/java/%s", de->d_name);
		size_t len = 0;
		char *data = read_path(path, &len);
		struct wharf_pkg_list l = {0};
		struct wharf_error err = {0};
		assert_wharf_ok(wharf_cataloger_java.parse(path + 1, (unsigned char *)data, len, &l, &err), err);
		found += l.n > 0;
		jars++;
		wharf_pkg_list_free(&l);
		free(data), free(path);
	}
	closedir(d);
	assert_true(jars == 0 || found * 2 >= jars);
}

/* Rust --------------------------------------------------------------------------------------- */

static void test_cargo_lock(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *p = "src/app/Cargo.lock";
	catalog("cargo-lock", "rust/Cargo.lock", p, &l);
	assert_int_equal(l.n, 3);
	expect_pkg(&l, WHARF_ECO_CARGO, "cfg-if", "1.0.0", p, "pkg:cargo/cfg-if@1.0.0");
	expect_pkg(&l, WHARF_ECO_CARGO, "itoa", "1.0.1", p, "pkg:cargo/itoa@1.0.1");
	expect_pkg(&l, WHARF_ECO_CARGO, "fixture-app", "0.1.0", p, "pkg:cargo/fixture-app@0.1.0");
	wharf_pkg_list_free(&l);
}

/* cargo-auditable is not in Debian 12: add its section (zlib JSON, its documented format) to a
 * real ELF with objcopy, as cargo-auditable's linker step does. */
static void test_cargo_auditable(void **state)
{
	(void)state;
	char *out = NULL;
	if (run_cmd("objcopy --version >/dev/null 2>&1", &out) != 0) {
		free(out);
		fprintf(stderr, "# skipped: objcopy (binutils) is missing\n");
		skip();
	}
	free(out);
	const char *json = "{\"packages\":[{\"name\":\"demo\",\"version\":\"0.1.0\",\"source\":\"local\",\"root\":true,"
			   "\"dependencies\":[1,2]},{\"name\":\"itoa\",\"version\":\"1.0.1\",\"source\":\"crates.io\"},"
			   "{\"name\":\"cc\",\"version\":\"1.0.79\",\"source\":\"crates.io\",\"kind\":\"build\"}]}";
	unsigned char z[1024];
	uLongf zlen = sizeof(z);
	assert_int_equal(compress2(z, &zlen, (const unsigned char *)json, strlen(json), 9), Z_OK);
	char *dir = test_mkdtemp();
	char *sec = wharf_xasprintf("%s/dep.z", dir), *bin = wharf_xasprintf("%s/demo", dir);
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_atomic_write(sec, z, zlen, 0644, &err), err);
	char *cmd = wharf_xasprintf("objcopy --add-section .dep-v0='%s' /bin/true '%s' 2>&1", sec, bin);
	assert_int_equal(run_cmd(cmd, &out), 0);
	size_t len = 0;
	char *data = read_path(bin, &len);
	struct wharf_pkg_list l = {0};
	assert_true(wharf_cataloger_cargo_auditable.wants("usr/local/bin/demo", 0755, len));
	assert_wharf_ok(wharf_cataloger_cargo_auditable.parse("usr/local/bin/demo", (unsigned char *)data, len, &l, &err),
			err);
	assert_int_equal(l.n, 2); /* the build-time dependency is not in the binary */
	expect_pkg(&l, WHARF_ECO_CARGO, "itoa", "1.0.1", "usr/local/bin/demo", "pkg:cargo/itoa@1.0.1");
	expect_pkg(&l, WHARF_ECO_CARGO, "demo", "0.1.0", "usr/local/bin/demo", "pkg:cargo/demo@0.1.0");
	wharf_pkg_list_free(&l);
	/* the real /bin/true has no such section */
	free(data);
	data = read_path("/bin/true", &len);
	assert_wharf_ok(wharf_cataloger_cargo_auditable.parse("bin/true", (unsigned char *)data, len, &l, &err), err);
	assert_int_equal(l.n, 0);
	free(data), free(cmd), free(out), free(sec), free(bin);
	test_rmtree(dir);
}

/* Ruby, PHP ---------------------------------------------------------------------------------- */

static void test_gemspec(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *base = "usr/share/rubygems-integration/all/specifications/";
	char *p1 = wharf_xasprintf("%srainbow-3.1.1.gemspec", base), *p2 = wharf_xasprintf("%srack-2.2.22.gemspec", base);
	catalog("gemspec", "ruby/specifications/rainbow-3.1.1.gemspec", p1, &l);
	catalog("gemspec", "ruby/specifications/rack-2.2.22.gemspec", p2, &l);
	assert_int_equal(l.n, 2);
	expect_pkg(&l, WHARF_ECO_GEM, "rainbow", "3.1.1", p1, "pkg:gem/rainbow@3.1.1");
	expect_pkg(&l, WHARF_ECO_GEM, "rack", "2.2.22", p2, "pkg:gem/rack@2.2.22");
	assert_false(wharf_cataloger_gemspec.wants("src/rack/rack.gemspec", 0644, 100)); /* a source tree */
	free(p1), free(p2);
	wharf_pkg_list_free(&l);
}

static void test_composer(void **state)
{
	(void)state;
	struct wharf_pkg_list l = {0};
	const char *p = "var/www/composer.lock";
	catalog("composer", "php/composer.lock", p, &l);
	assert_int_equal(l.n, 3);
	expect_pkg(&l, WHARF_ECO_COMPOSER, "acme/http-client", "v2.0.1", p, "pkg:composer/acme/http-client@v2.0.1");
	expect_pkg(&l, WHARF_ECO_COMPOSER, "acme/log", "1.4.2", p, "pkg:composer/acme/log@1.4.2");
	expect_pkg(&l, WHARF_ECO_COMPOSER, "acme/testkit", "0.3.0", p, "pkg:composer/acme/testkit@0.3.0"); /* dev */
	wharf_pkg_list_free(&l);
	struct wharf_error err = {0};
	assert_wharf_err(wharf_cataloger_composer.parse(p, (const unsigned char *)"[1,", 3, &l, &err), err, WHARF_EINVAL);
	assert_contains(err.message, p);
}

/* Which files each cataloger asks the layer walker for. */
static void test_wants(void **state)
{
	(void)state;
	struct {
		const char *cataloger, *path;
		unsigned mode;
		uint64_t size;
		int want;
	} cases[] = {
		{"python", "usr/lib/python3/dist-packages/six-1.16.0.egg-info", 0644, 1000, 1}, /* a lone egg-info file */
		{"python", "usr/lib/python3.11/site-packages/pip-23.0.dist-info/METADATA", 0644, 5u << 20, 1},
		{"python", "usr/lib/python3.11/site-packages/pip-23.0.dist-info/RECORD", 0644, 1000, 0},
		{"gobinary", "usr/local/bin/app", 0755, 10u << 20, 1},
		{"gobinary", "opt/app/server", 0700, 10u << 20, 1},
		{"gobinary", "usr/bin/app", 0644, 10u << 20, 1}, /* mode lost in a layer: the path says bin */
		{"gobinary", "usr/share/doc/README", 0644, 1000, 0},
		{"gobinary", "usr/local/bin/huge", 0755, 300ull << 20, 0},
		{"java", "opt/app/lib/App.JAR", 0644, 1000, 1},
		{"java", "opt/app/lib/app.jar.sha1", 0644, 40, 0},
		{"cargo-lock", "src/Cargo.lock", 0644, 1000, 1},
		{"cargo-lock", "src/Cargo.toml", 0644, 1000, 0},
		{"composer", "var/www/composer.lock", 0644, 1000, 1},
		{"composer", "var/www/composer.json", 0644, 1000, 0},
		{"gemspec", "var/lib/gems/3.1.0/specifications/rake-13.0.6.gemspec", 0644, 1000, 1},
		{"npm-lock", "srv/app/package-lock.json", 0644, 100u << 20, 0}, /* over its limit */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wharf_cataloger *c = wharf_lang_cataloger_find(cases[i].cataloger);
		assert_non_null(c);
		if (!!c->wants(cases[i].path, cases[i].mode, cases[i].size) != cases[i].want)
			fail_msg("%s wants(%s) should be %d", cases[i].cataloger, cases[i].path, cases[i].want);
	}
	assert_null(wharf_lang_cataloger_find("no-such"));
}

static void test_dispatch(void **state)
{
	(void)state;
	size_t len = 0;
	char *data = read_fixture("npm/v3/package-lock.json", &len);
	struct wharf_pkg_list l = {0};
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_lang_catalog_file("app/package-lock.json", 0644, (unsigned char *)data, len, &l, &err), err);
	assert_int_equal(l.n, 4);
	wharf_pkg_list_free(&l);
	assert_wharf_ok(wharf_lang_catalog_file("app/README.md", 0644, (unsigned char *)data, len, &l, &err), err);
	assert_int_equal(l.n, 0);
	assert_wharf_err(wharf_lang_catalog_file("app/package-lock.json", 0644, (unsigned char *)data, 100, &l, &err), err,
			 WHARF_EINVAL);
	assert_contains(err.message, "npm-lock");
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_npm_lock_v1),
		cmocka_unit_test(test_npm_lock_v2),
		cmocka_unit_test(test_npm_lock_v3),
		cmocka_unit_test(test_npm_lock_rules),
		cmocka_unit_test(test_npm_lock_bad),
		cmocka_unit_test(test_npm_node_modules),
		cmocka_unit_test(test_python_fixtures),
		cmocka_unit_test(test_python_system),
		cmocka_unit_test(test_go_built_here),
		cmocka_unit_test(test_go_system_binaries),
		cmocka_unit_test(test_go_layouts),
		cmocka_unit_test(test_go_not_go),
		cmocka_unit_test(test_java_jar),
		cmocka_unit_test(test_java_war_nested),
		cmocka_unit_test(test_java_bad),
		cmocka_unit_test(test_java_limits),
		cmocka_unit_test(test_java_system),
		cmocka_unit_test(test_cargo_lock),
		cmocka_unit_test(test_cargo_auditable),
		cmocka_unit_test(test_gemspec),
		cmocka_unit_test(test_composer),
		cmocka_unit_test(test_wants),
		cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests_name("lang", tests, find_fixtures, free_fixtures);
}
