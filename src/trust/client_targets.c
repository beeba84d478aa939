/* Targets of a verified repository: lookup by name and listing, in docker trust's order. */
#include <stdio.h>
#include <string.h>

#include "wharf/trust.h"

#define RELEASES "targets/releases"

void wharf_trust_target_clear(struct wharf_trust_target *t)
{
	free(t->name);
	free(t->role);
	memset(t, 0, sizeof(*t));
}

void wharf_trust_targets_free(struct wharf_trust_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wharf_trust_target_clear(&t[i]);
	free(t);
}

/* The targets roles in search order: the targets/releases subtree, then the rest of the tree;
 * each part depth first, as the update stored them. Returns the count; order has room for all. */
static size_t search_order(const struct wharf_trust_repo *r, size_t *order)
{
	size_t n = wharf_trust_repo_nroles(r), k = 0;
	ssize_t rel = wharf_trust_repo_find(r, RELEASES);
	size_t rel_end = 0;
	if (rel >= 0) {
		struct wharf_trust_role_info top, x;
		wharf_trust_repo_role(r, (size_t)rel, &top);
		order[k++] = (size_t)rel;
		for (rel_end = (size_t)rel + 1; rel_end < n; rel_end++) {
			wharf_trust_repo_role(r, rel_end, &x);
			if (x.depth <= top.depth)
				break;
			order[k++] = rel_end;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct wharf_trust_role_info x;
		wharf_trust_repo_role(r, i, &x);
		bool in_releases = rel >= 0 && i >= (size_t)rel && i < rel_end;
		if (!in_releases && (!strcmp(x.name, "targets") || wharf_str_has_prefix(x.name, "targets/")))
			order[k++] = i;
	}
	return k;
}

/* A delegated role signs only names within its paths; the rest of its targets are ignored. */
static bool within_paths(const struct wharf_trust_role_info *ri, const char *name)
{
	if (!ri->paths)
		return true;
	size_t i;
	json_t *p;
	json_array_foreach(ri->paths, i, p)
		if (json_is_string(p) && wharf_str_has_prefix(name, json_string_value(p)))
			return true;
	return false;
}

/* A target without a sha256 hash (Notary allows sha512 alone) comes back with sha256 empty. */
static int target_from(const struct wharf_trust_role_info *ri, const char *name, const json_t *t,
		       struct wharf_trust_target *out, struct wharf_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *b64 = json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256"));
	if (b64) {
		struct wharf_buf raw;
		wharf_buf_init(&raw);
		int r = wharf_base64_decode(b64, &raw, err);
		if (r < 0 || raw.len != 32) {
			wharf_buf_free(&raw);
			return wharf_error_set(err, WHARF_EINVAL, "%s: target '%.100s' has a sha256 hash that is not 32 bytes of base64",
					       ri->name, name);
		}
		char *hex = wharf_hex_encode(raw.data, raw.len);
		wharf_buf_free(&raw);
		memcpy(out->sha256, hex, 65);
		free(hex);
	}
	out->name = wharf_xstrdup(name);
	out->role = wharf_xstrdup(ri->name);
	out->length = (uint64_t)json_integer_value(json_object_get(t, "length"));
	return 0;
}

int wharf_trust_repo_lookup(const struct wharf_trust_repo *r, const char *name, struct wharf_trust_target *out,
			    struct wharf_error *err)
{
	size_t *order = wharf_xcalloc(wharf_trust_repo_nroles(r) + 1, sizeof(*order));
	size_t n = search_order(r, order);
	int rc = 1;
	for (size_t k = 0; rc > 0 && k < n; k++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(r, order[k], &ri);
		json_t *t = json_object_get(json_object_get(ri.meta->signed_obj, "targets"), name);
		if (t && within_paths(&ri, name))
			rc = target_from(&ri, name, t, out, err);
	}
	free(order);
	if (rc > 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "no role of %s signs a target '%.200s' (searched %s and targets)",
				       wharf_trust_repo_gun(r), name, RELEASES);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct wharf_trust_target *)a)->name, ((const struct wharf_trust_target *)b)->name);
}

int wharf_trust_repo_list(const struct wharf_trust_repo *r, struct wharf_trust_target **out, size_t *n,
			  struct wharf_error *err)
{
	size_t *order = wharf_xcalloc(wharf_trust_repo_nroles(r) + 1, sizeof(*order));
	size_t nroles = search_order(r, order);
	json_t *seen = json_object();
	struct wharf_trust_target *list = NULL;
	size_t count = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < nroles; k++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(r, order[k], &ri);
		const char *name;
		json_t *t;
		json_object_foreach(json_object_get(ri.meta->signed_obj, "targets"), name, t) {
			if (json_object_get(seen, name) || !within_paths(&ri, name))
				continue; /* an earlier role in the search order decides this name */
			list = wharf_xrealloc(list, (count + 1) * sizeof(*list));
			if ((rc = target_from(&ri, name, t, &list[count], err)) < 0)
				break;
			count++;
			json_object_set_new(seen, name, json_true());
		}
	}
	json_decref(seen);
	free(order);
	if (rc < 0) {
		wharf_trust_targets_free(list, count);
		return rc;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), by_name);
	*out = list;
	*n = count;
	return 0;
}
