"""wharf scan end to end on real images: Debian bullseye and bookworm built by mkimage-debian
without security updates (so their packages are the releases' original, vulnerable versions),
each with one layer of real language content (an npm project with its lock file and
node_modules, a Python dist-info from Debian, a Go program built here with a versioned
dependency served by a local module proxy, a Debian jar) and a later layer, written with umoci,
that deletes an npm package and a file holding an AWS key.

The advisory data (Debian tracker JSON, OSV records for npm, PyPI, Go and Maven) is written by
this file for the exact versions it reads from the image layers itself (Python's tarfile and the
dpkg status parser of test_scan.py), imported with `wharf db import`, and the reports of
`wharf scan` are checked finding by finding: present where a range covers the installed version,
absent where it does not, with the layer that brought the package.

The images are built once per run; with WHARF_TEST_IMAGE_CACHE=DIR they are kept beside DIR
(DIR.scan-bullseye, DIR.scan-bookworm) and reused by later runs.
"""
import atexit
import fcntl
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile

from harness import Failure, check, eq, test
from test_clients import MKIMAGE, Layout, _run_mkimage
from test_scan import parse_status, wharf

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "fixtures", "lang")
# The recipe's version: a cached image built by another recipe is rebuilt.
TAG = "scan-e2e-2"
SUITES = ("bullseye", "bookworm")
APP = "opt/app"
SECRET_FILE = f"{APP}/deploy/aws.env"
DELETED_NPM = f"{APP}/node/node_modules/@tootallnate/once"
DELETED_BASE = "/usr/share/doc/debconf"
LOCK = f"{APP}/node/package-lock.json"
UPGRADED_NPM = f"{APP}/node/node_modules/debug/package.json"
UPGRADED_VERSION = "4.3.5"
PY_DIST = "PyYAML-6.0.dist-info"
JAR = "commons-cli-1.5.0.jar"
GO_DEP, GO_DEP_VERSION = "example.com/wharfdep", "v1.2.3"
GO_LOCAL = "example.org/localdep"

_images = {}


def aws_key():
    """A fake AWS access key ID, assembled here so no key sits in the repository."""
    return "AKIA" + "".join("QWERTYUIOPASDFGHJKLZ"[(i * 7) % 20] for i in range(16))


# ---------------------------------------------------------------------------------------------
# The language content

def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(path, mode)


def go_proxy(root):
    """A module proxy in a directory (GOPROXY=file://...) serving GO_DEP at GO_DEP_VERSION."""
    base = os.path.join(root, GO_DEP, "@v")
    mod = f"module {GO_DEP}\n\ngo 1.19\n"
    write(os.path.join(base, "list"), GO_DEP_VERSION + "\n")
    write(os.path.join(base, GO_DEP_VERSION + ".info"),
          json.dumps({"Version": GO_DEP_VERSION, "Time": "2024-01-02T03:04:05Z"}))
    write(os.path.join(base, GO_DEP_VERSION + ".mod"), mod)
    buf = io.BytesIO()
    prefix = f"{GO_DEP}@{GO_DEP_VERSION}/"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(prefix + "go.mod", mod)
        z.writestr(prefix + "dep.go", "package wharfdep\n\nfunc Answer() int { return 41 }\n")
    write(os.path.join(base, GO_DEP_VERSION + ".zip"), buf.getvalue())


