/* wharf trust hsm: root keys on PKCS#11 tokens, with the lost-token story.
 *
 * A key generated on a token cannot leave it, so it cannot be backed up. generate-root therefore
 * makes the root key here, writes the backup ("the copy in the safe": encrypted PKCS#8 followed
 * by the root certificate, 0600), and imports the key into the token as sensitive and not
 * extractable. When the token is lost, `hsm import` puts the backup into a new token; the key,
 * its certificate and so its key ID stay the same, so clients see no change at all.
 *
 * Which token holds the root of a GUN is recorded in $WHARF_HOME/keys/<GUN>/root.key.pkcs11
 * ({"module","token","keyid"}); trust init --root-on-token and rotate find the key there
 * (wharf_cli_trust_hsm_root_key), by the label the key ID. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/pkcs11.h"
#include "wharf/trust.h"

#define ROOT_DAYS 3650
#define CERT_BEGIN "-----BEGIN CERTIFICATE-----"
#define CERT_END "-----END CERTIFICATE-----"

struct hsm_opts {
	const char *module;
	const char *token;
	const char *backup;
	bool on_token;
	const char *key_id; /* hex CKA_ID to use instead of the key ID (a YubiKey's PIV slot) */
	struct wharf_buf ckaid;
};

static void hsm_usage(FILE *out)
{
	fputs("Usage: wharf trust hsm COMMAND [OPTIONS] ARGS\n"
	      "\n"
	      "Root keys on PKCS#11 tokens (a YubiKey through ykcs11, SoftHSM2, ...).\n"
	      "\n"
	      "Commands:\n"
	      "  list                              tokens, and the objects of one token when a PIN is given\n"
	      "  generate-root GUN --backup FILE   make a root key here, write its encrypted backup to FILE\n"
	      "                                    (WHARF_ROOT_BACKUP_PASSPHRASE), import it into the token\n"
	      "  generate-root GUN --on-token      generate the root key on the token (no backup possible)\n"
	      "  import GUN FILE                   import a backup (or another encrypted root key with its\n"
	      "                                    certificate) into a token, e.g. after losing the old one\n"
	      "  import GUN [--backup FILE]        move the root key file held here (a rotated root key,\n"
	      "                                    WHARF_ROOT_PASSPHRASE) into a token, writing its backup\n"
	      "                                    first when asked; the key file is then deleted\n"
	      "Then 'wharf trust init --root-on-token GUN' publishes with that root key, and sign and\n"
	      "rotate use it wherever this client holds no root key file.\n"
	      "\n"
	      "Options:\n"
	      "      --pkcs11-module PATH  the token's module (default $WHARF_PKCS11_MODULE, else p11-kit's\n"
	      "                            proxy " WHARF_PKCS11_DEFAULT_MODULE ")\n"
	      "      --token LABEL         the token (default: the first initialised one)\n"
	      "      --key-id HEX          generate-root, import: the key's CKA_ID, and find it by that\n"
	      "                            (a YubiKey's PIV slot: 02 is slot 9c); default: label and\n"
	      "                            CKA_ID are the root key ID\n"
	      "  -h, --help                show this help\n"
	      "The user PIN comes from WHARF_PKCS11_PIN or a prompt.\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 bad usage.\n",
	      out);
}

static int parse(int argc, char **argv, struct hsm_opts *o)
{
	enum { OPT_MODULE = 256, OPT_TOKEN, OPT_BACKUP, OPT_ON_TOKEN, OPT_KEY_ID };
	static const struct option opts[] = {
		{"pkcs11-module", required_argument, NULL, OPT_MODULE}, {"token", required_argument, NULL, OPT_TOKEN},
		{"backup", required_argument, NULL, OPT_BACKUP},        {"on-token", no_argument, NULL, OPT_ON_TOKEN},
		{"key-id", required_argument, NULL, OPT_KEY_ID},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("WHARF_PKCS11_MODULE");
	o->module = env && *env ? env : NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_MODULE: o->module = optarg; break;
		case OPT_TOKEN: o->token = optarg; break;
		case OPT_BACKUP: o->backup = optarg; break;
		case OPT_ON_TOKEN: o->on_token = true; break;
		case OPT_KEY_ID: o->key_id = optarg; break;
		case 'h': hsm_usage(stdout); return EXIT_OK;
		default: hsm_usage(stderr); return EXIT_USAGE;
		}
	}
	struct wharf_error err;
	if (o->key_id && (strlen(o->key_id) > 64 || wharf_hex_decode(o->key_id, &o->ckaid, &err) <= 0)) {
		fprintf(stderr, "wharf trust hsm: --key-id takes 1 to 32 bytes in hex, not '%s'\n", o->key_id);
		return EXIT_USAGE;
	}
	return -1;
}

