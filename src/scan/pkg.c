/* The package and secret lists shared by catalogers, the image merge and matching. */
#include <stdlib.h>
#include <string.h>

#include "wharf/pkg.h"

struct wharf_pkg *wharf_pkg_list_add(struct wharf_pkg_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = wharf_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct wharf_pkg *p = &l->v[l->n++];
	memset(p, 0, sizeof(*p));
	p->layer = -1;
	return p;
}

void wharf_pkg_clear(struct wharf_pkg *p)
{
	free(p->ecosystem);
	free(p->name);
	free(p->version);
	free(p->source_name);
	free(p->source_version);
	free(p->arch);
	free(p->path);
	free(p->purl);
	free(p->layer_digest);
	free(p->layer_diffid);
	memset(p, 0, sizeof(*p));
	p->layer = -1;
}

void wharf_pkg_list_free(struct wharf_pkg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		wharf_pkg_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void wharf_os_clear(struct wharf_os *os)
{
	free(os->id);
	free(os->version_id);
	free(os->codename);
	free(os->pretty_name);
	memset(os, 0, sizeof(*os));
}

struct wharf_secret_finding *wharf_secret_list_add(struct wharf_secret_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = wharf_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct wharf_secret_finding *s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->layer = -1;
	return s;
}

void wharf_secret_list_free(struct wharf_secret_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct wharf_secret_finding *s = &l->v[i];
		free(s->rule_id);
		free(s->category);
		free(s->severity);
		free(s->title);
		free(s->path);
		free(s->match);
		free(s->layer_digest);
		free(s->layer_diffid);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct wharf_finding *wharf_finding_list_add(struct wharf_finding_list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = wharf_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct wharf_finding *f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

void wharf_finding_list_free(struct wharf_finding_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct wharf_finding *f = &l->v[i];
		free(f->id);
		free(f->pkg_name);
		free(f->installed);
		free(f->fixed);
		free(f->status);
		free(f->severity);
		free(f->severity_source);
		free(f->title);
		free(f->description);
		free(f->primary_url);
		free(f->cvss_vector);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void wharf_scan_result_free(struct wharf_scan_result *r)
{
	free(r->artifact);
	free(r->manifest_digest);
	free(r->config_digest);
	free(r->repo_tags);
	wharf_os_clear(&r->os);
	for (size_t i = 0; i < r->nlayers; i++) {
		free(r->layers[i].digest);
		free(r->layers[i].diffid);
		free(r->layers[i].media_type);
		free(r->layers[i].created_by);
	}
	free(r->layers);
	wharf_pkg_list_free(&r->pkgs);
	wharf_finding_list_free(&r->findings);
	wharf_secret_list_free(&r->secrets);
	memset(r, 0, sizeof(*r));
}
