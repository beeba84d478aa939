"""wharf pull: a tag resolved only through verified trust data, everything fetched by digest and
verified into $WHARF_HOME/content, an OCI image layout skopeo can read.

Images are pushed with the harness, tags signed with `wharf trust init/sign`. Attacks come from a
small HTTP proxy in front of wharfd that serves other bytes for chosen paths; every attack must
fail with exit status 1, a message naming the thing and the rule, and leave the store without a
new entry or a partial file.
"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

from harness import check, eq, sha256, test

WPASS = {"WHARF_ROOT_PASSPHRASE": "pull-root-pass", "WHARF_TARGETS_PASSPHRASE": "pull-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "pull-snapshot-pass"}
REF_NAME = "org.opencontainers.image.ref.name"


class Wharf:
    """The wharf client with its own $WHARF_HOME."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="wharf-pull-home-")
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")

    def run(self, *args, ok=True):
        e = dict(os.environ)
        e.pop("WHARF_TRUST_SERVER", None)
        e.update(WHARF_HOME=self.home, **WPASS)
        p = subprocess.run([self.bin] + list(args), env=e, capture_output=True, text=True, timeout=120)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    @property
    def content(self):
        return os.path.join(self.home, "content")

    def blob(self, digest):
        alg, hexd = digest.split(":", 1)
        path = os.path.join(self.content, "blobs", alg, hexd)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def index(self):
        try:
            with open(os.path.join(self.content, "index.json"), "rb") as f:
                return json.load(f)
        except FileNotFoundError:
            return {"manifests": []}

    def ref(self, name):
        """The manifest digest recorded for name, or None."""
        for m in self.index()["manifests"]:
            if m.get("annotations", {}).get(REF_NAME) == name:
                return m["digest"]
        return None

    def files(self):
        """Every file of the store but the layout marker (made when the store is first opened)."""
        out = set()
        for root, _, files in os.walk(self.content):
            for f in files:
                out.add(os.path.relpath(os.path.join(root, f), self.content))
        return out - {"oci-layout"}

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


