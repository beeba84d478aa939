/* wharf trust status GUN: every role's keys, threshold, version and expiry after a full verified
 * update, which keys this client holds, and a warning (exit 4) ahead of expiry, for CI.
 * wharf trust refresh GUN: re-sign the roles this client holds the keys of before they expire. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "wharf/json.h"
#include "wharf/trust.h"

#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define DAY 86400LL
#define ROOT_LIFETIME (10 * 365 * DAY)
#define ROLE_LIFETIME (3 * 365 * DAY)
#define KEY_FILE_MAX (1u << 20)
#define MAX_FILES (WHARF_TUF_ROLES_MAX + 4)

/* A key this client holds for the GUN: a key file's public side, or the root key on a token. */
struct held_key {
	char id[65];
	char *file; /* relative to the GUN's key directory; "token" for a PKCS#11 root key */
};

struct held {
	struct held_key *k;
	size_t n;
};

static void held_free(struct held *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->k[i].file);
	free(h->k);
}

static void held_add(struct held *h, const char *id, const char *file)
{
	h->k = wharf_xrealloc(h->k, (h->n + 1) * sizeof(*h->k));
	snprintf(h->k[h->n].id, sizeof(h->k[h->n].id), "%s", id);
	h->k[h->n++].file = wharf_xstrdup(file);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static json_t *read_json(const char *path)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	struct wharf_error err;
	json_t *doc = NULL;
	if (wharf_read_file(path, KEY_FILE_MAX, &text, &len, &err) < 0 ||
	    wharf_json_parse(&doc, text, len, KEY_FILE_MAX, &err) < 0)
		return NULL;
	return doc;
}

/* Walk dir (top: the GUN's key directory) for <name>.key.pub files and the root token record. */
static void scan_keys(const char *top, const char *rel, int depth, struct held *h)
{
	_cleanup_free_ char *dir = rel[0] ? wharf_xasprintf("%s/%s", top, rel) : wharf_xstrdup(top);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *r = rel[0] ? wharf_xasprintf("%s/%s", rel, e->d_name) : wharf_xstrdup(e->d_name);
		_cleanup_free_ char *path = wharf_xasprintf("%s/%s", top, r);
		if (ends_with(e->d_name, ".key.pub")) {
			_cleanup_free_ char *priv = wharf_xstrndup(path, strlen(path) - 4);
			json_t *doc = access(priv, F_OK) == 0 ? read_json(path) : NULL;
			struct wharf_key *k = NULL;
			struct wharf_error err;
			if (doc && wharf_key_from_json(&k, doc, WHARF_DIALECT_NOTARY, &err) == 0) {
				char id[65];
				wharf_key_id(k, WHARF_DIALECT_NOTARY, id);
				_cleanup_free_ char *name = wharf_xstrndup(r, strlen(r) - 4);
				held_add(h, id, name);
				wharf_key_free(k);
			}
			if (doc)
				json_decref(doc);
		} else if (!rel[0] && !strcmp(e->d_name, "root.key.pkcs11")) {
			json_t *doc = read_json(path);
			const char *id = doc ? json_string_value(json_object_get(doc, "keyid")) : NULL;
			if (id)
				held_add(h, id, "token");
			if (doc)
				json_decref(doc);
		} else if (depth < 8 && e->d_type == DT_DIR) {
			scan_keys(top, r, depth + 1, h);
		}
	}
	closedir(d);
}

static void held_load(struct held *h, const char *home, const char *gun)
{
	_cleanup_free_ char *root = wharf_cli_trust_key_path(home, gun, "root");
	_cleanup_free_ char *dir = wharf_xstrndup(root, (size_t)(strrchr(root, '/') - root));
	scan_keys(dir, "", 0, h);
}

/* The held key (its index in h) that is a key of the role, or -1; *count gets how many are. */
static ssize_t held_of(const struct held *h, const struct wharf_trust_role_info *ri, size_t *count)
{
	ssize_t first = -1;
	size_t c = 0;
	size_t i;
	json_t *v;
	json_array_foreach(ri->keyids, i, v) {
		if (!json_is_string(v))
			continue;
		for (size_t j = 0; j < h->n; j++) {
			if (!strcmp(h->k[j].id, json_string_value(v))) {
				if (first < 0)
					first = (ssize_t)j;
				c++;
				break;
			}
		}
	}
	if (count)
		*count = c;
	return first;
}

