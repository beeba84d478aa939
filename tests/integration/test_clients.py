"""Real clients against wharfd: skopeo, podman, buildah and the docker CLI.

The image is a real multi-layer Debian image built with /work/shared/tools/mkimage-debian
(mmdebstrap + umoci) into an OCI layout. It is built once per run into the directory named
by WHARF_TEST_IMAGE_CACHE (kept, and reused when it already holds the image), or else into
a temporary directory under /var/tmp that is removed when the run ends.

Every containers/image client (skopeo, podman, buildah) runs in a private mount namespace
with its own blob-info cache bound over /var/lib/containers/cache, and podman/buildah get a
per-test --root/--runroot, so the host's stores and caches are neither used nor changed.
"""
import atexit
import base64
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

from harness import Failure, Server, check, eq, sha256, test

MKIMAGE = os.environ.get("WHARF_TEST_MKIMAGE", "/work/shared/tools/mkimage-debian")
TAG = "bookworm"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json",
                             "application/vnd.oci.image.index.v1+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json"])

_image = {"dir": None}


# ---------------------------------------------------------------------------------------------
# Running tools

def run(cmd, timeout=600, env=None, ok=True, what=None):
    """Run cmd; with ok=True a non-zero exit is a test failure that shows the output."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"{what or cmd[0]} timed out after {timeout}s: {' '.join(cmd)}") from e
    except FileNotFoundError as e:
        raise Failure(f"{cmd[0]} is not installed: {e}") from e
    if ok and p.returncode != 0:
        raise Failure(f"{what or cmd[0]} exited {p.returncode}: {' '.join(cmd)}\n"
                      f"stdout: {p.stdout.decode(errors='replace')[-1500:]}\n"
                      f"stderr: {p.stderr.decode(errors='replace')[-3000:]}")
    return p


class Containers:
    """skopeo/podman/buildah confined to one scratch directory.

    The blob-info cache, which containers/image keeps for root in /var/lib/containers/cache
    whatever --root says, is replaced by a private directory inside a mount namespace.
    """

    CACHE = "/var/lib/containers/cache"

    def __init__(self, work):
        self.work = work
        self.cache = os.path.join(work, "blob-info-cache")
        self.mounted = False

    # vfs stores hold a full copy of the root filesystem per layer: tens of thousands of
    # files that take minutes to unlink on a disk mounted with discard. A tmpfs goes at once.
    def __enter__(self):
        os.makedirs(self.work, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", "size=8g,mode=0700", "wharf-test-containers", self.work],
            what="mount tmpfs")
        self.mounted = True
        os.makedirs(self.cache, exist_ok=True)
        os.makedirs(self.CACHE, exist_ok=True)
        return self

    def __exit__(self, *exc):
        if self.mounted:
            if subprocess.run(["umount", self.work], stderr=subprocess.DEVNULL).returncode != 0:
                subprocess.run(["umount", "--lazy", self.work])
            self.mounted = False
        return False

    def _wrap(self, argv):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" "$1" && shift && exec "$@"', self.cache, self.CACHE] + argv

    def skopeo(self, *args, timeout=600, ok=True):
        return run(self._wrap(["skopeo"] + list(args)), timeout=timeout, ok=ok, what="skopeo " + args[0])

    def _store_flags(self, name):
        root = os.path.join(self.work, name, "root")
        runroot = os.path.join(self.work, name, "run")
        os.makedirs(root, exist_ok=True)
        os.makedirs(runroot, exist_ok=True)
        return ["--root", root, "--runroot", runroot, "--storage-driver", "vfs"]

    def podman(self, store, *args, timeout=600, ok=True):
        argv = (["podman"] + self._store_flags(store) +
                ["--cgroup-manager", "cgroupfs", "--events-backend", "file"] + list(args))
        return run(self._wrap(argv), timeout=timeout, ok=ok, what="podman " + args[0])

    def buildah(self, store, *args, timeout=600, ok=True):
        argv = ["buildah"] + self._store_flags(store) + list(args)
        return run(self._wrap(argv), timeout=timeout, ok=ok, what="buildah " + args[0])


# ---------------------------------------------------------------------------------------------
# The Debian image in an OCI layout

def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Layout:
    """One tagged image of an OCI image layout on disk."""

    def __init__(self, path, tag):
        self.path = path
        with open(os.path.join(path, "index.json"), "rb") as f:
            index = json.load(f)
        descs = [m for m in index.get("manifests", [])
                 if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
        if len(descs) != 1:
            raise Failure(f"{path}/index.json has {len(descs)} manifests tagged {tag!r}: {index}")
        self.digest = descs[0]["digest"]
        self.raw = self.blob(self.digest)
        eq(sha256(self.raw), self.digest, f"manifest blob of {path}:{tag}")
        self.manifest = json.loads(self.raw)
        self.config = self.manifest["config"]["digest"]
        self.layers = [layer["digest"] for layer in self.manifest["layers"]]
        self.sizes = {d["digest"]: d["size"] for d in [self.manifest["config"]] + self.manifest["layers"]}

    def blob_path(self, digest):
        alg, hexpart = digest.split(":", 1)
        return os.path.join(self.path, "blobs", alg, hexpart)

    def blob(self, digest):
        with open(self.blob_path(digest), "rb") as f:
            return f.read()

    def verify_blobs(self):
        """Every blob the image names is in the layout with the bytes of its digest."""
        for d in [self.config] + self.layers:
            eq(file_sha256(self.blob_path(d)), d, f"blob file {d} in {self.path}")
            eq(os.path.getsize(self.blob_path(d)), self.sizes[d], f"size of blob {d} in {self.path}")


def _layout_has_image(path):
    try:
        Layout(path, TAG).verify_blobs()
        return True
    except (OSError, ValueError, KeyError, Failure):
        return False


def image_layout():
    """Path of an OCI layout holding the Debian test image as TAG; built at most once per run."""
    if _image["dir"]:
        return _image["dir"]
    path = os.environ.get("WHARF_TEST_IMAGE_CACHE")
    temporary = not path
    if temporary:
        path = tempfile.mkdtemp(prefix="wharf-test-image-", dir="/var/tmp")
        atexit.register(shutil.rmtree, path, True)
    path = os.path.abspath(path).rstrip("/")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Concurrent runs sharing one cache build it once. The lock sits beside the layout,
    # because mkimage-debian wants the layout directory empty or a layout.
    lock_path = path + ".lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _layout_has_image(path):
                _build_image(path)
        finally:
            if temporary:
                os.unlink(lock_path)
    image = Layout(path, TAG)
    image.verify_blobs()
    check(len(image.layers) >= 3, f"the test image should have 3 layers, has {image.layers}")
    _image["dir"] = path
    return path


def _run_mkimage(cmd, timeout):
    """mkimage-debian mounts /proc and /dev inside its work tree and unmounts them in an EXIT
    trap: if the run is interrupted, stop it with SIGTERM (so the trap runs), not SIGKILL."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    if proc.returncode != 0:
        raise Failure(f"mkimage-debian exited {proc.returncode}: {' '.join(cmd)}\n"
                      f"{out.decode(errors='replace')[-3000:]}")


