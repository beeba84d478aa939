#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int wharf_cli_home(char **out, struct wharf_error *err)
{
	const char *env = getenv("WHARF_HOME");
	char *home;
	if (env && *env) {
		home = wharf_xstrdup(env);
	} else {
		const char *h = getenv("HOME");
		if (!h || !*h) {
			struct passwd *pw = getpwuid(getuid());
			h = pw ? pw->pw_dir : NULL;
		}
		if (!h)
			return wharf_error_set(err, WHARF_EINVAL, "neither WHARF_HOME nor HOME is set");
		home = wharf_xasprintf("%s/.wharf", h);
	}
	int r = wharf_mkdir_p(home, 0700, err);
	if (r < 0) {
		free(home);
		return r;
	}
	*out = home;
	return 0;
}

/* The layout of client state under the home, each part created by the verb that needs it. */
static const char *const home_parts[][2] = {
	{"keys", "private keys, encrypted at rest (content trust)"},
	{"trust", "trusted TUF metadata per repository"},
	{"content", "local content store of pulled blobs"},
	{"vulndb", "vulnerability database"},
	{"containers", "container state for wharf run"},
};

int wharf_cli_cmd_home(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	if (argc > 1 && !json) {
		fputs("Usage: wharf home [--json]\n\nPrint where wharf keeps client state: $WHARF_HOME, or ~/.wharf.\n",
		      strcmp(argv[1], "--help") ? stderr : stdout);
		return strcmp(argv[1], "--help") ? EXIT_USAGE : EXIT_OK;
	}
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf home: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	if (!json) {
		printf("%s\n", home);
		return EXIT_OK;
	}
	struct wharf_buf b;
	wharf_buf_init(&b);
	wharf_buf_puts(&b, "{\"home\":");
	wharf_buf_json_string(&b, home);
	for (size_t i = 0; i < sizeof(home_parts) / sizeof(*home_parts); i++) {
		_cleanup_free_ char *p = wharf_xasprintf("%s/%s", home, home_parts[i][0]);
		wharf_buf_printf(&b, ",\"%s\":", home_parts[i][0]);
		wharf_buf_json_string(&b, p);
	}
	wharf_buf_puts(&b, "}\n");
	fputs(b.data, stdout);
	wharf_buf_free(&b);
	return EXIT_OK;
}
