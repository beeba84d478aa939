"""Content trust: delegated signers (`wharf trust signer add|remove`) and CI signing.

The repository owner adds a signer (targets/NAME plus the keys in targets/releases, as docker
trust signer add does); a CI job with its own WHARF_HOME, holding nothing but the delegation key
file and its passphrase variable, signs a tag into targets/releases. wharf, the real notary client
and `wharf pull` resolve the tag through targets/releases. Path-restricted signers are held to
their paths by the server; removing a signer (also one whose threshold its remaining keys could
not meet) makes its signatures stop counting.
"""
import json
import os
import subprocess

from harness import check, eq, sha256, test
from test_trust_client import Notary, Wharf, get, have
from trustkit import ls, no_terminal

OWNER = {"WHARF_ROOT_PASSPHRASE": "sig-root-pass", "WHARF_TARGETS_PASSPHRASE": "sig-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "sig-snapshot-pass"}
DPASS = "ci-delegation-pass"
CI = {"WHARF_DELEGATION_PASSPHRASE": DPASS}


def init(w, s, gun):
    # Signers hold no snapshot key: the server makes the snapshot (as docker trust does).
    w.run("trust", "init", "--server", s.url, "--server-managed-snapshot", gun, env=OWNER)


def new_key(w, name):
    path = os.path.join(w.home, name)
    p = w.run("trust", "key", "generate", "--out", path, env={"WHARF_KEY_PASSPHRASE": DPASS})
    return path, p.stdout.strip()


def targets_doc(s, gun):
    return json.loads(get(s, gun, "targets.json"))["signed"]


def delegation(s, gun, role):
    for d in (targets_doc(s, gun).get("delegations") or {}).get("roles") or []:
        if d["name"] == role:
            return d
    return None


def ci_sign(ci, s, gun, role, key, tag, digest, size, ok=True):
    return ci.run("trust", "sign", "--server", s.url, "--role", role, "--key", key, "--digest", digest, "--size",
                  str(size), f"{gun}:{tag}", env=CI, ok=ok)


@test
def trust_signer_usage(s):
    w = Wharf()
    try:
        eq(w.run("trust", "signer", ok=False).returncode, 2, "signer without a command")
        eq(w.run("trust", "signer", "add", "a/b", "ci", ok=False).returncode, 2, "add without a key file")
        eq(w.run("trust", "signer", "add", "a/b", "releases", "k.pub", ok=False).returncode, 2, "the name releases")
        eq(w.run("trust", "signer", "add", "a/b", "x/y", "k.pub", ok=False).returncode, 2, "a name with '/'")
        eq(w.run("trust", "signer", "remove", "a/b", ok=False).returncode, 2, "remove without a name")
        eq(w.run("trust", "signer", "add", "--threshold", "0", "a/b", "ci", "k.pub", ok=False).returncode, 2,
           "threshold 0")
        eq(w.run("trust", "sign", "--role", "targets/releases", "a/b:v1", ok=False).returncode, 2, "--role without --key")
        eq(w.run("trust", "sign", "--role", "root", "--key", "k", "a/b:v1", ok=False).returncode, 2,
           "--role that is not delegated")
        check("signer add|list|remove" in w.run("trust", "--help").stdout, "wharf trust --help lists signer")
        eq(w.run("trust", "signer", "list", ok=False).returncode, 2, "list without a GUN")
        eq(w.run("trust", "signer", "list", "--server", s.url, f"{s.addr}/sig/none", ok=False).returncode, 1,
           "list of a GUN without trust data")
        check("--path" in w.run("trust", "signer", "--help").stdout, "signer --help")
        check("--role" in w.run("trust", "sign", "--help").stdout, "sign --help shows --role")
        junk = os.path.join(w.home, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a key\n")
        p = w.run("trust", "signer", "add", "--server", s.url, f"{s.addr}/sig/none", "ci", junk, ok=False)
        eq(p.returncode, 1, "a key file with no key")
        check("junk.pem" in p.stderr, f"the message names the file: {p.stderr}")
    finally:
        w.cleanup()


@test(slow=True)
def trust_signer_ci_signs_into_releases(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/sig/app"
    digest, raw = s.push_image("sig/app", "v1", layers=(b"signer layer",))
    size = len(raw)
    owner, ci = Wharf(), Wharf()
    try:
        init(owner, s, gun)
        key, key_id = new_key(ci, "ci.key")
        p = owner.run("trust", "signer", "add", "--server", s.url, gun, "ci", key + ".pub", env=OWNER)
        check("targets/ci" in p.stdout and "targets/releases" in p.stdout and key_id in p.stdout,
              f"signer add shows both roles and the key: {p.stdout}")
        listed = json.loads(ci.run("trust", "signer", "list", "--server", s.url, "--json", gun).stdout)
        eq([(x["role"], x["keyids"], x["threshold"], x["version"]) for x in listed["delegations"]],
           [("targets/ci", [key_id], 1, 0), ("targets/releases", [key_id], 1, 0)], "signer list: nothing published yet")
        check("targets/ci" in ci.run("trust", "signer", "list", "--server", s.url, gun).stdout, "signer list (text)")
        for role in ("targets/ci", "targets/releases"):
            d = delegation(s, gun, role)
            check(d is not None, f"targets delegates {role}")
            eq(d["keyids"], [key_id], f"{role} keys")
            eq(d["threshold"], 1, f"{role} threshold")
            eq(d["paths"], [""], f"{role} paths: all")

        # The CI job: its own WHARF_HOME with the key file only, the passphrase from the variable.
        check(not os.path.exists(os.path.join(ci.home, "keys")), "the CI home holds no repository keys")
        sign_args = ("trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", key, f"{gun}:v1")
        p = no_terminal(ci, *sign_args)
        eq(p.returncode, 1, f"no passphrase variable and no terminal: {p.stderr}")
        check("WHARF_DELEGATION_PASSPHRASE" in p.stderr, f"the message names the variable: {p.stderr}")
        p = no_terminal(ci, *sign_args, env=CI)  # digest and size from the registry
        eq(p.returncode, 0, f"CI sign with the variable and no terminal: {p.stderr}")
        check("into targets/releases" in p.stdout and digest in p.stdout, f"CI sign output: {p.stdout}")
        rel = json.loads(get(s, gun, "targets/releases.json"))
        eq([x["keyid"] for x in rel["signatures"]], [key_id], "targets/releases signed by the CI key")
        eq(rel["signed"]["targets"]["v1"]["length"], size, "targets/releases signs v1")
        check("v1" not in targets_doc(s, gun)["targets"], "targets itself does not sign v1")
        listed = json.loads(ci.run("trust", "signer", "list", "--server", s.url, "--json", gun).stdout)
        eq([x["version"] for x in listed["delegations"]], [0, 1], "signer list: targets/releases version 1")

        listed = ls(s, gun)
        eq(listed["v1"]["role"], "targets/releases", "wharf trust ls: v1 from targets/releases")
        eq(listed["v1"]["digest"], digest, "wharf trust ls: v1 digest")
        n = Notary(s.url)
        try:
            out = n.run("list", gun).stdout
            check("v1" in out and digest.split(":")[1] in out and "targets/releases" in out,
                  f"notary list (fresh trust dir) shows v1 from targets/releases: {out}")
        finally:
            n.cleanup()
        puller = Wharf()
        try:
            out = json.loads(puller.run("pull", "--json", f"{gun}:v1").stdout)
            eq(out["digest"], digest, "wharf pull: the signed digest")
            eq(out["signedBy"], "targets/releases", "wharf pull resolves through targets/releases")
            eq(puller.run("trust", "ls", "--server", s.url, gun).returncode, 0, "the puller's ls")
        finally:
            puller.cleanup()

        # A second CI run: the next version of targets/releases, v1 revoked from it by the key.
        ci.run("trust", "revoke", "--server", s.url, "--role", "targets/releases", "--key", key, f"{gun}:v1", env=CI)
        check("v1" not in ls(s, gun), "revoked from targets/releases")
        ci_sign(ci, s, gun, "targets/releases", key, "v1", digest, size)
        eq(json.loads(get(s, gun, "targets/releases.json"))["signed"]["version"], 3, "targets/releases version 3")

        # Removing the signer: its signature no longer counts, for wharf, notary and pull.
        p = owner.run("trust", "signer", "remove", "--server", s.url, gun, "ci", env=OWNER)
        check("signer removed" in p.stdout, f"signer remove output: {p.stdout}")
        eq(delegation(s, gun, "targets/ci"), None, "targets/ci no longer delegated")
        eq(delegation(s, gun, "targets/releases"), None, "targets/releases (no key left) no longer delegated")
        check("v1" not in ls(s, gun), "wharf trust ls no longer lists v1")
        check("v1" not in owner.run("trust", "ls", "--server", s.url, gun).stdout, "the owner's ls (trusted before)")
        n = Notary(s.url)
        try:
            out = n.run("list", gun).stdout
            check("v1" not in out, f"notary list no longer shows v1: {out}")
        finally:
            n.cleanup()
        puller = Wharf()
        try:
            p = puller.run("pull", f"{gun}:v1", ok=False)
            eq(p.returncode, 1, "pull of a tag only a removed signer signed")
            check("not signed" in p.stderr, f"pull message: {p.stderr}")
        finally:
            puller.cleanup()
        p = ci_sign(ci, s, gun, "targets/releases", key, "v2", digest, size, ok=False)
        eq(p.returncode, 1, "the removed signer can no longer sign")
        # The owner signs v1 into targets: ls lists it from targets only.
        owner.run("trust", "sign", "--server", s.url, "--digest", digest, "--size", str(size), f"{gun}:v1", env=OWNER)
        eq(ls(s, gun)["v1"]["role"], "targets", "v1 from targets")
    finally:
        owner.cleanup()
        ci.cleanup()


def openssl(*args, stdin=None):
    return subprocess.run(["openssl"] + list(args), input=stdin, capture_output=True, check=True).stdout


@test
def trust_signer_path_restricted_and_certificate(s):
    gun = f"{s.addr}/sig/paths"
    owner, ci = Wharf(), Wharf()
    try:
        init(owner, s, gun)
        key, key_id = new_key(ci, "web.key")
        pem = os.path.join(ci.home, "web-public.pem")
        with open(pem, "wb") as f:
            f.write(openssl("pkey", "-in", key, "-passin", f"pass:{DPASS}", "-pubout"))
        p = owner.run("trust", "signer", "add", "--server", s.url, "--path", "release-", "--path", "rc/", gun, "web",
                      pem, env=OWNER)
        d = delegation(s, gun, "targets/web")
        eq(d["keyids"], [key_id], "a PEM public key has the key ID of the wharf key")
        eq(d["paths"], ["release-", "rc/"], "the delegated paths")
        eq(delegation(s, gun, "targets/releases"), None, "a path-restricted signer is not added to releases")
        hex_a = "sha256:" + "ab" * 32
        ci_sign(ci, s, gun, "targets/web", key, "release-1", hex_a, 100)
        before = get(s, gun, "targets/web.json")
        p = ci_sign(ci, s, gun, "targets/web", key, "v2", hex_a, 100, ok=False)
        eq(p.returncode, 1, "a tag outside the paths")
        check("outside its delegated paths" in p.stderr, f"the server's refusal: {p.stderr}")
        eq(get(s, gun, "targets/web.json"), before, "nothing stored")
        eq(ls(s, gun)["release-1"]["role"], "targets/web", "release-1 from targets/web")

        # A signer added by certificate signs with the bare private key file.
        ckey, _ = new_key(ci, "cert.key")
        plain = openssl("pkey", "-in", ckey, "-passin", f"pass:{DPASS}")
        cert = os.path.join(ci.home, "cert.pem")
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", "/dev/stdin", "-subj", "/CN=ci-signer", "-days",
                        "30", "-out", cert], input=plain, capture_output=True, check=True)
        owner.run("trust", "signer", "add", "--server", s.url, gun, "certci", cert, env=OWNER)
        rel = delegation(s, gun, "targets/releases")
        eq(len(rel["keyids"]), 1, "the certificate key in releases")
        keytype = targets_doc(s, gun)["delegations"]["keys"][rel["keyids"][0]]["keytype"]
        eq(keytype, "ecdsa-x509", "a certificate delegation key")
        ci_sign(ci, s, gun, "targets/releases", ckey, "v3", hex_a, 7)
        eq(ls(s, gun)["v3"]["role"], "targets/releases", "signed with the key of a certificate")
    finally:
        owner.cleanup()
        ci.cleanup()


@test
def trust_signer_threshold_revocation(s):
    gun = f"{s.addr}/sig/threshold"
    owner, ci = Wharf(), Wharf()
    try:
        init(owner, s, gun)
        k1, id1 = new_key(ci, "k1.key")
        k2, id2 = new_key(ci, "k2.key")
        p = owner.run("trust", "signer", "add", "--server", s.url, "--threshold", "3", gun, "bob", k1 + ".pub",
                      k2 + ".pub", env=OWNER, ok=False)
        eq(p.returncode, 1, "a threshold above the number of keys")
        owner.run("trust", "signer", "add", "--server", s.url, "--threshold", "2", gun, "bob", k1 + ".pub",
                  k2 + ".pub", env=OWNER)
        d = delegation(s, gun, "targets/bob")
        eq((sorted(d["keyids"]), d["threshold"]), (sorted([id1, id2]), 2), "targets/bob: 2 of 2")
        p = ci_sign(ci, s, gun, "targets/bob", k1, "v1", "sha256:" + "cd" * 32, 5)
        check("pending change" in p.stdout and "1 of 2" in p.stdout, f"one key only proposes in a 2-of-2 role: {p.stdout}")
        check("v1" not in ls(s, gun), "a 2-of-2 role signs nothing with one signature")
        # k1 is compromised: revoking it must not be blocked by the threshold.
        owner.run("trust", "signer", "remove", "--server", s.url, "--key", id1[:12], gun, "bob", env=OWNER)
        d = delegation(s, gun, "targets/bob")
        eq((d["keyids"], d["threshold"]), ([id2], 1), "targets/bob: threshold lowered to the remaining key")
        eq(delegation(s, gun, "targets/releases")["keyids"], [id2], "k1 left targets/releases too")
        check(id1 not in targets_doc(s, gun)["delegations"]["keys"], "the revoked key is gone from the keys")
        p = ci_sign(ci, s, gun, "targets/releases", k1, "v1", "sha256:" + "cd" * 32, 5, ok=False)
        eq(p.returncode, 1, "the revoked key signs nothing")
        ci_sign(ci, s, gun, "targets/releases", k2, "v1", "sha256:" + "cd" * 32, 5)
        eq(ls(s, gun)["v1"]["role"], "targets/releases", "the remaining key signs")
        # And the whole signer goes.
        p = owner.run("trust", "signer", "remove", "--server", s.url, gun, "bob", env=OWNER)
        check("signer removed" in p.stdout, f"remove output: {p.stdout}")
        eq(delegation(s, gun, "targets/bob"), None, "targets/bob removed")
        eq(delegation(s, gun, "targets/releases"), None, "targets/releases removed")
        check("v1" not in ls(s, gun), "v1 no longer listed")
        p = owner.run("trust", "signer", "remove", "--server", s.url, gun, "bob", env=OWNER, ok=False)
        eq(p.returncode, 1, "removing a signer that is gone")
    finally:
        owner.cleanup()
        ci.cleanup()


@test
def trust_signer_revoked_signature_stops_counting_other_signers_go_on(s):
    gun = f"{s.addr}/sig/two"
    owner, ci = Wharf(), Wharf()
    hex_a, hex_c = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
    try:
        init(owner, s, gun)
        ka, _ = new_key(ci, "alice.key")
        kb, idb = new_key(ci, "bob.key")
        owner.run("trust", "signer", "add", "--server", s.url, gun, "alice", ka + ".pub", env=OWNER)
        owner.run("trust", "signer", "add", "--server", s.url, gun, "bob", kb + ".pub", env=OWNER)
        ci_sign(ci, s, gun, "targets/releases", ka, "v1", hex_a, 5)
        eq(ls(s, gun)["v1"]["role"], "targets/releases", "alice signed v1")
        reader = Wharf()  # trusted the repository while alice's signature counted
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader sees v1")
        # alice is compromised: bob stays; targets/releases (signed by alice alone) signs nothing now.
        p = owner.run("trust", "signer", "remove", "--server", s.url, gun, "alice", env=OWNER)
        check("no longer signed" in p.stderr, f"remove warns about targets/releases: {p.stderr}")
        eq(delegation(s, gun, "targets/releases")["keyids"], [idb], "bob's key stays in releases")
        check("v1" not in ls(s, gun), "a fresh client: v1 no longer listed")
        check("v1" not in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader: v1 gone")
        # bob signs into targets/releases again, above the version the server stores.
        ci_sign(ci, s, gun, "targets/releases", kb, "v2", hex_c, 6)
        eq(json.loads(get(s, gun, "targets/releases.json"))["signed"]["version"], 2, "releases version 2")
        listed = ls(s, gun)
        check("v1" not in listed and listed["v2"]["role"] == "targets/releases", f"bob's v2 only: {listed}")
        # Every signer removed, then a new one added: the stale releases does not count either.
        owner.run("trust", "signer", "remove", "--server", s.url, gun, "bob", env=OWNER)
        kc, _ = new_key(ci, "carol.key")
        owner.run("trust", "signer", "add", "--server", s.url, gun, "carol", kc + ".pub", env=OWNER)
        check("v2" not in ls(s, gun), "bob's v2 does not count for carol's releases")
        ci_sign(ci, s, gun, "targets/releases", kc, "v3", hex_a, 7)
        eq(sorted(ls(s, gun)), ["v3"], "carol's v3 only")
        reader.cleanup()
    finally:
        owner.cleanup()
        ci.cleanup()
