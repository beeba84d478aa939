/* wharf admin cert: make a small CA and a server certificate for wharfd's HTTPS. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"

static void cert_usage(FILE *out)
{
	fputs("Usage: wharf admin cert --host NAME --out DIR [OPTIONS]\n"
	      "\n"
	      "Make a certificate authority and a server certificate signed by it, for\n"
	      "`wharfd --tls-cert DIR/server.crt --tls-key DIR/server.key`. Keys are ECDSA P-256.\n"
	      "The server certificate names NAME, 127.0.0.1 and every --san. Clients trust DIR/ca.crt:\n"
	      "  curl --cacert DIR/ca.crt, skopeo --dest-cert-dir DIR (or --cert-dir), or copy it to\n"
	      "  /etc/containers/certs.d/NAME:PORT/ca.crt (podman, skopeo) or /etc/docker/certs.d/...\n"
	      "Files: ca.crt, ca.key, server.crt, server.key (keys 0600). Existing files are kept\n"
	      "unless --force. Keep ca.key offline once the server certificate is made.\n"
	      "\n"
	      "Options:\n"
	      "      --host NAME     the server's DNS name or IP address (required)\n"
	      "      --out DIR       where to write (created 0700 if missing; required)\n"
	      "      --san NAME      another DNS name or IP address (repeatable)\n"
	      "      --days N        server certificate validity (default 365; the CA gets 10 years)\n"
	      "      --force         overwrite existing files\n"
	      "      --json          print the paths as JSON\n"
	      "  -h, --help          show this help\n"
	      "\n"
	      "Exit status: 0 written, 1 failed, 2 bad usage.\n",
	      out);
}

/* Only host-name and address characters: the names go into an X509v3 configuration string. */
static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == ':' || *p == '*'))
			return false;
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void san_add(struct wharf_buf *b, const char *name)
{
	_cleanup_free_ char *entry = wharf_xasprintf("%s:%s", is_ip(name) ? "IP" : "DNS", name);
	if (b->data && strstr(b->data, entry))
		return;
	wharf_buf_printf(b, "%s%s", b->len ? "," : "", entry);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

/* A certificate for key with subject CN=cn, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long days,
		       const char *san)
{
	X509 *c = X509_new();
	unsigned char serial[16];
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
	BN_free(bn);
	X509_set_version(c, 2);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), days * 86400L);
	X509_set_pubkey(c, key);
	X509_NAME *name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	X509 *iss = issuer ? issuer : c;
	int r = add_ext(c, iss, NID_subject_key_identifier, "hash");
	if (issuer) {
		r |= add_ext(c, iss, NID_authority_key_identifier, "keyid:always");
		r |= add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
		r |= add_ext(c, iss, NID_key_usage, "critical,digitalSignature");
		r |= add_ext(c, iss, NID_ext_key_usage, "serverAuth");
		r |= add_ext(c, iss, NID_subject_alt_name, san);
	} else {
		r |= add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
		r |= add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	}
	if (r != 0 || !X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) {
		X509_free(c);
		return NULL;
	}
	return c;
}

static int write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key, bool force, struct wharf_error *err)
{
	_cleanup_free_ char *path = wharf_xasprintf("%s/%s", dir, name);
	struct stat st;
	if (!force && lstat(path, &st) == 0)
		return wharf_error_set(err, WHARF_EEXIST, "%s exists (use --force to replace it)", path);
	BIO *mem = BIO_new(BIO_s_mem());
	int ok = cert ? PEM_write_bio_X509(mem, cert) : PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL);
	char *data = NULL;
	long len = BIO_get_mem_data(mem, &data);
	int r = ok ? wharf_atomic_write(path, data, (size_t)len, cert ? 0644 : 0600, err)
		   : wharf_error_set(err, WHARF_EINTERNAL, "%s: cannot encode", path);
	BIO_free(mem);
	return r;
}

struct cert_args {
	const char *host, *out;
	struct wharf_strv sans;
	long days;
	bool force, json;
};

static int make_all(const struct cert_args *a, struct wharf_error *err)
{
	struct wharf_buf san;
	wharf_buf_init(&san);
	san_add(&san, a->host);
	san_add(&san, "127.0.0.1");
	for (size_t i = 0; i < a->sans.n; i++)
		san_add(&san, a->sans.v[i]);
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
	_cleanup_free_ char *ca_cn = wharf_xasprintf("wharf CA for %s", a->host);
	X509 *ca = ca_key ? make_cert(ca_key, ca_cn, NULL, NULL, 3650, NULL) : NULL;
	X509 *srv = ca && srv_key ? make_cert(srv_key, a->host, ca, ca_key, a->days, san.data) : NULL;
	int r = 0;
	if (!srv)
		r = wharf_error_set(err, WHARF_EINTERNAL, "OpenSSL could not make the certificates");
	else if (wharf_mkdir_p(a->out, 0700, err) < 0 || write_pem(a->out, "ca.crt", ca, NULL, a->force, err) < 0 ||
		 write_pem(a->out, "ca.key", NULL, ca_key, a->force, err) < 0 ||
		 write_pem(a->out, "server.crt", srv, NULL, a->force, err) < 0 ||
		 write_pem(a->out, "server.key", NULL, srv_key, a->force, err) < 0)
		r = -err->code;
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	if (r == 0 && a->json) {
		struct wharf_buf j;
		wharf_buf_init(&j);
		const char *keys[] = {"ca", "cert", "key"}, *files[] = {"ca.crt", "server.crt", "server.key"};
		for (int i = 0; i < 3; i++) {
			_cleanup_free_ char *path = wharf_xasprintf("%s/%s", a->out, files[i]);
			wharf_buf_printf(&j, "%s\"%s\":", i ? "," : "{", keys[i]);
			wharf_buf_json_string(&j, path);
		}
		wharf_buf_printf(&j, ",\"san\":\"%s\"}", san.data);
		puts(j.data);
		wharf_buf_free(&j);
	} else if (r == 0)
		printf("wrote %s/ca.crt, ca.key, server.crt, server.key (%s)\n", a->out, san.data);
	wharf_buf_free(&san);
	return r;
}

int wharf_cli_admin_cert(int argc, char **argv)
{
	enum { O_HOST = 256, O_OUT, O_SAN, O_DAYS, O_FORCE, O_JSON };
	static const struct option opts[] = {
		{"host", required_argument, NULL, O_HOST}, {"out", required_argument, NULL, O_OUT},
		{"san", required_argument, NULL, O_SAN},   {"days", required_argument, NULL, O_DAYS},
		{"force", no_argument, NULL, O_FORCE},     {"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	struct cert_args a = {.days = 365};
	int c, rc = -1;
	uint64_t days;
	optind = 1;
	while (rc < 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_HOST: a.host = optarg; break;
		case O_OUT: a.out = optarg; break;
		case O_SAN: wharf_strv_push(&a.sans, optarg); break;
		case O_DAYS:
			if (!wharf_parse_u64(optarg, strlen(optarg), &days) || days == 0 || days > 3650) {
				fprintf(stderr, "wharf admin cert: --days '%s' must be 1 to 3650\n", optarg);
				rc = EXIT_USAGE;
			}
			a.days = (long)days;
			break;
		case O_FORCE: a.force = true; break;
		case O_JSON: a.json = true; break;
		case 'h': cert_usage(stdout); rc = EXIT_OK; break;
		default: cert_usage(stderr); rc = EXIT_USAGE; break;
		}
	}
	bool names_ok = a.host && valid_name(a.host);
	for (size_t i = 0; i < a.sans.n; i++)
		names_ok = names_ok && valid_name(a.sans.v[i]);
	if (rc < 0 && (!a.out || !names_ok || optind != argc)) {
		fputs("wharf admin cert: need --host NAME and --out DIR; names are DNS names or IP addresses "
		      "(see --help)\n", stderr);
		rc = EXIT_USAGE;
	}
	struct wharf_error err;
	if (rc < 0 && make_all(&a, &err) < 0) {
		fprintf(stderr, "wharf admin cert: %s\n", err.message);
		rc = EXIT_FAILURE_RUNTIME;
	}
	wharf_strv_free(&a.sans);
	return rc < 0 ? EXIT_OK : rc;
}