def _build_image(path):
    src = tempfile.mkdtemp(prefix="wharf-test-image-src-")
    try:
        os.makedirs(os.path.join(src, "etc"))
        with open(os.path.join(src, "etc", "wharf-test.conf"), "w") as f:
            f.write("# copied into the image by the wharf integration tests\nvalue = 42\n")
        with open(os.path.join(src, "payload.bin"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        os.symlink("etc/wharf-test.conf", os.path.join(src, "link.conf"))
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
        cmd = [MKIMAGE, "--out", path, "--tag", TAG, "--packages", "ca-certificates",
               "--copy", f"{src}:/opt/x", "--delete", "/usr/share/doc/debconf",
               "--delete", "/usr/share/doc/apt"]
        _run_mkimage(cmd, timeout=1200)
    finally:
        shutil.rmtree(src, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Checks against wharfd itself (bytes, not just what a client says)

def get_manifest(srv, repo, ref):
    r = srv.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT})
    eq(r.status, 200, f"GET manifest {repo}:{ref}: {r.body[:300]!r}")
    eq(r.header("Docker-Content-Digest"), sha256(r.body), f"Docker-Content-Digest of {repo}:{ref}")
    return r.body


def check_blobs_served(srv, repo, manifest_raw, layout=None):
    """Every blob the manifest names is served by wharfd with bytes that hash to its digest,
    with the size the manifest gives, and (given a layout) the very bytes of the layout."""
    m = json.loads(manifest_raw)
    for desc in [m["config"]] + m["layers"]:
        d = desc["digest"]
        r = srv.request("GET", f"/v2/{repo}/blobs/{d}", timeout=120)
        eq(r.status, 200, f"GET blob {d} of {repo}")
        eq(sha256(r.body), d, f"bytes of blob {d} of {repo}")
        eq(len(r.body), desc["size"], f"size of blob {d} of {repo}")
        if layout is not None:
            check(r.body == layout.blob(d), f"blob {d} of {repo} differs from the layout's file")


def push_debian(srv, tools, image, repo="debian/base", tag=TAG):
    dest = f"docker://{srv.addr}/{repo}:{tag}"
    tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{image.path}:{TAG}", dest)
    return dest


def compare_layouts(got, want, what):
    eq(got.digest, want.digest, f"{what}: manifest digest")
    eq(got.raw, want.raw, f"{what}: manifest bytes")
    eq(got.config, want.config, f"{what}: config digest")
    eq(got.layers, want.layers, f"{what}: layer digests")
    got.verify_blobs()


# ---------------------------------------------------------------------------------------------
# skopeo

@test(slow=True, shared=False)
def skopeo_debian_roundtrip(srv):
    image = Layout(image_layout(), TAG)
    srv.start()
    with Containers(os.path.join(srv.tmp, "containers")) as tools:
        dest = push_debian(srv, tools, image)

        raw = tools.skopeo("inspect", "--tls-verify=false", "--raw", dest).stdout
        eq(sha256(raw), image.digest, "digest of the manifest skopeo reads back")
        eq(raw, image.raw, "manifest bytes skopeo reads back")
        eq(get_manifest(srv, "debian/base", TAG), image.raw, "manifest bytes wharfd serves")
        check_blobs_served(srv, "debian/base", image.raw, layout=image)

        back = os.path.join(srv.tmp, "back")
        tools.skopeo("copy", "--src-tls-verify=false", dest, f"oci:{back}:{TAG}")
        compare_layouts(Layout(back, TAG), image, "copy back from wharfd")

        remote = json.loads(tools.skopeo("inspect", "--tls-verify=false", dest).stdout)
        local = json.loads(tools.skopeo("inspect", f"oci:{image.path}:{TAG}").stdout)
        eq(remote["Digest"], image.digest, "skopeo inspect Digest")
        eq(remote["Layers"], image.layers, "skopeo inspect Layers")
        for key in ("Architecture", "Os", "Created", "Env"):
            eq(remote.get(key), local.get(key), f"skopeo inspect {key} (registry vs layout)")

        # Registry to registry: a second tag in the same repository and a copy into another
        # repository (skopeo tries a cross-repository mount first).
        tools.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", dest,
                     f"docker://{srv.addr}/debian/base:stable")
        mirror = f"docker://{srv.addr}/mirror/debian:{TAG}"
        tools.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", dest, mirror)
        eq(tools.skopeo("inspect", "--tls-verify=false", "--raw", mirror).stdout, image.raw, "mirrored manifest")
        check_blobs_served(srv, "mirror/debian", image.raw, layout=image)

        tags = json.loads(tools.skopeo("list-tags", "--tls-verify=false", f"docker://{srv.addr}/debian/base").stdout)
        eq(sorted(tags["Tags"]), ["bookworm", "stable"], "skopeo list-tags debian/base")
        tags = json.loads(tools.skopeo("list-tags", "--tls-verify=false", f"docker://{srv.addr}/mirror/debian").stdout)
        eq(tags["Tags"], [TAG], "skopeo list-tags mirror/debian")

        by_digest = f"docker://{srv.addr}/debian/base@{image.digest}"
        eq(tools.skopeo("inspect", "--tls-verify=false", "--raw", by_digest).stdout, image.raw,
           "manifest read by digest")
        pinned = os.path.join(srv.tmp, "pinned")
        tools.skopeo("copy", "--src-tls-verify=false", by_digest, f"oci:{pinned}:pinned")
        compare_layouts(Layout(pinned, "pinned"), image, "copy by digest")

        # A digest the registry does not have must make skopeo fail, not invent an image.
        missing = "sha256:" + hashlib.sha256(b"no such manifest").hexdigest()
        p = tools.skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{srv.addr}/debian/base@{missing}",
                         ok=False)
        check(p.returncode != 0, f"skopeo inspect of a missing digest succeeded: {p.stdout[:200]!r}")


