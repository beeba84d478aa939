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
from test_trust import multipart
from test_trust_client import Notary, Wharf, get, have
from trustkit import canonical, ecdsa_sign, ls, no_terminal

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
        eq(w.run("trust", "threshold", "--path", "x", "a/b", "root", "1", ok=False).returncode, 2, "--path on root")
        eq(w.run("trust", "key", "generate", "--cert", "bad name!", "--out", os.path.join(w.home, "k"),
                 env=SIGNER, ok=False).returncode, 1, "--cert with a bad GUN")
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
        # A staged change needs the server to make the snapshot: refused up front otherwise.
        gun = f"{s.addr}/thr/clientsnap"
        w.run("trust", "init", "--server", s.url, gun, env=OWNER)
        kb, _ = new_key(w, "b.key")
        p = w.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", gun, "targets", "2", env=OWNER,
                  ok=False)
        eq(p.returncode, 1, "no staged change without a server-made snapshot")
        check("snapshot --server-managed" in p.stderr, f"the message says what to do: {p.stderr}")
        eq(pending(w, s, gun), [], "nothing kept")
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
        check(have("notary"), "the notary client is installed")
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
        # refresh re-signs what is due here and, targets needing 2, stages it for approval.
        before = signed(s, gun, "targets")["signed"]["version"]
        p = owner.run("trust", "refresh", "--server", s.url, "--within", "5000", gun, env=OWNER)
        check("pending change" in p.stdout, f"refresh proposes: {p.stdout}")
        eq(signed(s, gun, "targets")["signed"]["version"], before, "not refreshed yet")
        change = [r for r in pending(owner, s, gun) if r["approvable"]][0]
        eq(sorted(f["role"] for f in change["files"]), ["root", "targets"], "root and targets re-signed together")
        approve(signers, s, gun, change["id"], key=kc)
        eq(signed(s, gun, "targets")["signed"]["version"], before + 1, "refreshed with 2 signatures")
        check("v2" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader follows")
        # Adding a signer changes targets: staged too, published with a second targets key.
        kci, idci = new_key(signers, "ci.key")
        p = owner.run("trust", "signer", "add", "--server", s.url, gun, "ci", kci + ".pub", env=OWNER)
        check("pending change" in p.stdout, f"signer add is staged: {p.stdout}")
        check("delegations" not in signed(s, gun, "targets")["signed"] or
              not signed(s, gun, "targets")["signed"]["delegations"]["roles"], "no delegation before approval")
        text = signers.run("trust", "pending", "--server", s.url, gun).stdout
        check("delegations added: targets/ci" in text, f"pending shows the new delegation: {text}")
        approve(signers, s, gun, pending(signers, s, gun)[0]["id"], key=kb)
        names = [d["name"] for d in signed(s, gun, "targets")["signed"]["delegations"]["roles"]]
        eq(sorted(names), ["targets/ci", "targets/releases"], "signer added with 2 of 3 targets signatures")
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
        mp, headers = multipart([("targets", json.dumps(meta).encode())])
        r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=mp, headers=headers)
        eq(r.status, 400, "a direct publish with 1 of 2 signatures")
        check(b"1 valid signature" in r.body and b"2 required" in r.body, f"message: {r.body[:300]}")
        check("v1" not in ls(s, gun), "not published")
        approve(signers, s, gun, change["id"], key=kb)
        check("v1" in ls(s, gun), "published with a second, distinct key")
    finally:
        owner.cleanup()
        signers.cleanup()


def root_doc(s, gun, name="root.json"):
    return json.loads(get(s, gun, name))


