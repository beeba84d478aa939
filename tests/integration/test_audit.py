"""Audit log verification (issue 7): `wharf admin audit verify` against logs written from the
documented format by an independent writer (this file), then tampered with in each way; the
verifier must name the first broken record. (The library's own writer is covered by
tests/unit/test_authx_audit.c; wharfd's events come through the auth core.)"""
import hashlib
import json
import os
import subprocess
import tempfile

from harness import check, eq, test

EMPTY = "sha256:" + hashlib.sha256(b"").hexdigest()


def canonical(obj):
    # The OLPC canonical form for events of ASCII strings and integers: sorted keys, no spaces.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_log(path, events):
    prev = EMPTY
    lines = []
    for i, ev in enumerate(events, 1):
        rec = dict(ev, seq=i, time=f"2026-11-23T05:00:{i % 60:02d}.000Z", prev=prev)
        rec["hash"] = "sha256:" + hashlib.sha256(canonical(rec)).hexdigest()
        prev = rec["hash"]
        lines.append(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
    with open(path, "w") as f:
        f.writelines(lines)
    return lines


def verify(path):
    p = subprocess.run([os.path.join(os.environ["WHARF_TEST_BIN"], "wharf"), "admin", "audit", "verify", "--json", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return p.returncode, json.loads(p.stdout)


EVENTS = [{"type": "login", "user": "alice", "ok": True},
          {"type": "authz", "user": "alice", "action": "push", "repository": "acme/app", "allowed": True},
          {"type": "push", "user": "alice", "repository": "acme/app", "tag": "v1"},
          {"type": "authz", "user": "bob", "action": "delete", "repository": "acme/app", "allowed": False},
          {"type": "admin", "user": "root", "change": "team acme/release add bob"}]


@test
def audit_intact_log_verifies(srv):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "audit.log")
        write_log(path, EVENTS)
        rc, out = verify(path)
        eq((rc, out["ok"], out["records"]), (0, True, 5), f"intact log: {out}")


@test
def audit_each_tampering_is_found_at_its_record(srv):
    cases = {
        "modified": (lambda ls: ls[:2] + [ls[2].replace('"v1"', '"v2"')] + ls[3:], 3, 2),
        "deleted": (lambda ls: ls[:1] + ls[2:], 3, 1),
        "reordered": (lambda ls: ls[:1] + [ls[2], ls[1]] + ls[3:], 3, 1),
        "truncated": (lambda ls: ls[:4] + [ls[4][:-20]], 5, 4),
        "inserted": (lambda ls: ls[:2] + [ls[0]] + ls[2:], 1, 2),
    }
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "audit.log")
        for name, (tamper, bad_seq, good) in cases.items():
            lines = write_log(path, EVENTS)
            with open(path, "w") as f:
                f.writelines(tamper(lines))
            rc, out = verify(path)
            eq(rc, 1, f"{name}: exit status")
            eq((out["ok"], out["bad_seq"], out["records"]), (False, bad_seq, good), f"{name}: {out}")


@test
def audit_rehashed_record_still_breaks_the_chain(srv):
    # Whoever edits a record and recomputes its hash breaks the next record's prev.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "audit.log")
        lines = write_log(path, EVENTS)
        rec = json.loads(lines[1])
        rec["allowed"] = False
        del rec["hash"]
        rec["hash"] = "sha256:" + hashlib.sha256(canonical(rec)).hexdigest()
        lines[1] = json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n"
        with open(path, "w") as f:
            f.writelines(lines)
        rc, out = verify(path)
        eq((rc, out["bad_seq"]), (1, 3), f"rehashed record: {out}")
        check("prev does not match" in out["error"], out["error"])
