/* The language catalogers the layer walker consults, in order. */
#include <stddef.h>
#include <string.h>

#include "wharf/lang.h"

const struct wharf_cataloger *const wharf_lang_catalogers[] = {
	&wharf_cataloger_npm_lock,
	&wharf_cataloger_npm_package,
	&wharf_cataloger_python,
	&wharf_cataloger_gobinary,
	&wharf_cataloger_java,
	&wharf_cataloger_cargo_lock,
	&wharf_cataloger_cargo_auditable,
	&wharf_cataloger_gemspec,
	&wharf_cataloger_composer,
	NULL,
};

const struct wharf_cataloger *wharf_lang_cataloger_find(const char *name)
{
	for (size_t i = 0; wharf_lang_catalogers[i]; i++)
		if (strcmp(wharf_lang_catalogers[i]->name, name) == 0)
			return wharf_lang_catalogers[i];
	return NULL;
}

int wharf_lang_catalog_file(const char *path, mode_t mode, const unsigned char *data, size_t len,
			    struct wharf_pkg_list *out, struct wharf_error *err)
{
	for (size_t i = 0; wharf_lang_catalogers[i]; i++) {
		const struct wharf_cataloger *c = wharf_lang_catalogers[i];
		if (!c->wants(path, mode, len))
			continue;
		size_t n = len > c->max_size ? (size_t)c->max_size : len;
		int r = c->parse(path, data, n, out, err);
		if (r < 0)
			return wharf_error_prefix(err, "cataloger %s", c->name);
	}
	return 0;
}
