"""wharf scan: packages of real Debian images (mkimage-debian) with the layers that brought them,
from an OCI layout, a docker-archive written by skopeo, and wharfd (pushed by skopeo); the layer
cache (a warm scan reads no layer); hostile layers (path traversal, symlink loops, gzip and tar
bombs, a huge sparse file, corrupt and truncated streams, a wrong digest) fail in bounded time
and memory with an error naming the layer.

The expected packages come from this file's own reading of the image: Python's tarfile over the
layer blobs and a small dpkg status parser, independent of wharf's.
"""
import gzip
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time

from harness import check, eq, sha256, test

REF_NAME = "org.opencontainers.image.ref.name"


def run_measured(argv, env, timeout, mem):
    """Run argv and check its peak resident memory stayed under mem bytes. For sanitizer builds,
    whose shadow memory needs terabytes of address space, so RLIMIT_AS cannot bound them."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        p = subprocess.CompletedProcess(argv, child.returncode, out.read().decode(errors="replace"),
                                        err.read().decode(errors="replace"))
    check(usage.ru_maxrss * 1024 < mem, f"peak memory {usage.ru_maxrss // 1024} MiB, limit {mem >> 20} MiB")
    return p


def wharf(*args, home, ok=True, timeout=300, mem=None):
    """Run the wharf CLI; mem bounds its memory (bytes): its address space, or under a sanitizer
    (ASAN_OPTIONS set) its measured peak resident size."""
    env = dict(os.environ, WHARF_HOME=home)
    argv = [os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")] + list(args)
    if mem and "ASAN_OPTIONS" in os.environ:
        # ASan's redzones, quarantine and shadow pages roughly double a program's resident size
        p = run_measured(argv, env, timeout, 2 * mem)
    else:
        limit = None
        if mem:
            def limit():
                resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    if ok and p.returncode != 0:
        raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def list_packages(ref, home, *extra):
    return json.loads(wharf("scan", "--list-packages", "--format", "json", *extra, ref, home=home).stdout)


# ---------------------------------------------------------------------------------------------
# The image as this test reads it

def parse_status(text):
    """Installed packages of a dpkg status file: name -> (version, source, source_version)."""
    out = {}
    for para in text.split("\n\n"):
        f = {}
        for line in para.splitlines():
            if line and not line[0].isspace() and ":" in line:
                k, v = line.split(":", 1)
                f[k.lower()] = v.strip()
        if "package" not in f or not f.get("status", "").endswith(" installed"):
            continue
        src, srcver = f.get("source", f["package"]), f["version"]
        if "(" in src:
            src, srcver = src.split("(", 1)
            src, srcver = src.strip(), srcver.rstrip(")").strip()
        out[f["package"]] = (f["version"], src, srcver)
    return out


def layer_statuses(layout):
    """The dpkg status of each layer that has one (None where a layer has none)."""
    out = []
    for d in layout.layers:
        with tarfile.open(layout.blob_path(d), "r:*") as t:
            text = None
            for m in t:
                if m.name.lstrip("./") == "var/lib/dpkg/status" and m.isfile():
                    text = t.extractfile(m).read().decode()
            out.append(parse_status(text) if text is not None else None)
    return out


def expected_packages(layout):
    """name -> (version, source, source_version, layer that introduced it at that version)."""
    per_layer = layer_statuses(layout)
    top = max(i for i, s in enumerate(per_layer) if s is not None)
    want = {}
    for name, (ver, src, srcver) in per_layer[top].items():
        layer = top
        for i in range(top - 1, -1, -1):
            if per_layer[i] is None:
                continue
            if per_layer[i].get(name, (None,))[0] != ver:
                break
            layer = i
        want[name] = (ver, src, srcver, layer)
    return want


def check_listing(out, layout, what, uncompressed=False):
    """uncompressed: the layers were stored as plain tars (skopeo's docker-archive), so their
    digests are the diff IDs."""
    config = json.loads(layout.blob(layout.config))
    digests = config["rootfs"]["diff_ids"] if uncompressed else layout.layers
    eq([x["digest"] for x in out["layers"]], digests, f"{what}: layer digests")
    eq([x["diffid"] for x in out["layers"]], config["rootfs"]["diff_ids"], f"{what}: diff IDs")
    eq((out["os"]["id"], out["os"]["version_id"], out["os"]["codename"]), ("debian", "12", "bookworm"), f"{what}: OS")
    want = expected_packages(layout)
    got = {p["name"]: p for p in out["packages"]}
    eq(sorted(got), sorted(want), f"{what}: package names")
    for name, (ver, src, srcver, layer) in want.items():
        p = got[name]
        eq((p["version"], p["source_name"], p["source_version"], p["layer"]), (ver, src, srcver, layer),
           f"{what}: {name} (version, source, source version, layer)")
        eq(p["layer_digest"], digests[layer], f"{what}: {name} layer digest")
        eq(p["ecosystem"], "Debian", f"{what}: {name} ecosystem")
    # What the image is known to hold: the base in layer 0, ca-certificates from the apt layer.
    eq(got["base-files"]["layer"], 0, f"{what}: base-files from the base layer")
    eq(got["ca-certificates"]["layer"], 1, f"{what}: ca-certificates from the apt-get install layer")
    check(any(p["source_name"] != p["name"] for p in out["packages"]), f"{what}: source names differ somewhere")


def debian():
    from test_clients import TAG, Layout, image_layout
    return Layout(image_layout(), TAG), TAG


# ---------------------------------------------------------------------------------------------
# Real images

@test(slow=True)
def scan_oci_layout_lists_packages_with_layers(srv):
    layout, tag = debian()
    home = tempfile.mkdtemp(prefix="wharf-scan-home-")
    try:
        out = list_packages(f"oci:{layout.path}:{tag}", home)
        check_listing(out, layout, "oci layout")
        eq(out["manifest_digest"], layout.digest, "manifest digest")
        table = wharf("scan", "--list-packages", f"oci:{layout.path}:{tag}", home=home).stdout
        check("ca-certificates" in table and "PACKAGE" in table, f"table listing: {table[:300]}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


@test(slow=True)
def scan_warm_cache_reads_no_layer(srv):
    """After one scan, a copy of the layout without its layer blobs scans the same: the cache
    answers for every layer. Without the cache the same copy fails naming the missing layer."""
    layout, tag = debian()
    home = tempfile.mkdtemp(prefix="wharf-scan-home-")
    copy = tempfile.mkdtemp(prefix="wharf-scan-nolayers-")
    try:
        cold = list_packages(f"oci:{layout.path}:{tag}", home)
        check(os.listdir(os.path.join(home, "cache", "scan")), "the cache holds entries")
        shutil.copytree(layout.path, copy, dirs_exist_ok=True)
        for d in layout.layers:
            os.unlink(os.path.join(copy, "blobs", "sha256", d.split(":")[1]))
        t0 = time.monotonic()
        warm = list_packages(f"oci:{copy}:{tag}", home)
        elapsed = time.monotonic() - t0
        eq(warm["packages"], cold["packages"], "packages from the cache")
        check(elapsed < 2.0, f"warm scan took {elapsed:.2f}s")
        p = wharf("scan", "--list-packages", "--no-cache", f"oci:{copy}:{tag}", home=home, ok=False)
        eq(p.returncode, 1, "scan with no cache and no layers")
        check(layout.layers[0] in p.stderr, f"error names the layer: {p.stderr}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)


@test(slow=True)
def scan_docker_archive_and_registry(srv):
    """skopeo writes a docker-archive and pushes to wharfd; wharf scans both, cold, to the same
    packages and layers as the OCI layout."""
    from test_clients import Containers, push_debian
    layout, tag = debian()
    home = tempfile.mkdtemp(prefix="wharf-scan-home-")
    work = tempfile.mkdtemp(prefix="wharf-scan-tools-")
    try:
        with Containers(work) as tools:
            archive = os.path.join(work, "image.tar")
            tools.skopeo("copy", f"oci:{layout.path}:{tag}", f"docker-archive:{archive}:scan/debian:{tag}")
            out = list_packages(f"docker-archive:{archive}", home, "--no-cache")
            check_listing(out, layout, "docker-archive", uncompressed=True)
            eq(out["repo_tags"], f"docker.io/scan/debian:{tag}", "repo tag of the archive (skopeo qualifies it)")
            push_debian(srv, tools, layout, repo="scan/debian", tag=tag)
        ref = f"docker://{srv.addr}/scan/debian:{tag}"
        out = list_packages(ref, home)
        check_listing(out, layout, "registry by tag")
        eq(out["manifest_digest"], layout.digest, "manifest digest from the registry")
        out = list_packages(f"docker://{srv.addr}/scan/debian@{layout.digest}", home, "--no-cache")
        check_listing(out, layout, "registry by digest")
        p = wharf("scan", "--list-packages", f"docker://{srv.addr}/scan/nothing:{tag}", home=home, ok=False)
        eq(p.returncode, 1, "scan of a missing repository")
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Hostile layers, in OCI layouts written here

def tar_bytes(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    return buf.getvalue()


def add_file(t, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))


def add_link(t, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    t.addfile(info)


def write_layout(root, layers, diff_ids=None, media="application/vnd.oci.image.layer.v1.tar+gzip"):
    """An OCI layout with one image (tag "t") of the given compressed layer blobs."""
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)

    def put(data):
        d = sha256(data)
        with open(os.path.join(root, "blobs", "sha256", d.split(":")[1]), "wb") as f:
            f.write(data)
        return d

    descs = [{"mediaType": media, "digest": put(b), "size": len(b)} for b in layers]
    if diff_ids is None:
        diff_ids = [sha256(gzip.decompress(b)) if b[:2] == b"\x1f\x8b" else sha256(b) for b in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "config": {"Env": ["PATH=/usr/bin"]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": put(config), "size": len(config)},
                           "layers": descs}).encode()
    md = put(manifest)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                      "digest": md, "size": len(manifest),
                                                      "annotations": {REF_NAME: "t"}}]}, f)
    return [d["digest"] for d in descs]


def zero_tar_gz(root, files):
    """A gzip'd tar of files full of zeros, streamed (never all in memory)."""
    path = os.path.join(root, "zeros.tar.gz")
    chunk = b"\0" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as g:
        for name, size in files:
            info = tarfile.TarInfo(name)
            info.size = size
            g.write(info.tobuf(tarfile.PAX_FORMAT))
            for off in range(0, size, len(chunk)):
                g.write(chunk[: min(len(chunk), size - off)])
            g.write(b"\0" * (-size % 512))
        g.write(b"\0" * 1024)
    with open(path, "rb") as f:
        return f.read()


STATUS = b"Package: hello\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n"


def refused(root, digest, words, *extra, seconds=60, mem=1 << 30):
    home = os.path.join(root, "home")
    t0 = time.monotonic()
    p = wharf("scan", "--list-packages", "--no-cache", *extra, f"oci:{root}/img:t", home=home, ok=False,
              timeout=seconds, mem=mem)
    took = time.monotonic() - t0
    eq(p.returncode, 1, f"exit status ({p.stderr.strip()})")
    check(digest in p.stderr, f"the error names layer {digest}: {p.stderr}")
    for w in words:
        check(w in p.stderr, f"the error says {w!r}: {p.stderr}")
    check(took < seconds, f"took {took:.1f}s")
    return p


@test
def scan_hostile_layers_fail_naming_the_layer(srv):
    root = tempfile.mkdtemp(prefix="wharf-scan-hostile-")
    img = os.path.join(root, "img")
    try:
        good = gzip.compress(tar_bytes(lambda t: add_file(t, "var/lib/dpkg/status", STATUS)))

        def fresh(layers, **kw):
            shutil.rmtree(img, ignore_errors=True)
            return write_layout(img, layers, **kw)

        # A path escaping the root.
        bad = gzip.compress(tar_bytes(lambda t: add_file(t, "../../../etc/passwd", b"root::0:0::/:/bin/sh\n")))
        d = fresh([good, bad])[1]
        refused(root, d, ["escapes the image root"])

        # Symlink loops (and os-release pointing into one) are never followed: the scan succeeds.
        # The status file replaced by a link is gone from the image, as in a container.
        def loops(t):
            add_link(t, "a", "b")
            add_link(t, "b", "a")
            add_link(t, "etc/os-release", "../etc/os-release")
            add_link(t, "var/lib/dpkg/status", "../../../var/lib/dpkg/status")
        fresh([good, gzip.compress(tar_bytes(loops))])
        out = json.loads(wharf("scan", "--list-packages", "--format", "json", "--no-cache", f"oci:{img}:t",
                               home=os.path.join(root, "home"), timeout=30).stdout)
        eq([p["name"] for p in out["packages"]], [], "packages once the status file is a symlink loop")
        fresh([good, gzip.compress(tar_bytes(lambda t: (add_link(t, "a", "b"), add_link(t, "b", "a"))))])
        out = json.loads(wharf("scan", "--list-packages", "--format", "json", "--no-cache", f"oci:{img}:t",
                               home=os.path.join(root, "home"), timeout=30).stdout)
        eq([p["name"] for p in out["packages"]], ["hello"], "packages beside a symlink loop")

        # A gzip bomb: 512 MiB of zeros in a blob of about 0.5 MiB, against a 256 MiB limit.
        d = fresh([zero_tar_gz(root, [("zeros", 512 << 20)])])[0]
        refused(root, d, ["bytes uncompressed"], "--max-layer-size", "256M")

        # A tar bomb: many entries adding up past the limit (300 files of 1 MiB).
        d = fresh([zero_tar_gz(root, [(f"d/{i}", 1 << 20) for i in range(300)])])[0]
        refused(root, d, ["bytes uncompressed"], "--max-layer-size", "256M")

        # A huge sparse file (1 TiB apparent, GNU tar's sparse format): read in bounded time.
        sparse_dir = os.path.join(root, "sparse")
        os.makedirs(sparse_dir)
        with open(os.path.join(sparse_dir, "huge"), "wb") as f:
            f.truncate(1 << 40)
            f.seek(1 << 30)
            f.write(b"data in the middle")
        sp = subprocess.run(["tar", "--sparse", "--format=posix", "-C", sparse_dir, "-cf", "-", "huge"],
                            capture_output=True, check=True).stdout
        check(len(sp) < (1 << 20), f"the sparse tar is small ({len(sp)} bytes)")
        fresh([good, gzip.compress(sp)])
        t0 = time.monotonic()
        out = json.loads(wharf("scan", "--list-packages", "--format", "json", "--no-cache", f"oci:{img}:t",
                               home=os.path.join(root, "home"), timeout=60, mem=1 << 30).stdout)
        check(time.monotonic() - t0 < 30, "sparse layer scanned quickly")
        eq(len(out["packages"]), 1, "packages beside a sparse file")

        # Corrupt gzip: bytes flipped in the middle of the deflate data.
        big = gzip.compress(tar_bytes(lambda t: [add_file(t, f"f{i}", os.urandom(4096)) for i in range(64)]))
        corrupt = bytearray(big)
        for i in range(len(corrupt) // 2, len(corrupt) // 2 + 64):
            corrupt[i] ^= 0xA5
        d = fresh([bytes(corrupt)], diff_ids=[sha256(gzip.decompress(big))])[0]
        p = refused(root, d, [])
        check("corrupt" in p.stderr or "checksum" in p.stderr or "tar" in p.stderr, f"corruption named: {p.stderr}")

        # Truncated layer.
        cut = big[: len(big) // 2]
        d = fresh([cut], diff_ids=[sha256(gzip.decompress(big))])[0]
        refused(root, d, ["truncated"])

        # Wrong digest: the blob's bytes are not what the manifest says.
        digests = fresh([good])
        path = os.path.join(img, "blobs", "sha256", digests[0].split(":")[1])
        other = gzip.compress(tar_bytes(lambda t: add_file(t, "var/lib/dpkg/status", STATUS.replace(b"1.0-1", b"6.6-6"))))
        with open(path, "wb") as f:
            f.write(other)
        refused(root, digests[0], ["hashes to", sha256(other)])

        # Wrong diff ID in the config.
        d = fresh([good], diff_ids=["sha256:" + "0" * 64])[0]
        refused(root, d, ["diff ID"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@test
def scan_usage_and_errors(srv):
    home = tempfile.mkdtemp(prefix="wharf-scan-home-")
    try:
        p = wharf("scan", "--help", home=home)
        for opt in ("--format", "--list-packages", "--cache-dir", "--no-cache", "--exit-code", "--fail-on",
                    "--ignorefile", "--severity", "--ignore-unfixed", "--db", "docker-archive:FILE"):
            check(opt in p.stdout, f"--help mentions {opt}")
        eq(wharf("scan", home=home, ok=False).returncode, 2, "no image")
        eq(wharf("scan", "--format", "xml", "oci:x", home=home, ok=False).returncode, 2, "unknown format")
        p = wharf("scan", "--list-packages", "nosuchscheme:x", home=home, ok=False)
        eq(p.returncode, 1, "unknown image scheme")
        check("oci:DIR" in p.stderr, f"the error says what is accepted: {p.stderr}")
        p = wharf("scan", "--list-packages", f"oci:{home}/missing:t", home=home, ok=False)
        eq(p.returncode, 1, "missing layout")
        check("index.json" in p.stderr, p.stderr)
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# With the vulnerability database (src/vulndb): findings carry the layer of their package

TRACKER = {
    "glibc": {"CVE-2099-100001": {"description": "a glibc flaw for this test", "releases": {
        "bookworm": {"status": "resolved", "fixed_version": "2.36-9+deb12u999", "urgency": "high"}}}},
    "zlib": {"CVE-2099-100002": {"description": "an unfixed zlib flaw", "releases": {
        "bookworm": {"status": "open", "urgency": "medium"}}}},
    "openssl": {"CVE-2099-100003": {"description": "fixed before this version", "releases": {
        "bookworm": {"status": "resolved", "fixed_version": "1.0.0-1", "urgency": "high"}}}},
}


@test(slow=True)
def scan_reports_vulnerabilities_by_layer(srv):
    """A wharf built with the vulnerability database matches by source package and version
    (glibc for libc6, zlib for zlib1g); --fail-on, --severity and --ignore-unfixed set the exit
    status. Before any import, a scan refuses (exit 1) rather than report an image clean."""
    layout, tag = debian()
    home = tempfile.mkdtemp(prefix="wharf-scan-home-")
    ref = f"oci:{layout.path}:{tag}"
    try:
        p = wharf("scan", ref, home=home, ok=False)
        eq(p.returncode, 1, "scan before any `wharf db import`")
        check("wharf db import" in p.stderr, p.stderr)
        tracker = os.path.join(home, "tracker.json")
        with open(tracker, "w") as f:
            json.dump(TRACKER, f)
        wharf("db", "import", "debian", tracker, home=home)
        out = json.loads(wharf("scan", "--format", "json", ref, home=home).stdout)
        found = {(v["VulnerabilityID"], v["PkgName"]): v for r in out["Results"] for v in r.get("Vulnerabilities") or []}
        check(("CVE-2099-100001", "libc6") in found, f"glibc flaw on libc6: {sorted(found)}")
        check(("CVE-2099-100002", "zlib1g") in found, f"zlib flaw on zlib1g: {sorted(found)}")
        check(not any(k[0] == "CVE-2099-100003" for k in found), "a flaw fixed before the installed version")
        v = found[("CVE-2099-100001", "libc6")]
        eq((v["InstalledVersion"], v["FixedVersion"], v["Severity"]), (expected_packages(layout)["libc6"][0],
           "2.36-9+deb12u999", "HIGH"), "libc6 finding")
        eq(v["Layer"]["Digest"], layout.layers[0], "libc6 finding's layer")
        eq(wharf("scan", "-q", "--fail-on", "HIGH", ref, home=home, ok=False).returncode, 1, "--fail-on HIGH")
        eq(wharf("scan", "-q", "--fail-on", "CRITICAL", ref, home=home, ok=False).returncode, 0, "--fail-on CRITICAL")
        eq(wharf("scan", "-q", "--severity", "MEDIUM", "--ignore-unfixed", "--exit-code", "5", ref, home=home,
                 ok=False).returncode, 0, "the only MEDIUM finding is unfixed")
        eq(wharf("scan", "-q", "--severity", "MEDIUM", "--exit-code", "5", ref, home=home, ok=False).returncode, 5,
           "--exit-code 5 with a MEDIUM finding")
    finally:
        shutil.rmtree(home, ignore_errors=True)


@test
def scan_index_platforms_and_docker_archive_blobs(srv):
    """An OCI index with linux/arm64 and linux/amd64 images: amd64 by default, --platform picks
    the other. A docker-archive in Docker 25's layout (blobs/sha256/<hex> entries, gzip layers)
    is read with the layer digests its paths name."""
    root = tempfile.mkdtemp(prefix="wharf-scan-index-")
    home = os.path.join(root, "home")
    try:
        img = os.path.join(root, "img")
        arm = gzip.compress(tar_bytes(lambda t: add_file(t, "var/lib/dpkg/status", STATUS.replace(b"amd64", b"arm64"))))
        amd = gzip.compress(tar_bytes(lambda t: add_file(t, "var/lib/dpkg/status", STATUS)))
        write_layout(img, [arm])
        with open(os.path.join(img, "index.json")) as f:
            arm_desc = json.load(f)["manifests"][0]
        amd_img = os.path.join(root, "amd")
        write_layout(amd_img, [amd])
        with open(os.path.join(amd_img, "index.json")) as f:
            amd_desc = json.load(f)["manifests"][0]
        for name in os.listdir(os.path.join(amd_img, "blobs", "sha256")):
            shutil.copy(os.path.join(amd_img, "blobs", "sha256", name), os.path.join(img, "blobs", "sha256", name))
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            dict(arm_desc, annotations={}, platform={"os": "linux", "architecture": "arm64"}),
            dict(amd_desc, annotations={}, platform={"os": "linux", "architecture": "amd64"})]}).encode()
        idx_digest = sha256(idx)
        with open(os.path.join(img, "blobs", "sha256", idx_digest.split(":")[1]), "wb") as f:
            f.write(idx)
        with open(os.path.join(img, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                       "digest": idx_digest, "size": len(idx), "annotations": {REF_NAME: "multi"}}]}, f)
        out = list_packages(f"oci:{img}:multi", home)
        eq([(p["name"], p["arch"]) for p in out["packages"]], [("hello", "amd64")], "default platform")
        eq(out["manifest_digest"], amd_desc["digest"], "the amd64 manifest")
        out = list_packages(f"oci:{img}:multi", home, "--platform", "linux/arm64")
        eq([(p["name"], p["arch"]) for p in out["packages"]], [("hello", "arm64")], "--platform linux/arm64")
        p = wharf("scan", "--list-packages", "--platform", "linux/s390x", f"oci:{img}:multi", home=home, ok=False)
        eq(p.returncode, 1, "a platform the index lacks")
        check("linux/s390x" in p.stderr, p.stderr)

        # Docker 25 docker-archive: OCI blobs inside a tar, with manifest.json.
        arch = os.path.join(root, "image.tar")
        with open(os.path.join(amd_img, "index.json")) as f:
            mdigest = json.load(f)["manifests"][0]["digest"]
        with open(os.path.join(amd_img, "blobs", "sha256", mdigest.split(":")[1])) as f:
            m = json.load(f)
        manifest = [{"Config": "blobs/sha256/" + m["config"]["digest"].split(":")[1], "RepoTags": ["app:1"],
                     "Layers": ["blobs/sha256/" + x["digest"].split(":")[1] for x in m["layers"]]}]
        with tarfile.open(arch, "w") as t:
            for name in sorted(os.listdir(os.path.join(amd_img, "blobs", "sha256"))):
                t.add(os.path.join(amd_img, "blobs", "sha256", name), arcname="blobs/sha256/" + name)
            add_file(t, "manifest.json", json.dumps(manifest).encode())
        out = list_packages(f"docker-archive:{arch}", home, "--no-cache")
        eq([x["digest"] for x in out["layers"]], [x["digest"] for x in m["layers"]], "layer digests from blob paths")
        eq([p["name"] for p in out["packages"]], ["hello"], "packages")
        eq(out["repo_tags"], "app:1", "repo tag")
    finally:
        shutil.rmtree(root, ignore_errors=True)