def build_go(work, out):
    """A Go program with a versioned dependency (from the local proxy) and a dependency
    replaced by a local directory; no network (GOPROXY is a directory, no checksum database)."""
    src = os.path.join(work, "gosrc")
    go_proxy(os.path.join(work, "goproxy"))
    write(os.path.join(src, "go.mod"), f"module example.com/wharfapp\n\ngo 1.19\n\nrequire (\n\t{GO_DEP} "
          f"{GO_DEP_VERSION}\n\t{GO_LOCAL} v0.1.0\n)\n\nreplace {GO_LOCAL} => ./local\n")
    write(os.path.join(src, "main.go"), f'package main\n\nimport (\n\t"{GO_DEP}"\n\t"{GO_LOCAL}"\n)\n\n'
          "func main() { println(wharfdep.Answer() + localdep.One()) }\n")
    write(os.path.join(src, "local", "go.mod"), f"module {GO_LOCAL}\n\ngo 1.19\n")
    write(os.path.join(src, "local", "local.go"), "package localdep\n\nfunc One() int { return 1 }\n")
    env = dict(os.environ, GOPROXY="file://" + os.path.join(work, "goproxy"), GOSUMDB="off", GOFLAGS="-mod=mod",
               GOWORK="off", CGO_ENABLED="0", GOPATH=os.path.join(work, "gopath"),
               GOCACHE=os.path.join(work, "gocache"), HOME=work, GOTOOLCHAIN="local")
    p = subprocess.run(["go", "build", "-o", out, "."], cwd=src, env=env, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise Failure(f"go build failed: {p.stderr[-2000:]}")
    os.chmod(out, 0o755)


def content_dir(work):
    """The directory mkimage-debian copies to /opt/app: real npm, Python, Go and Java files, and
    the file with the AWS key that the last layer deletes."""
    src = os.path.join(work, "app")
    os.makedirs(src)
    os.chmod(src, 0o755)
    os.makedirs(os.path.join(src, "node"))
    shutil.copy(os.path.join(FIXTURES, "npm", "v3", "package-lock.json"),
                os.path.join(src, "node", "package-lock.json"))
    shutil.copytree(os.path.join(FIXTURES, "npm", "node_modules"), os.path.join(src, "node", "node_modules"))
    shutil.copytree(os.path.join("/usr/lib/python3/dist-packages", PY_DIST),
                    os.path.join(src, "python", "site-packages", PY_DIST))
    os.makedirs(os.path.join(src, "lib"))
    shutil.copy(os.path.join("/usr/share/java", JAR), os.path.join(src, "lib", JAR))
    build_go(work, os.path.join(src, "bin", "wharfapp"))
    write(os.path.join(src, "deploy", "aws.env"), f"# deploy credentials\nAWS_ACCESS_KEY_ID={aws_key()}\n", 0o600)
    for dirpath, dirnames, _ in os.walk(src):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
    return src


def add_delete_layer(path):
    """The last layer, written by umoci: it deletes an npm package and the file with the key,
    and upgrades debug to UPGRADED_VERSION in node_modules and in the lock file (which it
    rewrites: the lock's other packages are unchanged)."""
    bundle = tempfile.mkdtemp(prefix="wharf-scan-bundle-", dir="/var/tmp")
    try:
        os.rmdir(bundle)
        subprocess.run(["umoci", "unpack", "--image", f"{path}:{TAG}", bundle], check=True, capture_output=True)
        for rel in (SECRET_FILE, DELETED_NPM):
            target = os.path.join(bundle, "rootfs", rel)
            if os.path.isdir(target):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        for rel, edit in ((UPGRADED_NPM, lambda j: j.update(version=UPGRADED_VERSION)),
                          (LOCK, lambda j: j["packages"]["node_modules/debug"].update(version=UPGRADED_VERSION))):
            with open(os.path.join(bundle, "rootfs", rel)) as f:
                j = json.load(f)
            edit(j)
            with open(os.path.join(bundle, "rootfs", rel), "w") as f:
                json.dump(j, f, indent=2)
        subprocess.run(["umoci", "repack", "--refresh-bundle", "--history.created_by",
                        "delete the key and once, upgrade debug",
                        "--image", f"{path}:{TAG}", bundle], check=True, capture_output=True)
    finally:
        shutil.rmtree(bundle, ignore_errors=True)


def _has_image(path):
    try:
        layout = Layout(path, TAG)
        layout.verify_blobs()
        return len(layout.layers) == 3
    except (OSError, ValueError, KeyError, Failure):
        return False


def build_image(path, suite):
    work = tempfile.mkdtemp(prefix="wharf-scan-src-", dir="/var/tmp")
    try:
        src = content_dir(work)
        if os.path.isdir(path):
            shutil.rmtree(path)
        _run_mkimage([MKIMAGE, "--out", path, "--tag", TAG, "--suite", suite, "--no-security",
                      "--copy", f"{src}:/{APP}", "--delete", DELETED_BASE], timeout=1800)
        add_delete_layer(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def image(suite):
    """The Layout of the test image of suite; built at most once per run (and kept across runs
    beside WHARF_TEST_IMAGE_CACHE when that is set)."""
    if suite in _images:
        return _images[suite]
    cache = os.environ.get("WHARF_TEST_IMAGE_CACHE")
    if cache:
        path = os.path.abspath(cache).rstrip("/") + f".scan-{suite}"
    else:
        path = tempfile.mkdtemp(prefix=f"wharf-scan-{suite}-", dir="/var/tmp")
        atexit.register(shutil.rmtree, path, True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _has_image(path):
                build_image(path, suite)
        finally:
            if not cache:
                os.unlink(path + ".lock")
    layout = Layout(path, TAG)
    layout.verify_blobs()
    eq(len(layout.layers), 3, f"{suite}: layers (base, content, deletions)")
    _images[suite] = layout
    return layout


# ---------------------------------------------------------------------------------------------
# The image as this test reads it (Python's tarfile, zipfile and json; `go version -m`)

def read_layer(layout, i):
    """(files, whiteouts) of layer i: path -> bytes of each regular file, and the paths removed."""
    files, whiteouts = {}, set()
    with tarfile.open(layout.blob_path(layout.layers[i]), "r:*") as t:
        for m in t:
            name = m.name.lstrip("./") if m.name.startswith("./") else m.name.lstrip("/")
            base = os.path.basename(name)
            if base.startswith(".wh."):
                whiteouts.add(os.path.join(os.path.dirname(name), base[4:]))
            elif m.isfile():
                files[name] = t.extractfile(m).read()
    return files, whiteouts


def removed(path, whiteouts):
    return any(path == w or path.startswith(w + "/") for w in whiteouts)


class Image:
    """What the test image holds: the layout, the OS packages of the base layer, and the
    language packages of the content layer that survive the deleting layer."""

    def __init__(self, suite):
        self.suite = suite
        self.layout = image(suite)
        self.diff_ids = json.loads(self.layout.blob(self.layout.config))["rootfs"]["diff_ids"]
        base, _ = read_layer(self.layout, 0)
        self.status = parse_status(base["var/lib/dpkg/status"].decode())
        osr = dict(line.split("=", 1) for line in base["usr/lib/os-release"].decode().splitlines() if "=" in line)
        self.version_id = osr["VERSION_ID"].strip('"')
        eq(osr["VERSION_CODENAME"], suite, f"{suite}: os-release codename")
        content, _ = read_layer(self.layout, 1)
        last, gone = read_layer(self.layout, 2)
        check(removed(SECRET_FILE, gone) and removed(DELETED_NPM, gone), f"{suite}: the last layer's whiteouts {gone}")
        check(SECRET_FILE in content, f"{suite}: the key file is in the content layer")
        eq(sorted(last), sorted([LOCK, UPGRADED_NPM]), f"{suite}: files of the last layer")
        self.secret_text = content[SECRET_FILE].decode()
        # the files the image holds: the content layer's that the last layer neither deleted nor
        # replaced, and the last layer's; each file's packages with the layer of each package
        self.content = {p: d for p, d in content.items() if not removed(p, gone)}
        self.content.update(last)
        self.lang = set()
        for path, data in self.content.items():
            before = set(packages_of(path, content[path])) if path in content and not removed(path, gone) else set()
            for pkg in packages_of(path, data):
                self.lang.add(pkg + (1 if path not in last or pkg in before else 2,))
        langs = {(t, n, v): layer for t, _, n, v, layer in self.lang}
        # the last layer took the installed @tootallnate/once away; its lock entry stays
        check(("npm", "@tootallnate/once", "2.0.0") in langs, "once in the lock file")
        check(not any(t == "node-pkg" and n == "@tootallnate/once" for t, n, _ in langs), "once deleted")
        check(f"{DELETED_NPM}/package.json" in content, "once was in the content layer")
        # debug upgraded by the last layer, in both files; the lock's other entries stay layer 1's
        eq((langs.get(("node-pkg", "debug", UPGRADED_VERSION)), langs.get(("npm", "debug", UPGRADED_VERSION)),
            langs.get(("npm", "ms", "2.1.2"))), (2, 2, 1), f"{suite}: layers of debug and ms")


def packages_of(path, data):
    """(type, target, name, version) of the language packages of one file, as Trivy's report
    groups them (installed packages by language, lock files and binaries by path)."""
    out = []
    parts = path.split("/")
    if path.endswith("/package-lock.json"):
        lock = json.loads(data)
        eq(lock["lockfileVersion"], 3, "lock file version")
        for key, entry in lock["packages"].items():
            if "node_modules/" in key and not entry.get("link"):
                out.append(("npm", path, entry.get("name") or key.rsplit("node_modules/", 1)[1], entry["version"]))
    elif parts[-1] == "package.json" and len(parts) >= 3 and (
            parts[-3] == "node_modules" or (len(parts) >= 4 and parts[-4] == "node_modules"
                                            and parts[-3].startswith("@"))):
        pj = json.loads(data)
        out.append(("node-pkg", "Node.js", pj["name"], pj["version"]))
    elif path.endswith(".dist-info/METADATA"):
        head = data.decode().split("\n\n", 1)[0]
        h = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
        out.append(("python-pkg", "Python", h["Name"], h["Version"]))
    elif path.endswith(".jar"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                if n.startswith("META-INF/maven/") and n.endswith("/pom.properties"):
                    p = dict(line.split("=", 1) for line in z.read(n).decode().splitlines()
                             if "=" in line and not line.startswith("#"))
                    out.append(("jar", "Java", f"{p['groupId']}:{p['artifactId']}", p["version"]))
    elif path.startswith(f"{APP}/bin/"):
        out.extend(("gobinary", path, name, version) for name, version in go_modules(data))
    return out


def go_modules(binary):
    """(module, version) pairs `go version -m` reads from a Go binary, the toolchain as stdlib."""
    with tempfile.NamedTemporaryFile(prefix="wharf-scan-go-") as f:
        f.write(binary)
        f.flush()
        os.chmod(f.name, 0o700)  # go version -m reads executable files only
        text = subprocess.run(["go", "version", "-m", f.name], capture_output=True, text=True, check=True).stdout
    out = []
    lines = text.splitlines()
    out.append(("stdlib", "v" + lines[0].split(": go", 1)[1].strip()))
    for line in lines[1:]:
        f = line.split()
        if not f:
            continue
        if f[0] == "mod":
            out.append((f[1], f[2]))
        elif f[0] == "dep":
            out.append((f[1], f[2]))
        elif f[0] == "=>":
            name, version = out.pop()
            out.append((name, "(devel)") if f[1].startswith(".") else (f[1], f[2]))
    return out


# ---------------------------------------------------------------------------------------------
# Advisories written for the versions found, and what they must give

def num(v):
    """A plain dotted version (all this file's language packages have one) as a tuple; None
    for anything else, such as Go's (devel), which no range can match."""
    v = v[1:] if v.startswith("v") else v
    parts = v.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def bump(version):
    """The next patch release of a plain dotted version: 6.0 -> 6.0.1, v1.19.8 -> 1.19.9."""
    n = list(num(version)) + [0] * (3 - len(num(version)))
    n[-1] += 1
    return ".".join(map(str, n))


def in_range(version, introduced, fixed=None, last_affected=None):
    v = num(version)
    if v is None:
        return False
    if introduced != "0" and v < num(introduced):
        return False
    if fixed is not None:
        return v < num(fixed)
    if last_affected is not None:
        return v <= num(last_affected)
    return True


def osv_records(py, go_stdlib):
    """OSV records of npm, PyPI, Go and Maven: (record, severity the report must give). py is
    the installed (name, version) of the Python package, go_stdlib the binary's toolchain."""
    def rec(id_, eco, name, events, severity=None, cvss=None):
        r = {"schema_version": "1.6.0", "id": id_, "modified": "2026-01-01T00:00:00Z",
             "summary": f"{id_}: a flaw written by the wharf tests",
             "affected": [{"package": {"ecosystem": eco, "name": name},
                           "ranges": [{"type": "ECOSYSTEM" if eco != "npm" else "SEMVER", "events": events}]}]}
        if severity:
            r["database_specific"] = {"severity": severity}
        if cvss:
            r["severity"] = [{"type": "CVSS_V3", "score": cvss}]
        return r
    pyname, pyver = py
    critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
    return [
        (rec("WHARF-NPM-1", "npm", "debug", [{"introduced": "4.0.0"}, {"fixed": "4.3.5"}], "HIGH"), "HIGH"),
        (rec("WHARF-NPM-2", "npm", "ms", [{"introduced": "0"}, {"last_affected": "2.1.2"}], "MODERATE"), "MEDIUM"),
        (rec("WHARF-NPM-3", "npm", "@tootallnate/once", [{"introduced": "0"}, {"fixed": "2.0.1"}], "LOW"), "LOW"),
        (rec("WHARF-NPM-4", "npm", "debug", [{"introduced": "0"}, {"fixed": "2.6.9"}], "CRITICAL"), "CRITICAL"),
        # the version the last layer upgraded debug to
        (rec("WHARF-NPM-6", "npm", "debug", [{"introduced": UPGRADED_VERSION}, {"fixed": "4.3.6"}], "MODERATE"),
         "MEDIUM"),
        # PyPI names are matched normalised: the record says pyyaml, the dist-info PyYAML
        (rec("WHARF-PY-1", "PyPI", pyname.lower(), [{"introduced": "1.0"}, {"fixed": bump(pyver)}], "HIGH"), "HIGH"),
        (rec("WHARF-PY-2", "PyPI", pyname.lower(), [{"introduced": "0"}, {"fixed": "1.0"}], "HIGH"), "HIGH"),
        (rec("WHARF-GO-1", "Go", GO_DEP, [{"introduced": "1.2.0"}, {"fixed": "1.2.4"}], "MODERATE"), "MEDIUM"),
        (rec("WHARF-GO-2", "Go", GO_DEP, [{"introduced": "1.3.0"}], "HIGH"), "HIGH"),
        (rec("WHARF-GO-3", "Go", GO_LOCAL, [{"introduced": "0"}], "HIGH"), "HIGH"),
        (rec("WHARF-GO-4", "Go", "stdlib", [{"introduced": "0"}, {"fixed": bump(go_stdlib)}], "LOW"), "LOW"),
        (rec("WHARF-MVN-1", "Maven", "commons-cli:commons-cli", [{"introduced": "0"}, {"last_affected": "1.5.0"}],
             cvss=critical), "CRITICAL"),
        (rec("WHARF-MVN-2", "Maven", "commons-cli:commons-cli", [{"introduced": "1.6.0"}, {"fixed": "1.7.0"}],
             "HIGH"), "HIGH"),
        # the boundaries: introduced at the installed version affects it, fixed at it does not
        (rec("WHARF-NPM-5", "npm", "ms", [{"introduced": "2.1.3"}, {"fixed": "2.1.4"}], "LOW"), "LOW"),
        (rec("WHARF-PY-3", "PyPI", pyname.lower(), [{"introduced": "0"}, {"fixed": pyver}], "HIGH"), "HIGH"),
        (rec("WHARF-MVN-3", "Maven", "commons-cli:commons-cli", [{"introduced": "0"}, {"fixed": "1.5.0"}],
             "HIGH"), "HIGH"),
    ]


ECOSYSTEM_TYPES = {"npm": ("npm", "node-pkg"), "PyPI": ("python-pkg",), "Go": ("gobinary",), "Maven": ("jar",)}


def expected_lang(img, records):
    """The language findings the records must give on img (this file's own range evaluation)."""
    want = set()
    for r, severity in records:
        a = r["affected"][0]
        name = a["package"]["name"]
        ev = {k: v for e in a["ranges"][0]["events"] for k, v in e.items()}
        for typ, target, pname, version, layer in img.lang:
            if typ not in ECOSYSTEM_TYPES[a["package"]["ecosystem"]]:
                continue
            if (pname.lower() if typ == "python-pkg" else pname) != name:
                continue
            if in_range(version, ev["introduced"], ev.get("fixed"), ev.get("last_affected")):
                want.add(("lang-pkgs", typ, target, r["id"], pname, version, ev.get("fixed"),
                          "fixed" if "fixed" in ev else "affected", severity,
                          (img.layout.layers[layer], img.diff_ids[layer])))
    return want


# Debian tracker entries: (source, CVE, {suite: release entry}); versions filled in per image.
def tracker(images):
    def src(img, name):
        vers = {sv for _, s, sv in img.status.values() if s == name}
        eq(len(vers), 1, f"{img.suite}: versions of source {name}")
        return vers.pop()
    data = {}

    def add(source, cve, releases):
        data.setdefault(source, {})[cve] = {"description": f"{cve}: a {source} flaw written by the wharf tests",
                                            "releases": releases}
    # fixed in a version above the installed one: a finding with that FixedVersion
    add("zlib", "CVE-2099-0001", {i.suite: {"status": "resolved", "fixed_version": src(i, "zlib") + "+wharf1",
                                             "urgency": "high"} for i in images})
    # open: an unfixed finding on every binary package of the source
    add("glibc", "CVE-2099-0002", {i.suite: {"status": "open", "urgency": "medium"} for i in images})
    # fixed_version "0": the release never had the flaw
    add("bash", "CVE-2099-0003", {i.suite: {"status": "resolved", "fixed_version": "0", "urgency": "high"}
                                  for i in images})
    # a backport: fixed in a version just below the installed one (dpkg sorts X~1 before X)
    add("tar", "CVE-2099-0004", {i.suite: {"status": "resolved", "fixed_version": src(i, "tar") + "~wharf1",
                                           "urgency": "high"} for i in images})
    # fixed in exactly the installed version
    add("gzip", "CVE-2099-0007", {i.suite: {"status": "resolved", "fixed_version": src(i, "gzip"),
                                            "urgency": "high"} for i in images})
    # only bookworm is affected
    add("coreutils", "CVE-2099-0005", {"bookworm": {"status": "open", "urgency": "low"}})
    # open, but the security team will not fix it
    add("sed", "CVE-2099-0006", {i.suite: {"status": "open", "urgency": "unimportant", "nodsa_reason": "ignored"}
                                 for i in images})
    # not yet triaged, no urgency assigned
    add("dpkg", "CVE-2099-0008", {i.suite: {"status": "undetermined", "urgency": "not yet assigned"} for i in images})
    # keyed by a binary package's name, which is no source package: nothing
    add("libc6", "CVE-2099-0009", {i.suite: {"status": "open", "urgency": "high"} for i in images})
    return data


def expected_os(img, data, target):
    want = set()
    sev = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW", "unimportant": "LOW", "not yet assigned": "UNKNOWN"}
    layer = (img.layout.layers[0], img.diff_ids[0])
    for name, (version, source, srcver) in img.status.items():
        for cve, entry in data.get(source, {}).items():
            rel = entry["releases"].get(img.suite)
            if not rel:
                continue
            fixed = rel.get("fixed_version")
            if rel["status"] == "resolved" and (fixed == "0" or fixed in (srcver, srcver + "~wharf1")):
                continue  # never affected; fixed in or below the installed version (a backport)
            status = ("fixed" if fixed else "under_investigation" if rel["status"] == "undetermined"
                      else "will_not_fix" if rel.get("nodsa_reason") == "ignored" else "affected")
            want.add(("os-pkgs", "debian", target, cve, name, version, fixed, status, sev[rel["urgency"]], layer))
    return want


def findings(report):
    got = []
    for r in report["Results"]:
        for v in r.get("Vulnerabilities") or []:
            got.append((r["Class"], r.get("Type"), r["Target"], v["VulnerabilityID"], v["PkgName"],
                        v["InstalledVersion"], v.get("FixedVersion"), v["Status"], v["Severity"],
                        (v["Layer"].get("Digest"), v["Layer"].get("DiffID"))))
    return got


class Advisories:
    """Both images, and a home whose database holds the tracker and OSV data written for them."""

    def __init__(self, root):
        self.images = {s: Image(s) for s in SUITES}
        go_bin = next(v for i in self.images.values() for t, _, n, v, _ in i.lang if t == "gobinary" and n == "stdlib")
        py = next((n, v) for i in self.images.values() for t, _, n, v, _ in i.lang if t == "python-pkg")
        self.records = osv_records(py, go_bin)
        self.tracker = tracker(list(self.images.values()))
        self.home = os.path.join(root, "home")
        os.makedirs(os.path.join(root, "osv"))
        for r, _ in self.records:
            with open(os.path.join(root, "osv", r["id"] + ".json"), "w") as f:
                json.dump(r, f)
        with open(os.path.join(root, "tracker.json"), "w") as f:
            json.dump(self.tracker, f)
        wharf("db", "import", "debian", os.path.join(root, "tracker.json"), home=self.home)
        wharf("db", "import", "osv", os.path.join(root, "osv"), home=self.home)

    def ref(self, suite):
        return f"oci:{self.images[suite].layout.path}:{TAG}"

    def scan(self, suite, *args, ok=True):
        return wharf("scan", "-q", *args, self.ref(suite), home=self.home, ok=ok)

    def expected(self, suite, report):
        img = self.images[suite]
        target = f"{report['ArtifactName']} (debian {img.version_id})"
        return expected_os(img, self.tracker, target) | expected_lang(img, self.records)


_adv = {}


def advisories():
    if "a" not in _adv:
        root = tempfile.mkdtemp(prefix="wharf-scan-adv-")
        atexit.register(shutil.rmtree, root, True)
        _adv["a"] = Advisories(root)
    return _adv["a"]


def check_image(suite):
    adv = advisories()
    img = adv.images[suite]
    p = adv.scan(suite, "--format", "json")
    check(aws_key() not in p.stdout, f"{suite}: the report shows the key unmasked")
    report = json.loads(p.stdout)
    eq(report["SchemaVersion"], 2, "SchemaVersion")
    eq(report["Metadata"]["OS"], {"Family": "debian", "Name": img.version_id}, f"{suite}: OS")
    eq(report["Metadata"]["DiffIDs"], img.diff_ids, f"{suite}: diff IDs")
    got = findings(report)
    eq(len(got), len(set(got)), f"{suite}: findings reported twice: {sorted(got)}")
    want = adv.expected(suite, report)
    eq(sorted(set(got) - want, key=str), [], f"{suite}: findings reported but not expected (false alarms)")
    eq(sorted(want - set(got), key=str), [], f"{suite}: findings expected but not reported")
    ids = {g[3] for g in got}
    # what each case must give, stated once more by name so a wrong expectation cannot hide one
    for must in ("CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0006", "CVE-2099-0008", "WHARF-NPM-2", "WHARF-NPM-3",
                 "WHARF-NPM-5", "WHARF-NPM-6",
                 "WHARF-PY-1", "WHARF-GO-1", "WHARF-GO-4", "WHARF-MVN-1"):
        check(must in ids, f"{suite}: {must} reported")
    # WHARF-NPM-1 affected debug 4.3.4, which the last layer upgraded in both files
    for never in ("CVE-2099-0003", "CVE-2099-0004", "CVE-2099-0007", "CVE-2099-0009", "WHARF-NPM-1", "WHARF-NPM-4",
                  "WHARF-PY-2", "WHARF-PY-3", "WHARF-MVN-3", "WHARF-GO-2", "WHARF-GO-3",
                  "WHARF-MVN-2"):
        check(never not in ids, f"{suite}: {never} not reported")
    eq("CVE-2099-0005" in ids, suite == "bookworm", f"{suite}: the bookworm-only coreutils entry")
    eq(sorted(g[4] for g in got if g[3] == "CVE-2099-0002"), ["libc-bin", "libc6"], f"{suite}: glibc's packages")
    eq(sorted((g[1], g[5]) for g in got if g[3] == "WHARF-NPM-2"), [("node-pkg", "2.1.2"), ("npm", "2.1.2")],
       f"{suite}: last_affected 2.1.2 takes the nested ms, not ms 2.1.3")
    eq(sorted((g[1], g[5]) for g in got if g[3] == "WHARF-NPM-5"), [("node-pkg", "2.1.3"), ("npm", "2.1.3")],
       f"{suite}: introduced at the installed version")
    eq(sorted((g[1], g[5], g[9][0]) for g in got if g[3] == "WHARF-NPM-6"),
       [("node-pkg", UPGRADED_VERSION, img.layout.layers[2]), ("npm", UPGRADED_VERSION, img.layout.layers[2])],
       f"{suite}: the upgraded debug is the last layer's")
    eq(sorted(g[9][0] for g in got if g[3] == "WHARF-NPM-2"), [img.layout.layers[1]] * 2,
       f"{suite}: ms 2.1.2 stays the content layer's, though the last layer rewrote the lock file")
    eq(sorted(g[1] for g in got if g[3] == "WHARF-NPM-3"), ["npm"],
       f"{suite}: the deleted node_modules/@tootallnate/once is gone, its lock entry stays")
    # a language finding names the file its package came from, a file the image still holds
    for r in report["Results"]:
        for v in r.get("Vulnerabilities") or []:
            if r["Class"] == "lang-pkgs":
                check(v.get("PkgPath") in img.content, f"{suite}: {v['VulnerabilityID']} {v['PkgName']} "
                      f"PkgPath {v.get('PkgPath')!r} is a file of the image")
    eq(sorted(v["PkgPath"] for r in report["Results"] for v in r.get("Vulnerabilities") or []
              if v["VulnerabilityID"] == "WHARF-NPM-2" and r.get("Type") == "node-pkg"),
       [f"{APP}/node/node_modules/debug/node_modules/ms/package.json"], f"{suite}: the nested ms")
    # every package target appears, with or without findings
    classes = {(r["Class"], r.get("Type")) for r in report["Results"]}
    for c in [("os-pkgs", "debian"), ("lang-pkgs", "npm"), ("lang-pkgs", "node-pkg"), ("lang-pkgs", "python-pkg"),
              ("lang-pkgs", "gobinary"), ("lang-pkgs", "jar"), ("secret", None)]:
        check(c in classes, f"{suite}: a {c} result: {sorted(classes, key=str)}")
    # the key, deleted by the last layer, is reported with the layer that added it
    secrets = [(r["Target"], s) for r in report["Results"] for s in r.get("Secrets") or []]
    eq([(t, s["RuleID"], s["Severity"], s["Layer"]) for t, s in secrets],
       [(SECRET_FILE, "aws-access-key-id", "CRITICAL", {"Digest": img.layout.layers[1], "DiffID": img.diff_ids[1]})],
       f"{suite}: secrets")
    line = img.secret_text.splitlines()[1]
    eq(secrets[0][1]["StartLine"], 2, f"{suite}: the key's line")
    check(secrets[0][1]["Match"].startswith("AWS_ACCESS_KEY_ID=AKIA") and "*" in secrets[0][1]["Match"]
          and secrets[0][1]["Match"] != line, f"{suite}: masked match {secrets[0][1]['Match']!r}")
    return report


@test(slow=True)
def scan_bullseye_image_against_tracker_and_osv(srv):
    check_image("bullseye")


@test(slow=True)
def scan_bookworm_image_against_tracker_and_osv(srv):
    check_image("bookworm")


@test(slow=True)
def scan_image_sarif_cyclonedx_filters_and_exit_codes(srv):
    adv = advisories()
    report = json.loads(adv.scan("bookworm", "--format", "json").stdout)
    got = findings(report)
    ids = {g[3] for g in got}
    sarif = json.loads(adv.scan("bookworm", "--format", "sarif").stdout)
    eq(sarif["version"], "2.1.0", "SARIF version")
    run = sarif["runs"][0]
    # SARIF carries the secret too, as a result of its rule
    eq({r["id"] for r in run["tool"]["driver"]["rules"]}, ids | {"aws-access-key-id"}, "SARIF rules")
    eq({r["ruleId"] for r in run["results"]}, ids | {"aws-access-key-id"}, "SARIF results")
    eq(len(run["results"]), len(got) + 1, "one SARIF result per finding and secret")
    paths = {(v["VulnerabilityID"], v["PkgName"], v.get("PkgPath", "var/lib/dpkg/status"))
             for r in report["Results"] for v in r.get("Vulnerabilities") or []}
    eq({(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in run["results"]},
       {(i, p) for i, _, p in paths} | {("aws-access-key-id", SECRET_FILE)}, "SARIF result locations")
    cdx = json.loads(adv.scan("bookworm", "--format", "cyclonedx").stdout)
    eq((cdx["bomFormat"], cdx["specVersion"]), ("CycloneDX", "1.5"), "CycloneDX header")
    eq({v["id"] for v in cdx["vulnerabilities"]}, ids, "CycloneDX vulnerabilities")
    comps = {c["bom-ref"]: c for c in cdx["components"]}
    eq(len(comps), len(cdx["components"]), "CycloneDX bom-refs are unique")
    affects = []
    for v in cdx["vulnerabilities"]:
        for a in v["affects"]:
            check(a["ref"] in comps, f"CycloneDX {v['id']} affects a listed component: {a['ref']}")
            affects.append((v["id"], comps[a["ref"]]["name"], comps[a["ref"]]["version"]))
    eq(sorted(affects), sorted((g[3], g[4], g[5]) for g in got), "CycloneDX: the packages each vulnerability affects")
    purls = {c.get("purl") for c in cdx["components"]}
    for want in (f"pkg:npm/debug@{UPGRADED_VERSION}", "pkg:maven/commons-cli/commons-cli@1.5.0",
                 f"pkg:golang/{GO_DEP}@{GO_DEP_VERSION}"):
        check(want in purls, f"CycloneDX component {want}")

    def kept(*args):
        return findings(json.loads(adv.scan("bookworm", "--format", "json", *args).stdout))

    eq(sorted(kept("--ignore-unfixed"), key=str), sorted([g for g in got if g[6]], key=str), "--ignore-unfixed")
    eq(sorted(kept("--severity", "HIGH,CRITICAL"), key=str),
       sorted([g for g in got if g[8] in ("HIGH", "CRITICAL")], key=str), "--severity HIGH,CRITICAL")
    check(any(g[8] == "LOW" for g in got) and any(g[8] == "MEDIUM" for g in got), "the filters had work to do")
    secret_rules = lambda *args: [s["RuleID"] for r in json.loads(adv.scan("bookworm", "--format", "json", *args)
                                                                  .stdout)["Results"] for s in r.get("Secrets") or []]
    eq(secret_rules("--severity", "CRITICAL"), ["aws-access-key-id"], "--severity CRITICAL keeps the key")
    eq(secret_rules("--severity", "LOW,MEDIUM"), [], "--severity LOW,MEDIUM drops the key")

    ignore = os.path.join(adv.home, "ignore.txt")
    with open(ignore, "w") as f:
        f.write("# accepted risks\nWHARF-NPM-6 debug is only used by the test runner expires=2999-12-31\n"
                "CVE-2099-0001 zlib is rebuilt downstream expires=2000-01-01\n"
                "WHARF-MVN-1 the CLI parser never sees user input expires=2999-12-31 pkg=commons-cli:commons-cli\n"
                "CVE-2099-0002 the loader is not used in this image expires=2999-12-31 pkg=libc-bin\n")
    p = adv.scan("bookworm", "--format", "json", "--ignorefile", ignore)
    eq(sorted(findings(json.loads(p.stdout)), key=str),
       sorted([g for g in got if g[3] not in ("WHARF-NPM-6", "WHARF-MVN-1")
               and (g[3], g[4]) != ("CVE-2099-0002", "libc-bin")], key=str), "ignore file")
    check(("CVE-2099-0002", "libc6") in {(g[3], g[4]) for g in got}, "pkg= ignores only the package it names")
    check("CVE-2099-0001" in p.stderr and "expire" in p.stderr, f"the expired entry is named: {p.stderr}")
    with open(ignore, "w") as f:
        f.write("WHARF-NPM-1 no expiry given\n")
    eq(adv.scan("bookworm", "--ignorefile", ignore, ok=False).returncode, 1, "an entry without an expiry")

    # exit status: the key (CRITICAL) and WHARF-MVN-1 (CRITICAL) are the worst
    eq(adv.scan("bookworm", "--fail-on", "CRITICAL", ok=False).returncode, 1, "--fail-on CRITICAL")
    eq(adv.scan("bookworm", "--exit-code", "7", ok=False).returncode, 7, "--exit-code 7")
    eq(adv.scan("bookworm", "--exit-code", "7", "--severity", "UNKNOWN", ok=False).returncode, 7,
       "--exit-code 7 with the UNKNOWN (undetermined) finding")
    eq(adv.scan("bookworm", "--exit-code", "7", "--severity", "UNKNOWN", "--ignore-unfixed", ok=False).returncode, 0,
       "--exit-code 7 with nothing left to report")
    with open(ignore, "w") as f:
        f.write("WHARF-MVN-1 accepted expires=2999-12-31\naws-access-key-id rotated already expires=2999-12-31\n")
    eq(adv.scan("bookworm", "--fail-on", "CRITICAL", "--ignorefile", ignore, ok=False).returncode, 0,
       "--fail-on CRITICAL with the CRITICAL findings ignored")
    eq(adv.scan("bookworm", "--fail-on", "HIGH", "--ignorefile", ignore, ok=False).returncode, 1,
       "--fail-on HIGH with HIGH findings left")


@test(slow=True)
def scan_image_from_registry_and_docker_archive(srv):
    """The bullseye image pushed to wharfd by skopeo, and saved by skopeo as a docker-archive,
    scans (cold) to the same findings and secret as its OCI layout: the registry keeps the
    layer digests; the docker-archive stores the layers uncompressed, so there the layers are
    named by their diff IDs."""
    from test_clients import Containers
    adv = advisories()
    img = adv.images["bullseye"]
    oci = json.loads(adv.scan("bullseye", "--format", "json").stdout)

    def normal(report, layer_of=lambda d: d):
        out = []
        for g in findings(report):
            target = "OS" if g[0] == "os-pkgs" else g[2]
            out.append(g[:2] + (target,) + g[3:9] + (layer_of(g[9][0]), g[9][1]))
        secrets = [(r["Target"], s["RuleID"], layer_of(s["Layer"]["Digest"]), s["Layer"]["DiffID"])
                   for r in report["Results"] for s in r.get("Secrets") or []]
        return sorted(out, key=str), secrets

    want = normal(oci)
    work = tempfile.mkdtemp(prefix="wharf-scan-e2e-tools-")
    try:
        with Containers(work) as tools:
            archive = os.path.join(work, "image.tar")
            tools.skopeo("copy", f"oci:{img.layout.path}:{TAG}", f"docker-archive:{archive}:scan/e2e:bullseye")
            tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{img.layout.path}:{TAG}",
                         f"docker://{srv.addr}/scan/e2e:bullseye")
            by_diffid = dict(zip(img.layout.layers, img.diff_ids))
            got = json.loads(wharf("scan", "-q", "--no-cache", "--format", "json", f"docker-archive:{archive}",
                                   home=adv.home).stdout)
            eq(normal(got), normal(oci, by_diffid.get), "docker-archive: findings and secret by layer diff ID")
        got = json.loads(wharf("scan", "-q", "--no-cache", "--format", "json",
                               f"docker://{srv.addr}/scan/e2e:bullseye", home=adv.home).stdout)
        eq(normal(got), want, "registry: findings and secret by layer")
        check(want[1], "the secret is among them")
    finally:
        shutil.rmtree(work, ignore_errors=True)


@test(slow=True, shared=False)
def scan_image_in_wharfd_matches_local_scan(srv):
    """wharfd, given the same database, scans the pushed bookworm image to the same findings
    (language packages and their layers included) and the same secret as `wharf scan`."""
    from test_clients import Containers
    from test_scan_server import wait_report
    adv = advisories()
    img = adv.images["bookworm"]
    local = json.loads(adv.scan("bookworm", "--format", "json").stdout)

    def normal(report):
        got = [(g[0], g[1], "OS" if g[0] == "os-pkgs" else g[2]) + g[3:] for g in findings(report)]
        secrets = [(r["Target"], s["RuleID"], s["Layer"].get("Digest")) for r in report["Results"]
                   for s in r.get("Secrets") or []]
        return sorted(got, key=str), secrets

    srv.extra_args = ["--vulndb", os.path.join(adv.home, "vulndb.sqlite")]
    srv.start()
    work = tempfile.mkdtemp(prefix="wharf-scan-e2e-push-")
    try:
        with Containers(work) as tools:
            tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{img.layout.path}:{TAG}",
                         f"docker://{srv.addr}/scan/e2e:bookworm")
        remote = wait_report(srv, "scan/e2e", img.layout.digest).json()
        want = normal(local)
        check(any(g[0] == "lang-pkgs" for g in want[0]) and want[1],
              "the local scan has language findings and a secret")
        eq(normal(remote), want, "wharfd's findings and secrets")
    finally:
        shutil.rmtree(work, ignore_errors=True)
