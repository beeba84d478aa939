"""HTTPS (issue 7): wharfd --tls-cert/--tls-key with a certificate made by `wharf admin cert`,
used by real clients (curl, skopeo) that verify it against the CA; plain HTTP on the TLS port
gets a 400, and clients without the CA refuse the server."""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile

from harness import Response, Server, check, eq, test


def wharf_cli():
    return os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")


class TlsServer(Server):
    """wharfd serving HTTPS; the harness helpers (push_image, ...) go over TLS."""

    def __init__(self, wharfd, certs):
        super().__init__(wharfd, ["--tls-cert", f"{certs}/server.crt", "--tls-key", f"{certs}/server.key"])
        self.ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")

    @property
    def url(self):
        return f"https://{self.addr}"

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self.ctx)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


def make_certs(d, *extra):
    p = subprocess.run([wharf_cli(), "admin", "cert", "--host", "registry.test", "--out", d, "--json"] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    eq(p.returncode, 0, f"wharf admin cert ({p.stderr})")
    return json.loads(p.stdout)


def run(argv, ok=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if ok:
        eq(p.returncode, 0, f"{argv[0]} {' '.join(argv[1:3])}: {p.stderr[-1000:]}")
    return p


@test(shared=False)
def https_curl_and_skopeo_verify_with_the_ca(srv):
    tmp = tempfile.mkdtemp(prefix="wharf-https-")
    try:
        certs = os.path.join(tmp, "certs")
        info = make_certs(certs)
        eq(info["san"], "DNS:registry.test,IP:127.0.0.1", "subject alternative names")
        s = TlsServer(srv.wharfd, certs).start()
        try:
            digest, body = s.push_image("tls/app", "v1")
            url = f"https://{s.addr}/v2/tls/app/manifests/v1"
            accept = "Accept: application/vnd.oci.image.manifest.v1+json"
            p = run(["curl", "-sSf", "--cacert", f"{certs}/ca.crt", "-H", accept, url])
            eq(json.loads(p.stdout)["schemaVersion"], 2, "manifest over HTTPS")
            # curl without the CA refuses the server.
            p = run(["curl", "-sS", url], ok=False)
            eq(p.returncode, 60, f"curl without the CA: {p.stderr}")
            # Plain HTTP on the TLS port: a clear 400, never the registry.
            p = run(["curl", "-sS", "-w", "%{http_code}", f"http://{s.addr}/v2/"], ok=False)
            check(p.stdout.endswith("400") and "HTTPS" in p.stdout, f"plain HTTP got {p.stdout!r}")
            # skopeo trusts the CA from a certificate directory (only the CA: a stray .key there
            # would be taken for a client key).
            cadir = os.path.join(tmp, "trust")
            os.makedirs(cadir)
            shutil.copy(f"{certs}/ca.crt", cadir)
            p = run(["skopeo", "inspect", "--raw", "--cert-dir", cadir, f"docker://{s.addr}/tls/app:v1"])
            eq(p.stdout.encode(), body, "skopeo sees the pushed manifest")
            p = run(["skopeo", "inspect", "--cert-dir", cadir, f"docker://{s.addr}/tls/app:v1"])
            eq(json.loads(p.stdout)["Digest"], digest, "skopeo inspect digest")
            # Both directions through skopeo copy: pull into an OCI layout, push to a new name.
            # (A private blob-info cache: skopeo as root writes one under /var/lib/containers.)
            layout = os.path.join(tmp, "layout")
            cache = os.path.join(tmp, "cache")
            os.makedirs(cache)
            os.makedirs("/var/lib/containers/cache", exist_ok=True)
            policy = os.path.join(tmp, "policy.json")
            with open(policy, "w") as f:
                json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
            def skopeo_copy(*args):
                return run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount --bind "$0" /var/lib/containers/cache && exec "$@"', cache,
                            "skopeo", "--policy", policy, "copy"] + list(args))
            skopeo_copy("--src-cert-dir", cadir, f"docker://{s.addr}/tls/app:v1", f"oci:{layout}:v1")
            skopeo_copy("--dest-cert-dir", cadir, f"oci:{layout}:v1", f"docker://{s.addr}/tls/copy:v1")
            r = s.request("GET", "/v2/tls/copy/manifests/v1",
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            eq(r.status, 200, "pushed back over HTTPS by skopeo")
            # skopeo may re-serialize the manifest; the content it names must be the same.
            eq([l["digest"] for l in r.json()["layers"]], [l["digest"] for l in json.loads(body)["layers"]],
               "layers of the copy")
            p = run(["skopeo", "inspect", "--raw", f"docker://{s.addr}/tls/app:v1"], ok=False)
            check(p.returncode != 0 and "certificate" in p.stderr, f"skopeo without the CA: {p.stderr[-500:]}")
        finally:
            s.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test(shared=False)
def https_bad_key_files_fail_at_start(srv):
    tmp = tempfile.mkdtemp(prefix="wharf-https-")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        make_certs(a)
        make_certs(b)
        # A certificate with another pair's key: wharfd must refuse to start, not serve junk.
        p = subprocess.run([srv.wharfd, "--listen", "127.0.0.1:0", "--data", os.path.join(tmp, "data"),
                            "--tls-cert", f"{a}/server.crt", "--tls-key", f"{b}/server.key"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        eq(p.returncode, 1, f"mismatched key exit status ({p.stderr[-500:]})")
        check("HTTPS" in p.stderr, p.stderr[-500:])
        p = subprocess.run([srv.wharfd, "--listen", "127.0.0.1:0", "--data", os.path.join(tmp, "data"),
                            "--tls-cert", f"{a}/server.crt"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        eq(p.returncode, 1, "certificate without key")
        check("both a certificate and a key" in p.stderr, p.stderr[-500:])
        # wharf admin cert keeps existing files.
        p = subprocess.run([wharf_cli(), "admin", "cert", "--host", "x", "--out", a], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        eq(p.returncode, 1, "existing files are kept")
        check("--force" in p.stderr, p.stderr)
        p = subprocess.run([wharf_cli(), "admin", "cert", "--host", "bad,name", "--out", a], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        eq(p.returncode, 2, "a name with a comma is refused")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
