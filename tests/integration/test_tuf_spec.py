"""TUF specification format: `wharf tuf` (a generic client, like python-tuf's ngclient) and
tuf-js verify the same repository; attacks against `wharf tuf` are refused with no state change.

The repository is written by tests/integration/tufspec_repo.py (python `cryptography`, no wharf
code) and served by a small static HTTP server the test controls, which can turn malicious.
"""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

from harness import check, eq, test
from tufspec_repo import Key, SpecRepo, StaticServer, signed

TUFJS_CACHE = os.environ.get("WHARF_TUFJS_DIR", os.path.join(tempfile.gettempdir(), "wharf-tufjs-cache"))


class Client:
    """`wharf tuf` with its own metadata and target directories."""

    def __init__(self, repo, url):
        self.tmp = tempfile.mkdtemp(prefix="wharf-tufspec-")
        self.mdir = os.path.join(self.tmp, "metadata")
        self.tdir = os.path.join(self.tmp, "targets")
        self.url = url
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")
        root = os.path.join(self.tmp, "root.json")
        with open(root, "wb") as f:
            f.write(repo.files["1.root.json"])
        self.run("init", "--metadata-dir", self.mdir, root)

    def run(self, *args, ok=True, faketime=None):
        cmd = [self.bin, "tuf"] + list(args)
        env = dict(os.environ)
        if faketime:
            cmd = ["faketime", "-f", faketime] + cmd
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf tuf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def refresh(self, ok=True, faketime=None):
        return self.run("refresh", "--metadata-dir", self.mdir, "--metadata-url", self.url + "/metadata",
                        ok=ok, faketime=faketime)

    def download(self, *names, ok=True, faketime=None):
        return self.run("download", "--metadata-dir", self.mdir, "--metadata-url", self.url + "/metadata",
                        "--target-base-url", self.url + "/targets", "--target-dir", self.tdir, *names,
                        ok=ok, faketime=faketime)

    def state(self):
        out = {}
        for top in (self.mdir, self.tdir):
            if os.path.isdir(top):
                for f in sorted(os.listdir(top)):
                    with open(os.path.join(top, f), "rb") as fh:
                        out[os.path.join(os.path.basename(top), f)] = fh.read()
        return out

    def target(self, name):
        with open(os.path.join(self.tdir, name), "rb") as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def refused(p, *words):
    eq(p.returncode, 1, f"exit status (stderr {p.stderr[-600:]!r})")
    for w in words:
        check(w in p.stderr, f"message names {w!r}: {p.stderr[-600:]!r}")


class Fixture:
    def __init__(self, consistent=True):
        self.top = tempfile.mkdtemp(prefix="wharf-tufspec-repo-")
        self.repo = SpecRepo(self.top, consistent=consistent)
        self.repo.publish_root()
        self.repo.add_target("app.txt", b"hello from the spec repository\n")
        self.repo.add_target("dir/nested.bin", bytes(range(256)) * 10)
        self.deleg_key = self.repo.delegate("releases", ["v*", "rel/*"])
        self.repo.add_target("v1", b"version one, signed by a delegation\n", role="releases")
        self.repo.add_target("rel/x.y", b"nested release\n", role="releases")
        self.repo.add_target("other", b"outside the delegation's paths\n", role="releases")
        self.repo.publish()
        self.srv = StaticServer(self.top)
        self.clients = []

    def client(self):
        c = Client(self.repo, self.srv.url)
        self.clients.append(c)
        return c

    def cleanup(self):
        for c in self.clients:
            c.cleanup()
        self.srv.close()
        shutil.rmtree(self.top, ignore_errors=True)


def with_fixture(fn, consistent=True):
    def run(_srv):
        fx = Fixture(consistent)
        try:
            fn(fx)
        finally:
            fx.cleanup()
    run.__name__ = fn.__name__
    run.__module__ = fn.__module__
    return run