@test(slow=True)
def trust_threshold_root_two_of_three(s):
    gun = f"{s.addr}/thr/root"
    owner, b, c = Wharf(), Wharf(), Wharf()
    try:
        init(owner, s, gun)
        sign_tag(owner, s, gun, "v1", HEX_A)
        reader = Wharf()  # trusts root version 1 (1 of 1)
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader trusts root 1")
        check(have("notary"), "the notary client is installed")
        n_old = Notary(s.url)  # notary trusting root version 1 too
        check(HEX_A.split(":")[1] in n_old.run("list", gun).stdout, "notary trusts root 1")
        kb, idb = new_key(b, "root-b.key", cert=gun)
        kc, idc = new_key(c, "root-c.key", cert=gun)
        eq(json.loads(open(kb + ".pub").read())["keytype"], "ecdsa-x509", "--cert makes a certificate key")
        p = owner.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", "--add-key", kc + ".pub", gun,
                      "root", "2", env=OWNER)
        check("pending change" in p.stdout, f"the new root needs 2 of its keys: {p.stdout}")
        eq(root_doc(s, gun)["signed"]["version"], 1, "root 2 is not published with 1 signature")
        cid = pending(b, s, gun)[0]["id"]
        p = approve(b, s, gun, cid, key=kb)
        check("threshold 1 -> 2" in p.stdout and "published" in p.stdout, f"approve shows the root change: {p.stdout}")
        root = root_doc(s, gun)["signed"]
        eq((root["version"], root["roles"]["root"]["threshold"]), (2, 2), "root 2: 2 of 3")
        check(idb in root["roles"]["root"]["keyids"] and idc in root["roles"]["root"]["keyids"], "the new root keys")
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader follows to root 2")

        # The next root change: 1 signature (the owner's) is refused, 2 are accepted.
        p = owner.run("trust", "threshold", "--server", s.url, gun, "timestamp", "1", env=OWNER)
        check("pending change" in p.stdout, f"root 3 needs 2 signatures: {p.stdout}")
        change = s.request("GET", f"/v2/{gun}/_trust/pending/{pending(c, s, gun)[0]['id']}").json()
        one_sig = json.dumps(change["files"][0]["metadata"]).encode()
        body, headers = multipart([("root", one_sig)])
        r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=body, headers=headers)
        eq(r.status, 400, "a root with 1 of 2 signatures is refused")
        check(b"1 valid signature" in r.body, f"the message: {r.body[:300]!r}")
        eq(root_doc(s, gun)["signed"]["version"], 2, "still root 2")
        approve(c, s, gun, change["id"], key=kc)
        eq(root_doc(s, gun)["signed"]["version"], 3, "root 3 with 2 of 3 signatures")
        eq(len(root_doc(s, gun)["signatures"]), 2, "two signatures on root 3")
        out = reader.run("trust", "ls", "--server", s.url, gun).stdout
        check("v1" in out, "the reader follows root 2 -> 3")
        n = Notary(s.url)
        try:
            check(HEX_A.split(":")[1] in n.run("list", gun).stdout, "notary reads a 2-of-3 root repository")
        finally:
            n.cleanup()
        try:
            check(HEX_A.split(":")[1] in n_old.run("list", gun).stdout, "notary that trusted root 1 follows to root 3")
        finally:
            n_old.cleanup()
        reader.cleanup()
    finally:
        owner.cleanup()
        b.cleanup()
        c.cleanup()


