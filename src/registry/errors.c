#include <stdio.h>
#include <string.h>

#include "internal.h"

void reg_respond_json(struct wharf_http_request *req, unsigned status, const char *content_type,
		      char *body, size_t len)
{
	struct wharf_http_response *r = wharf_http_response_owned(status, body, len);
	wharf_http_response_header(r, "Content-Type", content_type ? content_type : "application/json");
	wharf_http_respond(req, r);
}

void reg_error(struct wharf_http_request *req, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wharf_http_verror(req, status, code, fmt, ap);
	va_end(ap);
}

void reg_error_from(struct wharf_http_request *req, const struct wharf_error *err, const char *notfound_code)
{
	switch (err->code) {
	case WHARF_ENOTFOUND:
		reg_error(req, 404, notfound_code, "%s", err->message);
		break;
	case WHARF_EINVAL:
		reg_error(req, 400, "UNSUPPORTED", "%s", err->message);
		break;
	case WHARF_EUNSUPPORTED:
		reg_error(req, 400, "UNSUPPORTED", "%s", err->message);
		break;
	case WHARF_EDIGEST:
		reg_error(req, 400, "DIGEST_INVALID", "%s", err->message);
		break;
	case WHARF_ETOOBIG:
		reg_error(req, 413, "SIZE_INVALID", "%s", err->message);
		break;
	case WHARF_ERANGE:
		reg_error(req, 416, "BLOB_UPLOAD_INVALID", "%s", err->message);
		break;
	case WHARF_EBUSY:
		reg_error(req, 503, "UNAVAILABLE", "%s (try again)", err->message);
		break;
	default:
		wharf_log(WHARF_LOG_ERROR, "%s %s: %s", wharf_http_method(req), wharf_http_path(req), err->message);
		reg_error(req, 500, "UNKNOWN", "%s", err->message);
	}
}

bool reg_pagination(struct wharf_http_request *req, uint64_t *n, bool *has_n, const char **last)
{
	const char *ns = wharf_http_query(req, "n");
	*last = wharf_http_query(req, "last");
	*has_n = ns != NULL;
	*n = 0;
	if (ns && !wharf_parse_u64(ns, strlen(ns), n)) {
		reg_error(req, 400, "PAGINATION_NUMBER_INVALID", "query parameter n='%.40s' is not a whole number", ns);
		return false;
	}
	if (*n > 10000)
		*n = 10000; /* a page is bounded; Link leads to the rest */
	return true;
}