static const char *default_server(void)
{
	const char *env = getenv("WHARF_TRUST_SERVER");
	return env && *env ? env : DEFAULT_SERVER;
}

static bool parse_days(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0 || v > 100000)
		return false;
	*out = v;
	return true;
}

static int64_t days_left(int64_t expires, int64_t now)
{
	int64_t d = expires - now;
	return d >= 0 ? d / DAY : -((-d + DAY - 1) / DAY);
}

/* ---------------------------------------------------------------------------------------- */
/* status */

static void status_usage(FILE *out)
{
	fputs("Usage: wharf trust status [OPTIONS] GUN\n"
	      "\n"
	      "Update GUN's trust data as every read verb does (a full verified TUF update), then show one\n"
	      "line per role (root, timestamp, snapshot, targets and every delegation): short key IDs,\n"
	      "threshold/keys, version, expiry date and days left, and the keys this client holds (files\n"
	      "under $WHARF_HOME/keys/<GUN>/, or 'token' for a root key on a PKCS#11 token). The timestamp\n"
	      "is the server's, which re-signs it before it expires; it never warns.\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server URL     the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
	      "      --warn-days N    warn when a role expires within N days (default 30)\n"
	      "      --json           print JSON\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "Exit status (for CI):\n"
	      "  0  every role verified and none expires within --warn-days\n"
	      "  1  the update failed (e.g. a role has expired: the message names it)\n"
	      "  2  bad usage\n"
	      "  4  some role expires within --warn-days: a WARNING names the role and the date\n"
	      "     (renew with 'wharf trust refresh')\n",
	      out);
}

struct status_opts {
	const char *server;
	int64_t warn_days;
	bool json;
};

static void held_json(struct wharf_buf *b, const struct held *h, const struct wharf_trust_role_info *ri)
{
	wharf_buf_puts(b, "[");
	size_t i, n = 0;
	json_t *v;
	json_array_foreach(ri->keyids, i, v) {
		for (size_t j = 0; json_is_string(v) && j < h->n; j++) {
			if (strcmp(h->k[j].id, json_string_value(v)) != 0)
				continue;
			wharf_buf_printf(b, "%s{\"id\":\"%s\",\"file\":", n++ ? "," : "", h->k[j].id);
			wharf_buf_json_string(b, h->k[j].file);
			wharf_buf_puts(b, "}");
			break;
		}
	}
	wharf_buf_puts(b, "]");
}

/* Who signs role: "client" (a key held here), "server" (timestamp; snapshot not held here) or "none". */
static const char *signer_of(const struct held *h, const struct wharf_trust_role_info *ri)
{
	if (held_of(h, ri, NULL) >= 0)
		return "client";
	if (!strcmp(ri->name, "timestamp") || !strcmp(ri->name, "snapshot"))
		return "server";
	return "none";
}

static bool warns(const struct wharf_trust_role_info *ri, int64_t now, int64_t warn_days)
{
	return strcmp(ri->name, "timestamp") != 0 && ri->meta->expires - now <= warn_days * DAY;
}