# ---------------------------------------------------------------------------------------------
# podman and buildah

def podman_image(tools, store, ref):
    out = tools.podman(store, "image", "inspect", ref).stdout
    info = json.loads(out)
    eq(len(info), 1, f"podman image inspect {ref}")
    return info[0]


def check_pushed(srv, repo, tag, digest, image_id):
    raw = get_manifest(srv, repo, tag)
    eq(sha256(raw), digest, f"manifest of {repo}:{tag} vs the client's digest file")
    eq(json.loads(raw)["config"]["digest"], image_id, f"config of {repo}:{tag} vs the image ID")
    check_blobs_served(srv, repo, raw)
    return raw


@test(slow=True, shared=False)
def podman_push_pull_search(srv):
    image = Layout(image_layout(), TAG)
    srv.start()
    other = Server(srv.wharfd)  # a fresh registry: podman must upload every layer there
    try:
        other.start()
        with Containers(os.path.join(srv.tmp, "containers")) as tools:
            push_debian(srv, tools, image)
            src_ref = f"{srv.addr}/debian/base:{TAG}"

            tools.podman("main", "pull", "--tls-verify=false", src_ref)
            info = podman_image(tools, "main", src_ref)
            eq("sha256:" + info["Id"], image.config, "podman image ID after pull")
            eq(info["Digest"], image.digest, "podman image digest after pull")

            authfile = os.path.join(srv.tmp, "auth.json")
            p = tools.podman("main", "login", "--tls-verify=false", "--authfile", authfile, "-u", "x", "-p", "y",
                             srv.addr)
            check(b"Login Succeeded" in p.stdout, f"podman login output: {p.stdout!r} {p.stderr!r}")

            targets = [(srv, "podman/pushed", "v1"), (other, "podman/fresh", "v1")]
            for i, (server, repo, tag) in enumerate(targets):
                ref = f"{server.addr}/{repo}:{tag}"
                digest_file = os.path.join(srv.tmp, f"digest-{i}")
                tools.podman("main", "tag", src_ref, ref)
                tools.podman("main", "push", "--tls-verify=false", "--digestfile", digest_file, ref)
                with open(digest_file) as f:
                    pushed = f.read().strip()
                check_pushed(server, repo, tag, pushed, image.config)
                # Pull into an empty store: the same image ID and the digest that was pushed.
                store = f"fresh-{i}"
                tools.podman(store, "pull", "--tls-verify=false", ref)
                got = podman_image(tools, store, ref)
                eq("sha256:" + got["Id"], image.config, f"image ID pulled back from {ref}")
                eq(got["Digest"], pushed, f"digest pulled back from {ref}")
                check(any(rd.endswith("@" + pushed) for rd in got.get("RepoDigests", [])),
                      f"RepoDigests of {ref}: {got.get('RepoDigests')}")

            out = tools.podman("main", "search", "--tls-verify=false", "--format", "json", f"{srv.addr}/").stdout
            names = {e["Name"] for e in json.loads(out)}
            for repo in ("debian/base", "podman/pushed"):
                check(f"{srv.addr}/{repo}" in names, f"podman search lists {repo}: {sorted(names)}")
            check(not any("podman/fresh" in n for n in names), f"podman search lists another server's repo: {names}")

            # buildah pushes the same image out of podman's store.
            digest_file = os.path.join(srv.tmp, "digest-buildah")
            tools.buildah("main", "push", "--tls-verify=false", "--digestfile", digest_file, src_ref,
                          f"docker://{other.addr}/buildah/pushed:v1")
            with open(digest_file) as f:
                pushed = f.read().strip()
            check_pushed(other, "buildah/pushed", "v1", pushed, image.config)
    finally:
        other.cleanup()


