"""Content trust: `wharf trust status` (expiry warnings with CI exit codes) and `wharf trust refresh`.

The server runs under libfaketime too (preloaded by a wrapper, its offset read from a file at each
start), so that the timestamp it re-signs on demand is fresh at the client's shifted time.
"""
import glob
import json
import os
import stat

from harness import check, eq, test
from test_trust_client import HEX_A, WPASS, Wharf, fresh_notary_sees, have


def faketime_lib():
    for pattern in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1",
                    "/usr/lib/*/faketime/libfaketime.so.1"):
        found = glob.glob(pattern)
        if found:
            return found[0]
    return None


def shifted_server(s, offset_days):
    """Make s start wharfd with its clock offset_days ahead (restarting it when it runs)."""
    lib = faketime_lib()
    check(lib is not None and have("faketime"), "libfaketime is installed")
    real = os.environ["WHARF_TEST_WHARFD"]
    wrapper = os.path.join(s.tmp, "wharfd-faketime")
    offset = os.path.join(s.tmp, "offset")
    with open(offset, "w") as f:
        f.write(f"{offset_days:+d}d")
    if not os.path.exists(wrapper):
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    f"LD_PRELOAD='{lib}' FAKETIME=\"$(cat '{offset}')\" FAKETIME_DONT_FAKE_MONOTONIC=1 "
                    "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" "
                    f"exec '{real}' \"$@\"\n")
        os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
        s.wharfd = wrapper
    if s.proc is not None:
        s.stop()
    s.start()


def status(w, s, gun, *extra, days=0, ok_codes=(0,)):
    p = w.run("trust", "status", "--server", s.url, *extra, gun, ok=False,
              faketime=f"+{days} days" if days else None)
    check(p.returncode in ok_codes, f"status {extra} at +{days}d exited {p.returncode}: {p.stdout} {p.stderr}")
    return p


def roles_of(w, s, gun, days=0):
    p = status(w, s, gun, "--json", days=days, ok_codes=(0, 4))
    return {r["name"]: r for r in json.loads(p.stdout)["roles"]}


@test
def trust_status_usage(s):
    w = Wharf()
    try:
        eq(w.run("trust", "status", ok=False).returncode, 2, "status without a GUN")
        eq(w.run("trust", "status", "--warn-days", "x", "a/b", ok=False).returncode, 2, "a bad --warn-days")
        eq(w.run("trust", "refresh", ok=False).returncode, 2, "refresh without a GUN")
        eq(w.run("trust", "refresh", "--within", "-3", "a/b", ok=False).returncode, 2, "a bad --within")
        h = w.run("trust", "status", "--help").stdout
        check("--warn-days" in h and "4 " in h and "Exit status" in h, f"status --help documents exit codes: {h}")
        check("--within" in w.run("trust", "refresh", "--help").stdout, "refresh --help")
        out = w.run("trust", "--help").stdout
        check("status" in out and "refresh" in out, "wharf trust --help lists status and refresh")
    finally:
        w.cleanup()


@test(slow=True, shared=False)
def trust_status_warns_expires_and_refresh_renews(s):
    shifted_server(s, 0)
    gun = f"{s.addr}/st/app"
    w, other = Wharf(), Wharf()
    try:
        w.run("trust", "init", "--server", s.url, gun, env=WPASS)
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "10", f"{gun}:v1",
              env=WPASS)
        # Fresh: every role listed, nothing to warn about, the client's keys shown.
        p = status(w, s, gun)
        for role in ("root", "targets", "snapshot", "timestamp"):
            check(any(line.startswith(role + " ") for line in p.stdout.splitlines()), f"status lists {role}: {p.stdout}")
        check("WARNING" not in p.stdout + p.stderr, f"no warning when fresh: {p.stdout} {p.stderr}")
        roles = roles_of(w, s, gun)
        eq(sorted(roles), ["root", "snapshot", "targets", "timestamp"], "status --json roles")
        for role in ("root", "targets", "snapshot"):
            eq(roles[role]["signer"], "client", f"{role} is signed here")
            eq(len(roles[role]["held"]), 1, f"the {role} key is held here")
        eq(roles["timestamp"]["signer"], "server", "the server signs the timestamp")
        check(roles["root"]["days_left"] > 3600 and 1000 < roles["targets"]["days_left"] <= 1095,
              f"days left: {roles}")

        # Targets (and the client's snapshot) expire within 30 days: exit 4 and a WARNING naming it.
        shifted_server(s, 1070)
        p = status(w, s, gun, days=1070, ok_codes=(4,))
        warn = [line for line in p.stderr.splitlines() if line.startswith("WARNING") and "targets " in line]
        check(len(warn) == 1, f"a WARNING names targets: {p.stderr}")
        check(roles["targets"]["expires"][:10] in warn[0], f"the warning gives the date: {warn[0]}")
        eq(status(w, s, gun, "--warn-days", "10", days=1070).returncode, 0, "not within --warn-days 10")

        # Past the expiry the update itself fails, naming the expired role.
        shifted_server(s, 1100)
        p = status(w, s, gun, days=1100, ok_codes=(1,))
        check("expired" in p.stderr and ("snapshot" in p.stderr or "targets" in p.stderr),
              f"the message names the expired role: {p.stderr}")

        # Refresh at +1070 days re-signs root, targets and snapshot with new expiries.
        shifted_server(s, 1070)
        before = roles_of(w, s, gun, days=1070)
        p = w.run("trust", "refresh", "--server", s.url, "--within", "3650", gun, env=WPASS, faketime="+1070 days")
        for role in ("root", "targets", "snapshot"):
            check(f"refreshed {role} " in p.stdout, f"refresh names {role}: {p.stdout}")
        after = roles_of(w, s, gun, days=1070)
        for role in ("root", "targets", "snapshot"):
            eq(after[role]["version"], before[role]["version"] + 1, f"{role} version bumped")
            check(after[role]["expires"] > before[role]["expires"], f"{role} expiry renewed: {after[role]}")
        check(after["targets"]["days_left"] > 1000 and after["root"]["days_left"] > 3600, f"days left: {after}")
        eq(status(w, s, gun, days=1070).returncode, 0, "no warning after the refresh")
        # Nothing is due within 90 days any more.
        p = w.run("trust", "refresh", "--server", s.url, gun, env=WPASS, faketime="+1070 days")
        check("nothing" in p.stdout, f"refresh again: {p.stdout}")
        # Past the old expiry all is well now.
        shifted_server(s, 1100)
        eq(status(w, s, gun, days=1100).returncode, 0, "fine past the old expiry after the refresh")
        # A fresh client and the real notary verify the refreshed data.
        shifted_server(s, 0)
        check("v1" in other.run("trust", "ls", "--server", s.url, gun).stdout, "a fresh wharf client")
        if have("notary"):
            fresh_notary_sees(s.url, gun, "v1", HEX_A, 10)
    finally:
        other.cleanup()
        w.cleanup()