static int cmd_status(const char *gun, const struct status_opts *o)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf trust status: %s: %s\n", gun, err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_trust_repo *repo = wharf_cli_trust_update("status", gun, o->server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct held h = {0};
	held_load(&h, home, gun);
	int64_t now = wharf_now();
	size_t nwarn = 0;
	struct wharf_buf b, warnings;
	wharf_buf_init(&b);
	wharf_buf_init(&warnings);
	if (o->json) {
		wharf_buf_puts(&b, "{\"gun\":");
		wharf_buf_json_string(&b, gun);
		wharf_buf_printf(&b, ",\"warn_days\":%lld,\"roles\":[", (long long)o->warn_days);
	} else {
		wharf_buf_printf(&b, "GUN %s\n%-24s %7s %9s  %-20s %6s  %-40s %s\n", gun, "ROLE", "VERSION", "THRESHOLD",
				 "EXPIRES", "DAYS", "KEYS", "HELD HERE");
	}
	for (size_t i = 0; i < wharf_trust_repo_nroles(repo); i++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(repo, i, &ri);
		char expires[32];
		wharf_time_format_rfc3339(ri.meta->expires, expires);
		int64_t left = days_left(ri.meta->expires, now);
		bool warn = warns(&ri, now, o->warn_days);
		const char *signer = signer_of(&h, &ri);
		if (warn) {
			nwarn++;
			wharf_buf_printf(&warnings, "WARNING: %s of %s expires %s (in %lld day%s)%s\n", ri.name, gun, expires,
					 (long long)left, left == 1 ? "" : "s",
					 !strcmp(signer, "client") ? ": run 'wharf trust refresh'"
					 : !strcmp(signer, "server") ? ": the server holds its key"
								      : ": this client holds none of its keys");
		}
		if (o->json) {
			wharf_buf_printf(&b, "%s{\"name\":", i ? "," : "");
			wharf_buf_json_string(&b, ri.name);
			wharf_buf_printf(&b, ",\"version\":%lld,\"expires\":\"%s\",\"days_left\":%lld,\"threshold\":%lld,\"keys\":",
					 (long long)ri.meta->version, expires, (long long)left, (long long)ri.threshold);
			char *ids = json_dumps(ri.keyids, JSON_COMPACT);
			wharf_buf_puts(&b, ids ? ids : "[]");
			free(ids);
			wharf_buf_puts(&b, ",\"held\":");
			held_json(&b, &h, &ri);
			wharf_buf_printf(&b, ",\"signer\":\"%s\",\"warning\":%s}", signer, warn ? "true" : "false");
			continue;
		}
		struct wharf_buf keys, mine;
		wharf_buf_init(&keys);
		wharf_buf_init(&mine);
		size_t k;
		json_t *v;
		json_array_foreach(ri.keyids, k, v) {
			const char *id = json_is_string(v) ? json_string_value(v) : "?";
			wharf_buf_printf(&keys, "%s%.12s", k ? "," : "", id);
			for (size_t j = 0; j < h.n; j++)
				if (!strcmp(h.k[j].id, id))
					wharf_buf_printf(&mine, "%s%.12s (%s)", mine.len ? ", " : "", id, h.k[j].file);
		}
		char thr[48];
		snprintf(thr, sizeof(thr), "%lld/%zu", (long long)ri.threshold, json_array_size(ri.keyids));
		wharf_buf_printf(&b, "%-24s %7lld %9s  %-20s %6lld  %-40s %s%s\n", ri.name, (long long)ri.meta->version, thr,
				 expires, (long long)left, keys.data ? keys.data : "-",
				 mine.len ? mine.data : !strcmp(signer, "server") ? "(server)" : "-", warn ? "  WARNING" : "");
		wharf_buf_free(&keys);
		wharf_buf_free(&mine);
	}
	if (o->json)
		wharf_buf_printf(&b, "],\"warnings\":%zu}\n", nwarn);
	fputs(b.data, stdout);
	fflush(stdout);
	if (warnings.len)
		fputs(warnings.data, stderr);
	wharf_buf_free(&b);
	wharf_buf_free(&warnings);
	held_free(&h);
	wharf_trust_repo_free(repo);
	return nwarn ? EXIT_WARN : EXIT_OK;
}

int wharf_cli_trust_status(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_WARN };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"warn-days", required_argument, NULL, OPT_WARN},
		{"json", no_argument, NULL, OPT_JSON},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct status_opts o = {.server = default_server(), .warn_days = 30};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.server = optarg; break;
		case OPT_JSON: o.json = true; break;
		case OPT_WARN:
			if (!parse_days(optarg, &o.warn_days)) {
				fprintf(stderr, "wharf trust status: --warn-days takes a number of days, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': status_usage(stdout); return EXIT_OK;
		default: status_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "wharf trust status: expected GUN (see --help)\n");
		return EXIT_USAGE;
	}
	wharf_log_set_level(WHARF_LOG_WARN);
	return cmd_status(argv[optind], &o);
}

