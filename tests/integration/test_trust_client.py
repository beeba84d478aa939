"""Content trust, client side: `wharf trust` verifies what the real notary client published.

Publishing is done by the real `notary` CLI, to wharfd and to Debian's notary-server; reading and
verifying by `wharf trust ls/lookup/inspect`. Attacks come from a small malicious HTTP server
that sits in front of wharfd and serves modified or old copies of the metadata; every attack
must be refused with a message naming the role and the rule, and must leave the client's stored
trusted metadata exactly as it was.
"""
import base64
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from harness import Server, check, eq, free_port, test

PASS = {"NOTARY_ROOT_PASSPHRASE": "root-pass-1234", "NOTARY_TARGETS_PASSPHRASE": "targets-pass-1234",
        "NOTARY_SNAPSHOT_PASSPHRASE": "snapshot-pass-1234", "NOTARY_DELEGATION_PASSPHRASE": "deleg-pass-1234"}
HEX_A = "ab" * 32
HEX_C = "cd" * 32


def have(tool):
    return shutil.which(tool) is not None


class Notary:
    """The real notary CLI with its own trust directory."""

    def __init__(self, url):
        self.url = url
        self.dir = tempfile.mkdtemp(prefix="wharf-tc-notary-")

    def run(self, *args, ok=True, stdin=None):
        p = subprocess.run(["notary", "-s", self.url, "-d", self.dir] + list(args), env=dict(os.environ, **PASS),
                           input=stdin, capture_output=True, text=True, timeout=120)
        if ok and p.returncode != 0:
            raise AssertionError(f"notary {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Wharf:
    """The wharf client with its own $WHARF_HOME."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="wharf-tc-home-")
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")

    def run(self, *args, ok=True, faketime=None, env=None):
        cmd = [self.bin] + list(args)
        if faketime:
            cmd = ["faketime", faketime] + cmd
        e = dict(os.environ)
        e.pop("WHARF_TRUST_SERVER", None)
        e.update(WHARF_HOME=self.home, **(env or {}))
        if faketime:  # libfaketime is preloaded before an ASan runtime: let ASan accept that
            e["ASAN_OPTIONS"] = ":".join(filter(None, [e.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=120)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def stored(self):
        """Every stored trusted metadata file, name -> bytes."""
        out = {}
        top = os.path.join(self.home, "trust")
        for root, _, files in os.walk(top):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    out[os.path.relpath(os.path.join(root, f), top)] = fh.read()
        return out

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


def refused(w, args, needles, what, faketime=None):
    """Run a wharf trust command that must fail with exit 1, a message holding every needle, and
    no change to the stored trusted metadata."""
    before = w.stored()
    p = w.run(*args, ok=False, faketime=faketime)
    eq(p.returncode, 1, f"{what}: exit status (stdout {p.stdout!r}, stderr {p.stderr!r})")
    for n in needles:
        check(n in p.stderr, f"{what}: message {p.stderr.strip()!r} should mention {n!r}")
    eq(w.stored(), before, f"{what}: stored trusted metadata unchanged")
    return p


class Evil:
    """A malicious trust server: proxies to the real one, except for the files it was told to
    replace (path suffix after /_trust/tuf/ -> bytes, or a function of the real bytes)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = {}
        self.seen = []
        evil = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                evil.seen.append(self.path)
                name = self.path.split("/_trust/tuf/", 1)[-1]
                status, body = evil.fetch(self.path)
                if name in evil.rules:
                    rule = evil.rules[name]
                    status, body = (200, rule(body) if callable(rule) else rule)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading at its size limit, as it should

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def fetch(self, path):
        try:
            with urllib.request.urlopen(self.upstream + path, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def get(s, gun, name):
    r = s.request("GET", f"/v2/{gun}/_trust/tuf/{name}")
    eq(r.status, 200, f"GET {name}")
    return r.body


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def b64sha256(b):
    return base64.b64encode(hashlib.sha256(b).digest()).decode()


def publish(n, gun, tag, size, hexdigest):
    n.run("addhash", gun, tag, str(size), "--sha256", hexdigest)
    n.run("publish", gun)


# ---------------------------------------------------------------------------------------------


@test
def trust_client_usage(s):
    w = Wharf()
    try:
        eq(w.run("trust", ok=False).returncode, 2, "wharf trust without a command")
        eq(w.run("trust", "ls", ok=False).returncode, 2, "ls without a GUN")
        eq(w.run("trust", "lookup", "a/b", ok=False).returncode, 2, "lookup without a tag")
        eq(w.run("trust", "ls", "--bogus", "a/b", ok=False).returncode, 2, "unknown option")
        eq(w.run("trust", "frobnicate", ok=False).returncode, 2, "unknown verb")
        for verb in ("ls", "inspect", "lookup"):
            p = w.run("trust", verb, "--help")
            check("--server" in p.stdout and "Exit status" in p.stdout, f"{verb} --help: {p.stdout}")
        check("trust" in w.run("--help").stdout, "wharf --help lists trust")
        p = w.run("trust", "ls", "--server", s.url, f"{s.addr}/nothing/here", ok=False)
        eq(p.returncode, 1, "a GUN without trust data")
        check("no trust data" in p.stderr, f"message: {p.stderr}")
        eq(w.stored(), {}, "nothing stored for a GUN without trust data")
        p = w.run("trust", "ls", "--server", s.url, "Bad_Gun", ok=False)
        eq(p.returncode, 1, "an invalid GUN")
    finally:
        w.cleanup()


@test(slow=True)
def trust_client_reads_what_notary_published(s):
    check(have("notary"), "the notary client is installed (apt-get install notary)")
    gun = f"{s.addr}/tc/app"
    n, w = Notary(s.url), Wharf()
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1234, HEX_A)
        data = b"hello, trusted world\n"
        f = os.path.join(n.dir, "payload")
        with open(f, "wb") as fh:
            fh.write(data)
        n.run("add", gun, "v2", f)
        n.run("publish", gun)
        nl = n.run("list", gun).stdout
        check(HEX_A in nl and sha256_hex(data) in nl, f"notary list: {nl}")
        out = w.run("trust", "ls", "--server", s.url, gun).stdout
        check(f"sha256:{HEX_A}" in out and "1234" in out and f"sha256:{sha256_hex(data)}" in out, f"ls: {out}")
        doc = json.loads(w.run("trust", "ls", "--json", "--server", s.url, gun).stdout)
        eq(doc["targets"], [{"name": "v1", "digest": f"sha256:{HEX_A}", "size": 1234, "role": "targets"},
                            {"name": "v2", "digest": f"sha256:{sha256_hex(data)}", "size": len(data),
                             "role": "targets"}], "ls --json")
        out = w.run("trust", "lookup", "--server", s.url, gun, "v2").stdout.split()
        eq(out, ["v2", f"sha256:{sha256_hex(data)}", str(len(data)), "targets"], "lookup")
        nlook = n.run("lookup", gun, "v2").stdout
        check(sha256_hex(data) in nlook, f"notary lookup agrees: {nlook}")
        p = w.run("trust", "lookup", "--server", s.url, gun, "nope", ok=False)
        eq(p.returncode, 1, "lookup of an unsigned tag")
        check("nope" in p.stderr and "targets" in p.stderr, f"message: {p.stderr}")
        ins = json.loads(w.run("trust", "inspect", "--json", "--server", s.url, gun).stdout)
        roles = {r["name"]: r for r in ins["roles"]}
        eq(sorted(roles), ["root", "snapshot", "targets", "timestamp"], "inspect roles")
        eq(roles["root"]["keys"][0]["type"], "ecdsa-x509", "root key is a certificate")
        ts = json.loads(get(s, gun, "timestamp.json"))["signed"]
        eq(roles["timestamp"]["version"], ts["version"], "inspect shows the timestamp version")
        eq(roles["targets"]["threshold"], 1, "targets threshold")
        # WHARF_TRUST_SERVER stands in for --server; stored metadata equals what the server has.
        p = w.run("trust", "lookup", gun, "v1", env={"WHARF_TRUST_SERVER": s.url})
        check(HEX_A in p.stdout, f"lookup through WHARF_TRUST_SERVER: {p.stdout}")
        stored = w.stored()
        check(len(stored) == 4, f"four roles stored: {sorted(stored)}")
        for name, body in stored.items():
            role = os.path.basename(name)[:-5]
            eq(body, get(s, gun, f"{role}.json"), f"stored {role} is the server's")
        # A new publish moves the client on.
        publish(n, gun, "v3", 7, HEX_C)
        check("v3" in w.run("trust", "ls", "--server", s.url, gun).stdout, "the client sees v3")
    finally:
        n.cleanup()
        w.cleanup()


@test(slow=True)
def trust_client_prefers_targets_releases(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/delegated"
    n, w = Notary(s.url), Wharf()
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 10, HEX_A)
        key, crt = os.path.join(n.dir, "rel.key"), os.path.join(n.dir, "rel.crt")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-x509", "-days", "30", "-subj", "/CN=releaser", "-keyout", key, "-out", crt],
                       check=True, capture_output=True)
        n.run("delegation", "add", gun, "targets/releases", crt, "--all-paths")
        n.run("key", "import", key, "--role", "targets/releases")
        n.run("publish", gun)
        n.run("addhash", gun, "v1", "20", "--sha256", HEX_C, "--roles", "targets/releases")
        n.run("publish", gun)
        out = w.run("trust", "lookup", "--server", s.url, gun, "v1").stdout.split()
        eq(out, ["v1", f"sha256:{HEX_C}", "20", "targets/releases"], "targets/releases wins, as docker trust")
        doc = json.loads(w.run("trust", "inspect", "--json", "--server", s.url, gun).stdout)
        rel = [r for r in doc["roles"] if r["name"] == "targets/releases"]
        eq(len(rel), 1, "inspect shows the delegation")
        eq(rel[0]["paths"], [""], "all paths")
        check(any(k.endswith("targets%2Freleases.json") for k in w.stored()), f"stored: {sorted(w.stored())}")
    finally:
        n.cleanup()
        w.cleanup()


