#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wharf/util.h"

static int error_vset(struct wharf_error *err, int code, int sys_errno, const char *fmt,
		      va_list ap)
{
	if (err) {
		err->code = code;
		err->sys_errno = sys_errno;
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
	}
	return -code;
}

int wharf_error_set(struct wharf_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int wharf_error_sys(struct wharf_error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, WHARF_EIO, saved, fmt, ap);
	va_end(ap);
	if (err) {
		size_t used = strlen(err->message);
		snprintf(err->message + used, sizeof(err->message) - used, ": %s", strerror(saved));
	}
	errno = saved;
	return r;
}

int wharf_error_prefix(struct wharf_error *err, const char *fmt, ...)
{
	if (!err)
		return -WHARF_EINTERNAL;
	char prefix[256];
	char old[sizeof(err->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
	return -err->code;
}

void wharf_error_clear(struct wharf_error *err)
{
	if (err) {
		err->code = 0;
		err->sys_errno = 0;
		err->message[0] = '\0';
	}
}

const char *wharf_errc_name(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case WHARF_OK: return "ok";
	case WHARF_EINVAL: return "invalid";
	case WHARF_ENOTFOUND: return "not found";
	case WHARF_EIO: return "i/o error";
	case WHARF_EEXIST: return "exists";
	case WHARF_EDIGEST: return "digest mismatch";
	case WHARF_ETOOBIG: return "too big";
	case WHARF_ERANGE: return "range";
	case WHARF_EBUSY: return "busy";
	case WHARF_EUNSUPPORTED: return "unsupported";
	default: return "internal error";
	}
}