/* ---------------------------------------------------------------------------------------- */
/* refresh */

static void refresh_usage(FILE *out)
{
	fputs("Usage: wharf trust refresh [OPTIONS] GUN\n"
	      "\n"
	      "Re-sign, as a new version with a new expiry, every role of GUN that this client holds the\n"
	      "key of and that expires within DAYS: root (10 years; a new root version signed by the root\n"
	      "key held here or on a token), targets (3 years), delegations (3 years, with a delegation key\n"
	      "under $WHARF_HOME/keys/<GUN>/) and snapshot (3 years; made by the server when it holds the\n"
	      "snapshot key). The snapshot is re-signed whenever another role is. The server re-signs the\n"
	      "timestamp itself. The result is published and verified with a full update.\n"
	      "Passphrases: WHARF_ROOT_PASSPHRASE, WHARF_TARGETS_PASSPHRASE, WHARF_SNAPSHOT_PASSPHRASE,\n"
	      "WHARF_DELEGATION_PASSPHRASE (delegation keys), or a prompt.\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server URL   the trust server (default $WHARF_TRUST_SERVER or " DEFAULT_SERVER ")\n"
	      "      --within DAYS  refresh roles expiring within DAYS days (default 90)\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Exit status: 0 success (also when nothing needed refreshing), 1 failure, 2 bad usage.\n",
	      out);
}

struct refresh {
	const char *home, *gun, *server;
	const struct wharf_trust_repo *repo;
	const struct held *h;
	int64_t now, within;
	struct wharf_tuf_upload files[MAX_FILES];
	struct wharf_buf bufs[MAX_FILES];
	int64_t versions[MAX_FILES]; /* the version each file publishes */
	size_t n;
	bool staged; /* a role needs k > 1 signatures: the files go to the server as a pending change */
};

static struct wharf_buf *next_buf(struct refresh *rf, const char *role, int64_t version)
{
	struct wharf_buf *b = &rf->bufs[rf->n];
	wharf_buf_init(b);
	snprintf(rf->files[rf->n].role, sizeof(rf->files[rf->n].role), "%s", role);
	rf->versions[rf->n] = version;
	return b;
}

static void commit_buf(struct refresh *rf)
{
	rf->files[rf->n].data = rf->bufs[rf->n].data;
	rf->files[rf->n].len = rf->bufs[rf->n].len;
	rf->n++;
}

/* A role needing k > 1 signatures is re-signed here once; the others approve the staged change. */
static int check_threshold(struct refresh *rf, const struct wharf_trust_role_info *ri, struct wharf_error *err)
{
	(void)err;
	if (ri->threshold > 1)
		rf->staged = true;
	return 0;
}

/* A delegation key file held here (path relative to the GUN's key directory). */
static int load_delegation_key(const struct refresh *rf, const char *file, struct wharf_key **out,
			       struct wharf_error *err)
{
	_cleanup_free_ char *root = wharf_cli_trust_key_path(rf->home, rf->gun, "root");
	_cleanup_free_ char *path = wharf_xasprintf("%.*s/%s", (int)(strrchr(root, '/') - root), root, file);
	_cleanup_free_ char *pem = NULL, *pass = NULL;
	size_t len = 0;
	int r = wharf_read_file(path, KEY_FILE_MAX, &pem, &len, err);
	if (r == 0)
		r = wharf_cli_passphrase_var("WHARF_DELEGATION_PASSPHRASE", path, false, &pass, err);
	if (r == 0)
		r = wharf_key_private_from_pem(out, pem, len, pass, NULL, err);
	return r < 0 ? wharf_error_prefix(err, "%s", path) : 0;
}