@test(slow=True)
def trust_threshold_root_compromise_drill(s):
    """Root 2-of-3 (A, B, C); A is compromised. Rotate root to new keys D, E, F (2 of 3) under the
    old threshold (B and C sign, with D and E for the new root); a client that trusted the old root
    follows; metadata signed by the old key A alone is refused by the server and by clients."""
    from test_trust_client import Evil, refused
    gun = f"{s.addr}/thr/drill"
    owner, b, c, new = Wharf(), Wharf(), Wharf(), Wharf()
    evil = Evil(s.url)
    try:
        init(owner, s, gun)
        sign_tag(owner, s, gun, "v1", HEX_A)
        kb, idb = new_key(b, "b.key", cert=gun)
        kc, idc = new_key(c, "c.key", cert=gun)
        owner.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", "--add-key", kc + ".pub", gun,
                  "root", "2", env=OWNER)
        approve(b, s, gun, pending(b, s, gun)[0]["id"], key=kb)
        root2 = root_doc(s, gun)["signed"]
        ida = [k for k in root2["roles"]["root"]["keyids"] if k not in (idb, idc)][0]
        reader = Wharf()
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader trusts root 2 (2 of 3)")
        keydir = os.path.join(owner.home, "keys", os.listdir(os.path.join(owner.home, "keys"))[0])
        key_a = os.path.join(keydir, "root.key")

        # The drill: B proposes root 3 with D, E, F in place of A, B, C (threshold 2).
        kd, idd = new_key(new, "d.key", cert=gun)
        ke, ide = new_key(new, "e.key", cert=gun)
        kf, idf = new_key(new, "f.key", cert=gun)
        b_home = os.path.join(b.home, "keys", os.path.basename(keydir))
        os.makedirs(b_home, mode=0o700)
        for suffix in ("", ".pub"):
            with open(kb + suffix, "rb") as src, open(os.path.join(b_home, "root.key" + suffix), "wb") as dst:
                dst.write(src.read())
        p = b.run("trust", "threshold", "--server", s.url, "--add-key", kd + ".pub", "--add-key", ke + ".pub",
                  "--add-key", kf + ".pub", "--remove-key", ida, "--remove-key", idb, "--remove-key", idc, gun, "root",
                  "2", env={"WHARF_ROOT_PASSPHRASE": KPASS})
        check("pending change" in p.stdout, f"root 3 proposed by B: {p.stdout}")
        cid = pending(c, s, gun)[0]["id"]
        approve(c, s, gun, cid, key=kc)  # the old threshold: B and C
        eq(root_doc(s, gun)["signed"]["version"], 2, "old keys alone do not meet the new root's threshold")
        approve(new, s, gun, cid, key=kd)
        p = approve(new, s, gun, cid, key=ke)
        check("published" in p.stdout, f"2 of the old and 2 of the new keys: published: {p.stdout}")
        root3 = root_doc(s, gun)["signed"]
        eq((root3["version"], sorted(root3["roles"]["root"]["keyids"])), (3, sorted([idd, ide, idf])),
           "root 3 lists only the new keys")
        check(ida not in root3["keys"], "the compromised key is gone")
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader follows root 2 -> 3")

        # The old key A alone: a root 4 naming A, signed by A, is refused by the server...
        crafted = json.loads(json.dumps(root3))
        crafted["version"] = 4
        crafted["keys"][ida] = root2["keys"][ida]
        crafted["roles"]["root"] = {"keyids": [ida], "threshold": 1}
        for k in (idd, ide, idf):
            del crafted["keys"][k]
        sig = ecdsa_sign(key_a, OWNER["WHARF_ROOT_PASSPHRASE"], canonical(crafted))
        data = json.dumps({"signed": crafted, "signatures": [{"keyid": ida, "method": "ecdsa", "sig": sig}]}).encode()
        body, headers = multipart([("root", data)])
        r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=body, headers=headers)
        eq(r.status, 400, f"the server refuses a root signed by the old key alone: {r.body[:300]!r}")
        r = post(s, gun, "pending", {"role": "root", "metadata": json.loads(data)})
        eq(r.status, 400, "and refuses it as a proposal: A is no root key any more")
        check(b"key of the current root version 3" in r.body, f"the message: {r.body[:300]!r}")
        # ...and by a client that trusted the old roots, from a malicious server.
        evil.rules = {"root.json": data, "4.root.json": data}
        refused(reader, ["trust", "ls", "--server", evil.url, gun], ["root version 4"],
                "a malicious server serving a root signed by the compromised key")
        # Targets signed by the owner's targets key still verify; the owner can no longer change root.
        p = owner.run("trust", "threshold", "--server", s.url, gun, "timestamp", "1", env=OWNER, ok=False)
        eq(p.returncode, 1, "the compromised root key cannot propose a root change")
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the honest server again")
        reader.cleanup()
    finally:
        evil.close()
        for w in (owner, b, c, new):
            w.cleanup()


DELEG = {"WHARF_DELEGATION_PASSPHRASE": KPASS}


def deleg_sign(w, s, gun, role, key, tag, digest, size=10, ok=True):
    return w.run("trust", "sign", "--server", s.url, "--role", role, "--key", key, "--digest", digest, "--size",
                 str(size), f"{gun}:{tag}", env=DELEG, ok=ok)