static int fail(const char *verb, const char *what, const struct wharf_error *err)
{
	fprintf(stderr, "wharf trust hsm %s: %s%s%s\n", verb, what ? what : "", what ? ": " : "", err->message);
	return EXIT_FAILURE_RUNTIME;
}

static int open_token(struct wharf_p11 **out, const char *module, const char *token, struct wharf_error *err)
{
	int r = wharf_p11_open(out, module, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *pin = NULL;
	if ((r = wharf_cli_passphrase_var("WHARF_PKCS11_PIN", "the token's user PIN", false, &pin, err)) == 0)
		r = wharf_p11_login(*out, token, pin, err);
	if (pin)
		memset(pin, 0, strlen(pin));
	if (r < 0) {
		wharf_p11_close(*out);
		*out = NULL;
	}
	return r;
}

/* --- the record of where a GUN's root key is --- */

static char *record_path(const char *home, const char *gun)
{
	_cleanup_free_ char *key = wharf_cli_trust_key_path(home, gun, "root");
	return wharf_xasprintf("%s.pkcs11", key);
}

static int write_record(const char *home, const char *gun, const struct wharf_p11 *p, const char *id,
			const char *ckaid_hex, struct wharf_error *err)
{
	_cleanup_free_ char *path = record_path(home, gun);
	_cleanup_free_ char *dir = wharf_xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int r = wharf_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	json_t *doc = json_pack("{s:s,s:s,s:s}", "module", wharf_p11_module_path(p), "token", wharf_p11_token_label(p),
				"keyid", id);
	if (ckaid_hex)
		json_object_set_new(doc, "ckaid", json_string(ckaid_hex));
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	r = wharf_atomic_write(path, text, strlen(text), 0600, err);
	free(text);
	return r;
}

int wharf_cli_trust_hsm_root_key(const char *home, const char *gun, struct wharf_key **out, struct wharf_error *err)
{
	*out = NULL;
	_cleanup_free_ char *path = record_path(home, gun);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, 64 * 1024, &text, &len, err);
	if (r == -WHARF_ENOTFOUND)
		return wharf_error_set(err, WHARF_ENOTFOUND,
				       "no root key of %s on a token (%s): run 'wharf trust hsm generate-root' or "
				       "'wharf trust hsm import' first",
				       gun, path);
	if (r < 0)
		return r;
	json_t *doc = NULL;
	if ((r = wharf_json_parse(&doc, text, len, 64 * 1024, err)) < 0)
		return wharf_error_prefix(err, "%s", path);
	const char *env = getenv("WHARF_PKCS11_MODULE");
	const char *module = env && *env ? env : json_string_value(json_object_get(doc, "module"));
	const char *token = json_string_value(json_object_get(doc, "token"));
	const char *id = json_string_value(json_object_get(doc, "keyid"));
	struct wharf_p11 *p = NULL;
	if (!token || !id)
		r = wharf_error_set(err, WHARF_EINVAL, "%s: no token or keyid", path);
	if (r == 0)
		r = open_token(&p, module, token, err);
	const char *ckaid = json_string_value(json_object_get(doc, "ckaid"));
	struct wharf_buf idb;
	wharf_buf_init(&idb);
	if (r == 0 && ckaid && (r = wharf_hex_decode(ckaid, &idb, err)) >= 0)
		r = wharf_key_from_pkcs11_id(out, p, idb.data, idb.len, err);
	else if (r == 0)
		r = wharf_key_from_pkcs11(out, p, id, err);
	wharf_buf_free(&idb);
	char got[65] = "", cn[128] = "";
	if (r == 0) {
		wharf_key_id(*out, WHARF_DIALECT_NOTARY, got);
		r = wharf_key_x509_info(*out, cn, sizeof(cn), NULL, err);
	}
	if (r == 0 && (strcmp(got, id) != 0 || strcmp(cn, gun) != 0))
		r = wharf_error_set(err, WHARF_EINVAL, "the token's key \"%s\" is key %.16s with CN \"%s\", not the root key of %s",
				    id, got, cn, gun);
	if (r < 0 && *out) {
		wharf_key_free(*out);
		*out = NULL;
	}
	wharf_p11_close(p); /* the key keeps the session while it lives */
	if (r == -WHARF_ENOTFOUND) { /* the record exists: a key missing from the token is an error */
		err->code = WHARF_EINVAL;
		r = -WHARF_EINVAL;
	}
	if (r < 0)
		wharf_error_prefix(err, "root key on token \"%s\" (%s)", token ? token : "?", path);
	json_decref(doc);
	return r;
}

