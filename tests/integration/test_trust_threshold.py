"""Content trust for teams: k-of-n thresholds and the staged workflow.

A role that needs k signatures takes changes in stages: one signer proposes the next version
(`wharf trust sign`, `threshold`, ... signed by its key), wharfd keeps it pending
(`/v2/<gun>/_trust/pending`), the other signers see it (`wharf trust pending`), check it against
their own verified trust data and add their signature (`wharf trust approve`), and wharfd publishes
it (with snapshot and timestamp) once every threshold holds. Until then clients see the old data.
Verification refuses k-1 signatures, a second signature by one key and signatures by outsiders.
"""
import base64
import json
import os
import subprocess

from harness import check, eq, test
from test_trust_client import Notary, Wharf, get, have

OWNER = {"WHARF_ROOT_PASSPHRASE": "thr-root-pass", "WHARF_TARGETS_PASSPHRASE": "thr-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "thr-snapshot-pass"}
KPASS = "thr-key-pass"
# An approver signs with a key file: its passphrase from WHARF_KEY_PASSPHRASE.
SIGNER = {"WHARF_KEY_PASSPHRASE": KPASS}
HEX_A, HEX_B = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32


def init(w, s, gun):
    w.run("trust", "init", "--server", s.url, "--server-managed-snapshot", gun, env=OWNER)


def new_key(w, name, cert=None):
    path = os.path.join(w.home, name)
    args = ["trust", "key", "generate", "--out", path] + (["--cert", cert] if cert else [])
    p = w.run(*args, env=SIGNER)
    return path, p.stdout.strip()


def signed(s, gun, role):
    return json.loads(get(s, gun, f"{role}.json"))


def pending(w, s, gun):
    return json.loads(w.run("trust", "pending", "--server", s.url, "--json", gun).stdout)["pending"]


def ls(s, gun):
    fresh = Wharf()
    try:
        return {t["name"]: t for t in json.loads(fresh.run("trust", "ls", "--server", s.url, "--json", gun).stdout)["targets"]}
    finally:
        fresh.cleanup()


def sign_tag(w, s, gun, tag, digest, size=10, env=None, ok=True):
    return w.run("trust", "sign", "--server", s.url, "--digest", digest, "--size", str(size), f"{gun}:{tag}",
                 env=env or OWNER, ok=ok)


def approve(w, s, gun, cid, key=None, ok=True, env=None):
    args = ["trust", "approve", "--server", s.url] + (["--key", key] if key else []) + [gun, str(cid)]
    return w.run(*args, env=env or SIGNER, ok=ok)


def two_of_three_targets(s, gun, owner, signers):
    """Targets of gun made 2-of-3: the owner's key plus keys b and c. Returns the key files."""
    init(owner, s, gun)
    kb, idb = new_key(signers, "b.key")
    kc, idc = new_key(signers, "c.key")
    p = owner.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", "--add-key", kc + ".pub", gun,
                  "targets", "2", env=OWNER)
    check("pending change" in p.stdout, f"raising targets to 2 needs a second signature: {p.stdout}")
    eq(signed(s, gun, "root")["signed"]["roles"]["targets"]["threshold"], 1, "root unchanged while pending")
    cid = pending(owner, s, gun)[0]["id"]
    approve(signers, s, gun, cid, key=kb)
    root = signed(s, gun, "root")["signed"]
    eq(root["roles"]["targets"]["threshold"], 2, "targets threshold 2 published")
    eq(len(root["roles"]["targets"]["keyids"]), 3, "targets has 3 keys")
    eq(len(signed(s, gun, "targets")["signatures"]), 2, "targets re-signed by two keys with the new root")
    return (kb, idb), (kc, idc)


def post(s, gun, path, doc):
    return s.request("POST", f"/v2/{gun}/_trust/{path}", body=json.dumps(doc).encode(),
                     headers={"Content-Type": "application/json"})


@test
def trust_threshold_usage(s):
    w = Wharf()
    try:
        eq(w.run("trust", "pending", ok=False).returncode, 2, "pending without a GUN")
        eq(w.run("trust", "approve", "a/b", ok=False).returncode, 2, "approve without an ID")
        eq(w.run("trust", "approve", "a/b", "x", ok=False).returncode, 2, "approve with a bad ID")
        eq(w.run("trust", "threshold", "a/b", "targets", ok=False).returncode, 2, "threshold without K")
        eq(w.run("trust", "threshold", "a/b", "targets", "0", ok=False).returncode, 2, "threshold 0")
        for verb in ("pending", "approve", "threshold"):
            p = w.run("trust", verb, "--help")
            check(f"wharf trust {verb}" in p.stdout and "Exit status" in p.stdout, f"{verb} --help")
        out = w.run("trust", "--help").stdout
        check("approve GUN ID" in out and "pending GUN" in out, "wharf trust --help lists the verbs")
        r = s.request("GET", f"/v2/{s.addr}/thr/none/_trust/pending")
        eq(r.status, 200, "no pending changes: an empty list")
        eq(r.json()["pending"], [], "empty list")
        eq(s.request("GET", f"/v2/{s.addr}/thr/none/_trust/pending/7").status, 404, "an unknown change")
        eq(post(s, f"{s.addr}/thr/none", "pending", {"role": "targets"}).status, 400, "a change without metadata")
    finally:
        w.cleanup()