@test
def wharf_tuf_downloads_verified_targets(srv):
    def body(fx):
        c = fx.client()
        p = c.download("app.txt", "dir/nested.bin", "v1", "rel/x.y")
        eq(c.target("app.txt"), b"hello from the spec repository\n", "app.txt")
        eq(c.target("dir%2Fnested.bin"), bytes(range(256)) * 10, "nested target")
        eq(c.target("v1"), b"version one, signed by a delegation\n", "delegated target")
        check("signed by releases" in p.stdout, f"v1 is found through the delegation: {p.stdout!r}")
        st = c.state()
        for f in ("root.json", "timestamp.json", "snapshot.json", "targets.json", "releases.json"):
            check(f"metadata/{f}" in st, f"{f} stored: {sorted(st)}")
        # A target the delegation signs outside its paths is not trusted.
        refused(c.download("other", ok=False), "other", "no trusted role")
        # A second refresh with nothing new succeeds and changes nothing.
        before = c.state()
        c.refresh()
        eq(c.state(), before, "state after an empty refresh")
    with_fixture(body)(srv)


@test
def wharf_tuf_plain_snapshot_and_usage(srv):
    def body(fx):
        c = fx.client()
        c.download("app.txt", "v1")
        eq(c.target("v1"), b"version one, signed by a delegation\n", "delegated target without consistent snapshots")
    with_fixture(body, consistent=False)(srv)
    w = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")
    p = subprocess.run([w, "tuf", "--help"], capture_output=True, text=True)
    eq(p.returncode, 0, "--help")
    check("refresh" in p.stdout, "usage lists refresh")
    p = subprocess.run([w, "tuf", "refresh", "--metadata-dir", "/nonexistent"], capture_output=True, text=True)
    eq(p.returncode, 2, "missing --metadata-url is a usage error")
    p = subprocess.run([w, "tuf", "refresh", "--metadata-dir", "/nonexistent", "--metadata-url", "http://127.0.0.1:1"],
                       capture_output=True, text=True)
    eq(p.returncode, 1, "no trusted root")
    check("wharf tuf init" in p.stderr, p.stderr)