@test(slow=True)
def trust_client_follows_root_rotation(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/rotated"
    n, w = Notary(s.url), Wharf()
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1, HEX_A)
        w.run("trust", "ls", "--server", s.url, gun)  # trusts root version 1
        for _ in range(2):
            n.run("key", "rotate", gun, "root", stdin="yes\n")
            n.run("publish", gun)
        publish(n, gun, "v2", 2, HEX_C)
        eq(json.loads(get(s, gun, "root.json"))["signed"]["version"], 3, "server root version")
        out = w.run("trust", "ls", "--server", s.url, gun).stdout
        check("v2" in out and HEX_C in out, f"after two rotations: {out}")
        roots = [v for k, v in w.stored().items() if k.endswith("/root.json")]
        eq(json.loads(roots[0])["signed"]["version"], 3, "the client walked to root version 3")
        # A fresh client trusts the newest root on first use, through root.json.
        w2 = Wharf()
        try:
            check("v2" in w2.run("trust", "ls", "--server", s.url, gun).stdout, "a fresh client")
        finally:
            w2.cleanup()
    finally:
        n.cleanup()
        w.cleanup()


@test(slow=True)
def trust_client_refuses_foreign_root_rotation(s):
    """A version 2 root that the trusted version 1 root's keys did not sign (made by someone who
    initialised the same GUN elsewhere) is refused, even though it is validly self-signed."""
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/foreign"
    other = Server(os.environ["WHARF_TEST_WHARFD"]).start()
    n, m, w = Notary(s.url), Notary(other.url), Wharf()
    evil = Evil(s.url)
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1, HEX_A)
        w.run("trust", "ls", "--server", s.url, gun)
        m.run("init", gun)
        publish(m, gun, "v1", 666, HEX_C)
        m.run("key", "rotate", gun, "root", stdin="yes\n")
        m.run("publish", gun)
        evil.rules["2.root.json"] = get(other, gun, "2.root.json")
        refused(w, ["trust", "ls", "--server", evil.url, gun],
                ["root version 2", "not signed by the keys of trusted root version 1"], "foreign root version 2")
        # Serving the foreign repository whole (its root.json, timestamp, snapshot): still refused.
        evil2 = Evil(other.url)
        try:
            refused(w, ["trust", "ls", "--server", evil2.url, gun], ["root version 2"], "foreign repository")
        finally:
            evil2.close()
        check(HEX_A in w.run("trust", "lookup", "--server", s.url, gun, "v1").stdout, "the honest server still works")
    finally:
        evil.close()
        n.cleanup()
        m.cleanup()
        w.cleanup()
        other.cleanup()


