"""wharf secret: the encrypted secret store driven through the real CLI.

Values go in from files and stdin and never come out of ls or inspect; no file under $WHARF_HOME
holds a value in clear; the files follow docs/secrets.md (checked by decrypting one here with an
independent AES-GCM implementation); tampering, swapping, a loose master key mode and a wrong
token PIN all fail with clear errors; the master key can be wrapped by a SoftHSM2 token.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile

from harness import check, eq, test

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


class Wharf:
    """The wharf client with its own $WHARF_HOME."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="wharf-secret-home-")
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")

    def run(self, *args, ok=True, stdin=None, env=None, code=None):
        e = dict(os.environ)
        e.pop("WHARF_PKCS11_PIN", None)
        e.update(WHARF_HOME=self.home, **(env or {}))
        p = subprocess.run([self.bin, "secret"] + list(args), env=e, input=stdin, capture_output=True, timeout=60,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        p.out, p.err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        if code is not None:
            eq(p.returncode, code, f"exit status of wharf secret {' '.join(args)} (stderr: {p.err.strip()})")
        elif ok and p.returncode != 0:
            raise AssertionError(f"wharf secret {' '.join(args)} exited {p.returncode}: {p.err[-1500:]}")
        return p

    def files(self):
        """Every file under $WHARF_HOME: path -> bytes."""
        out = {}
        for root, _, names in os.walk(self.home):
            for n in names:
                path = os.path.join(root, n)
                with open(path, "rb") as f:
                    out[path] = f.read()
        return out

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


def assert_nowhere(w, value, outputs=()):
    """value is in no file under $WHARF_HOME (as-is, hex or base64) and in none of outputs."""
    import base64
    forms = [value, value.hex().encode(), base64.b64encode(value)]
    for path, data in w.files().items():
        for form in forms:
            check(form not in data, f"{path} holds the secret value in clear ({form[:20]!r}...)")
    for o in outputs:
        text = o if isinstance(o, bytes) else o.encode()
        check(value not in text, f"the value appears in the command's output: {text[:200]!r}")
    needle = max(value.split(b"\x00"), key=len)  # grep takes no NUL in a pattern
    grep = subprocess.run(["grep", "-r", "-a", "-l", "-F", needle.decode(), w.home], capture_output=True)
    eq(grep.returncode, 1, f"grep -r finds the value under $WHARF_HOME: {grep.stdout!r}")


def parse_secret_file(data):
    """The header fields of docs/secrets.md, independently of wharf's parser."""
    check(data[:8] == b"WHARFSEC", "magic")
    eq((data[8], data[9]), (1, 1), "format version and cipher")
    n = data[10]
    name = data[11:11 + n].decode()
    o = 11 + n
    ident = data[o:o + 16].hex()
    version, created, updated, size = struct.unpack(">IQQI", data[o + 16:o + 40])
    nonce = data[o + 40:o + 52]
    hlen = o + 52
    eq(len(data), hlen + size + 16, "file length = header + value + tag")
    return dict(name=name, id=ident, version=version, created=created, updated=updated, size=size, nonce=nonce,
                header=data[:hlen], body=data[hlen:])


@test
def secret_create_ls_inspect_rotate_rm(s):
    w = Wharf()
    try:
        from_file, from_stdin = b"file-value-\x00\x01-Zq8@secret", b"stdin-value-7f3c91-secret"
        src = os.path.join(tempfile.mkdtemp(), "value.txt")
        with open(src, "wb") as f:
            f.write(from_file)
        outs = []
        p = w.run("create", "db.password", src)
        outs += [p.stdout, p.stderr]
        eq(len(p.out.strip()), 32, f"create prints the secret's ID: {p.out!r}")
        p = w.run("create", "api_token", "-", stdin=from_stdin)
        outs += [p.stdout, p.stderr]
        p = w.run("create", "implicit-stdin", stdin=b"third-value-e5e5")
        outs += [p.stdout, p.stderr]

        st = os.stat(os.path.join(w.home, "secrets"))
        eq(st.st_mode & 0o777, 0o700, "secrets directory mode")
        eq(os.stat(os.path.join(w.home, "secrets", "master.key")).st_mode & 0o777, 0o600, "master.key mode")

        p = w.run("ls")
        outs += [p.stdout, p.stderr]
        check(all(n in p.out for n in ("db.password", "api_token", "implicit-stdin", "NAME", "VERSION")), p.out)
        p = w.run("ls", "--json")
        outs += [p.stdout, p.stderr]
        listing = json.loads(p.out)
        eq([x["name"] for x in listing], ["api_token", "db.password", "implicit-stdin"], "ls --json names, sorted")
        eq(set(listing[0]), {"name", "id", "version", "size", "created", "updated"}, "ls --json fields (no digest)")
        eq(listing[1]["size"], len(from_file), "size of the file value")
        eq(w.run("ls", "-q").out.split(), ["api_token", "db.password", "implicit-stdin"], "ls -q")

        p = w.run("inspect", "api_token", "--json")
        outs += [p.stdout, p.stderr]
        info = json.loads(p.out)[0]
        eq((info["version"], info["size"]), (1, len(from_stdin)), "inspect: version and size")
        p = w.run("inspect", "api_token")
        outs += [p.stdout, p.stderr]
        check("Version: 1" in p.out and info["id"] in p.out, p.out)
        assert_nowhere(w, from_file, outs)
        assert_nowhere(w, from_stdin, outs)

        # rotate: version 2, same id, the old value gone, the new one stored encrypted.
        old_file = w.files()[os.path.join(w.home, "secrets", "api_token.secret")]
        rotated = b"rotated-value-000-abc"
        p = w.run("rotate", "api_token", "-", stdin=rotated)
        outs += [p.stdout, p.stderr]
        eq(p.out.strip(), "api_token version 2", "rotate output")
        info2 = json.loads(w.run("inspect", "api_token", "--json").out)[0]
        eq((info2["id"], info2["version"], info2["size"]), (info["id"], 2, len(rotated)), "after rotate")
        new_file = w.files()[os.path.join(w.home, "secrets", "api_token.secret")]
        check(new_file != old_file and parse_secret_file(new_file)["nonce"] != parse_secret_file(old_file)["nonce"],
              "rotate writes a new nonce")
        assert_nowhere(w, rotated, outs)
        w.run("rotate", "nope", "-", stdin=b"x", code=1)

        # rm, then the secret is gone and the others stay.
        eq(w.run("rm", "api_token").out.strip(), "api_token", "rm prints the name")
        check(not os.path.exists(os.path.join(w.home, "secrets", "api_token.secret")), "file removed")
        p = w.run("inspect", "api_token", code=1)
        check('no secret named "api_token"' in p.err, p.err)
        w.run("rm", "api_token", code=1)
        eq(w.run("ls", "-q").out.split(), ["db.password", "implicit-stdin"], "ls after rm")
        left = [n for n in os.listdir(os.path.join(w.home, "secrets")) if ".tmp-" in n]
        eq(left, [], "no temp files left behind")
    finally:
        w.cleanup()


@test
def secret_file_format_decrypts_independently(s):
    """The file is what docs/secrets.md says: AES-256-GCM under master.key, header as AAD."""
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        check(False, "python3-cryptography is installed (scripts/deps.sh test)")
    w = Wharf()
    try:
        value = b"independent-check-value"
        w.run("create", "fmt", "-", stdin=value)
        with open(os.path.join(w.home, "secrets", "master.key"), "rb") as f:
            key = f.read()
        with open(os.path.join(w.home, "secrets", "fmt.secret"), "rb") as f:
            data = f.read()
        h = parse_secret_file(data)
        eq((h["name"], h["version"], h["size"]), ("fmt", 1, len(value)), "header fields")
        eq(AESGCM(key).decrypt(h["nonce"], h["body"], h["header"]), value, "decrypted value")
        info = json.loads(w.run("inspect", "fmt", "--json").out)[0]
        eq(info["id"], h["id"], "the header's id is inspect's id")
    finally:
        w.cleanup()


@test
def secret_bad_input_and_limits(s):
    w = Wharf()
    try:
        for args in (["--help"], ["create", "--help"], ["ls", "--help"], ["inspect", "--help"], ["rm", "--help"],
                     ["rotate", "--help"], ["init", "--help"]):
            p = w.run(*args, code=0)
            check("Usage: wharf secret" in p.out, f"{args}: {p.out[:100]}")
        eq(subprocess.run([w.bin, "secret"], capture_output=True).returncode, 2, "no subcommand")
        w.run("frobnicate", code=2)
        w.run("create", code=2)
        for bad in ("a/b", "../x", ".hidden", "-", "x" * 65, "sp ace"):
            p = w.run("create", "--", bad, "-", stdin=b"v", code=2)
            check("secret name" in p.err or "FILE" in p.err, p.err)
        p = w.run("create", "big", "-", stdin=b"A" * (500 * 1024 + 1), code=1)
        check("at most 512000 bytes" in p.err, p.err)
        w.run("create", "max", "-", stdin=b"A" * (500 * 1024))
        eq(json.loads(w.run("inspect", "max", "--json").out)[0]["size"], 512000, "500 KiB is allowed")
        w.run("create", "max", "-", stdin=b"again", code=1)
        w.run("create", "nofile", "/nonexistent/file", code=1)
        eq(w.run("ls", "--json").out.strip() != "", True, "ls works")
    finally:
        w.cleanup()


@test
def secret_tamper_swap_and_key_mode(s):
    w = Wharf()
    try:
        w.run("create", "one", "-", stdin=b"value-one-1111")
        w.run("create", "two", "-", stdin=b"value-two-2222")
        d = os.path.join(w.home, "secrets")
        one, two = os.path.join(d, "one.secret"), os.path.join(d, "two.secret")
        with open(one, "rb") as f:
            orig = f.read()
        # A flipped ciphertext byte.
        bad = bytearray(orig)
        bad[-20] ^= 1
        with open(one, "wb") as f:
            f.write(bad)
        p = w.run("inspect", "one", code=1)
        check("authentication failed" in p.err and "one.secret" in p.err, p.err)
        w.run("ls", code=1)
        # Another secret's file under this name.
        with open(two, "rb") as f:
            shutil.copyfileobj(f, open(one, "wb"))
        p = w.run("inspect", "one", code=1)
        check('holds secret "two"' in p.err, p.err)
        with open(one, "wb") as f:
            f.write(orig)
        w.run("inspect", "one")
        # A master key others can read is refused, with the fix in the message.
        key = os.path.join(d, "master.key")
        os.chmod(key, 0o644)
        p = w.run("ls", code=1)
        check("mode 0644" in p.err and "chmod 600" in p.err, p.err)
        os.chmod(key, 0o600)
        w.run("ls")
        # Another store's key: told apart from tampering.
        other = Wharf()
        other.run("create", "x", "-", stdin=b"x")
        shutil.copy(os.path.join(other.home, "secrets", "master.key"), key)
        os.chmod(key, 0o600)
        p = w.run("inspect", "one", code=1)
        check("does not match the store" in p.err, p.err)
        other.cleanup()
    finally:
        w.cleanup()


@test
def secret_concurrent_writers(s):
    """Parallel creates and rotates: every create lands once, every rotate counts, nothing torn."""
    w = Wharf()
    try:
        w.run("create", "shared", "-", stdin=b"v0")
        e = dict(os.environ, WHARF_HOME=w.home)
        procs = []
        for i in range(16):
            for args in (["create", f"c{i}", "-"], ["rotate", "shared", "-"]):
                procs.append(subprocess.Popen([w.bin, "secret"] + args, env=e, stdin=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        # Every process is started and blocked on stdin; release them all at once.
        for i, p in enumerate(procs):
            p.stdin.write(f"value-{i}".encode())
        for p in procs:
            p.stdin.close()
        for i, p in enumerate(procs):
            err = p.stderr.read()
            p.wait(timeout=60)
            eq(p.returncode, 0, f"parallel writer {i}: {err!r}")
        listing = {x["name"]: x for x in json.loads(w.run("ls", "--json").out)}
        eq(sorted(listing), sorted(["shared"] + [f"c{i}" for i in range(16)]), "all creates landed")
        eq(listing["shared"]["version"], 17, "16 rotates after create: version 17")
    finally:
        w.cleanup()


class SoftHSM:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wharf-secret-hsm-")
        self.conf = os.path.join(self.dir, "softhsm2.conf")
        tokens = os.path.join(self.dir, "tokens")
        os.mkdir(tokens)
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.env = {"SOFTHSM2_CONF": self.conf, "WHARF_PKCS11_MODULE": MODULE}

    def init_token(self, label):
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "5678"],
                       env=dict(os.environ, SOFTHSM2_CONF=self.conf), check=True, capture_output=True)

    def objects(self):
        return subprocess.run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN, "-O"],
                              env=dict(os.environ, SOFTHSM2_CONF=self.conf), capture_output=True, text=True).stdout