@test(slow=True)
def trust_threshold_nested_delegation_paths(s):
    gun = f"{s.addr}/thr/nested"
    owner, web = Wharf(), Wharf()
    try:
        init(owner, s, gun)
        kw, _ = new_key(web, "web.key")
        owner.run("trust", "signer", "add", "--server", s.url, "--path", "release-", gun, "web", kw + ".pub", env=OWNER)
        deleg_sign(web, s, gun, "targets/web", kw, "release-1", HEX_A)
        # targets/web delegates further: qa for release-qa-*, and "all" asking for every path.
        kq, idq = new_key(web, "qa.key")
        web.run("trust", "threshold", "--server", s.url, "--add-key", kq + ".pub", "--path", "release-qa-", "--key", kw,
                gun, "targets/web/qa", "1", env=SIGNER)
        ka, _ = new_key(web, "all.key")
        web.run("trust", "threshold", "--server", s.url, "--add-key", ka + ".pub", "--path", "", "--key", kw, gun,
                "targets/web/all", "1", env=SIGNER)
        ki, _ = new_key(web, "inherit.key")
        web.run("trust", "threshold", "--server", s.url, "--add-key", ki + ".pub", "--key", kw, gun,
                "targets/web/inherit", "1", env=SIGNER)
        d = {x["name"]: x for x in signed(s, gun, "targets/web")["signed"]["delegations"]["roles"]}
        eq((d["targets/web/qa"]["keyids"], d["targets/web/qa"]["paths"]), ([idq], ["release-qa-"]), "nested qa")
        eq(d["targets/web/all"]["paths"], [""], "nested all asks for every path")
        eq(d["targets/web/inherit"]["paths"], ["release-"], "a new nested delegation gets its delegator's paths")
        deleg_sign(web, s, gun, "targets/web/qa", kq, "release-qa-1", HEX_B)
        eq(ls(s, gun)["release-qa-1"]["role"], "targets/web/qa", "the nested delegation signs within its paths")
        p = deleg_sign(web, s, gun, "targets/web/qa", kq, "release-2", HEX_B, ok=False)
        eq(p.returncode, 1, "outside its own paths")
        check("outside its delegated paths" in p.stderr, f"message: {p.stderr}")
        # "" restricted by targets/web's "release-" leaves no path (Notary's rule, as clients apply it).
        for tag in ("v9", "release-3"):
            p = deleg_sign(web, s, gun, "targets/web/all", ka, tag, HEX_B, ok=False)
            eq(p.returncode, 1, f"{tag}: a nested delegation cannot sign outside its delegator's paths")
            check("outside the paths in force" in p.stderr, f"message: {p.stderr}")
        deleg_sign(web, s, gun, "targets/web/inherit", ki, "release-3", HEX_B)
        listed = ls(s, gun)
        eq(listed["release-3"]["role"], "targets/web/inherit", "within every delegator's paths")
        check("v9" not in listed, "v9 signed by nobody")
    finally:
        owner.cleanup()
        web.cleanup()


@test(slow=True)
def trust_threshold_revoke_compromised_delegate_key(s):
    gun = f"{s.addr}/thr/revoke"
    owner, ci = Wharf(), Wharf()
    try:
        init(owner, s, gun)
        kx, idx = new_key(ci, "x.key")
        kz, idz = new_key(ci, "z.key")
        owner.run("trust", "signer", "add", "--server", s.url, "--threshold", "2", gun, "ops", kx + ".pub", kz + ".pub",
                  env=OWNER)
        deleg_sign(ci, s, gun, "targets/ops", kx, "v1", HEX_A)
        approve(ci, s, gun, pending(ci, s, gun)[0]["id"], key=kz)
        eq(ls(s, gun)["v1"]["role"], "targets/ops", "v1 by 2 of 2")
        # z is compromised and proposes evil content: it waits for x, which never signs it.
        p = deleg_sign(ci, s, gun, "targets/ops", kz, "v1", HEX_B)
        check("pending change" in p.stdout, f"the compromised key alone only proposes: {p.stdout}")
        evil = pending(ci, s, gun)[0]["id"]
        eq(ls(s, gun)["v1"]["digest"], HEX_A, "clients still see the good v1")
        # Revoking z is not blocked by the 2-of-2 threshold: lowered to the one key left.
        owner.run("trust", "signer", "remove", "--server", s.url, "--key", idz[:12], gun, "ops", env=OWNER)
        d = [x for x in signed(s, gun, "targets")["signed"]["delegations"]["roles"] if x["name"] == "targets/ops"][0]
        eq((d["keyids"], d["threshold"]), ([idx], 1), "targets/ops: x alone, threshold 1")
        eq(ls(s, gun)["v1"]["digest"], HEX_A, "v1 (signed by x and z) still counts by x")
        p = approve(ci, s, gun, evil, key=kx, ok=False)
        eq(p.returncode, 1, "the compromised key's proposal cannot be approved any more")
        check("does not verify" in p.stderr or "not a key" in p.stderr, f"message: {p.stderr}")
        r = post(s, gun, f"pending/{evil}/signatures", {"signatures": {"targets/ops": [
            s.request("GET", f"/v2/{gun}/_trust/pending/{evil}").json()["files"][0]["metadata"]["signatures"][0]]}})
        eq(r.status, 400, "the server refuses it too")
        eq(ls(s, gun)["v1"]["digest"], HEX_A, "the evil content never published")
        deleg_sign(ci, s, gun, "targets/ops", kx, "v2", HEX_B)
        eq(ls(s, gun)["v2"]["role"], "targets/ops", "x signs alone now")
    finally:
        owner.cleanup()
        ci.cleanup()


