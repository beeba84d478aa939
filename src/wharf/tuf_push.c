/* wharf tuf push: upload a specification-format repository's metadata to wharfd, which checks
 * it as a TUF client would and then serves it under /v2/<gun>/_trust/spec/. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "wharf/client.h"
#include "wharf/trust.h"

static void usage(FILE *out)
{
	fputs("Usage: wharf tuf push --dir DIR [--server URL] GUN\n"
	      "\n"
	      "Upload every metadata file of the repository in DIR (DIR/metadata/*.json, as 'wharf tuf repo'\n"
	      "writes it) to wharfd for GUN. wharfd checks the upload as a TUF client would, from the state\n"
	      "the last accepted upload left (the first upload's 1.root.json is trusted on first use), and\n"
	      "then serves it to spec clients (wharf tuf, tuf-js, python-tuf) at\n"
	      "  URL/v2/GUN/_trust/spec/            metadata\n"
	      "  URL/v2/GUN/_trust/spec/targets/    targets: the repository's blobs, named <sha256>.<name>\n"
	      "\n"
	      "Options:\n"
	      "  -d, --dir DIR      the repository directory\n"
	      "  -s, --server URL   wharfd (default $WHARF_TRUST_SERVER or http://127.0.0.1:5000)\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Exit status: 0 accepted, 1 refused or failed (the server's message says why), 2 bad usage.\n",
	      out);
}

/* Add every valid metadata file name in dir as a part named "files". */
static int add_files(curl_mime *mime, const char *dir, size_t *count, struct wharf_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return wharf_error_sys(err, "cannot read %s", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!wharf_trust_spec_valid_name(e->d_name))
			continue;
		_cleanup_free_ char *path = wharf_xasprintf("%s/%s", dir, e->d_name);
		curl_mimepart *part = curl_mime_addpart(mime);
		curl_mime_name(part, "files");
		curl_mime_filedata(part, path);
		curl_mime_filename(part, e->d_name);
		(*count)++;
	}
	closedir(d);
	if (*count == 0)
		return wharf_error_set(err, WHARF_ENOTFOUND, "%s holds no metadata files", dir);
	return 0;
}

static int push(const char *server, const char *dir, const char *gun, struct wharf_error *err)
{
	_cleanup_free_ char *mdir = wharf_xasprintf("%s/metadata", dir);
	_cleanup_free_ char *url = wharf_xasprintf("%s/v2/%s/_trust/spec/", server, gun);
	CURL *curl = curl_easy_init();
	curl_mime *mime = curl_mime_init(curl);
	size_t count = 0;
	struct wharf_buf body;
	wharf_buf_init(&body);
	int r = add_files(mime, mdir, &count, err);
	if (r == 0) {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, wharf_buf_write_cb);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
		CURLcode cc;
		long status = 0;
		_cleanup_free_ char *scope = wharf_xasprintf("repository:%s:pull,push", gun);
		r = wharf_auth_perform(curl, url, NULL, scope, wharf_buf_reset_cb, &body, &cc, &status, err);
		if (r == 0 && cc != CURLE_OK)
			r = wharf_error_set(err, WHARF_EIO, "%s: %s", url, curl_easy_strerror(cc));
		else if (r == 0 && status != 200)
			r = wharf_error_set(err, WHARF_EINVAL, "%s refused the upload (%ld): %.400s", server, status,
					    body.data ? body.data : "");
	}
	if (r == 0)
		printf("%s: %zu metadata files accepted by %s\n", gun, count, server);
	wharf_buf_free(&body);
	curl_mime_free(mime);
	curl_easy_cleanup(curl);
	return r;
}

int wharf_cli_tuf_push(int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'}, {"server", required_argument, NULL, 's'},
					     {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
	const char *dir = NULL, *server = getenv("WHARF_TRUST_SERVER");
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': server = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!dir || optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct wharf_error err;
	if (push(server && *server ? server : "http://127.0.0.1:5000", dir, argv[optind], &err) < 0) {
		fprintf(stderr, "wharf tuf push: %s\n", err.message);
		return EXIT_FAILURE_RUNTIME;
	}
	return EXIT_OK;
}
