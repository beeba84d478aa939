/* version: ordering per ecosystem. Each ecosystem has a chain of versions in strictly
 * increasing order (every pair is checked both ways), pairs that must compare equal, and
 * strings that must be refused. dpkg also runs the 20,013 vectors of dpkg's own ordering. */
#include "wharf_test.h"

#include "src/vulndb/vulndb-test-config.h"

#include "wharf/pkg.h"
#include "wharf/version.h"

static void check_chain(const char *eco, const char *const *chain, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			struct wharf_error err = {0};
			int c = 99;
			int r = wharf_version_compare(eco, chain[i], chain[j], &c, &err);
			if (r != 0)
				fail_msg("%s: %s vs %s: %s", eco, chain[i], chain[j], err.message);
			int want = i < j ? -1 : (i > j ? 1 : 0);
			if ((c > 0) - (c < 0) != want)
				fail_msg("%s: %s vs %s: got %d, want %d", eco, chain[i], chain[j], c, want);
		}
}

static void check_equal(const char *eco, const char *const *pairs, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		struct wharf_error err = {0};
		int c = 99;
		assert_wharf_ok(wharf_version_compare(eco, pairs[i], pairs[i + 1], &c, &err), err);
		if (c != 0)
			fail_msg("%s: %s vs %s: got %d, want equal", eco, pairs[i], pairs[i + 1], c);
	}
}

static void check_invalid(const char *eco, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct wharf_error err = {0};
		int c;
		int r = wharf_version_compare(eco, "1.0.0", bad[i], &c, &err);
		if (r != -WHARF_EINVAL)
			fail_msg("%s: \"%s\" accepted (r=%d)", eco, bad[i], r);
		assert_contains(err.message, "version");
		assert_false(wharf_version_valid(eco, bad[i], NULL));
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void dpkg_vectors(void **state)
{
	(void)state;
	FILE *f = fopen(WHARF_TEST_FIXTURES "/dpkg-vercmp-vectors.tsv", "r");
	assert_non_null(f);
	char line[1024];
	size_t n = 0, bad = 0;
	while (fgets(line, sizeof(line), f)) {
		char *a = strtok(line, "\t\n"), *b = strtok(NULL, "\t\n"), *op = strtok(NULL, "\t\n");
		if (!a || !b || !op)
			continue;
		int want = *op == '<' ? -1 : (*op == '>' ? 1 : 0);
		int c = 99;
		struct wharf_error err = {0};
		if (wharf_version_dpkg(a, b, &c, &err) != 0 || (c > 0) - (c < 0) != want) {
			if (bad++ < 10)
				print_message("dpkg vector %s %s %s: got %d (%s)\n", a, b, op, c, err.message);
		}
		n++;
	}
	fclose(f);
	assert_int_equal(n, 20013);
	assert_int_equal(bad, 0);
}

static void dpkg_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"0.9", "1.0~~", "1.0~~a", "1.0~", "1.0", "1.0-1~bpo1", "1.0-1",
		"1.0-1+b1", "1.0-1+deb12u1", "1.0-1.1", "1.0a", "1.0+dfsg", "1.0.1", "1.2", "1.10", "1.10a",
		"2.0", "20230101", "1:0.1", "1:1.0", "2:0"};
	check_chain("Debian", chain, N(chain));
	static const char *const eq[] = {"1.0", "0:1.0", "1.00", "1.0", "1.0-01", "1.0-1", "1.001", "1.1"};
	check_equal("Debian", eq, N(eq));
	static const char *const bad[] = {"", "a1.0", "1.0-", ":1.0", "x:1.0", "1.0 1", "1.0_1", "1.0-a/b"};
	check_invalid("Debian", bad, N(bad));
	/* A backported fix: the installed bullseye security update is newer than the fix. */
	int c;
	struct wharf_error err = {0};
	assert_wharf_ok(wharf_version_compare("Debian:11", "1.1.1n-0+deb11u5", "1.1.1n-0+deb11u4", &c, &err), err);
	assert_true(c > 0);
}