@test(slow=True)
def trust_threshold_ci_two_pipelines_no_terminal(s):
    """targets/releases needs 2 of 2 CI keys: pipeline 1 signs (a proposal), pipeline 2 approves;
    each has only its key file and a passphrase variable, no terminal, stdin from /dev/null."""
    gun = f"{s.addr}/thr/ci"
    digest, raw = s.push_image("thr/ci", "v1", layers=(b"ci threshold layer",))
    owner, ci1, ci2 = Wharf(), Wharf(), Wharf()
    try:
        init(owner, s, gun)
        k1, _ = new_key(ci1, "ci1.key")
        k2, _ = new_key(ci2, "ci2.key")
        owner.run("trust", "signer", "add", "--server", s.url, "--threshold", "2", gun, "releases", k1 + ".pub",
                  k2 + ".pub", env=OWNER, ok=False)  # 'releases' is not a signer name
        owner.run("trust", "signer", "add", "--server", s.url, gun, "ci1", k1 + ".pub", env=OWNER)
        owner.run("trust", "signer", "add", "--server", s.url, gun, "ci2", k2 + ".pub", env=OWNER)
        owner.run("trust", "threshold", "--server", s.url, gun, "targets/releases", "2", env=OWNER)
        sign = ("trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", k1, f"{gun}:v1")
        p = no_terminal(ci1, *sign)
        eq(p.returncode, 1, f"no passphrase variable, no terminal: {p.stderr}")
        check("WHARF_DELEGATION_PASSPHRASE" in p.stderr, f"the message names the variable: {p.stderr}")
        p = no_terminal(ci1, *sign, env=DELEG)
        eq(p.returncode, 0, f"pipeline 1 signs: {p.stderr}")
        check("pending change" in p.stdout, f"1 of 2: a proposal: {p.stdout}")
        check("v1" not in ls(s, gun), "not published yet")
        p = no_terminal(ci2, "trust", "pending", "--server", s.url, "--json", gun)
        eq(p.returncode, 0, f"pipeline 2 lists: {p.stderr}")
        change = json.loads(p.stdout)["pending"][0]
        eq(change["files"][0]["changes"]["targets"]["added"], ["v1"], "pipeline 2 sees what it approves")
        approve_args = ("trust", "approve", "--server", s.url, "--key", k2, gun, str(change["id"]))
        p = no_terminal(ci2, *approve_args)
        eq(p.returncode, 1, f"approve without a passphrase variable: {p.stderr}")
        p = no_terminal(ci2, *approve_args, env=DELEG)
        eq(p.returncode, 0, f"pipeline 2 approves: {p.stderr}")
        check("published" in p.stdout, f"approve output: {p.stdout}")
        got = ls(s, gun)["v1"]
        eq((got["digest"], got["role"]), (digest, "targets/releases"), "v1 published by 2 of 2 CI keys")
        eq(len(signed(s, gun, "targets/releases")["signatures"]), 2, "two signatures")
    finally:
        owner.cleanup()
        ci1.cleanup()
        ci2.cleanup()