@test
def wharf_tuf_follows_root_rotation(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        old_root = fx.repo.keys["root"]
        new = Key("ecdsa")
        fx.repo.keys["root"] = [new]
        fx.repo.keys["timestamp"] = [Key()]
        fx.repo.publish_root(signers=old_root + [new])  # version 2, signed by old and new
        fx.repo.keys["root"] = [Key(), Key()]
        fx.repo.thresholds["root"] = 2
        fx.repo.publish_root(signers=[new] + fx.repo.keys["root"])  # version 3, threshold 2
        fx.repo.publish()
        c.download("app.txt")
        stored = json.loads(c.state()["metadata/root.json"])
        eq(stored["signed"]["version"], 3, "trusted root version after the chain walk")
    with_fixture(body)(srv)


@test
def attack_tampered_target(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        before = c.state()
        h = fx.repo.targets["app.txt"]["hashes"]["sha256"]
        fx.srv.overrides[f"/targets/{h}.app.txt"] = b"HELLO FROM THE SPEC REPOSITORY\n"  # same length
        refused(c.download("app.txt", ok=False), "target app.txt", "hash")
        fx.srv.overrides[f"/targets/{h}.app.txt"] = b"hello from the spec repository\n and more"
        refused(c.download("app.txt", ok=False), "target app.txt")
        eq(c.state(), before, "state after tampered targets")
    with_fixture(body)(srv)


@test
def attack_rollback_and_freeze(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        old_ts = fx.repo.files["timestamp.json"]
        fx.repo.add_target("new.txt", b"new\n")
        fx.repo.publish()
        c.refresh()
        before = c.state()
        # Rollback: the server replays the old timestamp.
        fx.srv.overrides["/metadata/timestamp.json"] = old_ts
        refused(c.refresh(ok=False), "timestamp", "rollback")
        eq(c.state(), before, "state after a timestamp rollback")
        del fx.srv.overrides["/metadata/timestamp.json"]
        # Rollback of the snapshot: a newer timestamp naming an old snapshot version.
        fx.repo.versions["snapshot"] -= 1
        fx.repo.publish_timestamp(fx.repo.files["1.snapshot.json"])
        refused(c.refresh(ok=False), "timestamp", "rollback")
        eq(c.state(), before, "state after a snapshot rollback")
        # Freeze: the timestamp expires in 7 days; a client 30 days ahead refuses it.
        fx.repo.versions["snapshot"] += 1
        fx.repo.publish()
        refused(c.refresh(ok=False, faketime="+30d"), "timestamp", "expired")
        eq(c.state(), before, "state after a freeze attack")
        c.refresh()
    with_fixture(body)(srv)


@test
def attack_threshold_and_keys(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        before = c.state()
        # Targets signed by a key the root does not list.
        fx.repo.add_target("evil", b"evil\n")
        fx.repo.publish(targets_signers=[Key()])
        refused(c.refresh(ok=False), "targets", "threshold")
        eq(c.state(), before, "state after targets by an unknown key")
        # Threshold 2 in a new root, targets signed by one key.
        fx.repo.keys["targets"].append(Key())
        fx.repo.thresholds["targets"] = 2
        fx.repo.publish_root()
        fx.repo.publish(targets_signers=fx.repo.keys["targets"][:1])
        refused(c.refresh(ok=False), "targets", "threshold not met", "1 valid signature, 2 required")
        eq(c.state(), before, "state after a threshold not met")
        fx.repo.publish()  # both keys: accepted
        c.refresh()
    with_fixture(body)(srv)


@test
def attack_root_rotation_not_signed_by_old_root(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        before = c.state()
        new = Key()
        fx.repo.keys["root"] = [new]
        fx.repo.publish_root(signers=[new])  # only the new key
        refused(c.refresh(ok=False), "root version 2", "not signed by the trusted root")
        eq(c.state(), before, "state after a rotation the old root did not sign")
    with_fixture(body)(srv)


@test
def attack_endless_data_and_mix_and_match(srv):
    def body(fx):
        c = fx.client()
        c.refresh()
        before = c.state()
        ts = json.loads(fx.repo.files["timestamp.json"])
        ts["signed"]["padding"] = "x" * 100000
        fx.srv.overrides["/metadata/timestamp.json"] = json.dumps(ts).encode()
        refused(c.refresh(ok=False), "timestamp", "more than 16384 bytes")
        del fx.srv.overrides["/metadata/timestamp.json"]
        fx.srv.overrides["/metadata/2.root.json"] = b"{" + b" " * (600 * 1024) + b"}"
        refused(c.refresh(ok=False), "root", "more than")
        del fx.srv.overrides["/metadata/2.root.json"]
        # Mix and match: a targets file of the right version but other content than snapshot says.
        name = f"{fx.repo.versions['targets']}.targets.json"
        doc = json.loads(fx.repo.files[name])
        doc["signed"]["targets"]["evil"] = {"length": 1, "hashes": {"sha256": "00" * 32}}
        fx.srv.overrides["/metadata/" + name] = json.dumps(signed(doc["signed"], fx.repo.keys["targets"])).encode()
        # The snapshot here has no hashes for targets; length-free, so version and signatures hold:
        # the snapshot must carry hashes for this to be caught; publish one that does.
        snap_name = f"{fx.repo.versions['snapshot']}.snapshot.json"
        sdoc = json.loads(fx.repo.files[snap_name])
        from tufspec_repo import file_meta
        sdoc["signed"]["meta"]["targets.json"] = file_meta(fx.repo.files[name], fx.repo.versions["targets"])
        sdoc["signed"]["version"] += 1
        fx.repo.versions["snapshot"] += 1
        new_snap = json.dumps(signed(sdoc["signed"], fx.repo.keys["snapshot"])).encode()
        fx.repo.write(f"{fx.repo.versions['snapshot']}.snapshot.json", new_snap)
        fx.repo.publish_timestamp(new_snap)
        p = c.refresh(ok=False)
        refused(p, "targets")
        check("hash" in p.stderr or "more than" in p.stderr, p.stderr)
        eq(c.state(), before, "state after endless data and mix-and-match")
    with_fixture(body)(srv)


def tufjs_dir():
    """tuf-js from npm, installed once into a cache directory."""
    mod = os.path.join(TUFJS_CACHE, "node_modules", "tuf-js")
    if not os.path.isdir(mod):
        os.makedirs(TUFJS_CACHE, exist_ok=True)
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "tuf-js"], cwd=TUFJS_CACHE,
                           capture_output=True, text=True, timeout=600)
        check(p.returncode == 0, f"npm install tuf-js: {p.stderr[-1000:]}")
    return TUFJS_CACHE


TUFJS_SCRIPT = r"""
const {Updater} = require('tuf-js');
const [metadataDir, metadataBaseUrl, targetDir, targetBaseUrl, ...names] = process.argv.slice(2);
(async () => {
  const u = new Updater({metadataDir, metadataBaseUrl, targetDir, targetBaseUrl});
  await u.refresh();
  for (const n of names) {
    const info = await u.getTargetInfo(n);
    if (!info) { console.error('no target info for ' + n); process.exit(3); }
    const path = await u.downloadTarget(info, targetDir + '/' + encodeURIComponent(n));
    console.log(n + ' ' + path);
  }
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
"""


def run_tufjs(root_bytes, meta_url, target_url, names):
    d = tufjs_dir()
    tmp = tempfile.mkdtemp(prefix="wharf-tufjs-")
    try:
        mdir, tdir = os.path.join(tmp, "metadata"), os.path.join(tmp, "targets")
        os.makedirs(mdir)
        os.makedirs(tdir)
        with open(os.path.join(mdir, "root.json"), "wb") as f:
            f.write(root_bytes)
        script = os.path.join(tmp, "verify.js")
        with open(script, "w") as f:
            f.write(TUFJS_SCRIPT)
        p = subprocess.run(["node", script, mdir, meta_url, tdir, target_url] + list(names),
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, NODE_PATH=os.path.join(d, "node_modules")))
        out = {}
        if p.returncode == 0:
            for n in names:
                with open(os.path.join(tdir, urllib.parse.quote(n, safe="")), "rb") as f:
                    out[n] = f.read()
        return p, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test(slow=True)
def tufjs_and_wharf_verify_the_same_repository(srv):
    def body(fx):
        c = fx.client()
        c.download("app.txt", "v1")
        p, got = run_tufjs(fx.repo.files["1.root.json"], fx.srv.url + "/metadata", fx.srv.url + "/targets",
                           ["app.txt", "v1"])
        eq(p.returncode, 0, f"tuf-js: {p.stderr[-1500:]}")
        eq(got["app.txt"], c.target("app.txt"), "tuf-js and wharf tuf agree on app.txt")
        eq(got["v1"], c.target("v1"), "tuf-js and wharf tuf agree on the delegated v1")
        # And both refuse the same tampered target.
        h = fx.repo.deleg_targets["releases"]["v1"]["hashes"]["sha256"]
        fx.srv.overrides[f"/targets/{h}.v1"] = b"version ONE, signed by a delegation\n"
        p, _ = run_tufjs(fx.repo.files["1.root.json"], fx.srv.url + "/metadata", fx.srv.url + "/targets", ["v1"])
        check(p.returncode != 0, "tuf-js refuses a tampered target")
        refused(c.download("v1", ok=False), "target v1")
    with_fixture(body)(srv)


REPO_PASS = {"WHARF_ROOT_PASSPHRASE": "root-pass-1234", "WHARF_TARGETS_PASSPHRASE": "targets-pass-1234",
             "WHARF_SNAPSHOT_PASSPHRASE": "snapshot-pass-1234", "WHARF_TIMESTAMP_PASSPHRASE": "ts-pass-1234",
             "WHARF_DELEGATION_PASSPHRASE": "deleg-pass-1234"}


def wharf_repo(home, *args, ok=True):
    w = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")
    p = subprocess.run([w, "tuf", "repo"] + list(args), capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, WHARF_HOME=home, **REPO_PASS))
    if ok and p.returncode != 0:
        raise AssertionError(f"wharf tuf repo {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
    return p


@test(slow=True)
def wharf_tuf_repo_signs_what_wharf_and_tufjs_verify(srv):
    """wharf's own spec-format signing (ECDSA DER and Ed25519, a delegation) against two verifiers."""
    top = tempfile.mkdtemp(prefix="wharf-tufrepo-")
    home = os.path.join(top, "home")
    os.makedirs(home)
    d = os.path.join(top, "repo")
    static = None
    c = None
    try:
        manifest = srv.push_image("spec/app", "v1")[1]
        mfile = os.path.join(top, "manifest.json")
        with open(mfile, "wb") as f:
            f.write(manifest)
        wharf_repo(home, "init", "spec/app", "--dir", d)
        wharf_repo(home, "sign", "spec/app", "--dir", d, "app:v1", "--file", mfile)
        wharf_repo(home, "delegate", "spec/app", "--dir", d, "releases", "--path", "rel/*")
        wharf_repo(home, "sign", "spec/app", "--dir", d, "rel/v1", "--file", mfile, "--role", "releases")
        # A second init would replace the keys: refused.
        check(wharf_repo(home, "init", "spec/app", "--dir", d, ok=False).returncode == 1, "second init refused")
        key = os.path.join(home, "keys", "spec", "spec%2Fapp", "root.key")
        eq(oct(os.stat(key).st_mode & 0o777), "0o600", "root key mode")
        with open(key) as f:
            check("ENCRYPTED PRIVATE KEY" in f.read(), "root key encrypted at rest")
        static = StaticServer(d)
        with open(os.path.join(d, "metadata", "1.root.json"), "rb") as f:
            root = f.read()

        class R:
            files = {"1.root.json": root}
        c = Client(R, static.url)
        p = c.download("app:v1", "rel/v1")
        check("rel/v1: verified (signed by releases)" in p.stdout, p.stdout)
        eq(c.target("app%3Av1"), manifest, "wharf tuf: target bytes are the registry's manifest")
        eq(c.target("rel%2Fv1"), manifest, "wharf tuf: delegated target")
        p, got = run_tufjs(root, static.url + "/metadata", static.url + "/targets", ["app:v1", "rel/v1"])
        eq(p.returncode, 0, f"tuf-js: {p.stderr[-1500:]}")
        eq(got["app:v1"], manifest, "tuf-js: target bytes are the registry's manifest")
        eq(got["rel/v1"], manifest, "tuf-js: target through the delegation")
    finally:
        if c:
            c.cleanup()
        if static:
            static.close()
        shutil.rmtree(top, ignore_errors=True)


@test(slow=True, shared=False)
def wharfd_hosts_spec_repositories(srv):
    """wharf tuf push hosts a spec repository on wharfd; wharf tuf and tuf-js verify it from there."""
    srv.start()
    top = tempfile.mkdtemp(prefix="wharf-tufhost-")
    home = os.path.join(top, "home")
    os.makedirs(home)
    d = os.path.join(top, "repo")
    gun = f"{srv.addr}/spec/hosted"
    w = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")

    def push(ok=True):
        p = subprocess.run([w, "tuf", "push", "--dir", d, "--server", srv.url, gun], capture_output=True,
                           text=True, timeout=60)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf tuf push exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def wharf_tuf(*args, ok=True):
        p = subprocess.run([w, "tuf"] + list(args), capture_output=True, text=True, timeout=60)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf tuf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    meta_url = f"{srv.url}/v2/{gun}/_trust/spec"
    target_url = f"{srv.url}/v2/{gun}/_trust/spec/targets"
    try:
        digest, manifest = srv.push_image("spec/hosted", "v1")
        wharf_repo(home, "init", "spec/hosted", "--dir", d)
        wharf_repo(home, "sign", "spec/hosted", "--dir", d, "v1", "--digest", digest, "--size", str(len(manifest)))
        wharf_repo(home, "delegate", "spec/hosted", "--dir", d, "releases", "--path", "rel/*")
        wharf_repo(home, "sign", "spec/hosted", "--dir", d, "rel/v1", "--digest", digest, "--size",
                   str(len(manifest)), "--role", "releases")
        push()
        with open(os.path.join(d, "metadata", "1.root.json"), "rb") as f:
            root = f.read()
        eq(srv.request("GET", f"/v2/{gun}/_trust/spec/1.root.json").body, root, "wharfd serves the root as uploaded")
        # wharf tuf against wharfd
        mdir, tdir = os.path.join(top, "m"), os.path.join(top, "t")
        rootfile = os.path.join(top, "root.json")
        with open(rootfile, "wb") as f:
            f.write(root)
        wharf_tuf("init", "--metadata-dir", mdir, rootfile)
        wharf_tuf("download", "--metadata-dir", mdir, "--metadata-url", meta_url, "--target-base-url", target_url,
                  "--target-dir", tdir, "v1", "rel/v1")
        got = {f: open(os.path.join(tdir, f), "rb").read() for f in os.listdir(tdir)}
        check(manifest in got.values(), f"wharf tuf fetched the manifest from wharfd ({list(got)})")
        # tuf-js against wharfd, through the delegation too
        p, got = run_tufjs(root, meta_url, target_url, ["v1", "rel/v1"])
        eq(p.returncode, 0, f"tuf-js against wharfd: {p.stderr[-1500:]}")
        eq(got["v1"], manifest, "tuf-js: the target is the registry's manifest")
        eq(got["rel/v1"], manifest, "tuf-js: through the delegation")
        # Attacks on the upload: nothing stored changes.
        ts_path = os.path.join(d, "metadata", "timestamp.json")
        with open(ts_path, "rb") as f:
            old_ts = f.read()
        wharf_repo(home, "sign", "spec/hosted", "--dir", d, "v2", "--digest", digest, "--size", str(len(manifest)))
        with open(ts_path, "rb") as f:
            new_ts = f.read()
        push()  # v2 accepted: the server now trusts the newer timestamp
        wharf_tuf("download", "--metadata-dir", mdir, "--metadata-url", meta_url, "--target-base-url", target_url,
                  "--target-dir", tdir, "v2")
        before = srv.request("GET", f"/v2/{gun}/_trust/spec/timestamp.json").body
        eq(before, new_ts, "the newest timestamp is served")
        with open(ts_path, "wb") as f:
            f.write(old_ts)  # roll the timestamp back
        p = push(ok=False)
        check(p.returncode == 1 and "timestamp" in p.stderr, f"a rolled-back timestamp is refused: {p.stderr}")
        eq(srv.request("GET", f"/v2/{gun}/_trust/spec/timestamp.json").body, before, "nothing changed")
        doc = json.loads(new_ts)
        doc["signed"]["version"] += 5  # tampered: the signature no longer matches
        with open(ts_path, "w") as f:
            json.dump(doc, f)
        p = push(ok=False)
        check(p.returncode == 1 and "timestamp" in p.stderr, f"a tampered timestamp is refused: {p.stderr}")
        eq(srv.request("GET", f"/v2/{gun}/_trust/spec/timestamp.json").body, before, "nothing changed")
        # A blob of another repository is not served as a target of this one.
        other = srv.push_blob("spec/other", b"someone else's bytes")
        eq(srv.request("GET", f"/v2/{gun}/_trust/spec/targets/{other[7:]}.x").status, 404, "foreign blob")
    finally:
        shutil.rmtree(top, ignore_errors=True)
