"""Content trust: key rotation by `wharf trust rotate`, and the `wharf trust key` verbs.

A repository initialised and signed by `wharf trust`, then every role rotated (root twice). A
wharf client and the real `notary` client that trusted the first root must follow the chain of
roots; the old root key alone must not be able to move the repository on, neither through the
server nor through a malicious server in front of it.
"""
import json
import os
import shutil
import subprocess

from harness import check, eq, test
from test_trust import multipart
from test_trust_client import HEX_A, HEX_C, PASS, WPASS, Evil, Notary, Wharf, fresh_notary_sees, get, have, refused
from trustkit import canonical, ecdsa_sign


def root_version(s, gun):
    return json.loads(get(s, gun, "root.json"))["signed"]["version"]


def keyids(s, gun, role):
    return json.loads(get(s, gun, "root.json"))["signed"]["roles"][role]["keyids"]


def rotate(w, s, gun, role, *extra):
    before = root_version(s, gun)
    p = w.run("trust", "rotate", "--server", s.url, *extra, gun, role, env=WPASS)
    check(f"rotated the {role} key" in p.stdout, f"rotate {role}: {p.stdout}")
    eq(root_version(s, gun), before + 1, f"rotate {role}: root version")
    ids = keyids(s, gun, role)
    eq(len(ids), 1, f"rotate {role}: one key")
    check(ids[0] in p.stdout, f"rotate {role} prints the new key ID {ids[0]}: {p.stdout}")
    return ids[0]


def old_key_root(s, gun, old_key_file, old_root_id, old_root_key):
    """The next root version, naming the old root key as root and signed by it alone."""
    doc = json.loads(get(s, gun, "root.json"))
    signed = doc["signed"]
    signed["version"] += 1
    signed["keys"][old_root_id] = old_root_key
    del signed["keys"][signed["roles"]["root"]["keyids"][0]]
    signed["roles"]["root"] = {"keyids": [old_root_id], "threshold": 1}
    sig = ecdsa_sign(old_key_file, WPASS["WHARF_ROOT_PASSPHRASE"], canonical(signed))
    return json.dumps({"signed": signed, "signatures": [{"keyid": old_root_id, "method": "ecdsa", "sig": sig}]},
                      separators=(",", ":")).encode()


@test
def trust_rotate_usage(s):
    w = Wharf()
    try:
        eq(w.run("trust", "rotate", ok=False).returncode, 2, "rotate without arguments")
        eq(w.run("trust", "rotate", "a/b", ok=False).returncode, 2, "rotate without a role")
        eq(w.run("trust", "rotate", "a/b", "nonsense", ok=False).returncode, 2, "an unknown role")
        eq(w.run("trust", "rotate", "--server-managed", "a/b", "targets", ok=False).returncode, 2,
           "a server-managed targets key")
        eq(w.run("trust", "rotate", "--server-managed", "a/b", "root", ok=False).returncode, 2,
           "a server-managed root key")
        check("--server-managed" in w.run("trust", "rotate", "--help").stdout, "rotate --help")
        check("rotate" in w.run("trust", "--help").stdout, "wharf trust --help lists rotate")
        p = w.run("trust", "rotate", "--server", s.url, f"{s.addr}/nothing/here", "targets", ok=False)
        eq(p.returncode, 1, "a GUN without trust data")
    finally:
        w.cleanup()