@test(slow=True, shared=False)
def trust_threshold_require_signed_waits_for_threshold(s):
    s.extra_args = ["--require-signed", "thr/*"]
    s.start()
    gun = f"{s.addr}/thr/policy"
    digest, raw = s.push_image("thr/policy", "v1", layers=(b"policy layer",))
    owner, signers = Wharf(), Wharf()
    try:
        r = s.request("GET", "/v2/thr/policy/manifests/v1")
        eq((r.status, r.error_code()), (403, "DENIED"), "an unsigned tag")
        (kb, _), _ = two_of_three_targets(s, gun, owner, signers)
        # The registry serves no unsigned tag under the policy: the digest and size come from the push.
        sign_tag(owner, s, gun, "v1", digest, len(raw))
        r = s.request("GET", "/v2/thr/policy/manifests/v1")
        eq(r.status, 403, "a tag signed by 1 of 2 (pending) is not signed for the policy")
        approve(signers, s, gun, pending(signers, s, gun)[0]["id"], key=kb)
        r = s.request("GET", "/v2/thr/policy/manifests/v1")
        eq((r.status, r.body), (200, raw), "signed by 2 of 2: served")
    finally:
        owner.cleanup()
        signers.cleanup()


@test(slow=True)
def trust_threshold_rotated_root_key_on_token(s):
    """A rotated root key moved onto a PKCS#11 token (SoftHSM2), with its backup; then a 2-of-2
    root: the token signs the proposal, a second root key file approves."""
    from test_trust_hsm import MODULE, SoftHSM
    check(have("softhsm2-util") and os.path.exists(MODULE), "softhsm2 is installed")
    h = SoftHSM()
    gun = f"{s.addr}/thr/token"
    owner, b, reader = Wharf(), Wharf(), Wharf()
    env = {**OWNER, **h.env}
    try:
        h.init_token("root-token")
        init(owner, s, gun)
        sign_tag(owner, s, gun, "v1", HEX_A)
        reader.run("trust", "ls", "--server", s.url, gun)
        owner.run("trust", "rotate", "--server", s.url, gun, "root", env=env)
        keydir = os.path.join(owner.home, "keys", os.listdir(os.path.join(owner.home, "keys"))[0])
        root_id = root_doc(s, gun)["signed"]["roles"]["root"]["keyids"][0]
        backup = os.path.join(owner.home, "root-backup.pem")
        p = owner.run("trust", "hsm", "import", "--token", "root-token", "--backup", backup, gun, env=env)
        check(root_id in p.stdout and "moved into token" in p.stdout, f"hsm import of the held key: {p.stdout}")
        check(not os.path.exists(os.path.join(keydir, "root.key")), "the root key file is gone")
        check(os.path.exists(os.path.join(keydir, "root.key.pkcs11")), "the token is recorded")
        eq(os.stat(backup).st_mode & 0o777, 0o600, "the backup is 0600")
        objs = h.tool("--login", "--pin", "1234", "--token-label", "root-token", "--list-objects")
        check(root_id in objs.stdout or "Private Key Object" in objs.stdout, f"the key is on the token: {objs.stdout}")

        kb, idb = new_key(b, "root-b.key", cert=gun)
        p = owner.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", gun, "root", "2", env=env)
        check("pending change" in p.stdout, f"the token signs the proposal: {p.stdout}")
        approve(b, s, gun, pending(b, s, gun)[0]["id"], key=kb)
        root = root_doc(s, gun)
        eq((root["signed"]["roles"]["root"]["threshold"], sorted(x["keyid"] for x in root["signatures"])),
           (2, sorted([root_id, idb])), "root 2 of 2: signed by the token key and b")
        owner.run("trust", "threshold", "--server", s.url, gun, "timestamp", "1", env=env)
        approve(b, s, gun, pending(b, s, gun)[0]["id"], key=kb)
        eq(root_doc(s, gun)["signed"]["version"], 4, "another root change, token and file")
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader follows roots 1 -> 4")
        p = owner.run("trust", "hsm", "import", "--token", "root-token", gun, env=env, ok=False)
        eq(p.returncode, 1, "no root key file left to import")
    finally:
        owner.cleanup()
        b.cleanup()
        reader.cleanup()
        h.cleanup()


