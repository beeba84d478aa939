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
import time

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
            import time
            trash = os.path.join(w.home, "trash")
            deadline = time.time() + 10
            while time.time() < deadline and os.listdir(trash):
                time.sleep(0.02)
            eq(os.listdir(trash), [], f"{rt}: the background deletion empties $WHARF_HOME/trash")
            eq(pool_entries(w.home), "", f"{rt}: --rm releases the id range")
    finally:
        w.cleanup()


def pool_entries(home):
    """The id ranges held in the pool: the durable file home/userns/pool and the transient one of
    --rm containers, on the run directory's tmpfs (userns-pool.DEV.INO of home/userns)."""
    d = os.path.join(home, "userns")
    if not os.path.isdir(d):
        return ""
    st = os.stat(d)
    rundir = os.environ.get("WHARF_RUN_DIR") or "/run/wharf"
    text = ""
    for path in (os.path.join(d, "pool"), os.path.join(rundir, f"userns-pool.{st.st_dev:x}.{st.st_ino:x}")):
        if os.path.exists(path):
            with open(path) as f:
                text += f.read()
    return text


def volume_dir():
    """A bind-mount source the container's mapped root can reach (runc mounts inside the user
    namespace, so every component needs search permission)."""
    d = tempfile.mkdtemp(prefix="wharf-run-vol-")
    os.chmod(d, 0o777)
    return d


@test
def run_two_containers_disjoint_ranges_bind_mount_owner(srv):
    w = Wharf()
    vol = volume_dir()
    try:
        ref = signed_busybox(srv, w, repo="run/two")
        a = w.run("run", "-d", "--name", "one", "-v", f"{vol}:/data", ref, "sh", "-c",
                  "touch /data/from-one; cat /proc/self/uid_map > /data/map-one; sleep 30")
        b = w.run("run", "-d", "--name", "two", "-v", f"{vol}:/data", ref, "sh", "-c",
                  "touch /data/from-two; ps -o pid,comm > /data/ps-two; ls /proc > /data/proc-two; sleep 30")
        ida, idb = a.stdout.strip(), b.stdout.strip()
        eq(len(ida), 32, "run -d prints the container ID")
        import time
        deadline = time.time() + 20
        while time.time() < deadline and not (os.path.exists(f"{vol}/proc-two") and os.path.exists(f"{vol}/map-one")):
            time.sleep(0.05)
        ps = json.loads(w.run("ps", "--json").stdout)
        eq(sorted(c["name"] for c in ps), ["one", "two"], "ps lists both running containers")
        eq({c["status"] for c in ps}, {"running"}, "both running")
        ranges = sorted(c["userns"]["hostId"] for c in ps)
        check(ranges[0] + 65536 <= ranges[1], f"disjoint ranges: {ranges}")
        owner_one = os.stat(f"{vol}/from-one").st_uid
        owner_two = os.stat(f"{vol}/from-two").st_uid
        base = {c["name"]: c["userns"]["hostId"] for c in ps}
        eq(owner_one, base["one"], "a file written by container root is owned by its pool host id")
        eq(owner_two, base["two"], "the second container's file: its own range")
        with open(f"{vol}/map-one") as f:
            eq(f.read().split(), ["0", str(base["one"]), "65536"], "uid_map of container one")
        with open(f"{vol}/ps-two") as f:
            procs = [l.split() for l in f.read().splitlines()[1:] if l.strip()]
        pids = sorted(int(p[0]) for p in procs)
        eq(pids[0], 1, "the container's first process is pid 1")
        check(all(p[1] in ("sh", "ps", "sleep") for p in procs), f"only the container's processes: {procs}")
        with open(f"{vol}/proc-two") as f:
            numeric = [x for x in f.read().split() if x.isdigit()]
        check(len(numeric) <= 3, f"/proc shows only the container's pids: {numeric}")
        # stop, logs, rm
        w.run("stop", "--time", "1", "one")
        ps = json.loads(w.run("ps", "--json").stdout)
        eq([c["name"] for c in ps], ["two"], "ps without --all: only the running one")
        allps = json.loads(w.run("ps", "--all", "--json").stdout)
        eq(sorted(c["name"] for c in allps), ["one", "two"], "ps --all: both")
        p = w.run("rm", "two", ok=False)
        eq(p.returncode, 3, "rm of a running container is refused (busy)")
        w.run("rm", "--force", "two")
        w.run("rm", "one")
        eq(json.loads(w.run("ps", "--all", "--json").stdout), [], "all removed")
        with open(os.path.join(w.home, "userns", "pool")) as f:
            eq(f.read(), "", "rm released both ranges")
        # logs of a detached container
        c = w.run("run", "-d", ref, "sh", "-c", "echo hello-out; echo hello-err >&2").stdout.strip()
        deadline = time.time() + 10
        out = ""
        while time.time() < deadline and "hello-err" not in out:
            out = w.run("logs", c).stdout
            time.sleep(0.05)
        check("hello-out" in out and "hello-err" in out, f"wharf logs: {out!r}")
        w.run("rm", c)
    finally:
        w.cleanup()
        shutil.rmtree(vol, ignore_errors=True)


