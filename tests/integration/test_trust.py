"""Content trust: the real notary client against wharfd's Notary v1 trust service."""
import json
import os
import shutil
import subprocess
import tempfile

from harness import check, eq, test

PASS = {"NOTARY_ROOT_PASSPHRASE": "root-pass-1234", "NOTARY_TARGETS_PASSPHRASE": "targets-pass-1234",
        "NOTARY_SNAPSHOT_PASSPHRASE": "snapshot-pass-1234", "NOTARY_DELEGATION_PASSPHRASE": "deleg-pass-1234"}


class Notary:
    def __init__(self, server):
        self.server = server
        self.dir = tempfile.mkdtemp(prefix="wharf-notary-")

    def run(self, *args, ok=True, stdin=None):
        env = dict(os.environ, **PASS)
        p = subprocess.run(["notary", "-s", self.server.url, "-d", self.dir] + list(args), env=env,
                           input=stdin, capture_output=True, text=True, timeout=120)
        if ok and p.returncode != 0:
            raise AssertionError(f"notary {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def have_notary():
    return shutil.which("notary") is not None


@test(slow=True)
def notary_init_publish_list_lookup(s):
    check(have_notary(), "the notary client is installed (apt-get install notary)")
    gun = f"{s.addr}/trust/app"
    n = Notary(s)
    try:
        n.run("init", gun)
        n.run("addhash", gun, "v1", "1234", "--sha256", "ab" * 32)
        n.run("publish", gun)
        out = n.run("list", gun).stdout
        check("v1" in out and "ab" * 32 in out, f"list shows the target: {out}")
        out = n.run("lookup", gun, "v1").stdout
        check("ab" * 32 in out and "1234" in out, f"lookup: {out}")
        # A second client with a fresh trust dir pulls the same data (trust on first use).
        m = Notary(s)
        try:
            out = m.run("list", gun).stdout
            check("v1" in out, f"a second client sees v1: {out}")
        finally:
            m.cleanup()
        # Remove, publish, the target is gone.
        n.run("remove", gun, "v1")
        n.run("publish", gun)
        out = n.run("list", gun, ok=False)
        check("v1" not in out.stdout, f"v1 removed: {out.stdout}")
    finally:
        n.cleanup()


@test(slow=True)
def notary_server_managed_snapshot_and_delete(s):
    check(have_notary(), "the notary client is installed")
    gun = f"{s.addr}/trust/managed"
    n = Notary(s)
    try:
        n.run("init", gun)
        n.run("publish", gun)
        n.run("key", "rotate", gun, "snapshot", "-r")
        n.run("publish", gun)  # nothing staged: an empty publish, the server re-signs the snapshot
        n.run("addhash", gun, "latest", "99", "--sha256", "cd" * 32)
        n.run("publish", gun)
        out = n.run("lookup", gun, "latest").stdout
        check("cd" * 32 in out, f"lookup after a server-signed snapshot: {out}")
        r = s.request("GET", f"/v2/{gun}/_trust/tuf/snapshot.json")
        eq(r.status, 200, "snapshot.json")
        n.run("delete", gun, "--remote")
        eq(s.request("GET", f"/v2/{gun}/_trust/tuf/root.json").status, 404, "deleted GUN")
    finally:
        n.cleanup()


@test
def trust_endpoints_errors(s):
    r = s.request("GET", "/v2/trust/none/_trust/tuf/root.json")
    eq((r.status, r.error_code()), (404, "METADATA_NOT_FOUND"), "no metadata yet")
    r = s.request("GET", "/v2/trust/none/_trust/tuf/timestamp.key")
    eq(r.status, 200, "timestamp key is made on first use")
    key = r.json()
    eq(key["keytype"], "ecdsa", "server timestamp keys are ECDSA")
    check(key["keyval"]["private"] is None, "private half never leaves the server")
    again = s.request("GET", "/v2/trust/none/_trust/tuf/timestamp.key").json()
    eq(again, key, "the same key on the next GET")
    rotated = s.request("POST", "/v2/trust/none/_trust/tuf/timestamp.key").json()
    check(rotated != key, "POST rotates")
    eq(s.request("GET", "/v2/trust/none/_trust/tuf/targets.key").status, 400, "no server-held targets key")
    eq(s.request("GET", "/v2/Bad_Gun/_trust/tuf/root.json").status, 400, "invalid GUN")
    r = s.request("POST", "/v2/trust/none/_trust/tuf/", body=b"junk", headers={"Content-Type": "text/plain"})
    eq((r.status, r.error_code()), (400, "MALFORMED_UPLOAD"), "publish that is not multipart")
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"files\"; filename=\"root\"\r\n\r\n{}\r\n--XX--\r\n")
    r = s.request("POST", "/v2/trust/none/_trust/tuf/", body=body,
                  headers={"Content-Type": "multipart/form-data; boundary=XX"})
    eq((r.status, r.error_code()), (400, "INVALID_UPDATE"), "publish of an empty root")
    check("root" in r.json()["errors"][0]["message"], "message names the role")
    r = s.request("GET", "/v2/_trust/changefeed?change_id=0&records=10")
    eq(r.status, 200, "changefeed")
    check("records" in r.json(), "changefeed records")


