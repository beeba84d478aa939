"""Helpers shared by the content-trust test files (test_trust_threshold, test_trust_signers,
test_trust_rotate): reading what `wharf trust ls` lists, running wharf as a CI job does, and
making Notary-format signatures by hand."""
import base64
import json
import os
import subprocess

from test_trust_client import Wharf


def ls(s, gun):
    """The targets of gun as a fresh client lists them (`wharf trust ls --json`), by name."""
    fresh = Wharf()
    try:
        return {t["name"]: t for t in json.loads(fresh.run("trust", "ls", "--server", s.url, "--json", gun).stdout)["targets"]}
    finally:
        fresh.cleanup()


def no_terminal(w, *args, env=None):
    """wharf as a CI runner starts it: a new session (no controlling terminal), stdin from
    /dev/null, only WHARF_HOME and the given variables."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_") or k == "WHARF_TEST_BIN"}
    e.update(WHARF_HOME=w.home, **(env or {}))
    return subprocess.run([w.bin] + list(args), env=e, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, start_new_session=True)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ecdsa_sign(key_file, passphrase, data):
    """Notary's raw r||s ECDSA P-256 SHA-256 signature over data (base64), made with openssl from
    an encrypted private key file."""
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file, "-passin", f"pass:{passphrase}"],
                         input=data, capture_output=True, check=True).stdout
    # DER SEQUENCE { INTEGER r, INTEGER s }
    i = 2 + (1 if der[1] & 0x80 else 0)
    out = b""
    for _ in range(2):
        n = der[i + 1]
        out += int.from_bytes(der[i + 2:i + 2 + n], "big").to_bytes(32, "big")
        i += 2 + n
    return base64.b64encode(out).decode()