@test
def run_seccomp_blocks_unshare_and_mount(srv):
    w = Wharf()
    try:
        ref = signed_busybox(srv, w, repo="run/seccomp")
        for rt in runtimes():
            p = w.run("run", "--rm", "--runtime", rt, ref, "sh", "-c",
                      "unshare -U true; echo unshare=$?; unshare -m true; echo unsharem=$?; "
                      "mount -t tmpfs none /tmp; echo mount=$?; touch /bin/written; echo touch=$?")
            check("unshare=0" not in p.stdout and "unshare=" in p.stdout, f"{rt}: unshare -U fails: {p.stdout!r}")
            check("unsharem=0" not in p.stdout, f"{rt}: unshare -m fails: {p.stdout!r}")
            check("mount=0" not in p.stdout and "mount=" in p.stdout, f"{rt}: mount fails: {p.stdout!r}")
            check("touch=0" in p.stdout, f"{rt}: the root file system is writable by default: {p.stdout!r}")
            p = w.run("run", "--rm", "--read-only", "--runtime", rt, ref, "sh", "-c", "touch /bin/x; echo touch=$?")
            check("touch=0" not in p.stdout, f"{rt}: --read-only: {p.stdout!r}")
            # cap-add grants exactly that capability
            p = w.run("run", "--rm", "--cap-add", "net_bind_service", "--runtime", rt, ref, "cat", "/proc/self/status")
            eq(status_field(p.stdout, "CapEff"), "0000000000000400", f"{rt}: --cap-add CAP_NET_BIND_SERVICE only")
        # the cached rootfs was not touched by the writes above
        roots = os.listdir(os.path.join(w.home, "rootfs"))
        eq(len(roots), 1, "one cached rootfs (by chain ID)")
        check(not os.path.exists(os.path.join(w.home, "rootfs", roots[0], "bin", "written")),
              "container writes go to its own upper layer, not the shared cache")
    finally:
        w.cleanup()


@test
def run_image_user_env_and_suid(srv):
    w = Wharf()
    try:
        ref = signed_busybox(srv, w, repo="run/user", extra_cfg={"User": "app", "WorkingDir": "/tmp"},
                             env=("PATH=/bin", "FROM_IMAGE=yes"))
        p = w.run("run", "--rm", "-e", "EXTRA=1", "-e", "FROM_IMAGE=over", ref, "sh", "-c",
                  "id -u; id -g; pwd; echo $EXTRA $FROM_IMAGE; stat -c %a /bin/suid")
        eq(p.stdout.split(), ["1000", "1000", "/tmp", "1", "over", "755"],
           "image User by name, WorkingDir, -e overrides, setuid bit stripped")
        p = w.run("run", "--rm", "-u", "0:0", ref, "id", "-u")
        eq(p.stdout.strip(), "0", "-u overrides the image's user")
    finally:
        w.cleanup()