@test(slow=True)
def trust_threshold_ci_signs_from_token(s):
    """A CI delegation key generated on a PKCS#11 token (SoftHSM2) never leaves it: the pipeline
    signs with --key pkcs11:token=..;object=.. and no terminal; here as the second of 2 signatures."""
    from test_trust_hsm import MODULE, PIN, SoftHSM
    check(have("softhsm2-util") and os.path.exists(MODULE) and have("pkcs11-tool"), "softhsm2 and opensc")
    h = SoftHSM()
    gun = f"{s.addr}/thr/citoken"
    owner, ci1, ci2 = Wharf(), Wharf(), Wharf()
    try:
        h.init_token("ci-token")
        p = h.tool("--login", "--pin", PIN, "--token-label", "ci-token", "--keypairgen", "--key-type", "EC:prime256v1",
                   "--label", "ci-key")
        eq(p.returncode, 0, f"key pair on the token: {p.stderr}")
        der = os.path.join(ci2.home, "ci.der")
        eq(h.tool("--token-label", "ci-token", "--read-object", "--type", "pubkey", "--label", "ci-key", "-o",
                  der).returncode, 0, "public key read from the token")
        pem = os.path.join(ci2.home, "ci-token.pem")
        subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", der, "-out", pem], check=True)
        init(owner, s, gun)
        k1, _ = new_key(ci1, "ci1.key")
        owner.run("trust", "signer", "add", "--server", s.url, gun, "ci1", k1 + ".pub", env=OWNER)
        owner.run("trust", "signer", "add", "--server", s.url, gun, "citoken", pem, env=OWNER)
        owner.run("trust", "threshold", "--server", s.url, gun, "targets/releases", "2", env=OWNER)
        uri = "pkcs11:token=ci-token;object=ci-key"
        token_env = {"SOFTHSM2_CONF": h.conf, "WHARF_PKCS11_MODULE": MODULE}
        p = no_terminal(ci2, "trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", uri, "--digest",
                        HEX_A, "--size", "10", f"{gun}:v1", env=token_env)
        eq(p.returncode, 1, f"no PIN variable and no terminal: {p.stderr}")
        check("WHARF_PKCS11_PIN" in p.stderr, f"the message names the variable: {p.stderr}")
        p = no_terminal(ci2, "trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", uri, "--digest",
                        HEX_A, "--size", "10", f"{gun}:v1", env={**token_env, "WHARF_PKCS11_PIN": PIN})
        eq(p.returncode, 0, f"the token signs the proposal: {p.stderr}")
        check("pending change" in p.stdout, f"1 of 2: {p.stdout}")
        cid = json.loads(no_terminal(ci1, "trust", "pending", "--server", s.url, "--json", gun).stdout)["pending"][0]["id"]
        p = no_terminal(ci1, "trust", "approve", "--server", s.url, "--key", k1, gun, str(cid), env=DELEG)
        eq(p.returncode, 0, f"the file key approves: {p.stderr}")
        eq(ls(s, gun)["v1"]["role"], "targets/releases", "v1 signed by the token key and the file key")
        # And the other way round: the token key approves a change proposed by the file key.
        p = no_terminal(ci1, "trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", k1, "--digest",
                        HEX_B, "--size", "11", f"{gun}:v2", env=DELEG)
        eq(p.returncode, 0, f"the file key proposes: {p.stderr}")
        cid = json.loads(no_terminal(ci2, "trust", "pending", "--server", s.url, "--json", gun).stdout)["pending"][0]["id"]
        p = no_terminal(ci2, "trust", "approve", "--server", s.url, "--key", uri, gun, str(cid),
                        env={**token_env, "WHARF_PKCS11_PIN": PIN})
        eq(p.returncode, 0, f"the token key approves: {p.stderr}")
        eq(ls(s, gun)["v2"]["digest"], HEX_B, "v2 published")
    finally:
        owner.cleanup()
        ci1.cleanup()
        ci2.cleanup()
        h.cleanup()
