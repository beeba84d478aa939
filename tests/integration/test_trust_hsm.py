"""Content trust: root keys on PKCS#11 tokens (SoftHSM2), and the lost-token story.

Two SoftHSM2 tokens with a per-test configuration and token directory. The root key is made with
a backup and put on token A; the repository is initialised and signed with it; token A is lost
(its directory deleted); the backup goes into token B, which signs the next root rotation. A
wharf client and the real notary client that trusted the first root verify everything.
"""
import os
import shutil
import subprocess
import tempfile

from harness import check, eq, test
from test_trust_client import HEX_A, HEX_C, WPASS, Wharf, fresh_notary_sees, have

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"
HSM = {"WHARF_PKCS11_PIN": PIN, "WHARF_ROOT_BACKUP_PASSPHRASE": "the-copy-in-the-safe"}


class SoftHSM:
    """A SoftHSM2 configuration of its own: one token directory per token label."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wharf-hsm-")
        self.conf = os.path.join(self.dir, "softhsm2.conf")
        self.tokens = os.path.join(self.dir, "tokens")
        os.mkdir(self.tokens)
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {self.tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.env = {"SOFTHSM2_CONF": self.conf, "WHARF_PKCS11_MODULE": MODULE, **HSM}

    def init_token(self, label):
        before = set(os.listdir(self.tokens))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "5678"],
                       env=dict(os.environ, SOFTHSM2_CONF=self.conf), check=True, capture_output=True)
        return os.path.join(self.tokens, (set(os.listdir(self.tokens)) - before).pop())

    def tool(self, *args):
        return subprocess.run(["pkcs11-tool", "--module", MODULE] + list(args), env=dict(os.environ, SOFTHSM2_CONF=self.conf),
                              capture_output=True, text=True, timeout=60)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def env(h, **extra):
    return {**WPASS, **h.env, **extra}


@test(slow=True)
def trust_hsm_lost_token_backup_restore_rotate(s):
    check(have("softhsm2-util") and os.path.exists(MODULE), "softhsm2 is installed")
    check(have("pkcs11-tool"), "pkcs11-tool (opensc) is installed")
    h = SoftHSM()
    gun = f"{s.addr}/hsm/app"
    w, reader = Wharf(), Wharf()
    try:
        dir_a = h.init_token("token-a")
        h.init_token("token-b")
        out = w.run("trust", "hsm", "list", env=env(h)).stdout
        check("token-a" in out and "token-b" in out, f"hsm list shows both tokens: {out}")

        # The root key, made here with its backup, on token A.
        backup = os.path.join(w.home, "root-backup.pem")
        p = w.run("trust", "hsm", "generate-root", "--token", "token-a", "--backup", backup, gun, env=env(h))
        root_id = p.stdout.split()[2]
        eq(len(root_id), 64, f"generate-root prints the root key ID: {p.stdout}")
        eq(os.stat(backup).st_mode & 0o777, 0o600, "backup file mode")
        with open(backup) as f:
            text = f.read()
        check("ENCRYPTED PRIVATE KEY" in text and "BEGIN CERTIFICATE" in text, "backup: encrypted key and certificate")
        out = w.run("trust", "hsm", "list", "--token", "token-a", env=env(h)).stdout
        check(root_id in out and "sensitive,non-extractable" in out, f"hsm list shows the key on token A: {out}")
        p = w.run("trust", "hsm", "generate-root", "--token", "token-a", "--backup", backup, gun, ok=False, env=env(h))
        eq(p.returncode, 1, "generate-root refuses to overwrite a backup")

        # The private key cannot be read off the token: CKA_VALUE is refused, and pkcs11-tool sees a
        # sensitive key without the extractable flag.
        check("(CKA_VALUE: CKR_ATTRIBUTE_SENSITIVE)" in out, f"C_GetAttributeValue(CKA_VALUE) fails: {out}")
        p = h.tool("--token-label", "token-a", "--login", "--pin", PIN, "--list-objects", "--type", "privkey")
        access = [ln.split(":", 1)[1].strip().split(", ") for ln in p.stdout.splitlines() if "Access:" in ln]
        check(root_id in p.stdout and len(access) == 1 and "sensitive" in access[0] and "extractable" not in access[0],
              f"pkcs11-tool: a sensitive, non-extractable key: {p.stdout}")

        # A wrong PIN is refused with a clear message.
        p = w.run("trust", "hsm", "list", "--token", "token-a", ok=False, env=env(h, WHARF_PKCS11_PIN="9999"))
        eq(p.returncode, 1, "wrong PIN: exit status")
        check("wrong PIN" in p.stderr and "token-a" in p.stderr, f"wrong PIN message: {p.stderr}")

        # Publish with the root on token A; no root key file here.
        p = w.run("trust", "init", "--server", s.url, "--root-on-token", gun, env=env(h))
        check(root_id in p.stdout, f"init uses the token's root key {root_id}: {p.stdout}")
        keydir = [os.path.join(w.home, "keys", d) for d in os.listdir(os.path.join(w.home, "keys"))][0]
        check("root.key" not in os.listdir(keydir), f"no root key file: {os.listdir(keydir)}")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "11", f"{gun}:v1", env=WPASS)
        check("v1" in reader.run("trust", "ls", "--server", s.url, gun).stdout, "the reader trusts the first root")
        first_root = reader.run("trust", "inspect", "--json", "--server", s.url, gun).stdout
        check(root_id in first_root, "the reader's root lists the token key")

        # Token A is lost.
        shutil.rmtree(dir_a)
        p = w.run("trust", "rotate", "--server", s.url, gun, "targets", ok=False, env=env(h))
        eq(p.returncode, 1, f"with token A gone the root key is unavailable: {p.stderr}")
        check("token-a" in p.stderr, f"the message names the lost token: {p.stderr}")

        # The backup goes into a brand-new token B.
        p = w.run("trust", "hsm", "import", "--token", "token-b", gun, backup, env=env(h))
        check(root_id in p.stdout, f"import restores the same root key {root_id}: {p.stdout}")
        p = w.run("trust", "hsm", "import", "--token", "token-b", gun, backup, ok=False, env=env(h))
        eq(p.returncode, 1, "importing twice into one token")
        p = w.run("trust", "hsm", "import", "--token", "token-b", gun, backup, ok=False,
                  env=env(h, WHARF_ROOT_BACKUP_PASSPHRASE="wrong"))
        check("wrong passphrase" in p.stderr, f"a wrong backup passphrase: {p.stderr}")

        # Signing goes on, and token B signs a root rotation (targets key, then root itself).
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_C}", "--size", "22", f"{gun}:v2", env=WPASS)
        p = w.run("trust", "rotate", "--server", s.url, gun, "targets", env=env(h))
        check("rotated the targets key" in p.stdout, f"rotate targets with the root on token B: {p.stdout}")
        p = w.run("trust", "rotate", "--server", s.url, gun, "root", env=env(h))
        check("rotated the root key" in p.stdout, f"rotate root signed by token B: {p.stdout}")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "33", f"{gun}:v3", env=WPASS)

        # The client that trusted the first root follows; so does a fresh notary client.
        out = reader.run("trust", "ls", "--server", s.url, gun).stdout
        check(all(t in out for t in ("v1", "v2", "v3")), f"the reader of the first root verifies everything: {out}")
        check(root_id not in reader.run("trust", "inspect", "--json", "--server", s.url, gun).stdout,
              "the reader now trusts the new root")
        if have("notary"):
            out = fresh_notary_sees(s.url, gun, "v3", HEX_A, 33)
            check("v1" in out and "v2" in out, f"notary list: {out}")
    finally:
        w.cleanup()
        reader.cleanup()
        h.cleanup()


@test
def trust_hsm_on_token_and_usage(s):
    check(have("softhsm2-util") and os.path.exists(MODULE), "softhsm2 is installed")
    h = SoftHSM()
    w = Wharf()
    gun = f"{s.addr}/hsm/ontoken"
    try:
        h.init_token("only")
        p = w.run("trust", "hsm", "generate-root", "--on-token", gun, env=env(h))
        check("generated on the token" in p.stdout, f"generate-root --on-token: {p.stdout}")
        root_id = p.stdout.split()[2]
        p = w.run("trust", "init", "--server", s.url, "--root-on-token", gun, env=env(h))
        check(root_id in p.stdout, f"init with a key generated on the token: {p.stdout}")
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "5", f"{gun}:t", env=WPASS)
        other = Wharf()
        try:
            check("t " in other.run("trust", "ls", "--server", s.url, gun).stdout, "another client verifies")
        finally:
            other.cleanup()
        # Keys found by CKA_ID rather than label, as on a YubiKey's PIV slots (ykcs11: 02 is slot 9c).
        for i, how in enumerate((["--on-token"], ["--backup", os.path.join(w.home, "slot.pem")])):
            g = f"{gun}-slot{i}"
            p = w.run("trust", "hsm", "generate-root", "--key-id", f"0{i + 2}", *how, g, env=env(h))
            kid = p.stdout.split()[2]
            p = w.run("trust", "init", "--server", s.url, "--root-on-token", g, env=env(h))
            check(kid in p.stdout, f"init with the key of CKA_ID 0{i + 2}: {p.stdout}")
            p = h.tool("--token-label", "only", "--login", "--pin", PIN, "--list-objects", "--type", "privkey")
            check(f"ID:         0{i + 2}" in p.stdout, f"pkcs11-tool shows CKA_ID 0{i + 2}: {p.stdout}")
            w.run("trust", "rotate", "--server", s.url, g, "targets", env=env(h))
        eq(w.run("trust", "hsm", "generate-root", "--key-id", "zz", "--on-token", gun, ok=False).returncode, 2,
           "a --key-id that is no hex")
        p = w.run("trust", "init", "--server", s.url, "--root-on-token", f"{gun}-none", ok=False, env=env(h))
        check(p.returncode == 1 and "hsm generate-root" in p.stderr, f"init --root-on-token with no token key: {p.stderr}")
        eq(w.run("trust", "hsm", "generate-root", gun, ok=False, env=env(h)).returncode, 2,
           "generate-root needs --backup or --on-token")
        eq(w.run("trust", "hsm", ok=False).returncode, 2, "hsm without a command")
        check("--pkcs11-module" in w.run("trust", "hsm", "--help").stdout, "hsm --help")
        p = w.run("trust", "hsm", "list", "--pkcs11-module", "/nonexistent/module.so", ok=False, env=env(h))
        check(p.returncode == 1 and "/nonexistent/module.so" in p.stderr, f"a missing module: {p.stderr}")
    finally:
        w.cleanup()
        h.cleanup()