@test
def run_unsigned_refused_and_exit_codes(srv):
    w = Wharf()
    try:
        push_image(srv, "run/unsigned", "v1", [busybox_layer()])
        ref = f"{srv.addr}/run/unsigned:v1"
        p = w.run("run", "--rm", ref, "true", ok=False)
        eq(p.returncode, 125, f"unsigned image: wharf fails before running ({p.stderr})")
        check("not signed" in p.stderr and "--disable-content-trust" in p.stderr, f"message: {p.stderr!r}")
        check(not os.path.exists(os.path.join(w.home, "rootfs")) or os.listdir(os.path.join(w.home, "rootfs")) == [],
              "nothing unpacked for a refused image")
        p = w.run("run", "--rm", "--disable-content-trust", ref, "sh", "-c", "exit 42", ok=False)
        eq(p.returncode, 42, "with --disable-content-trust it runs; exit status propagated")
        p = w.run("run", "--rm", "--disable-content-trust", ref, "/no/such/binary", ok=False)
        check(p.returncode != 0, "a missing command fails")
        p = w.run("run", "--rm", "--runtime", "nosuch", ref, "true", ok=False)
        eq(p.returncode, 125, "unknown runtime")
        p = w.run("run", "--rm", "--disable-content-trust", ref, "true", ok=False,
                  env={"PATH": "/nonexistent"})
        eq(p.returncode, 125, "no runtime on PATH")
        check("apt-get install runc" in p.stderr, f"names the package: {p.stderr!r}")
    finally:
        w.cleanup()


@test
def run_hostile_layers_stay_inside(srv):
    w = Wharf()
    victim = tempfile.mkdtemp(prefix="wharf-run-victim-")
    try:
        # A layer with escaping symlinks (absolute and relative, to the host's / and up past it)
        # and files written through them: they resolve inside the rootfs.
        evil = tar_layer([ti("abs", tarfile.SYMTYPE, 0o777, link="/"),
                          ti("rel", tarfile.SYMTYPE, 0o777, link="../../../../../../../.."),
                          ti("abs/pwned-abs", data=b"x"), ti("rel/pwned-rel", data=b"x"),
                          ti("abs" + victim + "-sub/pwned-deep", data=b"x")])
        ref = signed_busybox(srv, w, repo="run/evil-symlink", extra_layers=[evil])
        p = w.run("run", "--rm", ref, "sh", "-c", "ls /; ls /tmp")
        check("pwned-abs" in p.stdout and "pwned-rel" in p.stdout, f"the files landed inside: {p.stdout!r}")
        check(os.path.basename(victim) + "-sub" in p.stdout, f"the deep path too: {p.stdout!r}")
        check(not os.path.exists("/pwned-abs") and not os.path.exists("/pwned-rel"), "nothing at the host's /")
        check(not os.path.exists(victim + "-sub"), "nothing created on the host through the symlink")
        # A symlink to a host directory that does not exist inside: writing through it is refused.
        dangling = tar_layer([ti("out", tarfile.SYMTYPE, 0o777, link=victim), ti("out/pwned", data=b"x")])
        ref1 = signed_busybox(srv, w, repo="run/evil-dangling", extra_layers=[dangling])
        p = w.run("run", "--rm", ref1, "true", ok=False)
        eq(p.returncode, 125, f"writing through a dangling escaping symlink is refused ({p.stderr})")
        eq(os.listdir(victim), [], "nothing written outside the rootfs")
        # A layer with a '..' entry is refused as a whole.
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as t:
            i = tarfile.TarInfo("a/../../../../../../.." + victim + "/dotdot")
            i.size = 1
            t.addfile(i, io.BytesIO(b"x"))
        plain = raw.getvalue()
        dotdot = (gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest())
        ref2 = signed_busybox(srv, w, repo="run/evil-dotdot", extra_layers=[dotdot])
        p = w.run("run", "--rm", ref2, "true", ok=False)
        eq(p.returncode, 125, f"a '..' entry: refused ({p.stderr})")
        check("'..'" in p.stderr and "layer 1" in p.stderr, f"message names the layer and rule: {p.stderr!r}")
        eq(os.listdir(victim), [], "nothing written outside")
        eq([x for x in os.listdir(os.path.join(w.home, "rootfs")) if x.startswith(".tmp")], [],
           "the failed unpack left no temporary directory")
        # A layer whose bytes do not match the config's diff ID is refused.
        good, _ = busybox_layer()
        ref3_repo = "run/bad-diffid"
        push_image(srv, ref3_repo, "v1", [(good, "sha256:" + "0" * 64)])
        w.run("trust", "init", "--server", srv.url, f"{srv.addr}/{ref3_repo}")
        w.run("trust", "sign", "--server", srv.url, f"{srv.addr}/{ref3_repo}:v1")
        p = w.run("run", "--rm", f"{srv.addr}/{ref3_repo}:v1", "true", ok=False)
        eq(p.returncode, 125, "wrong diff ID refused")
        check("diff" in p.stderr.lower() or "uncompressed digest" in p.stderr, f"message: {p.stderr!r}")
    finally:
        w.cleanup()
        shutil.rmtree(victim, ignore_errors=True)


