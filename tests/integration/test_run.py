"""wharf run: real containers through runc (and crun when present) as root.

Images are real OCI images made here from the static busybox (package busybox-static): one
gzip layer with /bin/busybox and its applet links, pushed to the real wharfd and signed with
`wharf trust init/sign`, then run by tag through content trust. Inside the container we check
the user namespace (uid_map, owner of a file written to a bind mount), disjoint ranges, the pid
namespace, empty capability sets, that `unshare -U` and `mount` fail under seccomp, secrets on
tmpfs, safe unpacking of hostile layers, refusal of unsigned images and exit codes.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

from harness import check, eq, test

WPASS = {"WHARF_ROOT_PASSPHRASE": "run-root-pass", "WHARF_TARGETS_PASSPHRASE": "run-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "run-snapshot-pass"}
BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "true", "false", "id", "cat", "ls", "ps", "mount", "unshare", "grep", "echo", "stat", "touch",
           "sleep", "env", "hostname", "wc", "test"]


def have(tool):
    return shutil.which(tool) is not None


def runtimes():
    return [r for r in ("runc", "crun") if have(r)]


class Wharf:
    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="wharf-run-home-")
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")

    def run(self, *args, ok=True, timeout=120, env=None):
        e = dict(os.environ)
        e.pop("WHARF_TRUST_SERVER", None)
        e.update(WHARF_HOME=self.home, **WPASS)
        e.update(env or {})
        p = subprocess.run([self.bin] + list(args), env=e, capture_output=True, text=True, timeout=timeout)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
        return p

    def cleanup(self):
        # Remove every container first: their mounts must go before the files.
        p = self.run("ps", "--all", "--json", ok=False)
        try:
            for c in json.loads(p.stdout or "[]"):
                self.run("rm", "--force", c["id"], ok=False)
        except ValueError:
            pass
        subprocess.run(["umount", "-R", "-l", self.home], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def tar_layer(entries):
    """A gzip tar layer from (TarInfo, bytes-or-None) pairs; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    plain = raw.getvalue()
    return gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()


def ti(name, kind=tarfile.REGTYPE, mode=0o755, data=None, link="", uid=0, gid=0):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.linkname, i.uid, i.gid = kind, mode, link, uid, gid
    if data is not None:
        i.size = len(data)
    return i, data


def busybox_layer():
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    entries = [ti("bin", tarfile.DIRTYPE), ti("bin/busybox", data=bb)]
    entries += [ti(f"bin/{a}", tarfile.SYMTYPE, 0o777, link="busybox") for a in APPLETS]
    entries += [ti("etc", tarfile.DIRTYPE), ti("etc/passwd", mode=0o644, data=b"root:x:0:0:root:/:/bin/sh\n"
                                              b"app:x:1000:1000:app:/:/bin/sh\n"),
                ti("etc/group", mode=0o644, data=b"root:x:0:\napp:x:1000:\n"),
                ti("tmp", tarfile.DIRTYPE, 0o1777), ti("proc", tarfile.DIRTYPE), ti("run", tarfile.DIRTYPE),
                ti("bin/suid", mode=0o4755, data=b"#!/bin/sh\n")]
    return tar_layer(entries)


def push_image(srv, repo, tag, layers, cmd=("/bin/sh",), env=("PATH=/bin",), extra_cfg=None):
    cfg = {"architecture": "amd64", "os": "linux",
           "config": {"Cmd": list(cmd), "Env": list(env), **(extra_cfg or {})},
           "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
    digest, _ = srv.push_image(repo, tag, layers=[b for b, _ in layers], config=json.dumps(cfg).encode())
    return digest


def signed_busybox(srv, w, repo="run/busybox", tag="v1", extra_layers=(), **kw):
    gun = f"{srv.addr}/{repo}"
    push_image(srv, repo, tag, [busybox_layer()] + list(extra_layers), **kw)
    w.run("trust", "init", "--server", srv.url, gun)
    w.run("trust", "sign", "--server", srv.url, f"{gun}:{tag}")
    return f"{gun}:{tag}"


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


@test
def run_basic_userns_caps_exit_code(srv):
    w = Wharf()
    try:
        ref = signed_busybox(srv, w)
        for rt in runtimes():
            p = w.run("run", "--rm", "--runtime", rt, ref, "sh", "-c",
                      "cat /proc/self/uid_map; cat /proc/self/status; id -u; hostname; exit 7", ok=False)
            eq(p.returncode, 7, f"{rt}: the container's exit status is wharf's ({p.stderr[-800:]})")
            fields = p.stdout.split()
            eq(fields[0], "0", f"{rt}: uid_map maps container 0")
            base = int(fields[1])
            check(base >= 100000 and base != 0, f"{rt}: container root is host id {base}, not host root")
            eq(fields[2], "65536", f"{rt}: a 65536-id range")
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                eq(status_field(p.stdout, cap), "0000000000000000", f"{rt}: {cap} is empty")
            eq(status_field(p.stdout, "NoNewPrivs"), "1", f"{rt}: no_new_privs")
            eq(status_field(p.stdout, "Seccomp"), "2", f"{rt}: seccomp filter mode")
            # --rm: nothing left behind, the range back in the pool
            eq(os.listdir(os.path.join(w.home, "containers")), [], f"{rt}: --rm removes the state")
            with open(os.path.join(w.home, "userns", "pool")) as f:
                eq(f.read(), "", f"{rt}: --rm releases the id range")
    finally:
        w.cleanup()