def tamper_target_length(body):
    """The same bytes but for the length of v1 (1234 becomes 4321): same size, other content."""
    check(body.count(b'"length":1234') == 1, f"targets holds v1 of 1234 bytes: {body[:300]!r}")
    return body.replace(b'"length":1234', b'"length":4321')


@test(slow=True)
def trust_client_refuses_tampered_metadata(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/tampered"
    n, w = Notary(s.url), Wharf()
    evil = Evil(s.url)
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1234, HEX_A)
        w.run("trust", "ls", "--server", s.url, gun)
        targets, snapshot = get(s, gun, "targets.json"), get(s, gun, "snapshot.json")
        timestamp = get(s, gun, "timestamp.json")
        args = ["trust", "lookup", "--server", evil.url, gun, "v1"]
        # 1. Targets content changed: the hash the snapshot pins no longer matches.
        evil.rules = {f"targets.{sha256_hex(targets)}.json": tamper_target_length(targets)}
        refused(w, args, ["targets", "does not match what snapshot lists"], "tampered targets")
        # 1b. Longer targets: refused at the length the snapshot pins, without reading past it.
        evil.rules = {f"targets.{sha256_hex(targets)}.json": targets + b" " * 100}
        refused(w, args, ["targets", "longer than snapshot lists"], "targets longer than the snapshot says")
        # 2. ...and the snapshot rewritten to pin the tampered targets: the timestamp pins the snapshot.
        bad_targets = tamper_target_length(targets)
        snap = json.loads(snapshot)
        snap["signed"]["meta"]["targets"] = {"length": len(bad_targets), "hashes": {"sha256": b64sha256(bad_targets)}}
        bad_snapshot = json.dumps(snap).encode()
        evil.rules = {f"targets.{sha256_hex(bad_targets)}.json": bad_targets,
                      f"snapshot.{sha256_hex(snapshot)}.json": bad_snapshot}
        refused(w, args, ["snapshot", "does not match what timestamp lists"], "tampered snapshot")
        # 3. ...and the timestamp rewritten to pin that snapshot: its signature fails.
        ts = json.loads(timestamp)
        ts["signed"]["meta"]["snapshot"] = {"length": len(bad_snapshot), "hashes": {"sha256": b64sha256(bad_snapshot)}}
        evil.rules = {"timestamp.json": json.dumps(ts).encode(),
                      f"snapshot.{sha256_hex(bad_snapshot)}.json": bad_snapshot,
                      f"targets.{sha256_hex(bad_targets)}.json": bad_targets}
        refused(w, args, ["timestamp", "valid signature"], "tampered timestamp")
        # 4. Endless data: a timestamp far over the size limit.
        evil.rules = {"timestamp.json": b"{" + b" " * (2 << 20) + b"}"}
        refused(w, args, ["timestamp", "bytes"], "oversized timestamp")
        # 5. Signatures stripped.
        t2 = json.loads(timestamp)
        t2["signatures"] = []
        evil.rules = {"timestamp.json": json.dumps(t2).encode()}
        refused(w, args, ["timestamp", "0 valid signatures"], "unsigned timestamp")
        # A first-time client that meets the malicious server stores nothing either.
        w2 = Wharf()
        try:
            evil.rules = {f"targets.{sha256_hex(targets)}.json": tamper_target_length(targets)}
            refused(w2, args, ["targets"], "tampered targets on first use")
            eq(w2.stored(), {}, "nothing stored on first use")
        finally:
            w2.cleanup()
        eq(w.run("trust", "lookup", "--server", s.url, gun, "v1").stdout.split()[2], "1234", "honest server again")
    finally:
        evil.close()
        n.cleanup()
        w.cleanup()