@test(slow=True)
def trust_rotate_every_role_followed_by_old_clients(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/rot/app"
    w, old, n_old = Wharf(), Wharf(), Notary(s.url)
    evil = Evil(s.url)
    try:
        w.run("trust", "init", "--server", s.url, gun, env=WPASS)
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "10", f"{gun}:v1",
              env=WPASS)
        # Two clients trust root version 1: a wharf client and notary with its own trust directory.
        check("v1" in old.run("trust", "ls", "--server", s.url, gun).stdout, "old wharf client")
        check(HEX_A in n_old.run("list", gun).stdout, "old notary client")
        keydir = os.path.join(w.home, "keys", os.listdir(os.path.join(w.home, "keys"))[0])
        saved = os.path.join(old.home, "old-root.key")
        shutil.copy(os.path.join(keydir, "root.key"), saved)
        v1 = json.loads(get(s, gun, "1.root.json"))["signed"]
        old_root_id = v1["roles"]["root"]["keyids"][0]

        # targets: a new client-held key; targets re-signed by it.
        targets_id = rotate(w, s, gun, "targets")
        eq(json.loads(get(s, gun, "targets.json"))["signatures"][0]["keyid"], targets_id, "targets re-signed")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "20", f"{gun}:v2",
              env=WPASS)
        # snapshot: a new client-held key, then to the server, then back here.
        snap_id = rotate(w, s, gun, "snapshot")
        eq(json.loads(get(s, gun, "snapshot.json"))["signatures"][0]["keyid"], snap_id, "snapshot signed by the new key")
        server_snap = rotate(w, s, gun, "snapshot", "--server-managed")
        check(not os.path.exists(os.path.join(keydir, "snapshot.key")), "the client's snapshot key is gone")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "30", f"{gun}:v3",
              env=WPASS)
        eq(json.loads(get(s, gun, "snapshot.json"))["signatures"][0]["keyid"], server_snap, "the server signs snapshot")
        rotate(w, s, gun, "snapshot")
        check(os.path.exists(os.path.join(keydir, "snapshot.key")), "a client snapshot key again")
        # timestamp: always the server's.
        ts_id = rotate(w, s, gun, "timestamp")
        eq(json.loads(get(s, gun, "timestamp.json"))["signatures"][0]["keyid"], ts_id, "timestamp signed by the new key")
        # root, twice: each new root signed by the old and the new root key.
        for _ in range(2):
            prev = keyids(s, gun, "root")[0]
            new = rotate(w, s, gun, "root")
            sigs = {x["keyid"] for x in json.loads(get(s, gun, "root.json"))["signatures"]}
            eq(sigs, {prev, new}, "the new root is signed by the old and the new root key")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "40", f"{gun}:v4",
              env=WPASS)
        final = root_version(s, gun)
        eq(final, 8, "seven rotations")

        # The clients that trusted version 1 walk the chain.
        out = old.run("trust", "ls", "--server", s.url, gun).stdout
        check(all(t in out for t in ("v1", "v2", "v3", "v4")), f"old wharf client after the rotations: {out}")
        roots = [v for k, v in old.stored().items() if k.endswith("/root.json")]
        eq(json.loads(roots[0])["signed"]["version"], final, "the old wharf client walked to the newest root")
        out = n_old.run("list", gun).stdout
        check(all(t in out for t in ("v1", "v2", "v3", "v4")), f"old notary client after the rotations: {out}")
        fresh_notary_sees(s.url, gun, "v4", HEX_C, 40)

        # The old root key alone cannot move the repository on.
        crafted = old_key_root(s, gun, saved, old_root_id, v1["keys"][old_root_id])
        body, headers = multipart([("root", crafted)])
        r = s.request("POST", f"/v2/{gun}/_trust/tuf/", body=body, headers=headers)
        eq(r.status, 400, f"the server refuses a root signed by the old root key: {r.body[:300]!r}")
        err = r.json()["errors"][0]
        eq(err["code"], "INVALID_UPDATE", "error code")
        check(f"root version {final + 1}" in err["message"], f"message names the root: {err['message']}")
        eq(root_version(s, gun), final, "the server's root is unchanged")
        evil.rules = {"root.json": crafted, f"{final + 1}.root.json": crafted}
        refused(old, ["trust", "ls", "--server", evil.url, gun],
                [f"root version {final + 1}", f"not signed by the keys of trusted root version {final}"],
                "a malicious server serving a root signed by the old root key")
        # ...nor can a client that still holds the old root key rotate anything.
        stale = Wharf()
        try:
            shutil.copytree(os.path.join(w.home, "keys"), os.path.join(stale.home, "keys"))
            shutil.copy(saved, os.path.join(stale.home, "keys", os.path.basename(keydir), "root.key"))
            os.unlink(os.path.join(stale.home, "keys", os.path.basename(keydir), "root.key.pub"))
            p = stale.run("trust", "rotate", "--server", s.url, gun, "targets", ok=False, env=WPASS)
            eq(p.returncode, 1, "rotate with the old root key")
            check("not a root key" in p.stderr, f"message: {p.stderr}")
        finally:
            stale.cleanup()
        eq(root_version(s, gun), final, "still the same root")
        check("v4" in old.run("trust", "ls", "--server", s.url, gun).stdout, "the honest server again")
    finally:
        evil.close()
        n_old.cleanup()
        old.cleanup()
        w.cleanup()


@test(slow=True)
def trust_rotate_server_managed_snapshot_at_init(s):
    """A repository whose snapshot the server holds from the start: rotating root and targets
    leaves the snapshot to the server; rotating snapshot brings it to the client."""
    gun = f"{s.addr}/rot/managed"
    w, old = Wharf(), Wharf()
    try:
        w.run("trust", "init", "--server-managed-snapshot", "--server", s.url, gun, env=WPASS)
        old.run("trust", "ls", "--server", s.url, gun)
        rotate(w, s, gun, "root")
        rotate(w, s, gun, "targets")
        rotate(w, s, gun, "snapshot", "--server-managed")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "5", f"{gun}:v1",
              env=WPASS)
        rotate(w, s, gun, "snapshot")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "6", f"{gun}:v2",
              env=WPASS)
        out = old.run("trust", "ls", "--server", s.url, gun).stdout
        check("v1" in out and "v2" in out, f"old client: {out}")
        if have("notary"):
            fresh_notary_sees(s.url, gun, "v2", HEX_C, 6)
    finally:
        old.cleanup()
        w.cleanup()