def multipart(files):
    body = b""
    for role, data in files:
        body += (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + role.encode() +
                 b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return body + b"--BOUNDARY--\r\n", {"Content-Type": "multipart/form-data; boundary=BOUNDARY"}


def published_repo(s, name):
    gun = f"{s.addr}/attack/{name}"
    n = Notary(s)
    n.run("init", gun)
    n.run("addhash", gun, "v1", "1234", "--sha256", "ab" * 32)
    n.run("publish", gun)
    return gun, n


def state_of(s, gun):
    return {role: s.request("GET", f"/v2/{gun}/_trust/tuf/{role}.json").body
            for role in ("root", "targets", "snapshot", "timestamp")}


def refused(s, gun, files, what, needle):
    before = state_of(s, gun)
    body, headers = multipart(files)
    r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=body, headers=headers)
    eq(r.status, 400, f"{what}: status ({r.body[:300]!r})")
    msg = r.json()["errors"][0]["message"]
    check(needle in msg, f"{what}: message {msg!r} should mention {needle!r}")
    eq(state_of(s, gun), before, f"{what}: nothing stored changed")


@test(slow=True)
def trust_attacks_are_refused(s):
    check(have_notary(), "the notary client is installed")
    gun, n = published_repo(s, "app")
    try:
        targets = s.request("GET", f"/v2/{gun}/_trust/tuf/targets.json").body
        snapshot = s.request("GET", f"/v2/{gun}/_trust/tuf/snapshot.json").body
        root = s.request("GET", f"/v2/{gun}/_trust/tuf/root.json").body
        # Rollback / replay: the same versions again.
        refused(s, gun, [("targets", targets), ("snapshot", snapshot)], "replayed targets", "not newer")
        # Arbitrary content under a valid signature: change a target, bump the version.
        doc = json.loads(targets)
        doc["signed"]["targets"]["v1"]["length"] = 999999
        doc["signed"]["version"] += 1
        refused(s, gun, [("targets", json.dumps(doc).encode())], "tampered targets", "signature")
        # Timestamps are the server's to sign.
        refused(s, gun, [("timestamp", targets)], "uploaded timestamp", "timestamp")
        # A root that the old root's keys did not sign (another client's init of the same GUN).
        other = Notary(s)
        try:
            other.run("init", gun)
            p = other.run("publish", gun, ok=False)
            check(p.returncode != 0, "a foreign root is refused")
        finally:
            other.cleanup()
        # A root whose threshold its keys cannot meet.
        doc = json.loads(root)
        doc["signed"]["roles"]["targets"]["threshold"] = 5
        doc["signed"]["version"] += 1
        refused(s, gun, [("root", json.dumps(doc).encode())], "unsatisfiable threshold", "threshold")
        # Role names that climb out, and unknown roles.
        refused(s, gun, [("../../etc/passwd", targets)], "bad role name", "role")
        # The honest client still works after all that.
        n.run("addhash", gun, "v2", "42", "--sha256", "cd" * 32)
        n.run("publish", gun)
        check("v2" in n.run("list", gun).stdout, "a good publish after the attacks")
    finally:
        n.cleanup()