/* --- list --- */

/* One attribute of a PKCS#11 URI path ("token=A;object=ci"), percent escapes kept out. */
static char *uri_attr(const char *path, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = path; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		if (!strncmp(p, name, n) && p[n] == '=') {
			const char *v = p + n + 1;
			return wharf_xstrndup(v, strcspn(v, ";?"));
		}
	}
	return NULL;
}

int wharf_cli_trust_hsm_uri_key(const char *uri, struct wharf_key **out, struct wharf_error *err)
{
	*out = NULL;
	const char *path = uri + strlen("pkcs11:");
	_cleanup_free_ char *token = uri_attr(path, "token");
	_cleanup_free_ char *object = uri_attr(path, "object");
	_cleanup_free_ char *id_hex = uri_attr(path, "id");
	if (!wharf_str_has_prefix(uri, "pkcs11:") || !token || (!object && !id_hex) || strchr(uri, '%'))
		return wharf_error_set(err, WHARF_EINVAL, "'%.200s' is not pkcs11:token=LABEL;object=KEYLABEL (or ;id=HEX), "
				       "without %%-escapes", uri);
	const char *env = getenv("WHARF_PKCS11_MODULE");
	struct wharf_p11 *p = NULL;
	int r = open_token(&p, env && *env ? env : NULL, token, err);
	struct wharf_buf idb;
	wharf_buf_init(&idb);
	if (r == 0 && id_hex && (r = wharf_hex_decode(id_hex, &idb, err)) >= 0)
		r = wharf_key_from_pkcs11_id(out, p, idb.data, idb.len, err);
	else if (r == 0)
		r = wharf_key_from_pkcs11(out, p, object, err);
	wharf_buf_free(&idb);
	wharf_p11_close(p); /* the key keeps the session while it lives */
	return r < 0 ? wharf_error_prefix(err, "%s", uri) : 0;
}

static int cmd_list(const struct hsm_opts *o)
{
	struct wharf_error err;
	struct wharf_p11 *p = NULL;
	if (wharf_p11_open(&p, o->module, &err) < 0)
		return fail("list", NULL, &err);
	struct wharf_p11_token *t = NULL;
	size_t n = 0;
	if (wharf_p11_tokens(p, &t, &n, &err) < 0) {
		wharf_p11_close(p);
		return fail("list", NULL, &err);
	}
	printf("module %s\n%-11s %-32s %-16s %-16s %s\n", wharf_p11_module_path(p), "SLOT", "TOKEN", "MODEL", "SERIAL",
	       "MANUFACTURER");
	for (size_t i = 0; i < n; i++)
		printf("%-11lu %-32s %-16s %-16s %s%s\n", t[i].slot, t[i].initialized ? t[i].label : "(not initialised)",
		       t[i].model, t[i].serial, t[i].manufacturer, "");
	free(t);
	wharf_p11_close(p);
	const char *pin = getenv("WHARF_PKCS11_PIN");
	if (!o->token && !(pin && *pin))
		return EXIT_OK; /* objects need a login */
	if (open_token(&p, o->module, o->token, &err) < 0)
		return fail("list", o->token, &err);
	struct wharf_p11_object *obj = NULL;
	if (wharf_p11_objects(p, &obj, &n, &err) < 0) {
		wharf_p11_close(p);
		return fail("list", o->token, &err);
	}
	printf("\nobjects on token %s\n%-8s %-6s %-64s %s\n", wharf_p11_token_label(p), "CLASS", "TYPE", "LABEL",
	       "FLAGS");
	for (size_t i = 0; i < n; i++) {
		bool priv = !strcmp(obj[i].cls, "private");
		printf("%-8s %-6s %-64s %s%s%s%s\n", obj[i].cls, obj[i].key_type[0] ? obj[i].key_type : "-", obj[i].label,
		       !priv ? "" : obj[i].extractable ? "extractable" : obj[i].sensitive ? "sensitive,non-extractable"
											: "non-extractable",
		       priv ? " (CKA_VALUE: " : "", priv ? obj[i].value_read : "", priv ? ")" : "");
	}
	wharf_p11_objects_free(obj, n);
	wharf_p11_close(p);
	return EXIT_OK;
}