static void apk_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"1.0", "1.0.1_alpha", "1.0.1_alpha2", "1.0.1_beta", "1.0.1_pre1",
		"1.0.1_rc1", "1.0.1_rc2", "1.0.1", "1.0.1-r1", "1.0.1-r10", "1.0.1_p1", "1.0.1_p1-r1", "1.0.1a",
		"1.0.1b", "1.0.2", "1.01.3", "1.1", "1.1.0", "1.2_git20200101", "1.10", "2.0_cvs", "2.0_svn", "2.0_git",
		"2.0_hg", "2.0_p0", "10"};
	check_chain("Alpine", chain, N(chain));
	static const char *const eq[] = {"1.2.3-r0", "1.2.3-r0", "2.4.41-r0", "2.4.41-r0"};
	check_equal("Alpine", eq, N(eq));
	static const char *const bad[] = {"", "r1.0", "1.0-x1", "1.0_foo", "1.0-r", "1.0.A", "1.0_rc1x"};
	check_invalid("Alpine", bad, N(bad));
}

static void rpm_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"1.0~rc1-1", "1.0-1", "1.0^20230101-1", "1.0^20230102-1", "1.0a-1",
		"1.0.1-1", "1.0.1-1.el9", "1.0.1-1.el9_2", "1.0.1-2", "1.2-1", "1.10-1", "2.0-0.1", "0:3.0-1",
		"1:0.5-1", "2:0.1-1"};
	check_chain("Red Hat", chain, N(chain));
	static const char *const eq[] = {"1.0-1", "0:1.0-1", "1.01-1", "1.1-1", "1.0_1-1", "1.0.1-1",
		"1.0", "1.0-5.el9", "a", "a"};
	check_equal("Red Hat", eq, N(eq));
	static const char *const bad[] = {"", "1.0-", "x:1.0", "1.0 1", "1.0/1", "1:2:3"};
	check_invalid("Red Hat", bad, N(bad));
}

static void semver_order(void **state)
{
	(void)state;
	/* The example order of the semver 2.0.0 specification, then more. */
	static const char *const chain[] = {"0.0.1", "0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0",
		"2.0.0-0", "2.0.0", "10.0.0", "18446744073709551616.0.0"};
	check_chain("npm", chain, N(chain));
	check_chain("crates.io", chain, N(chain));
	static const char *const eq[] = {"1.0.0+build.1", "1.0.0+build.2", "v1.2.3", "1.2.3", "=1.2.3", "1.2.3"};
	check_equal("npm", eq, N(eq));
	static const char *const bad[] = {"", "1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b",
		"1.2.3.4", "a.b.c", "1.2.3 "};
	check_invalid("npm", bad, N(bad));
}

static void go_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"v0.0.0-20190101000000-abcdefabcdef", "v0.0.0-20200101000000-abcdefabcdef",
		"v0.1.0", "v1.0.0-rc.1", "v1.0.0", "v1.2.1-0.20210101000000-abcdefabcdef", "v1.2.1", "v1.6.0",
		"v2.0.0+incompatible", "v2.1.0+incompatible", "v3.0.0"};
	check_chain("Go", chain, N(chain));
	/* OSV's Go ranges leave out the 'v'. */
	static const char *const eq[] = {"v1.6.0", "1.6.0", "v2", "v2.0.0", "v1.2", "v1.2.0", "v2.0.0+incompatible",
		"2.0.0"};
	check_equal("Go", eq, N(eq));
	static const char *const bad[] = {"", "(devel)", "v1.2.3.4", "vx", "v01.0.0", "latest"};
	check_invalid("Go", bad, N(bad));
}

static void pep440_order(void **state)
{
	(void)state;
	/* The order of PEP 440's own example, extended. */
	static const char *const chain[] = {"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0",
		"1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1.1",
		"1.10", "2!0.1"};
	check_chain("PyPI", chain, N(chain));
	static const char *const eq[] = {"1.0", "1.0.0", "1.0", "v1.0", "1.0a1", "1.0-alpha-1", "1.0a", "1.0a0",
		"1.0c1", "1.0rc1", "1.0pre1", "1.0rc1", "1.0-1", "1.0.post1", "1.0rev1", "1.0.post1", "1.0.dev",
		"1.0.dev0", "1.0+ubuntu-1", "1.0+ubuntu.1", "0!1.0", "1.0", "1.0RC1", "1.0rc1"};
	check_equal("PyPI", eq, N(eq));
	static const char *const bad[] = {"", "a1.0", "1.0x", "1.0+", "1.0+a..b", "1!", "1.0.post.post", "1.0 1"};
	check_invalid("PyPI", bad, N(bad));
}

