/* oci: repository names, tags, references and manifest parsing (OCI image spec 1.1,
 * Docker image manifest v2 schema 2). */
#ifndef WHARF_OCI_H
#define WHARF_OCI_H

#include "wharf/digest.h"

#define WHARF_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define WHARF_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define WHARF_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define WHARF_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define WHARF_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"

#define WHARF_REPO_NAME_MAX 255
#define WHARF_TAG_MAX 128
#define WHARF_MANIFEST_MAX (4u * 1024 * 1024)

/* A repository name: path components of [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/'. */
int wharf_oci_check_repo_name(const char *name, size_t len, struct wharf_error *err);
/* A tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. */
int wharf_oci_check_tag(const char *tag, struct wharf_error *err);
/* true when the reference in a manifest URL is a digest rather than a tag. */
bool wharf_oci_ref_is_digest(const char *ref);

/* A full image reference: [REGISTRY/]REPOSITORY[:TAG][@DIGEST]. */
struct wharf_oci_ref {
	char *registry; /* NULL when absent */
	char *repository;
	char *tag;      /* NULL when absent */
	bool has_digest;
	struct wharf_digest digest;
};
int wharf_oci_ref_parse(struct wharf_oci_ref *out, const char *s, struct wharf_error *err);
void wharf_oci_ref_free(struct wharf_oci_ref *ref);

/* Is s a media type we accept for manifests, and which kind. */
enum wharf_manifest_kind { WHARF_MANIFEST_NONE, WHARF_MANIFEST_IMAGE, WHARF_MANIFEST_INDEX };
enum wharf_manifest_kind wharf_oci_manifest_kind(const char *media_type);
/* A media type per RFC 6838 shape: type "/" subtype, restricted characters. */
bool wharf_oci_valid_media_type(const char *s);

enum wharf_ref_kind { WHARF_REF_BLOB, WHARF_REF_MANIFEST, WHARF_REF_FOREIGN };

struct wharf_descriptor {
	char *media_type;
	struct wharf_digest digest;
	uint64_t size;
	enum wharf_ref_kind kind;
};

struct wharf_manifest {
	enum wharf_manifest_kind kind;
	const char *media_type;  /* one of the WHARF_MT_ manifest constants */
	char *artifact_type;     /* for the referrers API; NULL if none */
	bool has_subject;
	struct wharf_digest subject;
	char *annotations_json;  /* compact JSON object, or NULL */
	size_t n_refs;
	struct wharf_descriptor *refs; /* config, layers, or index entries */
};

/* Parse and validate manifest bytes. content_type is the request's Content-Type (may be NULL);
 * it must agree with the body's mediaType when both are present. */
int wharf_manifest_parse(struct wharf_manifest **out, const char *content_type, const char *data,
			 size_t len, struct wharf_error *err);
void wharf_manifest_free(struct wharf_manifest *m);

#endif