/* --- generate-root and import --- */

/* The key ID as a label and as CKA_ID bytes. */
static void id_of(const struct wharf_key *k, char id[65], unsigned char raw[32])
{
	wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
	for (int i = 0; i < 32; i++)
		sscanf(id + 2 * i, "%2hhx", &raw[i]);
}

/* The certificate's PEM text: keyval.public of the certificate key. */
static int cert_pem(const struct wharf_key *cert, struct wharf_buf *out, struct wharf_error *err)
{
	json_t *j = wharf_key_to_json(cert, WHARF_DIALECT_NOTARY);
	int r = wharf_base64_decode(json_string_value(json_object_get(json_object_get(j, "keyval"), "public")), out, err);
	json_decref(j);
	return r < 0 ? r : 0;
}

static int write_backup(const char *file, const struct wharf_key *root, struct wharf_error *err)
{
	_cleanup_free_ char *pass = NULL;
	int r = wharf_cli_passphrase_var("WHARF_ROOT_BACKUP_PASSPHRASE", "the root key backup", true, &pass, err);
	struct wharf_buf b;
	wharf_buf_init(&b);
	if (r == 0)
		r = wharf_key_private_to_pem(root, pass, &b, err);
	if (r == 0)
		r = cert_pem(root, &b, err);
	if (r == 0)
		r = wharf_atomic_write(file, b.data, b.len, 0600, err);
	if (b.data)
		memset(b.data, 0, b.len);
	wharf_buf_free(&b);
	if (pass)
		memset(pass, 0, strlen(pass));
	return r < 0 ? wharf_error_prefix(err, "backup %s", file) : 0;
}

/* Put root (a certificate key with its private half here) on the token under its key ID (and
 * CKA_ID ckaid when given). */
static int import_root(struct wharf_p11 *p, const struct wharf_key *root, const struct wharf_buf *ckaid, char id[65],
		       struct wharf_error *err)
{
	unsigned char raw[32];
	id_of(root, id, raw);
	const void *cid = ckaid->len ? (const void *)ckaid->data : raw;
	size_t cid_len = ckaid->len ? ckaid->len : sizeof(raw);
	struct wharf_key *there = NULL;
	struct wharf_error e2;
	if ((ckaid->len ? wharf_key_from_pkcs11_id(&there, p, cid, cid_len, &e2) : wharf_key_from_pkcs11(&there, p, id, &e2)) ==
	    0) {
		wharf_key_free(there);
		return wharf_error_set(err, WHARF_EEXIST, "token \"%s\" holds root key %s already", wharf_p11_token_label(p),
				       id);
	}
	int r = wharf_p11_import_ec(p, root, id, cid, cid_len, err);
	if (r == 0)
		r = wharf_p11_store_cert(p, root, id, cid, cid_len, err);
	return r;
}