def grep_tree(root, needle):
    """Files under root (not following symlinks or crossing into mounts) that contain needle."""
    hits = []
    dev = os.lstat(root).st_dev
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.lstat(os.path.join(d, x)).st_dev == dev]
        for f in files:
            p = os.path.join(d, f)
            try:
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


@test
def run_secret_on_tmpfs_only(srv):
    w = Wharf()
    vol = volume_dir()
    try:
        ref = signed_busybox(srv, w, repo="run/secret")
        value = b"s3cr3t-" + os.urandom(12).hex().encode()
        p = subprocess.run([w.bin, "secret", "create", "dbpass", "-"], input=value, capture_output=True,
                           env={**os.environ, "WHARF_HOME": w.home}, timeout=60)
        eq(p.returncode, 0, f"secret create: {p.stderr!r}")
        for rt in runtimes():
            out = w.run("run", "--rm", "--runtime", rt, "--secret", "dbpass",
                        "--secret", "dbpass,target=copy,uid=1000,gid=1000,mode=0440", ref, "sh", "-c",
                        "cat /run/secrets/dbpass; echo; stat -c '%a %u %g' /run/secrets/dbpass /run/secrets/copy; "
                        "grep -c s3cr3t /proc/1/environ; echo env=$?; "
                        "touch /run/secrets/new; echo touch=$?; grep ' /run/secrets ' /proc/mounts",
                        ok=False)
            lines = out.stdout.splitlines()
            eq(lines[0].encode(), value, f"{rt}: the secret's value at /run/secrets/dbpass ({out.stderr})")
            eq(lines[1], "400 0 0", f"{rt}: default mode 0400, owned by container root")
            eq(lines[2], "440 1000 1000", f"{rt}: target, uid, gid and mode options")
            check("env=0" not in out.stdout, f"{rt}: not in /proc/1/environ: {out.stdout!r}")
            check("touch=0" not in out.stdout, f"{rt}: /run/secrets is read-only")
            check(" tmpfs " in out.stdout and " ro," in out.stdout, f"{rt}: a read-only tmpfs: {out.stdout!r}")
        # detached: while it runs, the value is nowhere under $WHARF_HOME; after rm the tmpfs is gone
        cid = w.run("run", "-d", "--secret", "dbpass", ref, "sleep", "30").stdout.strip()
        eq(grep_tree(w.home, value), [], "the secret's value is in no file under $WHARF_HOME")
        eq(grep_tree(w.home, value[:12]), [], "not even its prefix")
        run_dir = os.path.join("/run/wharf", cid, "secrets")
        check(os.path.ismount(run_dir), "the secrets tmpfs is mounted while the container lives")
        w.run("rm", "--force", cid)
        check(not os.path.exists(os.path.join("/run/wharf", cid)), "rm removes the tmpfs and its directory")
        p = w.run("run", "--rm", "--secret", "nosuch", ref, "true", ok=False)
        eq(p.returncode, 125, "an unknown secret")
        check("nosuch" in p.stderr, f"names it: {p.stderr!r}")
        p = w.run("run", "--rm", "--secret", "dbpass,target=../x", ref, "true", ok=False)
        eq(p.returncode, 125, f"target with a slash refused: {p.stderr!r}")
    finally:
        w.cleanup()
        shutil.rmtree(vol, ignore_errors=True)