/* Re-sign one role (not snapshot or timestamp) held here; adds it to the files. */
static int resign_role(struct refresh *rf, const struct wharf_trust_role_info *ri, ssize_t held,
		       struct wharf_error *err)
{
	int r = check_threshold(rf, ri, err);
	if (r < 0)
		return r;
	struct wharf_key *k = NULL;
	bool root = !strcmp(ri->name, "root");
	if (root || !strcmp(ri->name, "targets"))
		r = wharf_cli_trust_load_key(rf->home, rf->gun, ri->name, root ? ri->keys : NULL, &k, err);
	else
		r = load_delegation_key(rf, rf->h->k[held].file, &k, err);
	if (r < 0)
		return r;
	struct wharf_buf *b = next_buf(rf, ri->name, ri->meta->version + 1);
	if (root)
		r = wharf_trust_root_resign(b, rf->repo, &k, 1, rf->now + ROOT_LIFETIME, err);
	else
		r = wharf_trust_role_resign(b, rf->repo, ri->name, NULL, 0, k, rf->now + ROLE_LIFETIME, err);
	wharf_key_free(k);
	if (r < 0) {
		wharf_buf_free(b);
		return r;
	}
	commit_buf(rf);
	return 0;
}

static void refresh_free(struct refresh *rf)
{
	for (size_t i = 0; i < rf->n; i++)
		wharf_buf_free(&rf->bufs[i]);
}

static int plan(struct refresh *rf, bool *server_snapshot, struct wharf_error *err)
{
	int r = 0;
	bool snapshot_due = false;
	for (size_t i = 0; i < wharf_trust_repo_nroles(rf->repo) && r == 0; i++) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(rf->repo, i, &ri);
		if (ri.meta->expires - rf->now > rf->within * DAY || !strcmp(ri.name, "timestamp"))
			continue;
		if (!strcmp(ri.name, "snapshot")) {
			snapshot_due = true;
			continue;
		}
		ssize_t held = held_of(rf->h, &ri, NULL);
		if (held < 0) {
			char expires[32];
			wharf_time_format_rfc3339(ri.meta->expires, expires);
			fprintf(stderr, "wharf trust refresh: %s: %s expires %s, but this client holds none of its keys\n",
				rf->gun, ri.name, expires);
			continue;
		}
		if (rf->n + 2 > MAX_FILES)
			return wharf_error_set(err, WHARF_ETOOBIG, "too many roles to refresh at once");
		r = resign_role(rf, &ri, held, err);
		if (r < 0)
			wharf_error_prefix(err, "%s", ri.name);
	}
	if (r < 0)
		return r;
	struct wharf_key *sk = NULL;
	if ((r = wharf_cli_trust_snapshot_key(rf->home, rf->gun, rf->repo, &sk, err)) < 0)
		return wharf_error_prefix(err, "snapshot");
	*server_snapshot = !sk;
	if (sk && (snapshot_due || rf->n > 0)) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(rf->repo, (size_t)wharf_trust_repo_find(rf->repo, "snapshot"), &ri);
		struct wharf_buf *b = next_buf(rf, "snapshot", ri.meta->version + 1);
		r = wharf_trust_role_resign(b, rf->repo, "snapshot", rf->files, rf->n, sk, rf->now + ROLE_LIFETIME, err);
		if (r == 0)
			commit_buf(rf);
		else
			wharf_buf_free(b);
	} else if (!sk && snapshot_due && rf->n == 0) {
		/* An empty publish asks the server to re-sign the snapshot it holds the key of. */
		*server_snapshot = true;
	}
	wharf_key_free(sk);
	return r;
}