static void maven_order(void **state)
{
	(void)state;
	/* Orderings ComparableVersion documents and its tests check. */
	static const char *const chain[] = {"1", "1.1-alpha-1", "1.1-alpha-2", "1.1-beta-1", "1.1-milestone-1",
		"1.1-rc-1", "1.1-SNAPSHOT", "1.1", "1.1-sp-1", "1.1-whatever", "1.1.1", "1.2", "1.10", "2.0-alpha1",
		"2.0", "2.0.1", "2.0.1-xyz", "3.0.0"};
	check_chain("Maven", chain, N(chain));
	static const char *const eq[] = {"1", "1.0", "1.0", "1.0.0", "1-ga", "1", "1-final", "1", "1.0-release",
		"1", "1a1", "1-alpha-1", "1b2", "1-beta-2", "1m3", "1-milestone-3", "1cr1", "1rc1", "1.0.0.Final",
		"1", "1.2.3", "1.2.3-0"};
	check_equal("Maven", eq, N(eq));
	static const char *const bad[] = {"", "1.0 beta", "1/2"};
	check_invalid("Maven", bad, N(bad));
	/* The orderings Maven's own ComparableVersion tests document. */
	static const char *const qualifiers[] = {"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123",
		"1-m2", "1-m11", "1-rc", "1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc",
		"1-def", "1-pom-1", "1-1-snapshot", "1-1", "1-2", "1-123"};
	check_chain("Maven", qualifiers, N(qualifiers));
	static const char *const numbers[] = {"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b",
		"2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
		"11", "11.a", "11b", "11c", "11m"};
	check_chain("Maven", numbers, N(numbers));
	static const char *const eq2[] = {"1", "1-0", "1", "1.0-0", "1a", "1-a", "1a", "1.0.0-a", "1.0.0x", "1-x",
		"1ga", "1", "1cr", "1rc", "1X", "1x", "1GA", "1", "1FINAL", "1", "1cR", "1rC", "1m3", "1MILESTONE3"};
	check_equal("Maven", eq2, N(eq2));
}

static void gem_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"0.9", "1.0.a", "1.0.a.1", "1.0.b1", "1.0-1", "1.0.rc1", "1.0",
		"1.0.1", "1.1", "1.9", "1.10", "2"};
	check_chain("RubyGems", chain, N(chain));
	static const char *const eq[] = {"1.0", "1", "1.0.0", "1", "1.0.a", "1.0a", "1.0-1", "1.0.pre.1", " 1.2 ",
		"1.2"};
	check_equal("RubyGems", eq, N(eq));
	static const char *const bad[] = {"", "a", "1..2", "1.2 3", "1.2_3"};
	check_invalid("RubyGems", bad, N(bad));
}

static void composer_order(void **state)
{
	(void)state;
	static const char *const chain[] = {"1.0.0-dev", "1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-beta.1", "1.0.0-RC1",
		"1.0.0-RC2", "1.0.0", "1.0.0-patch1", "1.0.0.1", "1.0.1", "v1.2", "1.10.0.0", "2"};
	check_chain("Packagist", chain, N(chain));
	static const char *const eq[] = {"1.0", "1.0.0.0", "v2.3.4", "2.3.4", "1.0.0-b2", "1.0.0-beta2", "1.0.0-pl1",
		"1.0.0-p1", "1.0.0+build", "1.0.0"};
	check_equal("Packagist", eq, N(eq));
	static const char *const bad[] = {"", "dev-master", "1.0.0-gamma", "1.0.0 1", "x1"};
	check_invalid("Packagist", bad, N(bad));
}

static void unknown_ecosystem(void **state)
{
	(void)state;
	struct wharf_error err = {0};
	int c;
	assert_wharf_err(wharf_version_compare("NoSuchEco", "1", "2", &c, &err), err, WHARF_EUNSUPPORTED);
	assert_contains(err.message, "NoSuchEco");
	assert_true(wharf_version_known("Debian:12"));
	assert_false(wharf_version_known(NULL));
	char big[WHARF_VERSION_MAX + 2];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_wharf_err(wharf_version_compare("npm", big, "1.0.0", &c, &err), err, WHARF_EINVAL);
	assert_contains(err.message, "longer than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dpkg_vectors), cmocka_unit_test(dpkg_order),   cmocka_unit_test(apk_order),
		cmocka_unit_test(rpm_order),    cmocka_unit_test(semver_order), cmocka_unit_test(go_order),
		cmocka_unit_test(pep440_order), cmocka_unit_test(maven_order),  cmocka_unit_test(gem_order),
		cmocka_unit_test(composer_order),  cmocka_unit_test(unknown_ecosystem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