@test(slow=True)
def trust_status_refresh_delegation_and_server_snapshot(s):
    """A server-held snapshot and a delegation: status lists the delegation with the key held
    here; refresh re-signs root, targets and the delegation, and the server makes the snapshot."""
    gun = f"{s.addr}/st/deleg"
    w, other = Wharf(), Wharf()
    dpass = {"WHARF_KEY_PASSPHRASE": "deleg-pass", "WHARF_DELEGATION_PASSPHRASE": "deleg-pass"}
    try:
        w.run("trust", "init", "--server-managed-snapshot", "--server", s.url, gun, env=WPASS)
        keydir = os.path.join(w.home, "keys", os.listdir(os.path.join(w.home, "keys"))[0])
        ci = os.path.join(keydir, "ci.key")
        ci_id = w.run("trust", "key", "generate", "--out", ci, env=dpass).stdout.strip()
        w.run("trust", "signer", "add", "--server", s.url, gun, "ci", ci + ".pub", env=WPASS)
        w.run("trust", "sign", "--server", s.url, "--role", "targets/releases", "--key", ci, "--digest",
              f"sha256:{HEX_A}", "--size", "7", f"{gun}:v1", env=dpass)
        roles = roles_of(w, s, gun)
        check("targets/releases" in roles, f"status lists the delegation: {sorted(roles)}")
        eq([k["id"] for k in roles["targets/releases"]["held"]], [ci_id], "the delegation key is held here")
        eq(roles["snapshot"]["signer"], "server", "the server holds the snapshot key")
        p = status(w, s, gun)
        check(any(line.startswith("targets/releases ") and "ci.key" in line for line in p.stdout.splitlines()),
              f"the text names the held key file: {p.stdout}")

        env = dict(WPASS, **dpass)
        p = w.run("trust", "refresh", "--server", s.url, "--within", "3650", gun, env=env)
        for role in ("root", "targets", "targets/releases", "snapshot"):
            check(f"refreshed {role} " in p.stdout, f"refresh names {role}: {p.stdout}")
        after = roles_of(w, s, gun)
        for role in ("root", "targets", "targets/releases", "snapshot"):
            eq(after[role]["version"], roles[role]["version"] + 1, f"{role} version bumped")
        check("v1" in other.run("trust", "ls", "--server", s.url, gun).stdout, "a fresh wharf client")
        if have("notary"):
            fresh_notary_sees(s.url, gun, "v1", HEX_A, 7)
    finally:
        other.cleanup()
        w.cleanup()


@test(slow=True, shared=False)
def trust_refresh_server_snapshot_alone(s):
    """Only the server's snapshot is due (the server's clock made it 10 days early): refresh asks
    the server to re-sign it with an empty publish."""
    shifted_server(s, -10)
    gun = f"{s.addr}/st/snap"
    w = Wharf()
    try:
        w.run("trust", "init", "--server-managed-snapshot", "--server", s.url, gun, env=WPASS)
        w.run("trust", "sign", "--server", s.url, "--digest", f"sha256:{HEX_A}", "--size", "3", f"{gun}:v1",
              env=WPASS)
        shifted_server(s, 0)
        before = roles_of(w, s, gun)
        check(before["snapshot"]["days_left"] < 1090 <= before["targets"]["days_left"], f"days left: {before}")
        p = w.run("trust", "refresh", "--server", s.url, "--within", "1090", gun, env=WPASS)
        check("refreshed snapshot" in p.stdout and "refreshed targets" not in p.stdout, f"refresh: {p.stdout}")
        after = roles_of(w, s, gun)
        eq(after["snapshot"]["version"], before["snapshot"]["version"] + 1, "snapshot version bumped")
        eq(after["targets"]["version"], before["targets"]["version"], "targets unchanged")
        check(after["snapshot"]["days_left"] >= 1094, f"snapshot renewed: {after['snapshot']}")
    finally:
        w.cleanup()