static int cmd_refresh(const char *gun, const char *server, int64_t within)
{
	struct wharf_error err;
	_cleanup_free_ char *home = NULL;
	if (wharf_tuf_check_gun(gun, &err) < 0 || wharf_cli_home(&home, &err) < 0) {
		fprintf(stderr, "wharf trust refresh: %s: %s\n", gun, err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	struct wharf_trust_repo *repo = wharf_cli_trust_update("refresh", gun, server, NULL);
	if (!repo)
		return EXIT_FAILURE_RUNTIME;
	struct held h = {0};
	held_load(&h, home, gun);
	struct refresh rf = {.home = home, .gun = gun, .server = server, .repo = repo, .h = &h, .now = wharf_now(),
			     .within = within};
	bool server_snapshot = false;
	int r = plan(&rf, &server_snapshot, &err);
	ssize_t si = wharf_trust_repo_find(repo, "snapshot");
	int64_t old_snapshot = 0;
	if (si >= 0) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(repo, (size_t)si, &ri);
		old_snapshot = ri.meta->version;
		if (server_snapshot && rf.n == 0 && ri.meta->expires - rf.now > within * DAY)
			server_snapshot = false; /* nothing to do */
	}
	bool publish = rf.n > 0 || server_snapshot;
	if (r == 0 && rf.staged) {
		/* The snapshot (plan adds it last) is the server's to make once the change has its signatures. */
		size_t n = rf.n;
		if (n > 0 && !strcmp(rf.files[n - 1].role, "snapshot"))
			n--;
		bool published = false;
		r = wharf_cli_trust_propose(server, gun, rf.files, n, &published, &err);
		if (r == 0 && !published) {
			wharf_trust_repo_free(repo);
			held_free(&h);
			refresh_free(&rf);
			return EXIT_OK;
		}
		publish = false;
	}
	if (r == 0 && publish)
		r = wharf_trust_http_publish(server, gun, rf.files, rf.n, &err);
	wharf_trust_repo_free(repo);
	held_free(&h);
	if (r < 0) {
		fprintf(stderr, "wharf trust refresh: %s: %s\n", gun, err.message);
		refresh_free(&rf);
		return EXIT_FAILURE_RUNTIME;
	}
	/* What the server serves now must verify and carry the new versions. */
	if (!(repo = wharf_cli_trust_update("refresh", gun, server, NULL))) {
		refresh_free(&rf);
		return EXIT_FAILURE_RUNTIME;
	}
	int rc = EXIT_OK;
	for (size_t i = 0; i < rf.n; i++) {
		ssize_t idx = wharf_trust_repo_find(repo, rf.files[i].role);
		struct wharf_trust_role_info ri;
		if (idx >= 0)
			wharf_trust_repo_role(repo, (size_t)idx, &ri);
		if (idx < 0 || ri.meta->version < rf.versions[i]) {
			fprintf(stderr, "wharf trust refresh: %s: published, but the server does not serve %s version %lld\n",
				gun, rf.files[i].role, (long long)rf.versions[i]);
			rc = EXIT_FAILURE_RUNTIME;
			continue;
		}
		char expires[32];
		wharf_time_format_rfc3339(ri.meta->expires, expires);
		printf("refreshed %s of %s: version %lld, expires %s\n", ri.name, gun, (long long)ri.meta->version, expires);
	}
	if (server_snapshot && (si = wharf_trust_repo_find(repo, "snapshot")) >= 0) {
		struct wharf_trust_role_info ri;
		wharf_trust_repo_role(repo, (size_t)si, &ri);
		char expires[32];
		wharf_time_format_rfc3339(ri.meta->expires, expires);
		if (ri.meta->version > old_snapshot)
			printf("refreshed snapshot of %s (signed by the server): version %lld, expires %s\n", gun,
			       (long long)ri.meta->version, expires);
	}
	if (!publish)
		printf("nothing of %s held here expires within %lld days\n", gun, (long long)within);
	refresh_free(&rf);
	wharf_trust_repo_free(repo);
	return rc;
}

int wharf_cli_trust_refresh(int argc, char **argv)
{
	enum { OPT_WITHIN = 256 };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"within", required_argument, NULL, OPT_WITHIN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *server = default_server();
	int64_t within = 90;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case OPT_WITHIN:
			if (!parse_days(optarg, &within)) {
				fprintf(stderr, "wharf trust refresh: --within takes a number of days, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': refresh_usage(stdout); return EXIT_OK;
		default: refresh_usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "wharf trust refresh: expected GUN (see --help)\n");
		return EXIT_USAGE;
	}
	wharf_log_set_level(WHARF_LOG_WARN);
	return cmd_refresh(argv[optind], server, within);
}