@test
def run_userns_modes_network_and_volumes(srv):
    w = Wharf()
    vol = volume_dir()
    try:
        ref = signed_busybox(srv, w, repo="run/modes")
        # --userns BASE:SIZE: a fixed map, not from the pool
        p = w.run("run", "--rm", "--userns", "3000000000:65536", ref, "cat", "/proc/self/uid_map")
        eq(p.stdout.split(), ["0", "3000000000", "65536"], "--userns BASE:SIZE maps 0 to BASE")
        eq(pool_entries(w.home), "", "a fixed range is not taken from the pool")
        # --userns host: only on request; container root is host root
        p = w.run("run", "--rm", "--userns", "host", "-v", f"{vol}:/data", ref, "sh", "-c",
                  "cat /proc/self/uid_map; touch /data/host-root")
        eq(p.stdout.split(), ["0", "0", "4294967295"], "--userns host: the initial namespace's map")
        eq(os.stat(f"{vol}/host-root").st_uid, 0, "--userns host writes as host root")
        p = w.run("run", "--rm", "--userns", "bogus", ref, "true", ok=False)
        eq(p.returncode, 125, f"bad --userns: {p.stderr!r}")
        # network: loopback only by default, the host's with --network host
        p = w.run("run", "--rm", ref, "cat", "/proc/net/dev")
        ifaces = sorted(l.split(":")[0].strip() for l in p.stdout.splitlines()[2:])
        eq(ifaces, ["lo"], "only loopback in the container's network namespace")
        with open("/proc/net/dev") as f:
            host_ifaces = sorted(l.split(":")[0].strip() for l in f.read().splitlines()[2:])
        p = w.run("run", "--rm", "--network", "host", ref, "cat", "/proc/net/dev")
        eq(sorted(l.split(":")[0].strip() for l in p.stdout.splitlines()[2:]), host_ifaces, "--network host")
        # -v SRC:DST:ro
        p = w.run("run", "--rm", "-v", f"{vol}:/ro:ro", ref, "sh", "-c", "touch /ro/x; echo rc=$?")
        check("rc=0" not in p.stdout, f"a :ro volume is read-only: {p.stdout!r}")
        check(not os.path.exists(f"{vol}/x"), "nothing written through a :ro volume")
        p = w.run("run", "--rm", "-v", "relative:/x", ref, "true", ok=False)
        eq(p.returncode, 125, "a missing volume source")
        # a foreground container without --rm stays, with its exit code; a name is unique
        p = w.run("run", "--name", "kept", ref, "sh", "-c", "exit 3", ok=False)
        eq(p.returncode, 3, "exit status")
        allps = json.loads(w.run("ps", "--all", "--json").stdout)
        eq([(c["name"], c["status"], c["exitCode"]) for c in allps], [("kept", "exited", 3)], "ps --all")
        p = w.run("run", "--name", "kept", ref, "true", ok=False)
        eq(p.returncode, 125, "a name in use")
        check("in use" in p.stderr, f"message: {p.stderr!r}")
        # stop: SIGTERM to pid 1 (sh ignores it), then SIGKILL after --time
        cid = w.run("run", "-d", ref, "sleep", "60").stdout.strip()
        import time
        t0 = time.time()
        w.run("stop", "--time", "1", cid[:8])
        check(time.time() - t0 < 15, "stop returns after the grace time")
        st = {c["id"]: c["status"] for c in json.loads(w.run("ps", "--all", "--json").stdout)}
        eq(st[cid], "stopped", "the stopped container")
        w.run("rm", cid[:8], "kept")
        eq(json.loads(w.run("ps", "--all", "--json").stdout), [], "removed")
        eq(os.listdir(os.path.join(w.home, "containers")), [], "no state left")
    finally:
        w.cleanup()
        shutil.rmtree(vol, ignore_errors=True)