class Proxy:
    """A registry in front of wharfd that serves other bytes for chosen paths
    (path -> function of the real bytes)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                headers = {k: v for k, v in self.headers.items() if k.lower() == "accept"}
                req = urllib.request.Request(proxy.upstream + self.path, headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, body, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    status, body, ctype = e.code, e.read(), e.headers.get("Content-Type")
                if self.path in proxy.rules:
                    status, body = 200, proxy.rules[self.path](body)
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should past a limit

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def config_for(name):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"name": name}},
                       "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def push(srv, repo, tag, name, nlayers=2):
    layers = [hashlib.sha256(f"{name}-{i}".encode()).digest() * (200 + 50 * i) for i in range(nlayers)]
    cfg = config_for(name)
    digest, raw = srv.push_image(repo, tag, layers=layers, config=cfg)
    eq(digest, sha256(raw), f"digest of {repo}:{tag}")
    return {"digest": digest, "raw": raw, "layers": layers, "config": cfg}


def sign(w, srv, gun, tag, init=True):
    if init:
        w.run("trust", "init", "--server", srv.url, gun)
    w.run("trust", "sign", "--server", srv.url, f"{gun}:{tag}")


def check_stored(w, img, what):
    eq(w.blob(img["digest"]), img["raw"], f"{what}: manifest bytes in the store")
    eq(w.blob(sha256(img["config"])), img["config"], f"{what}: config bytes in the store")
    for i, layer in enumerate(img["layers"]):
        eq(w.blob(sha256(layer)), layer, f"{what}: layer {i} bytes in the store")


def refused(w, args, needles, what):
    before_index = w.index()
    before_files = w.files()
    p = w.run("pull", *args, ok=False)
    eq(p.returncode, 1, f"{what}: exit status (stdout {p.stdout!r}, stderr {p.stderr!r})")
    for n in needles:
        check(n in p.stderr, f"{what}: message {p.stderr.strip()!r} should mention {n!r}")
    eq(w.index(), before_index, f"{what}: index.json unchanged")
    eq(w.files(), before_files, f"{what}: no file added to the store")
    return p


@test
def pull_signed_tag_verified_into_layout(srv):
    w = Wharf()
    try:
        gun = f"{srv.addr}/pull/signed"
        img = push(srv, "pull/signed", "v1", "signed")
        sign(w, srv, gun, "v1")
        p = w.run("pull", "--json", f"{gun}:v1")
        out = json.loads(p.stdout)
        eq(out["reference"], f"{gun}:v1", "reference")
        eq(out["digest"], img["digest"], "pulled digest is the signed one")
        eq(out["size"], len(img["raw"]), "size")
        eq(out["signedBy"], "targets", "signing role")
        eq([x["digest"] for x in out["layers"]], [sha256(x) for x in img["layers"]], "layers")
        eq(out["bytesFetched"], len(img["config"]) + sum(len(x) for x in img["layers"]), "bytes fetched")
        check_stored(w, img, "signed pull")
        eq(w.ref(f"{gun}:v1"), img["digest"], "index.json records the reference")
        with open(os.path.join(w.content, "oci-layout")) as f:
            eq(json.load(f), {"imageLayoutVersion": "1.0.0"}, "oci-layout")
        eq(os.listdir(os.path.join(w.content, "ingest")), [], "no temporary files left")
        # Again: nothing to fetch, same answer.
        again = json.loads(w.run("pull", "--json", f"{gun}:v1").stdout)
        eq(again["bytesFetched"], 0, "a second pull fetches no blob")
        eq(again["digest"], img["digest"], "second pull digest")
        # Plain output and progress on request.
        p = w.run("pull", "--progress", f"{gun}:v1")
        check(p.stdout.startswith(f"pulled {gun}:v1 {img['digest']}"), f"text output: {p.stdout!r}")
        # skopeo reads the store as an OCI image layout (with its caches confined, as in test_clients).
        from test_clients import Containers
        work = tempfile.mkdtemp(prefix="wharf-pull-tools-")
        try:
            with Containers(work) as tools:
                info = json.loads(tools.skopeo("inspect", f"oci:{w.content}:{gun}:v1").stdout)
                eq(info["Digest"], img["digest"], "skopeo inspect Digest")
                eq(info["Layers"], [sha256(x) for x in img["layers"]], "skopeo inspect Layers")
                eq(info["Labels"], {"name": "signed"}, "skopeo inspect Labels (from the config)")
                raw = tools.skopeo("inspect", "--raw", f"oci:{w.content}:{gun}:v1").stdout
                eq(raw, img["raw"], "skopeo reads back the signed manifest bytes")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        w.cleanup()


@test
def pull_unsigned_tag_refused_unless_trust_disabled(srv):
    w = Wharf()
    try:
        gun = f"{srv.addr}/pull/unsigned"
        img = push(srv, "pull/unsigned", "v1", "unsigned")
        # No trust data at all for the GUN.
        refused(w, [f"{gun}:v1"], ["not signed", "--disable-content-trust", gun], "no trust data")
        # Trust data, but this tag is not in it.
        other = push(srv, "pull/unsigned", "other", "other")
        sign(w, srv, gun, "other")
        refused(w, [f"{gun}:v1"], ["not signed", "v1", "--disable-content-trust"], "tag not signed")
        check(w.blob(img["digest"]) is None, "nothing of the unsigned image stored")
        # Opting out resolves the tag with the registry.
        out = json.loads(w.run("pull", "--disable-content-trust", "--json", f"{gun}:v1").stdout)
        eq(out["digest"], img["digest"], "unverified pull digest")
        eq(out["signedBy"], None, "no signing role without content trust")
        check_stored(w, img, "unverified pull")
        eq(w.ref(f"{gun}:v1"), img["digest"], "index.json records the unverified pull")
        # The signed tag still pulls with trust, and both stay in the index.
        w.run("pull", f"{gun}:other")
        eq(w.ref(f"{gun}:other"), other["digest"], "signed tag recorded")
        eq(w.ref(f"{gun}:v1"), img["digest"], "earlier entry kept")
        # A tag that does not exist anywhere: not found, exit 1.
        refused(w, ["--disable-content-trust", f"{gun}:nope"], ["nope", "not found"], "missing tag")
    finally:
        w.cleanup()


@test
def pull_registry_serving_other_bytes_than_signed(srv):
    w = Wharf()
    proxy = Proxy(srv.url)
    try:
        repo = "pull/retag"
        gun = f"{srv.addr}/{repo}"
        signed = push(srv, repo, "v1", "signed-a")
        sign(w, srv, gun, "v1")
        # Re-tag to another image without re-signing: the registry now says v1 is B.
        other = push(srv, repo, "v1", "unsigned-b")
        check(other["digest"] != signed["digest"], "the re-tagged image differs")
        # Through the proxy, the signed digest's manifest URL answers with B's bytes.
        proxy.rules[f"/v2/{repo}/manifests/{signed['digest']}"] = lambda body: other["raw"]
        refused(w, ["--registry", proxy.url, "--server", srv.url, f"{gun}:v1"], [signed["digest"], "manifest"],
                "other bytes than signed")
        check(w.blob(other["digest"]) is None and w.ref(f"{gun}:v1") is None, "nothing stored under the ref")
        # Same length, other bytes: the digest rule.
        same_len = other["raw"][:len(signed["raw"])].ljust(len(signed["raw"]), b" ")
        proxy.rules[f"/v2/{repo}/manifests/{signed['digest']}"] = lambda body: same_len
        refused(w, ["--registry", proxy.url, "--server", srv.url, f"{gun}:v1"], [signed["digest"], "hash to"],
                "same length, other bytes")
        # The signed bytes plus one: longer than signed.
        proxy.rules[f"/v2/{repo}/manifests/{signed['digest']}"] = lambda body: body + b"\n"
        refused(w, ["--registry", proxy.url, "--server", srv.url, f"{gun}:v1"], ["signed length"],
                "longer than signed")
        # Straight from wharfd, the tag resolves through trust to the signed image, never to B.
        out = json.loads(w.run("pull", "--json", f"{gun}:v1").stdout)
        eq(out["digest"], signed["digest"], "pull by tag takes the signed digest, not the re-tagged one")
        check_stored(w, signed, "signed image")
        check(w.blob(other["digest"]) is None, "the re-tagged manifest is not stored")
        # Without trust, the registry's word is taken: B.
        out = json.loads(w.run("pull", "--json", "--disable-content-trust", f"{gun}:v1").stdout)
        eq(out["digest"], other["digest"], "without content trust the registry's tag wins")
    finally:
        proxy.close()
        w.cleanup()


@test
def pull_corrupted_blob_refused_without_partial_file(srv):
    w = Wharf()
    proxy = Proxy(srv.url)
    try:
        repo = "pull/corrupt"
        gun = f"{srv.addr}/{repo}"
        img = push(srv, repo, "v1", "corrupt", nlayers=3)
        sign(w, srv, gun, "v1")
        bad = sha256(img["layers"][1])
        path = f"/v2/{repo}/blobs/{bad}"
        args = ["--registry", proxy.url, "--server", srv.url, f"{gun}:v1"]
        proxy.rules[path] = lambda body: body[:100] + bytes([body[100] ^ 1]) + body[101:]
        p = w.run("pull", *args, ok=False)
        eq(p.returncode, 1, f"corrupted layer: exit status ({p.stderr!r})")
        check(bad in p.stderr and "hash to" in p.stderr, f"message names the blob and the rule: {p.stderr!r}")
        check(w.blob(bad) is None, "the corrupted layer is not in the store")
        eq(os.listdir(os.path.join(w.content, "ingest")), [], "no partial file left")
        check(w.ref(f"{gun}:v1") is None and w.blob(img["digest"]) is None, "no manifest, no index entry")
        # Too long and too short.
        for rule, needle in ((lambda body: body + b"x" * 10, "more than"), (lambda body: body[:-1], "bytes")):
            proxy.rules[path] = rule
            p = w.run("pull", *args, ok=False)
            eq(p.returncode, 1, f"wrong length: exit status ({p.stderr!r})")
            check(bad in p.stderr and needle in p.stderr, f"message: {p.stderr!r}")
            check(w.blob(bad) is None, "nothing stored for the wrong length")
            eq(os.listdir(os.path.join(w.content, "ingest")), [], "no partial file left")
        # The honest registry: the pull completes, reusing the blobs verified before.
        out = json.loads(w.run("pull", "--json", f"{gun}:v1").stdout)
        eq(out["bytesFetched"], len(img["layers"][1]) + len(img["layers"][2]), "only the missing blobs fetched")
        check_stored(w, img, "after the honest pull")
        # A stored blob of the wrong size is fetched again.
        alg, hexd = bad.split(":")
        with open(os.path.join(w.content, "blobs", alg, hexd), "wb") as f:
            f.write(b"short")
        w.run("pull", f"{gun}:v1")
        eq(w.blob(bad), img["layers"][1], "a wrong-size blob is replaced by verified bytes")
    finally:
        proxy.close()
        w.cleanup()


@test
def pull_by_digest(srv):
    w = Wharf()
    try:
        repo = "pull/bydigest"
        gun = f"{srv.addr}/{repo}"
        img = push(srv, repo, "v1", "bydigest")
        # No trust data is needed for a digest: the digest is the check.
        out = json.loads(w.run("pull", "--json", f"{gun}@{img['digest']}").stdout)
        eq(out["digest"], img["digest"], "digest pull")
        eq(out["signedBy"], None, "no trust lookup")
        check_stored(w, img, "digest pull")
        eq(w.ref(f"{gun}@{img['digest']}"), img["digest"], "index.json records name@digest")
        missing = "sha256:" + "0" * 64
        refused(w, [f"{gun}@{missing}"], [missing, "not found"], "unknown digest")
        # Usage errors: exit 2.
        for args in ([], ["--platform", "linux", f"{gun}:v1"], ["Bad//Ref"], ["--nope", f"{gun}:v1"]):
            eq(w.run("pull", *args, ok=False).returncode, 2, f"usage error {args}")
        p = w.run("pull", "--help")
        check("--disable-content-trust" in p.stdout, "help names the opt-out")
    finally:
        w.cleanup()


@test
def pull_index_picks_platform(srv):
    w = Wharf()
    try:
        repo = "pull/multi"
        gun = f"{srv.addr}/{repo}"
        amd = push(srv, repo, "amd64", "amd")
        arm = push(srv, repo, "arm64", "arm")
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd["digest"],
             "size": len(amd["raw"]), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm["digest"],
             "size": len(arm["raw"]), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}
        idx_digest, idx_raw = srv.push_manifest(repo, "multi", index, "application/vnd.oci.image.index.v1+json")
        sign(w, srv, gun, "multi")
        out = json.loads(w.run("pull", "--json", "--platform", "linux/arm64", f"{gun}:multi").stdout)
        eq(out["digest"], idx_digest, "the signed index digest")
        eq(out["size"], len(idx_raw), "the signed index size")
        eq(out["manifest"], arm["digest"], "the arm64 manifest chosen")
        check_stored(w, arm, "arm64 image")
        eq(w.blob(idx_digest), idx_raw, "the index is stored too")
        eq(w.ref(f"{gun}:multi"), arm["digest"], "index.json points at the platform's manifest")
        check(w.blob(amd["digest"]) is None, "the other platform is not fetched")
        refused(w, ["--platform", "linux/s390x", f"{gun}:multi"], ["linux/s390x", idx_digest], "no such platform")
    finally:
        w.cleanup()


@test(slow=True)
def pull_debian_image_pushed_by_skopeo(srv):
    """A real multi-layer image (mkimage-debian, pushed by skopeo), signed, pulled: the store holds
    the very bytes of the source layout, and skopeo reads the same image from both layouts."""
    from test_clients import TAG, Containers, Layout, file_sha256, image_layout, push_debian
    image = Layout(image_layout(), TAG)
    w = Wharf()
    work = tempfile.mkdtemp(prefix="wharf-pull-tools-")
    try:
        with Containers(work) as tools:
            repo = "pull/debian"
            gun = f"{srv.addr}/{repo}"
            push_debian(srv, tools, image, repo=repo, tag=TAG)
            sign(w, srv, gun, TAG)
            out = json.loads(w.run("pull", "--json", f"{gun}:{TAG}").stdout)
            eq(out["digest"], image.digest, "pulled digest is the layout's manifest digest")
            eq([x["digest"] for x in out["layers"]], image.layers, "layers")
            eq(w.blob(image.digest), image.raw, "manifest bytes")
            for d in [image.config] + image.layers:
                alg, hexd = d.split(":", 1)
                eq(file_sha256(os.path.join(w.content, "blobs", alg, hexd)), d, f"stored blob {d}")
            ours = json.loads(tools.skopeo("inspect", f"oci:{w.content}:{gun}:{TAG}").stdout)
            theirs = json.loads(tools.skopeo("inspect", f"oci:{image.path}:{TAG}").stdout)
            for key in ("Digest", "Layers", "Architecture", "Os", "Env", "Labels"):
                eq(ours.get(key), theirs.get(key), f"skopeo inspect {key} (wharf store vs source layout)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        w.cleanup()


@test(slow=True)
def pull_prefers_targets_releases_signed_by_notary(srv):
    """Trust data published by the real notary CLI: the tag signed in targets/releases wins over
    targets, as docker trust resolves it."""
    from test_trust_client import Notary, have
    check(have("notary"), "the notary client is installed")
    repo = "pull/notary"
    gun = f"{srv.addr}/{repo}"
    released = push(srv, repo, "v1", "released")
    plain = push(srv, repo, "plain", "plain")
    n, w = Notary(srv.url), Wharf()
    try:
        n.run("init", gun)
        n.run("addhash", gun, "v1", str(len(plain["raw"])), "--sha256", plain["digest"].split(":")[1])
        n.run("publish", gun)
        out = json.loads(w.run("pull", "--json", f"{gun}:v1").stdout)
        eq((out["digest"], out["signedBy"]), (plain["digest"], "targets"), "signed in targets only")
        key, crt = os.path.join(n.dir, "rel.key"), os.path.join(n.dir, "rel.crt")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-x509", "-days", "30", "-subj", "/CN=releaser", "-keyout", key, "-out", crt],
                       check=True, capture_output=True)
        n.run("delegation", "add", gun, "targets/releases", crt, "--all-paths")
        n.run("key", "import", key, "--role", "targets/releases")
        n.run("publish", gun)
        n.run("addhash", gun, "v1", str(len(released["raw"])), "--sha256", released["digest"].split(":")[1],
              "--roles", "targets/releases")
        n.run("publish", gun)
        out = json.loads(w.run("pull", "--json", f"{gun}:v1").stdout)
        eq((out["digest"], out["signedBy"]), (released["digest"], "targets/releases"), "targets/releases wins")
        check_stored(w, released, "released image")
        eq(w.ref(f"{gun}:v1"), released["digest"], "index.json follows the newly signed digest")
    finally:
        n.cleanup()
        w.cleanup()