/* On the token: generate, certify through the token, then label with the key ID. */
static int generate_on_token(struct wharf_p11 *p, const char *gun, const struct wharf_buf *ckaid, char id[65],
			     struct wharf_error *err)
{
	_cleanup_free_ char *tmp = wharf_xasprintf("wharf-new-root-%ld", (long)getpid());
	struct wharf_key *raw_key = NULL, *root = NULL;
	unsigned char raw[32];
	int r = wharf_p11_generate_ec(p, tmp, ckaid->len ? ckaid->data : NULL, ckaid->len, &raw_key, err);
	if (r == 0)
		r = wharf_key_make_x509(&root, raw_key, gun, ROOT_DAYS, err);
	const void *cid = ckaid->len ? (const void *)ckaid->data : raw;
	size_t cid_len = ckaid->len ? ckaid->len : sizeof(raw);
	if (r == 0) {
		id_of(root, id, raw);
		struct wharf_error e2; /* tokens with fixed labels refuse this; they are found by CKA_ID */
		if (wharf_p11_relabel(p, tmp, id, cid, cid_len, ckaid->len ? &e2 : err) < 0 && !ckaid->len)
			r = -err->code;
	}
	if (r == 0)
		r = wharf_p11_store_cert(p, root, id, cid, cid_len, err);
	wharf_key_free(raw_key);
	wharf_key_free(root);
	return r;
}