@test
def run_shifted_copy_without_idmapped_mounts(srv):
    """WHARF_RUN_IDMAP=0 takes the path of kernels without idmapped mounts: a shifted copy."""
    w = Wharf()
    try:
        ref = signed_busybox(srv, w, repo="run/shifted")
        for idmap in ("1", "0"):
            p = w.run("run", "--rm", ref, "sh", "-c", "cat /proc/self/uid_map; stat -c '%u %g %a' / /bin/busybox /tmp",
                      env={"WHARF_RUN_IDMAP": idmap})
            out = p.stdout.split()
            eq(out[3:], ["0", "0", "755", "0", "0", "755", "0", "0", "1777"],
               f"idmap={idmap}: files owned by container root inside, modes kept")
        roots = os.listdir(os.path.join(w.home, "rootfs"))
        shifted = [r for r in roots if "-shift-" in r]
        eq(len(shifted), 1, f"one shifted copy, cached per range: {roots}")
        base = int(shifted[0].split("-shift-")[1].split("-")[0])
        st = os.stat(os.path.join(w.home, "rootfs", shifted[0], "bin", "busybox"))
        eq((st.st_uid, st.st_gid), (base, base), "the copy's owners are shifted by the range base on the host")
        orig = [r for r in roots if "-shift-" not in r][0]
        eq(os.stat(os.path.join(w.home, "rootfs", orig, "bin", "busybox")).st_uid, 0, "the original stays unshifted")
        # a second run with the same range reuses the copy
        w.run("run", "--rm", ref, "true", env={"WHARF_RUN_IDMAP": "0"})
        eq(sorted(os.listdir(os.path.join(w.home, "rootfs"))), sorted(roots), "no second copy")
    finally:
        w.cleanup()


@test(slow=True)
def run_debian_image_from_mkimage(srv):
    """A real 3-layer Debian image (mkimage-debian: minbase, ca-certificates, a copy and two
    deletions that become whiteouts), pushed by skopeo, signed, run: its programs work inside,
    whiteouts applied, setuid bits stripped, files owned by container root."""
    from test_clients import TAG, Containers, Layout, image_layout, push_debian
    image = Layout(image_layout(), TAG)
    w = Wharf()
    work = tempfile.mkdtemp(prefix="wharf-run-tools-")
    try:
        with Containers(work) as tools:
            repo = "run/debian"
            gun = f"{srv.addr}/{repo}"
            push_debian(srv, tools, image, repo=repo, tag=TAG)
        w.run("trust", "init", "--server", srv.url, gun)
        w.run("trust", "sign", "--server", srv.url, f"{gun}:{TAG}")
        script = ("cat /etc/debian_version; test -e /usr/share/doc/apt; echo apt-doc=$?; "
                  "test -e /usr/share/doc/debconf; echo debconf-doc=$?; test -d /usr/share/doc/bash; echo bash-doc=$?; "
                  "cat /opt/x/link.conf | grep value; stat -c '%u %a' /usr/bin/passwd /usr/bin/su /etc/shadow; "
                  "dpkg-query -W -f='${Package}\\n' | grep -c .; id -u; ls -ld /etc/ssl/certs | cut -c1-10")
        for rt in runtimes():
            p = w.run("run", "--rm", "--runtime", rt, f"{gun}:{TAG}", "/bin/sh", "-c", script)
            out = p.stdout.splitlines()
            check(out[0].startswith("12"), f"{rt}: bookworm's /etc/debian_version: {out[0]!r}")
            eq(out[1:4], ["apt-doc=1", "debconf-doc=1", "bash-doc=0"], f"{rt}: whiteouts of layer 3 applied")
            eq(out[4], "value = 42", f"{rt}: a symlink in the copied layer")
            eq(out[5:7], ["0 755", "0 755"], f"{rt}: setuid stripped from passwd and su, owned by container root")
            check(out[7].startswith("0 6"), f"{rt}: /etc/shadow owned by root, mode 6x0: {out[7]!r}")
            check(int(out[8]) > 80, f"{rt}: dpkg works and lists the packages: {out[8]}")
            eq(out[9], "0", f"{rt}: uid 0 inside")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        w.cleanup()