@test(slow=True)
def secret_master_key_on_pkcs11_token(s):
    check(shutil.which("softhsm2-util") and os.path.exists(MODULE), "softhsm2 is installed")
    h, w = SoftHSM(), Wharf()
    try:
        h.init_token("secrets-token")
        good = {**h.env, "WHARF_PKCS11_PIN": PIN}
        p = w.run("init", "--token", "secrets-token", env=good)
        check("wrapped" in p.out, p.out)
        d = os.path.join(w.home, "secrets")
        check(not os.path.exists(os.path.join(d, "master.key")), "no plain master key beside a wrapped one")
        with open(os.path.join(d, "master.key.p11")) as f:
            rec = json.load(f)
        eq((rec["token"], rec["mechanism"], len(rec["wrapped"])), ("secrets-token", "CKM_AES_GCM", 96),
           "wrapped key record")
        if shutil.which("pkcs11-tool"):
            objs = h.objects()
            check(rec["key_label"] in objs and "never extractable" in objs and "AES length 32" in objs,
                  f"the wrapping key is a non-extractable AES-256 key on the token: {objs}")

        value = b"hsm-protected-value-4242"
        w.run("create", "hsm1", "-", stdin=value, env=good)
        info = json.loads(w.run("inspect", "hsm1", "--json", env=good).out)[0]
        eq((info["name"], info["size"]), ("hsm1", len(value)), "read back through the token")
        w.run("rotate", "hsm1", "-", stdin=b"second-hsm-value", env=good)
        eq(json.loads(w.run("ls", "--json", env=good).out)[0]["version"], 2, "rotated under the token key")
        assert_nowhere(w, value)

        p = w.run("ls", env={**h.env, "WHARF_PKCS11_PIN": "9999"}, code=1)
        check("wrong PIN" in p.err and "secrets-token" in p.err, p.err)
        p = w.run("ls", env=h.env, code=1)  # no PIN and no terminal
        check("WHARF_PKCS11_PIN" in p.err, p.err)
        w.run("init", "--token", "secrets-token", env=good, code=1)
        # Without the token, the store cannot be opened.
        p = w.run("ls", env={**good, "SOFTHSM2_CONF": os.path.join(h.dir, "missing.conf")}, code=1)
        check(p.err.strip() != "", "a clear error without the token")
    finally:
        w.cleanup()
        shutil.rmtree(h.dir, ignore_errors=True)