# ---------------------------------------------------------------------------------------------
# docker CLI (no engine here: login and manifest inspect)

@test(slow=True, shared=False)
def docker_login_and_manifest_inspect(srv):
    image = Layout(image_layout(), TAG)
    srv.start()
    with Containers(os.path.join(srv.tmp, "containers")) as tools:
        push_debian(srv, tools, image)
        config_dir = os.path.join(srv.tmp, "docker-config")
        os.makedirs(config_dir)
        env = dict(os.environ, DOCKER_CONFIG=config_dir)
        env.pop("DOCKER_HOST", None)

        p = run(["docker", "login", srv.addr, "-u", "x", "-p", "y"], env=env, timeout=120, what="docker login")
        check(b"Login Succeeded" in p.stdout, f"docker login output: {p.stdout!r} {p.stderr!r}")
        with open(os.path.join(config_dir, "config.json")) as f:
            auths = json.load(f).get("auths", {})
        check(srv.addr in auths, f"docker login stored no credentials for {srv.addr}: {auths}")
        eq(base64.b64decode(auths[srv.addr]["auth"]), b"x:y", "stored credentials")

        ref = f"{srv.addr}/debian/base:{TAG}"
        p = run(["docker", "manifest", "inspect", "--insecure", ref], env=env, timeout=120, what="docker manifest inspect")
        eq(json.loads(p.stdout), image.manifest, "docker manifest inspect output")

        p = run(["docker", "manifest", "inspect", "--insecure", "-v", ref], env=env, timeout=120,
                what="docker manifest inspect -v")
        verbose = json.loads(p.stdout)
        eq(verbose["Descriptor"]["digest"], image.digest, "docker manifest inspect -v digest")
        eq(base64.b64decode(verbose["Raw"]), image.raw, "docker manifest inspect -v raw bytes")

        p = run(["docker", "manifest", "inspect", "--insecure", f"{srv.addr}/debian/base@{image.digest}"], env=env,
                timeout=120, what="docker manifest inspect by digest")
        eq(json.loads(p.stdout), image.manifest, "docker manifest inspect by digest")

        p = run(["docker", "manifest", "inspect", "--insecure", f"{srv.addr}/debian/base:no-such-tag"], env=env,
                timeout=120, ok=False)
        check(p.returncode != 0, f"docker manifest inspect of a missing tag succeeded: {p.stdout[:200]!r}")