@test(slow=True)
def trust_client_refuses_rollback(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/rollback"
    n, w = Notary(s.url), Wharf()
    evil = Evil(s.url)
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1, HEX_A)
        old_ts = get(s, gun, "timestamp.json")
        old_targets = get(s, gun, "targets.json")
        publish(n, gun, "v2", 2, HEX_C)
        out = w.run("trust", "ls", "--server", s.url, gun).stdout
        check("v2" in out, f"the client saw the newer data: {out}")
        # The old timestamp (valid signature, not expired) is a rollback.
        evil.rules = {"timestamp.json": old_ts}
        refused(w, ["trust", "ls", "--server", evil.url, gun], ["timestamp version", "lower than the trusted version",
                                                               "rollback"], "old timestamp")
        # A client that never saw the newer data accepts the old one (the attack needs a victim who did).
        w2 = Wharf()
        try:
            out = w2.run("trust", "ls", "--server", evil.url, gun).stdout
            check("v2" not in out and "v1" in out, f"first use of old data: {out}")
            # ...and once it has seen the new data, going back is refused for targets too.
            w2.run("trust", "ls", "--server", s.url, gun)
            refused(w2, ["trust", "ls", "--server", evil.url, gun], ["rollback"], "old timestamp after new")
        finally:
            w2.cleanup()
        check(len(old_targets) > 0, "kept the old targets")
    finally:
        evil.close()
        n.cleanup()
        w.cleanup()