static int cmd_generate(const char *gun, const struct hsm_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail("generate-root", gun, &err);
	if (!o->backup == !o->on_token) {
		fprintf(stderr, "wharf trust hsm generate-root: give --backup FILE (recommended) or --on-token\n");
		return EXIT_USAGE;
	}
	if (o->backup && access(o->backup, F_OK) == 0) {
		fprintf(stderr, "wharf trust hsm generate-root: %s exists; not overwriting a backup\n", o->backup);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_p11 *p = NULL;
	struct wharf_key *raw = NULL, *root = NULL;
	char id[65] = "";
	int r = open_token(&p, o->module, o->token, &err);
	if (r == 0 && o->on_token)
		r = generate_on_token(p, gun, &o->ckaid, id, &err);
	if (r == 0 && !o->on_token) {
		if ((r = wharf_key_generate(&raw, WHARF_KEY_ECDSA, &err)) == 0 &&
		    (r = wharf_key_make_x509(&root, raw, gun, ROOT_DAYS, &err)) == 0 &&
		    (r = write_backup(o->backup, root, &err)) == 0 && (r = import_root(p, root, &o->ckaid, id, &err)) < 0)
			unlink(o->backup); /* a backup of a key no token holds would only confuse */
	}
	if (r == 0)
		r = write_record(home, gun, p, id, o->key_id, &err);
	if (r == 0)
		printf("root key %s for %s on token \"%s\" (%s)\n%s%s%s", id, gun, wharf_p11_token_label(p),
		       o->on_token ? "generated on the token, no backup" : "sensitive, not extractable",
		       o->backup ? "backup written to " : "", o->backup ? o->backup : "", o->backup ? "\n" : "");
	wharf_key_free(raw);
	wharf_key_free(root);
	wharf_p11_close(p);
	return r < 0 ? fail("generate-root", gun, &err) : EXIT_OK;
}

/* A backup: the encrypted key and the certificate that makes it this GUN's root key. */
static int read_backup(const char *file, const char *gun, struct wharf_key **out, struct wharf_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = wharf_read_file(file, 1 << 20, &text, &len, err);
	if (r < 0)
		return r;
	const char *b = memmem(text, len, CERT_BEGIN, strlen(CERT_BEGIN));
	const char *e = b ? memmem(b, len - (size_t)(b - text), CERT_END, strlen(CERT_END)) : NULL;
	if (!e)
		return wharf_error_set(err, WHARF_EINVAL, "%s: no root certificate in it (not a wharf root backup)", file);
	e += strlen(CERT_END);
	if (e < text + len && *e == '\n')
		e++;
	_cleanup_free_ char *pem = wharf_xstrndup(b, (size_t)(e - b));
	_cleanup_free_ char *pub = wharf_base64_encode(pem, strlen(pem));
	json_t *j = json_pack("{s:s,s:{s:n,s:s}}", "keytype", "ecdsa-x509", "keyval", "private", "public", pub);
	struct wharf_key *cert = NULL;
	_cleanup_free_ char *pass = NULL;
	char cn[128] = "";
	r = wharf_key_from_json(&cert, j, WHARF_DIALECT_NOTARY, err);
	json_decref(j);
	if (r == 0 && (r = wharf_key_x509_info(cert, cn, sizeof(cn), NULL, err)) == 0 && strcmp(cn, gun) != 0)
		r = wharf_error_set(err, WHARF_EINVAL, "the certificate is for \"%s\", not %s", cn, gun);
	if (r == 0)
		r = wharf_cli_passphrase_var("WHARF_ROOT_BACKUP_PASSPHRASE", "the root key backup", false, &pass, err);
	if (r == 0)
		r = wharf_key_private_from_pem(out, text, len, pass, cert, err);
	wharf_key_free(cert);
	return r < 0 ? wharf_error_prefix(err, "%s", file) : 0;
}

static int cmd_import(const char *gun, const char *file, const struct hsm_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail("import", gun, &err);
	struct wharf_key *root = NULL;
	struct wharf_p11 *p = NULL;
	char id[65] = "";
	int r = read_backup(file, gun, &root, &err);
	if (r == 0)
		r = open_token(&p, o->module, o->token, &err);
	if (r == 0)
		r = import_root(p, root, &o->ckaid, id, &err);
	if (r == 0)
		r = write_record(home, gun, p, id, o->key_id, &err);
	if (r == 0)
		printf("root key %s for %s imported into token \"%s\" (sensitive, not extractable)\n", id, gun,
		       wharf_p11_token_label(p));
	wharf_key_free(root);
	wharf_p11_close(p);
	return r < 0 ? fail("import", gun, &err) : EXIT_OK;
}

/* The root key file held here goes into the token (after its backup, when asked), and the file
 * goes: from now on the token signs for the GUN's root. */
static int cmd_import_held(const char *gun, const struct hsm_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL, *path = NULL, *pub = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0)
		return fail("import", gun, &err);
	path = wharf_cli_trust_key_path(home, gun, "root");
	pub = wharf_xasprintf("%s.pub", path);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "wharf trust hsm import: %s: no root key file held here (%s)\n", gun, path);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_key *root = NULL;
	struct wharf_p11 *p = NULL;
	char id[65] = "";
	int r = wharf_cli_trust_load_key(home, gun, "root", NULL, &root, &err);
	enum wharf_key_type t = r == 0 ? wharf_key_type(root) : WHARF_KEY_ECDSA;
	if (r == 0 && t != WHARF_KEY_ECDSA_X509)
		r = wharf_error_set(&err, WHARF_EINVAL, "%s: the root key has no certificate beside it (%s)", path, pub);
	if (r == 0 && o->backup)
		r = write_backup(o->backup, root, &err);
	if (r == 0)
		r = open_token(&p, o->module, o->token, &err);
	if (r == 0)
		r = import_root(p, root, &o->ckaid, id, &err);
	if (r == 0)
		r = write_record(home, gun, p, id, o->key_id, &err);
	if (r == 0 && (unlink(path) != 0 || unlink(pub) != 0))
		r = wharf_error_sys(&err, "remove %s after the import", path);
	if (r == 0)
		printf("root key %s for %s moved into token \"%s\" (sensitive, not extractable); %s removed\n", id, gun,
		       wharf_p11_token_label(p), path);
	wharf_key_free(root);
	wharf_p11_close(p);
	return r < 0 ? fail("import", gun, &err) : EXIT_OK;
}

static int run(const char *verb, int nargs, char **args, const struct hsm_opts *o)
{
	wharf_log_set_level(WHARF_LOG_WARN);
	if (!strcmp(verb, "list") && nargs == 0)
		return cmd_list(o);
	if (!strcmp(verb, "generate-root") && nargs == 1)
		return cmd_generate(args[0], o);
	if (!strcmp(verb, "import") && nargs == 2)
		return cmd_import(args[0], args[1], o);
	if (!strcmp(verb, "import") && nargs == 1)
		return cmd_import_held(args[0], o);
	fprintf(stderr, "wharf trust hsm: unknown command or wrong arguments: %s (see wharf trust hsm --help)\n", verb);
	return EXIT_USAGE;
}

int wharf_cli_trust_hsm(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		hsm_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *verb = argv[1];
	struct hsm_opts o = {0};
	int rc = parse(argc - 1, argv + 1, &o);
	if (rc < 0)
		rc = run(verb, argc - 1 - optind, argv + 1 + optind, &o);
	wharf_buf_free(&o.ckaid);
	return rc;
}