@test(slow=True)
def notary_add_verify_witness_and_targets_rotation(s):
    check(have_notary(), "the notary client is installed")
    gun = f"{s.addr}/trust/more"
    n = Notary(s)
    payload = os.path.join(n.dir, "payload.bin")
    with open(payload, "wb") as f:
        f.write(os.urandom(3000))
    try:
        n.run("init", gun)
        n.run("add", gun, "file1", payload)
        n.run("publish", gun)
        p = subprocess.run(["notary", "-s", s.url, "-d", n.dir, "verify", gun, "file1"], env=dict(os.environ, **PASS),
                           stdin=open(payload, "rb"), capture_output=True, timeout=60)
        eq(p.returncode, 0, f"notary verify of the signed bytes ({p.stderr[-300:]!r})")
        p = subprocess.run(["notary", "-s", s.url, "-d", n.dir, "verify", gun, "file1"], env=dict(os.environ, **PASS),
                           input=b"other bytes", capture_output=True, timeout=60)
        check(p.returncode != 0, "notary verify refuses other bytes")
        # Rotate the targets key: the server must accept targets re-signed by the new key only.
        n.run("key", "rotate", gun, "targets")
        n.run("addhash", gun, "after-rotation", "7", "--sha256", "ee" * 32)
        n.run("publish", gun)
        m = Notary(s)
        try:
            out = m.run("list", gun).stdout
            check("file1" in out and "after-rotation" in out, f"a fresh client after the targets rotation: {out}")
        finally:
            m.cleanup()
        n.run("witness", gun, "targets")
        n.run("publish", gun)
        check("after-rotation" in n.run("list", gun).stdout, "list after witness")
    finally:
        n.cleanup()


def make_cert(directory, cn):
    key = os.path.join(directory, f"{cn.replace('/', '_')}.key")
    cert = os.path.join(directory, f"{cn.replace('/', '_')}.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    return key, cert


@test(slow=True)
def notary_delegation_targets_releases(s):
    check(have_notary(), "the notary client is installed")
    gun = f"{s.addr}/trust/deleg"
    n = Notary(s)
    try:
        n.run("init", gun)
        n.run("publish", gun)
        key, cert = make_cert(n.dir, "releaser")
        n.run("delegation", "add", gun, "targets/releases", cert, "--all-paths")
        n.run("publish", gun)
        n.run("key", "import", key, "--role", "targets/releases")
        n.run("addhash", gun, "rel1", "11", "--sha256", "ab" * 32, "--roles", "targets/releases")
        n.run("publish", gun)
        out = n.run("list", gun, "--roles", "targets/releases").stdout
        check("rel1" in out, f"target in targets/releases: {out}")
        r = s.request("GET", f"/v2/{gun}/_trust/tuf/targets/releases.json")
        eq(r.status, 200, "delegated role served")
        eq(r.json()["signed"]["_type"], "Targets", "delegated metadata")
        # A delegate key that is not in the delegation cannot sign into it.
        key2, cert2 = make_cert(n.dir, "intruder")
        doc = r.json()
        doc["signed"]["version"] += 1
        doc["signed"]["targets"]["evil"] = {"length": 1, "hashes": {"sha256": "AAAA"}}
        refused(s, gun, [("targets/releases", json.dumps(doc).encode())], "delegate metadata re-signed by nobody",
                "signature")
    finally:
        n.cleanup()


@test(slow=True, shared=False)
def require_signed_policy(s):
    check(have_notary(), "the notary client is installed")
    s.extra_args = ["--require-signed", "prod/*"]
    s.start()
    d1, body1 = s.push_image("prod/app", "v1", layers=(b"one",))
    d2, body2 = s.push_image("prod/app", "v2", layers=(b"two",))
    s.push_image("dev/app", "v1", layers=(b"dev",))
    r = s.request("GET", "/v2/prod/app/manifests/v1")
    eq((r.status, r.error_code()), (403, "DENIED"), "unsigned tag under require-signed")
    check("not signed" in r.json()["errors"][0]["message"], f"message says why: {r.body[:200]!r}")
    eq(s.request("GET", f"/v2/prod/app/manifests/{d1}").status, 200, "pull by digest still works")
    eq(s.request("GET", "/v2/dev/app/manifests/v1").status, 200, "repositories outside the policy are free")
    gun = f"{s.addr}/prod/app"
    n = Notary(s)
    try:
        n.run("init", gun)
        n.run("addhash", gun, "v1", str(len(body1)), "--sha256", d1[len("sha256:"):])
        n.run("publish", gun)
        r = s.request("GET", "/v2/prod/app/manifests/v1")
        eq((r.status, r.body), (200, body1), "signed tag is served")
        eq(s.request("HEAD", "/v2/prod/app/manifests/v1").status, 200, "HEAD of the signed tag")
        eq(s.request("GET", "/v2/prod/app/manifests/v2").status, 403, "the other tag is still unsigned")
        # Point v1 at other content without signing it again: refused.
        s.push_manifest("prod/app", "v1", body2)
        r = s.request("GET", "/v2/prod/app/manifests/v1")
        eq(r.status, 403, "a tag moved away from its signed content")
        check("other content" in r.json()["errors"][0]["message"], f"message: {r.body[:200]!r}")
    finally:
        n.cleanup()