@test
def run_scan_policy_gate(srv):
    """--fail-on: the image's packages (scanned from the content store) against the local
    vulnerability database; a finding at or above the severity keeps the image from running."""
    w = Wharf()
    try:
        status = (b"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
                  b"Version: 3.0.0-1\n\n")
        pkgs = tar_layer([ti("etc", tarfile.DIRTYPE), ti("etc/os-release", mode=0o644,
                          data=b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'),
                          ti("var", tarfile.DIRTYPE), ti("var/lib", tarfile.DIRTYPE), ti("var/lib/dpkg", tarfile.DIRTYPE),
                          ti("var/lib/dpkg/status", mode=0o644, data=status)])
        ref = signed_busybox(srv, w, repo="run/vulnerable", extra_layers=[pkgs])
        p = w.run("run", "--rm", "--fail-on", "HIGH", ref, "true", ok=False)
        eq(p.returncode, 125, f"no database: the gate fails closed ({p.stderr})")
        check("wharf db import" in p.stderr, f"names the fix: {p.stderr!r}")
        tracker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "fixtures", "vulndb",
                               "debian-tracker-sample.json")
        w.run("db", "import", "debian", tracker)
        p = w.run("run", "--rm", "--fail-on", "HIGH", ref, "true", ok=False)
        eq(p.returncode, 125, f"a HIGH finding refuses the image ({p.stderr})")
        check("scan policy refuses" in p.stderr and "openssl" in p.stderr and "CVE-TEST-0001" in p.stderr,
              f"message names the finding: {p.stderr!r}")
        check(not os.path.exists(os.path.join(w.home, "containers")) or
              os.listdir(os.path.join(w.home, "containers")) == [], "no container was made")
        p = w.run("run", "--rm", "--fail-on", "CRITICAL", ref, "true")
        eq(p.returncode, 0, "nothing CRITICAL: it runs")
        p = w.run("run", "--rm", ref, "true")
        eq(p.returncode, 0, "no policy: it runs")
        p = w.run("run", "--rm", ref, "true", ok=False, env={"WHARF_RUN_FAIL_ON": "medium"})
        eq(p.returncode, 125, "the policy from $WHARF_RUN_FAIL_ON")
        clean = signed_busybox(srv, w, repo="run/clean")
        p = w.run("run", "--rm", "--fail-on", "LOW", clean, "true")
        eq(p.returncode, 0, "an image without vulnerable packages passes the strictest policy")
        p = w.run("run", "--rm", "--fail-on", "bogus", clean, "true", ok=False)
        eq(p.returncode, 2, "a bad severity is a usage error")
    finally:
        w.cleanup()