@test(slow=True)
def trust_threshold_targets_two_of_three(s):
    gun = f"{s.addr}/thr/targets"
    owner, signers = Wharf(), Wharf()
    try:
        (kb, idb), (kc, idc) = two_of_three_targets(s, gun, owner, signers)
        sign_tag(owner, s, gun, "v1", HEX_A)  # a proposal now
        check("v1" not in ls(s, gun), "1 of 2 signatures: not published, clients do not see v1")
        reader = Wharf()
        reader.run("trust", "ls", "--server", s.url, gun)
        rows = pending(owner, s, gun)
        eq(len(rows), 1, "one pending change")
        f = rows[0]["files"][0]
        eq((f["role"], f["base_version"] + 1, f["changes"]["targets"]["added"]), ("targets", f["version"], ["v1"]),
           "pending shows the role, version and the added target")
        eq([(t["signed"], t["threshold"]) for t in f["thresholds"]], [(1, 2)], "1 of 2 signatures")
        text = owner.run("trust", "pending", "--server", s.url, gun).stdout
        check("targets added: v1" in text and "1 of 2" in text, f"pending (text): {text}")
        # Approving twice with one key, or with a key outside the role, adds nothing.
        p = approve(owner, s, gun, rows[0]["id"], env=OWNER, ok=False)
        eq(p.returncode, 1, "the proposer cannot approve its own change again")
        outsider, _ = new_key(signers, "outsider.key")
        p = approve(signers, s, gun, rows[0]["id"], key=outsider, ok=False)
        eq(p.returncode, 1, "a key outside the role cannot approve")
        check("v1" not in ls(s, gun), "still not published")
        p = approve(signers, s, gun, rows[0]["id"], key=kc)
        check("targets added: v1" in p.stdout and "published" in p.stdout, f"approve shows the diff: {p.stdout}")
        eq(ls(s, gun)["v1"]["digest"], HEX_A, "2 of 2 signatures: v1 published")
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "a client that saw the old data follows")
        eq(pending(owner, s, gun), [], "nothing pending any more")
        # The notary client reads a 2-of-3 targets repository (it honours k > 1).
        if have("notary"):
            n = Notary(s.url)
            try:
                out = n.run("list", gun).stdout
                check("v1" in out and HEX_A.split(":")[1] in out, f"notary list of the 2-of-3 repository: {out}")
            finally:
                n.cleanup()
        # An outdated change: two proposals on the same version; the second one to be approved is refused.
        sign_tag(owner, s, gun, "v2", HEX_B)
        sign_tag(owner, s, gun, "v3", HEX_B)
        first, second = [r["id"] for r in pending(owner, s, gun)]
        approve(signers, s, gun, first, key=kb)
        check("v2" in ls(s, gun), "v2 published")
        p = approve(signers, s, gun, second, key=kb, ok=False)
        eq(p.returncode, 1, "approving an outdated change")
        check("outdated" in p.stderr, f"the message says why: {p.stderr}")
        check("v3" not in ls(s, gun), "the outdated change is not published")
        reader.cleanup()
    finally:
        owner.cleanup()
        signers.cleanup()


@test(slow=True)
def trust_threshold_server_refuses_duplicates_and_outsiders(s):
    gun = f"{s.addr}/thr/dups"
    owner, signers = Wharf(), Wharf()
    try:
        (kb, idb), _ = two_of_three_targets(s, gun, owner, signers)
        sign_tag(owner, s, gun, "v1", HEX_A)
        change = pending(owner, s, gun)[0]
        full = s.request("GET", f"/v2/{gun}/_trust/pending/{change['id']}").json()
        meta = full["files"][0]["metadata"]
        own = meta["signatures"][0]
        # The same signature again, as an approval: one key counts once.
        r = post(s, gun, f"pending/{change['id']}/signatures", {"signatures": {"targets": [own]}})
        eq(r.status, 400, f"a duplicate signature is refused: {r.body[:300]}")
        check(b"already signed" in r.body, f"the message: {r.body[:300]}")
        # A signature by a key outside the role.
        r = post(s, gun, f"pending/{change['id']}/signatures",
                 {"signatures": {"targets": [dict(own, keyid="00" * 32)]}})
        eq(r.status, 400, "a signature by a key outside the role is refused")
        check(b"not a key of the role" in r.body, f"the message: {r.body[:300]}")
        # A bad signature by a key of the role.
        bogus = dict(own, keyid=idb, sig=base64.b64encode(b"\0" * 64).decode())
        r = post(s, gun, f"pending/{change['id']}/signatures", {"signatures": {"targets": [bogus]}})
        eq(r.status, 400, "an invalid signature is refused")
        eq(s.request("GET", f"/v2/{gun}/_trust/pending/{change['id']}").json()["files"][0]["signed_by"], [own["keyid"]],
           "nothing was added to the change")
        # Publishing the 1-of-2 targets directly is refused too (k-1 signatures).
        body = json.dumps(meta).encode()
        boundary = "thrboundary"
        mp = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n"
              f"Content-Type: application/octet-stream\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
        r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=mp,
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        eq(r.status, 400, "a direct publish with 1 of 2 signatures")
        check(b"1 valid signature" in r.body and b"2 required" in r.body, f"message: {r.body[:300]}")
        check("v1" not in ls(s, gun), "not published")
        approve(signers, s, gun, change["id"], key=kb)
        check("v1" in ls(s, gun), "published with a second, distinct key")
    finally:
        owner.cleanup()
        signers.cleanup()