# ---------------------------------------------------------------------------------------------
# wharf trust key generate | list | export | import

KPASS = "key-file-pass"


def key_list(w):
    return json.loads(w.run("trust", "key", "list", "--json").stdout)["keys"]


def notary_key_file(n, role):
    """The notary client's private key file of role (notary writes a "role: ..." PEM header)."""
    top = os.path.join(n.dir, "private")
    for root, _, files in os.walk(top):
        for f in files:
            with open(os.path.join(root, f)) as fh:
                if f"role: {role}\n" in fh.read():
                    return os.path.join(root, f)
    raise AssertionError(f"notary holds no {role} key under {top}")


@test
def trust_key_generate(s):
    w = Wharf()
    try:
        for kind in ("ecdsa", "ed25519", "rsa"):
            out = os.path.join(w.home, f"{kind}.key")
            p = w.run("trust", "key", "generate", "--type", kind, "--out", out, env={"WHARF_KEY_PASSPHRASE": KPASS})
            kid = p.stdout.strip()
            eq(len(kid), 64, f"{kind}: prints the key ID")
            eq(os.stat(out).st_mode & 0o777, 0o600, f"{kind}: key file mode")
            with open(out) as fh:
                check("ENCRYPTED PRIVATE KEY" in fh.read(), f"{kind}: encrypted PKCS#8")
            with open(out + ".pub") as fh:
                pub = json.load(fh)
            eq(pub["keytype"], kind, f"{kind}: public key type")
            eq(pub["keyval"]["private"], None, f"{kind}: no private material in the public file")
            # openssl reads it with the passphrase, and not without.
            subprocess.run(["openssl", "pkey", "-in", out, "-passin", f"pass:{KPASS}", "-noout"], check=True,
                           capture_output=True)
            bad = subprocess.run(["openssl", "pkey", "-in", out, "-passin", "pass:wrong", "-noout"],
                                 capture_output=True)
            check(bad.returncode != 0, f"{kind}: a wrong passphrase does not open it")
        kid = w.run("trust", "key", "generate", env={"WHARF_KEY_PASSPHRASE": KPASS}).stdout.strip()
        eq([(k["gun"], k["role"], k["id"], k["type"]) for k in key_list(w)], [(None, None, kid, "ecdsa")],
           "a generated key without --out is listed")
        eq(w.run("trust", "key", "generate", "--type", "dsa", ok=False).returncode, 2, "an unknown key type")
        eq(w.run("trust", "key", "frob", ok=False).returncode, 2, "an unknown key command")
        eq(w.run("trust", "key", "export", "a/b", ok=False).returncode, 2, "export without a role")
        p = subprocess.run(["setsid", w.bin, "trust", "key", "generate"], env=dict(os.environ, WHARF_HOME=w.home),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        eq(p.returncode, 1, "no passphrase and no terminal")
        check("WHARF_KEY_PASSPHRASE" in p.stderr, f"message names the variable: {p.stderr}")
    finally:
        w.cleanup()


@test(slow=True)
def trust_key_list_export_import_round_trip(s):
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/keys/app"
    w, w2 = Wharf(), Wharf()
    try:
        w.run("trust", "init", "--server", s.url, gun, env=WPASS)
        root = json.loads(get(s, gun, "root.json"))["signed"]
        listed = {k["role"]: k for k in key_list(w)}
        eq(sorted(listed), ["root", "snapshot", "targets"], "key list roles")
        for role in listed:
            eq(listed[role]["gun"], gun, f"{role}: GUN")
            eq(listed[role]["id"], root["roles"][role]["keyids"][0], f"{role}: the key ID root lists")
        eq(listed["root"]["type"], "ecdsa-x509", "root key type")
        text = w.run("trust", "key", "list").stdout
        check(gun in text and root["roles"]["targets"]["keyids"][0] in text, f"key list: {text}")
        check("PRIVATE" not in text, "no private material in the listing")

        # export: the stored encrypted file as it is, or the public key JSON.
        keydir = os.path.dirname(listed["targets"]["file"])
        exported = {}
        for role in ("root", "targets", "snapshot"):
            f = os.path.join(w2.home, f"{role}.export")
            w.run("trust", "key", "export", "--out", f, gun, role)
            with open(f, "rb") as a, open(os.path.join(keydir, f"{role}.key"), "rb") as b:
                eq(a.read(), b.read(), f"{role}: export is the stored file")
            eq(os.stat(f).st_mode & 0o777, 0o600, f"{role}: exported file mode")
            exported[role] = f
        pub = json.loads(w.run("trust", "key", "export", "--public", gun, "root").stdout)
        eq(pub, root["keys"][listed["root"]["id"]], "export --public gives root's certificate key")
        p = w.run("trust", "key", "export", gun, "delegation", ok=False)
        eq(p.returncode, 1, "exporting a key this client does not hold")

        # import into a fresh WHARF_HOME with new passphrases, then sign and rotate from there.
        new = {"WHARF_ROOT_PASSPHRASE": "r2", "WHARF_TARGETS_PASSPHRASE": "t2", "WHARF_SNAPSHOT_PASSPHRASE": "s2"}
        for role, var in (("targets", "WHARF_TARGETS_PASSPHRASE"), ("snapshot", "WHARF_SNAPSHOT_PASSPHRASE"),
                          ("root", "WHARF_ROOT_PASSPHRASE")):
            w2.run("trust", "key", "import", "--server", s.url, gun, role, exported[role],
                   env=dict(new, WHARF_KEY_PASSPHRASE=WPASS[var]))
        eq({k["role"]: k["id"] for k in key_list(w2)}, {r: listed[r]["id"] for r in listed}, "imported key IDs")
        p = w2.run("trust", "key", "import", gun, "targets", exported["targets"], ok=False,
                   env=dict(new, WHARF_KEY_PASSPHRASE=WPASS["WHARF_TARGETS_PASSPHRASE"]))
        eq(p.returncode, 1, "importing over a held key")
        check("--force" in p.stderr, f"message: {p.stderr}")
        p = w2.run("trust", "key", "import", "--force", gun, "targets", exported["targets"], ok=False,
                   env=dict(new, WHARF_KEY_PASSPHRASE="wrong"))
        eq(p.returncode, 1, "a wrong passphrase")
        check("wrong passphrase" in p.stderr, f"message: {p.stderr}")
        w2.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "11", f"{gun}:v1", env=new)
        fresh_notary_sees(s.url, gun, "v1", HEX_A, 11)
        p = w2.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "11", f"{gun}:v9",
                   ok=False, env=WPASS)
        check("wrong passphrase" in p.stderr, f"re-encrypted with the new passphrase: {p.stderr}")
        w2.run("trust", "rotate", "--server", s.url, gun, "root", env=new)
        check("v1" in w.run("trust", "ls", "--server", s.url, gun).stdout, "the first client follows")
        # A root key that is not one of the GUN's is refused.
        p = w2.run("trust", "key", "import", "--force", "--server", s.url, gun, "root", exported["targets"],
                   ok=False, env=dict(new, WHARF_KEY_PASSPHRASE=WPASS["WHARF_TARGETS_PASSPHRASE"]))
        eq(p.returncode, 1, "a targets key imported as root")
        check("not a root key" in p.stderr, f"message: {p.stderr}")

        # openssl's encrypted PKCS#8.
        ossl = os.path.join(w2.home, "openssl.key")
        raw = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                             check=True, capture_output=True).stdout
        subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", f"pass:{KPASS}", "-out", ossl],
                       input=raw, check=True, capture_output=True)
        w2.run("trust", "key", "import", f"{s.addr}/keys/other", "targets", ossl,
               env=dict(new, WHARF_KEY_PASSPHRASE=KPASS))
        other = [k for k in key_list(w2) if k["gun"] == f"{s.addr}/keys/other"]
        eq([(k["role"], k["type"]) for k in other], [("targets", "ecdsa")], "openssl's key imported")
    finally:
        w.cleanup()
        w2.cleanup()


@test(slow=True)
def trust_key_import_notary_keys_and_sign(s):
    """notary's own key files (PBKDF2 PKCS#8 with role/gun headers) imported; wharf signs a
    repository notary made, and notary reads it."""
    check(have("notary"), "the notary client is installed")
    gun = f"{s.addr}/keys/notary"
    n, w = Notary(s.url), Wharf()
    try:
        n.run("init", gun)
        n.run("publish", gun)
        for role, var in (("targets", "NOTARY_TARGETS_PASSPHRASE"), ("snapshot", "NOTARY_SNAPSHOT_PASSPHRASE")):
            w.run("trust", "key", "import", gun, role, notary_key_file(n, role),
                  env=dict(WPASS, WHARF_KEY_PASSPHRASE=PASS[var]))
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "21", f"{gun}:v1",
              env=WPASS)
        out = n.run("list", gun).stdout
        check("v1" in out and HEX_C in out, f"notary reads what wharf signed with notary's keys: {out}")
    finally:
        n.cleanup()
        w.cleanup()