@test
def run_concurrent_first_runs(srv):
    """Four first runs of one image at once: one rootfs in the cache, no temporary left, four
    distinct ranges from the pool, all released."""
    w = Wharf()
    try:
        ref = signed_busybox(srv, w, repo="run/concurrent")
        w.run("pull", ref)  # the trust data and blobs once; the unpacking races below
        env = dict(os.environ, WHARF_HOME=w.home, **WPASS)
        # Each container holds its range until all four hold one (a range released by a finished
        # container may rightly go to a later one): they wait for /v/go, made when the pool
        # (here the transient file of --rm ranges) lists four.
        vol = volume_dir()
        procs = [subprocess.Popen([w.bin, "run", "--rm", "-v", f"{vol}:/v", ref, "sh", "-c",
                                   "cat /proc/self/uid_map; while [ ! -e /v/go ]; do sleep 0.05; done"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        deadline = time.time() + 120
        while time.time() < deadline and len(pool_entries(w.home).splitlines()) < 4 and \
                all(p.poll() is None for p in procs):
            time.sleep(0.05)
        eq(len(pool_entries(w.home).splitlines()), 4, "four ranges held at once")
        open(os.path.join(vol, "go"), "w").close()
        outs = [p.communicate(timeout=120) for p in procs]
        shutil.rmtree(vol, ignore_errors=True)
        for p, (out, errs) in zip(procs, outs):
            eq(p.returncode, 0, f"concurrent run: {errs[-500:]}")
        bases = sorted(int(out.split()[1]) for out, _ in outs)
        eq(len(set(bases)), 4, f"four distinct ranges: {bases}")
        roots = os.listdir(os.path.join(w.home, "rootfs"))
        eq(len([r for r in roots if not r.startswith(".tmp")]), 1, f"one cached rootfs: {roots}")
        eq([r for r in roots if r.startswith(".tmp")], [], "no temporary directory left")
        eq(pool_entries(w.home), "", "all ranges released")
    finally:
        w.cleanup()


@test
def run_front_alone_for_cached_digest(srv):
    """The fast front (build/wharf) runs a cached image named by digest without wharf-full, and
    hands everything else to wharf-full before it changes anything: a copy of the front alone
    runs the cached digest, and fails cleanly (125, nothing created) for a tag or an uncached one."""
    w = Wharf()
    alone = tempfile.mkdtemp(prefix="wharf-front-")
    try:
        ref = signed_busybox(srv, w, repo="run/front")
        digest = json.loads(w.run("pull", "--json", ref).stdout)["digest"]
        dref = ref.rsplit(":", 1)[0] + "@" + digest
        # the full path: pull by tag, unpack, run
        eq(w.run("run", "--rm", ref, "echo", "full").stdout, "full\n", "by tag through wharf-full")
        front = os.path.join(alone, "wharf")
        shutil.copy(w.bin, front)
        env = dict(os.environ, WHARF_HOME=w.home, **WPASS)
        env.pop("WHARF_TRUST_SERVER", None)
        lines = subprocess.run(["ldd", front], capture_output=True, text=True).stdout
        check("libcurl" not in lines and "libarchive" not in lines, f"the front links no libcurl/libarchive: {lines}")
        p = subprocess.run([front, "run", "--rm", dref, "sh", "-c", "cat /proc/self/uid_map; exit 3"],
                           env=env, capture_output=True, text=True, timeout=60)
        eq(p.returncode, 3, f"the front alone runs the cached digest: {p.stderr[-800:]}")
        check(int(p.stdout.split()[1]) >= 100000, "in a user namespace from the pool")
        eq(os.listdir(os.path.join(w.home, "containers")), [], "--rm removed it")
        for what, args in (("a tag", [ref]), ("--secret", ["--secret", "x", dref])):
            p = subprocess.run([front, "run", "--rm"] + args + ["true"], env=env, capture_output=True, text=True,
                               timeout=60)
            eq(p.returncode, 125, f"{what}: the front execs wharf-full, missing here: {p.stderr!r}")
            check("wharf-full" in p.stderr, f"{what}: names wharf-full: {p.stderr!r}")
        fresh = tempfile.mkdtemp(prefix="wharf-run-home-")
        p = subprocess.run([front, "run", "--rm", dref, "true"], env=dict(env, WHARF_HOME=fresh), capture_output=True,
                           text=True, timeout=60)
        eq(p.returncode, 125, f"an uncached digest goes to wharf-full: {p.stderr!r}")
        check(not os.path.exists(os.path.join(fresh, "containers")), "and nothing was created first")
        shutil.rmtree(fresh, ignore_errors=True)
        # the real pair: an uncached digest in a fresh home is pulled by wharf-full
        w2 = Wharf()
        try:
            p = w2.run("run", "--rm", "--disable-content-trust", dref, "echo", "pulled")
            eq(p.stdout, "pulled\n", "wharf (front) -> wharf-full pulls an uncached digest")
        finally:
            w2.cleanup()
    finally:
        shutil.rmtree(alone, ignore_errors=True)
        w.cleanup()
