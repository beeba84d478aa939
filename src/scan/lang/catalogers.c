/* The language catalogers the layer walker consults, in order. */
#include <stddef.h>

#include "wharf/pkg.h"

const struct wharf_cataloger *const wharf_lang_catalogers[] = {
	NULL,
};