def _tls_client_hello(ctx):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


@test(slow=True, shared=False)
def tls_probe_gets_an_http_answer(srv):
    """docker (and containers/image) try https first on an insecure registry and fall back to
    plain http only if the server's answer to the TLS ClientHello is recognisably HTTP
    ("server gave HTTP response to HTTPS client"). A connection closed without any answer
    reads as EOF, and `docker manifest inspect --insecure` then fails outright. A ClientHello
    is random bytes: whether a space comes before its first LF is chance, so try both kinds."""
    srv.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    kinds = {}
    for _ in range(2000):
        hello = _tls_client_hello(ctx)
        kinds.setdefault(b" " in hello.split(b"\n")[0], hello)
        if len(kinds) == 2:
            break
    check(len(kinds) == 2, "could not make ClientHellos of both kinds")
    for payload in list(kinds.values()) + [b"GARBAGE\r\n\r\n"]:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(payload)
            try:
                answer = s.recv(64)
            except ConnectionResetError:
                answer = b"<connection reset>"
        first_line = payload.split(b"\n")[0][:40]
        got = answer[:40] or b"<EOF: closed without a response>"
        check(answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"),
              f"wharfd answered {len(payload)} bytes whose first line is {first_line!r} with {got!r}, "
              f"not with an HTTP 400")
    eq(srv.request("GET", "/v2/").status, 200, "wharfd still serves after the probes")