@test(slow=True)
def trust_client_refuses_expired_timestamp(s):
    check(have("notary"), "the notary client is installed")
    check(have("faketime"), "faketime is installed (apt-get install faketime)")
    gun = f"{s.addr}/tc/frozen"
    n, w = Notary(s.url), Wharf()
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 1, HEX_A)
        w.run("trust", "ls", "--server", s.url, gun)
        # wharfd signs timestamps for 14 days; 30 days on, the one it serves is stale (a freeze).
        p = refused(w, ["trust", "ls", "--server", s.url, gun], ["timestamp version", "expired at"],
                    "expired timestamp", faketime="+30 days")
        check("stale" in p.stderr, f"message says why: {p.stderr}")
        # The same client in the present is fine.
        check("v1" in w.run("trust", "ls", "--server", s.url, gun).stdout, "now it verifies")
    finally:
        n.cleanup()
        w.cleanup()


def start_notary_server(tmp):
    port = free_port()
    cfg = os.path.join(tmp, "server.json")
    with open(cfg, "w") as f:
        json.dump({"server": {"http_addr": f"127.0.0.1:{port}"}, "trust_service": {"type": "local"},
                   "storage": {"backend": "memory"}, "logging": {"level": "error"}}, f)
    log = open(os.path.join(tmp, "notary-server.log"), "wb")
    proc = subprocess.Popen(["notary-server", "-config", cfg], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"notary-server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url + "/_notary_server/health", timeout=2).read()
            return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("notary-server did not start within 20 s")


@test(slow=True)
def trust_client_reads_notary_server(s):
    check(have("notary") and have("notary-server"), "notary and notary-server are installed")
    tmp = tempfile.mkdtemp(prefix="wharf-tc-ns-")
    proc, url = start_notary_server(tmp)
    gun = f"{url.split('//')[1]}/tc/app"
    n, w = Notary(url), Wharf()
    try:
        n.run("init", gun)
        publish(n, gun, "v1", 4321, HEX_A)
        n.run("key", "rotate", gun, "snapshot", "-r")  # server-managed snapshot
        publish(n, gun, "v2", 8, HEX_C)
        out = w.run("trust", "ls", "--server", url, gun).stdout
        check(f"sha256:{HEX_A}" in out and "4321" in out and f"sha256:{HEX_C}" in out, f"ls from notary-server: {out}")
        out = w.run("trust", "lookup", "--server", url, gun, "v2").stdout.split()
        eq(out, ["v2", f"sha256:{HEX_C}", "8", "targets"], "lookup from notary-server")
        n.run("key", "rotate", gun, "root", stdin="yes\n")
        n.run("publish", gun)
        publish(n, gun, "v3", 9, HEX_A)
        doc = json.loads(w.run("trust", "inspect", "--json", "--server", url, gun).stdout)
        with urllib.request.urlopen(f"{url}/v2/{gun}/_trust/tuf/root.json", timeout=30) as r:
            newest = json.loads(r.read())["signed"]["version"]
        check(newest > 1, f"notary rotated the root (version {newest})")
        eq([r["version"] for r in doc["roles"] if r["name"] == "root"], [newest], "root rotation on notary-server followed")
        check("v3" in [t["name"] for t in doc["targets"]], "v3 after the rotation")
    finally:
        n.cleanup()
        w.cleanup()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The writing half: wharf trust init / sign / revoke, read back by the real notary client.

WPASS = {"WHARF_ROOT_PASSPHRASE": "wharf-root-pass", "WHARF_TARGETS_PASSPHRASE": "wharf-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "wharf-snapshot-pass"}


def fresh_notary_sees(url, gun, tag, hexdigest, size):
    m = Notary(url)
    try:
        out = m.run("list", gun).stdout
        check(tag in out and hexdigest in out, f"notary list (fresh trust dir) shows {tag}: {out}")
        out = m.run("lookup", gun, tag).stdout
        check(hexdigest in out and str(size) in out, f"notary lookup {tag}: {out}")
        return m.run("list", gun).stdout
    finally:
        m.cleanup()


@test(slow=True)
def trust_client_init_sign_revoke_read_by_notary(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/tc/signed"
    w = Wharf()
    try:
        p = w.run("trust", "init", "--server", s.url, gun, env=WPASS)
        check("initialised" in p.stdout, f"init: {p.stdout}")
        keydir = [os.path.join(w.home, "keys", d) for d in os.listdir(os.path.join(w.home, "keys"))][0]
        eq(sorted(os.listdir(keydir)), ["root.key", "root.key.pub", "snapshot.key", "snapshot.key.pub", "targets.key",
                                        "targets.key.pub"], "keys stored, each with its public key beside it")
        eq(os.stat(keydir).st_mode & 0o777, 0o700, "key directory mode")
        for f in os.listdir(keydir):
            private = f.endswith(".key")
            eq(os.stat(os.path.join(keydir, f)).st_mode & 0o777, 0o600 if private else 0o644, f"{f} mode")
            with open(os.path.join(keydir, f)) as fh:
                text = fh.read()
            check(("ENCRYPTED PRIVATE KEY" in text) if private else ("PRIVATE" not in text and '"private":null' in text),
                  f"{f} is encrypted, or public only")
        # Sign a tag from the registry: the manifest is fetched and hashed by the client.
        digest, body = s.push_image("tc/signed", "v1", layers=(b"signed layer",))
        p = w.run("trust", "sign", "--server", s.url, f"{gun}:v1", env=WPASS)
        check(digest in p.stdout, f"sign prints the manifest digest {digest}: {p.stdout}")
        fresh_notary_sees(s.url, gun, "v1", digest.split(":")[1], len(body))
        # Sign by digest and size, without the registry.
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "77", f"{gun}:v2",
              env=WPASS)
        fresh_notary_sees(s.url, gun, "v2", HEX_C, 77)
        check(HEX_C in w.run("trust", "lookup", "--server", s.url, gun, "v2").stdout, "wharf lookup v2")
        # Revoke.
        w.run("trust", "revoke", "--server", s.url, f"{gun}:v2", env=WPASS)
        out = fresh_notary_sees(s.url, gun, "v1", digest.split(":")[1], len(body))
        check("v2" not in out, f"v2 revoked: {out}")
        p = w.run("trust", "revoke", "--server", s.url, f"{gun}:v2", ok=False, env=WPASS)
        eq(p.returncode, 1, "revoking an unsigned tag")
        check("does not sign" in p.stderr, f"message: {p.stderr}")
        # Wrong passphrase, missing passphrase (no terminal), a second init, bad usage.
        bad = dict(WPASS, WHARF_TARGETS_PASSPHRASE="wrong")
        p = w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "1", f"{gun}:v3",
                  ok=False, env=bad)
        eq(p.returncode, 1, "wrong passphrase")
        check("wrong passphrase" in p.stderr, f"message: {p.stderr}")
        p = subprocess.run(["setsid", w.bin, "trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}",
                            "--size", "1", f"{gun}:v3"], env=dict(os.environ, WHARF_HOME=w.home),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        eq(p.returncode, 1, f"no passphrase and no terminal: {p.stderr}")
        check("WHARF_TARGETS_PASSPHRASE" in p.stderr, f"message names the variable: {p.stderr}")
        p = w.run("trust", "init", "--server", s.url, gun, ok=False, env=WPASS)
        eq(p.returncode, 1, "a second init")
        eq(w.run("trust", "sign", "--server", s.url, gun, ok=False, env=WPASS).returncode, 2, "sign without a tag")
        eq(w.run("trust", "sign", "--digest", "sha256:00", "--size", "1", f"{gun}:x", ok=False, env=WPASS).returncode,
           2, "a bad digest")
        check("--server-managed-snapshot" in w.run("trust", "init", "--help").stdout, "init --help")
        # Another client (no keys) trusts on first use and sees the same; the owner's own client too.
        other = Wharf()
        try:
            check("v1" in other.run("trust", "ls", "--server", s.url, gun).stdout, "a second wharf client")
        finally:
            other.cleanup()
    finally:
        w.cleanup()


@test(slow=True)
def trust_client_server_managed_snapshot(s):
    check(have("notary") and have("notary-server"), "notary and notary-server are installed")
    tmp = tempfile.mkdtemp(prefix="wharf-tc-ns-")
    proc, url = start_notary_server(tmp)
    w = Wharf()
    try:
        for server in (s.url, url):
            gun = f"{server.split('//')[1]}/tc/managed"
            w.run("trust", "init", "--server-managed-snapshot", "--server", server, gun, env=WPASS)
            keydir = [d for d in os.listdir(os.path.join(w.home, "keys")) if d.endswith("managed")]
            check(len(keydir) == 1, f"keys of {gun}: {keydir}")
            eq(sorted(f for f in os.listdir(os.path.join(w.home, "keys", keydir[0])) if f.endswith(".key")),
               ["root.key", "targets.key"], "no snapshot key held by the client")
            w.run("trust", "sign", "--server", server, "--digest", f"sha256:{HEX_A}", "--size", "12", f"{gun}:v1",
                  env=WPASS)
            fresh_notary_sees(server, gun, "v1", HEX_A, 12)
            shutil.rmtree(os.path.join(w.home, "keys", keydir[0]))
        # A client-held snapshot on notary-server too.
        gun = f"{url.split('//')[1]}/tc/held"
        w.run("trust", "init", "--server", url, gun, env=WPASS)
        w.run("trust", "sign", "--server", url, "--digest", f"sha256:{HEX_C}", "--size", "3", f"{gun}:v1", env=WPASS)
        fresh_notary_sees(url, gun, "v1", HEX_C, 3)
    finally:
        w.cleanup()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
