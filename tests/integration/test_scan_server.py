"""Scanning inside wharfd: the scan queue, the vulnerabilities API, rescans and the pull policy.

The image is the real Debian image of test_clients (mkimage-debian, pushed with skopeo). The
vulnerability database is imported with `wharf db import debian` from a tracker JSON written
here for the exact source packages and versions in that image's dpkg status:
  - source A fixed in a higher version than installed (a "fixed" finding, urgency high),
  - source B open (an unfixed finding, urgency medium),
  - source C fixed in a lower version than installed (a backport: NO finding).
"""
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time

from harness import Failure, Server, check, eq, test
from test_clients import TAG, Containers, Layout, image_layout, run

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def wharf_bin():
    return os.environ.get("WHARF_TEST_WHARF") or os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")


# ---------------------------------------------------------------------------------------------
# The image's own packages

def _parse_status(text):
    pkgs = []
    for para in text.split("\n\n"):
        fields = {}
        for line in para.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            fields[k] = v.strip()
        if "Package" not in fields or "install ok installed" not in fields.get("Status", ""):
            continue
        src, srcver = fields.get("Source", fields["Package"]), fields["Version"]
        if " (" in src:
            src, srcver = src.split(" (", 1)
            srcver = srcver.rstrip(")")
        pkgs.append({"name": fields["Package"], "version": fields["Version"], "source": src,
                     "source_version": srcver})
    return pkgs


def image_packages(layout):
    """The installed packages of the image's top-most dpkg status file."""
    status = None
    for d in layout.layers:
        with open(layout.blob_path(d), "rb") as f:
            with tarfile.open(fileobj=f, mode="r:*") as tf:
                for m in tf:
                    if m.isfile() and m.name.lstrip("./") == "var/lib/dpkg/status":
                        status = tf.extractfile(m).read().decode()
    check(status is not None, "the test image has no var/lib/dpkg/status")
    return _parse_status(status)


def pick_sources(pkgs, n):
    """n distinct source packages (with their binary packages), sorted for repeatability."""
    by_src = {}
    for p in pkgs:
        by_src.setdefault((p["source"], p["source_version"]), []).append(p["name"])
    picked = []
    for (src, ver), names in sorted(by_src.items()):
        if src in {s for s, _, _ in picked} or ":" in ver:
            continue
        picked.append((src, ver, sorted(names)))
        if len(picked) == n:
            return picked
    raise Failure(f"the image has fewer than {n} source packages")


def tracker(entries):
    """A Debian security tracker JSON export: {source: {CVE: {releases: {bookworm: {...}}}}}."""
    out = {}
    for src, cve, rel in entries:
        out.setdefault(src, {})[cve] = {"description": f"test advisory for {src}", "releases": {TAG: rel}}
    return out


def db_import(db_path, data, tmp):
    path = os.path.join(tmp, f"tracker-{time.time_ns()}.json")
    with open(path, "w") as f:
        json.dump(data, f)
    run([wharf_bin(), "db", "import", "--db", db_path, "debian", path], what="wharf db import")


# ---------------------------------------------------------------------------------------------
# The API

def vulns_path(repo, digest, query=""):
    return f"/api/v1/repositories/{repo}/manifests/{digest}/vulnerabilities{query}"


def wait_report(srv, repo, digest, generation_not=None, timeout=180):
    """Poll the API until a report (made with a generation other than generation_not) is there."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = srv.request("GET", vulns_path(repo, digest))
        if last.status == 200 and (generation_not is None or
                                   last.json()["WharfScan"]["Generation"] != generation_not):
            return last
        check(last.status in (200, 202), f"vulnerabilities of {digest}: {last!r}")
        time.sleep(0.1)
    raise Failure(f"no scan report for {digest} within {timeout}s; last answer {last!r}")


def findings(report):
    out = {}
    for res in report.get("Results", []):
        for v in res.get("Vulnerabilities") or []:
            out[(v["VulnerabilityID"], v["PkgName"])] = v
    return out


def push(tools, srv, layout, repo):
    tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:{TAG}", f"docker://{srv.addr}/{repo}:{TAG}")


# ---------------------------------------------------------------------------------------------

@test(slow=True, shared=False)
def scan_queue_debian_image(srv):
    """Push a real Debian image; the queue survives kill -9 (queued and running); findings are the
    tracker's for the exact versions (fixed, unfixed, backport without finding); a new database
    generation rescans; the pull policy refuses the image at HIGH and allows it at CRITICAL."""
    layout = Layout(image_layout(), TAG)
    pkgs = image_packages(layout)
    (a, a_ver, a_bins), (b, b_ver, b_bins), (c, c_ver, c_bins), (d, d_ver, d_bins) = pick_sources(pkgs, 4)
    tmp = tempfile.mkdtemp(prefix="wharf-scan-it-", dir=srv.tmp)
    db = os.path.join(tmp, "vulndb.sqlite")
    db_import(db, tracker([
        (a, "CVE-2099-0001", {"status": "resolved", "fixed_version": a_ver + "+wharf1", "urgency": "high"}),
        (b, "CVE-2099-0002", {"status": "open", "urgency": "medium"}),
        (c, "CVE-2099-0003", {"status": "resolved", "fixed_version": "0.0~backport-0", "urgency": "high"}),
    ]), tmp)
    repo = "debian/scan"
    # Queued with no worker, then kill -9: the job is in scan.db, not in memory.
    srv.extra_args = ["--scan-workers", "0", "--vulndb", db]
    srv.start()
    with Containers(os.path.join(tmp, "containers")) as tools:
        push(tools, srv, layout, repo)
        digest = layout.digest
        r = srv.request("GET", vulns_path(repo, digest))
        eq(r.status, 202, f"vulnerabilities with no worker: {r!r}")
        eq(r.json()["status"], "queued", "state with no worker")
        srv.kill9()
        srv.extra_args = ["--vulndb", db]
        srv.start()
        # Kill it again while the job runs (when the poll sees it running), then let it finish.
        saw_running = False
        deadline = time.time() + 60
        while time.time() < deadline:
            r = srv.request("GET", vulns_path(repo, digest))
            if r.status == 202 and r.json()["status"] == "running":
                saw_running = True
                srv.kill9()
                srv.start()
                break
            if r.status == 200:
                break
            time.sleep(0.005)
        print(f"# kill -9 while the scan was running: {'yes' if saw_running else 'no (it finished first)'}")
        r = wait_report(srv, repo, digest)
        report = r.json()
        eq(report["SchemaVersion"], 2, "report schema")
        eq(report["WharfScan"]["VulnDB"], "present", "report's database")
        gen1 = report["WharfScan"]["Generation"]
        eq(r.header("Wharf-Vulndb-Generation"), gen1, "generation header")
        f = findings(report)
        for name in a_bins:
            v = f.get(("CVE-2099-0001", name))
            check(v is not None, f"no fixed finding CVE-2099-0001 for {name} (source {a} {a_ver}): {sorted(f)}")
            eq(v["FixedVersion"], a_ver + "+wharf1", f"fixed version for {name}")
            eq(v["Severity"], "HIGH", f"severity of CVE-2099-0001 in {name}")
        for name in b_bins:
            v = f.get(("CVE-2099-0002", name))
            check(v is not None, f"no unfixed finding CVE-2099-0002 for {name} (source {b}): {sorted(f)}")
            check(not v.get("FixedVersion"), f"unfixed finding has a fixed version: {v}")
        check(not any(k[0] == "CVE-2099-0003" for k in f), f"backport of {c} reported: {sorted(f)}")
        eq(len(f), len(a_bins) + len(b_bins), f"findings in {sorted(f)}")
        # ?severity= filter.
        r = srv.request("GET", vulns_path(repo, digest, "?severity=HIGH,CRITICAL"))
        eq(r.status, 200, "filtered report")
        check({k[0] for k in findings(r.json())} == {"CVE-2099-0001"}, f"HIGH filter: {r.body[:400]!r}")
        r = srv.request("GET", vulns_path(repo, digest, "?severity=SEVERE"))
        eq(r.status, 400, f"bad severity filter: {r!r}")

        # wharf scan --remote: by tag and by digest, each format, --exit-code/--fail-on.
        remote = [wharf_bin(), "scan", "--remote", "--server", srv.url]
        p = run(remote + [f"{repo}:{TAG}", "--format", "json"], what="wharf scan --remote json")
        eq(json.loads(p.stdout)["WharfScan"]["Generation"], gen1, "remote json report")
        eq(set(findings(json.loads(p.stdout))), set(f), "remote json findings")
        p = run(remote + [f"{repo}@{digest}"], what="wharf scan --remote table")
        table = p.stdout.decode()
        for want in ("CVE-2099-0001", "CVE-2099-0002", a_bins[0], a_ver + "+wharf1"):
            check(want in table, f"table lacks {want!r}: {table[:1500]}")
        check("CVE-2099-0003" not in table, "table shows the backported CVE")
        p = run(remote + [f"{repo}:{TAG}", "--format", "sarif", "--severity", "HIGH,CRITICAL"], what="wharf scan --remote sarif")
        sarif = json.loads(p.stdout)
        ids = {res["ruleId"] for res in sarif["runs"][0]["results"]}
        eq(ids, {"CVE-2099-0001"}, "sarif results with --severity HIGH,CRITICAL")
        p = run(remote + [f"{repo}:{TAG}", "--format", "cyclonedx"], what="wharf scan --remote cyclonedx")
        eq(json.loads(p.stdout)["bomFormat"], "CycloneDX", "cyclonedx output")
        p = run(remote + [f"{repo}:{TAG}", "--fail-on", "HIGH", "--exit-code", "7"], ok=False)
        eq(p.returncode, 7, "--fail-on HIGH with a HIGH finding")
        p = run(remote + [f"{repo}:{TAG}", "--fail-on", "CRITICAL", "--exit-code", "7"], ok=False)
        eq(p.returncode, 0, "--fail-on CRITICAL without critical findings")
        p = run(remote + [f"{repo}:nosuchtag"], ok=False)
        eq(p.returncode, 1, f"unknown tag: {p.stderr!r}")

        # A changed database: rescanned without a push, with the new finding.
        db_import(db, tracker([(d, "CVE-2099-0004", {"status": "open", "urgency": "low"})]), tmp)
        r = wait_report(srv, repo, digest, generation_not=gen1)
        f2 = findings(r.json())
        for name in d_bins:
            check(("CVE-2099-0004", name) in f2, f"rescan lacks CVE-2099-0004 for {name}: {sorted(f2)}")
        check(("CVE-2099-0001", a_bins[0]) in f2, "rescan lost CVE-2099-0001")

        # Figures: the cold scan (layers read) and the rescan (layers from the cache, new database).
        times = [float(t) for t in re.findall(r'scan done: ' + re.escape(digest) + r'.*? in ([0-9.]+) s', srv.log_text())]
        print(f"# scan times of {digest[:19]}: first {times[0]:.3f} s, rescan {times[-1]:.3f} s ({len(times)} scans)")
        check(len(times) >= 2, f"the log shows {len(times)} scans of the image, want at least 2")

        # Pull policy: HIGH blocks (CVE-2099-0001 is HIGH), CRITICAL allows.
        srv.stop()
        srv.extra_args = ["--vulndb", db, "--scan-block-severity", "HIGH"]
        srv.start()
        r = srv.request("GET", f"/v2/{repo}/manifests/{TAG}", headers={"Accept": OCI_MANIFEST})
        eq(r.status, 403, f"blocked manifest GET: {r!r}")
        eq(r.error_code(), "DENIED", "error code")
        msg = r.json()["errors"][0]["message"]
        for part in (digest, "of severity HIGH or higher", f"{len(a_bins)} vulnerabilit"):
            check(part in msg, f"denial message {msg!r} lacks {part!r}")
        out = os.path.join(tmp, "pulled")
        p = tools.skopeo("copy", "--src-tls-verify=false", f"docker://{srv.addr}/{repo}:{TAG}", f"oci:{out}:{TAG}",
                         ok=False)
        check(p.returncode != 0, "skopeo pulled a blocked image")
        err = p.stderr.decode(errors="replace")
        check("denied" in err.lower() and digest in err, f"skopeo's error does not say why: {err[-800:]}")
        srv.stop()
        cfg = os.path.join(tmp, "wharfd.json")
        with open(cfg, "w") as fh:
            json.dump({"scan_policy": {"default": {"block_severity": "CRITICAL"},
                                       "repositories": {"other/*": {"block_severity": "LOW"}}}}, fh)
        srv.extra_args = ["--vulndb", db, "--config", cfg]
        srv.start()
        tools.skopeo("copy", "--src-tls-verify=false", f"docker://{srv.addr}/{repo}:{TAG}", f"oci:{out}:{TAG}")
        check(os.path.exists(os.path.join(out, "index.json")), "pulled layout has no index.json")


def _tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def push_small_image(srv, repo, tag):
    """A one-layer image with os-release and a dpkg status file; returns its manifest digest."""
    layer = gzip.compress(_tar({
        "etc/os-release": b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        "var/lib/dpkg/status": b"Package: tiny\nStatus: install ok installed\nVersion: 1.0-1\n\n",
    }), mtime=0)
    diffid = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diffid]}}).encode()
    digest, _ = srv.push_image(repo, tag, layers=(layer,), config=config)
    return digest


@test(shared=False)
def scan_policy_config_errors(srv):
    """A bad scan policy (file or flag) stops wharfd with status 2 and names the rule broken."""
    cfg = os.path.join(srv.tmp, "bad.json")
    cases = [
        ({"scan_policy": {"default": {"block_severity": "SEVERE"}}}, [], "default.block_severity"),
        ({"scan_policy": {"repositories": {"a/*": {"block": True}}}}, [], "'block' is not known"),
        ({"scan_workers": -1}, [], "scan_workers"),
        ({}, ["--scan-block-severity", "SEVERE"], "--scan-block-severity 'SEVERE'"),
        ({}, ["--scan-workers", "65"], "--scan-workers '65'"),
    ]
    for body, flags, want in cases:
        with open(cfg, "w") as f:
            json.dump(body, f)
        p = run([srv.wharfd, "--data", srv.data, "--listen", srv.addr, "--config", cfg] + flags, ok=False, timeout=20)
        eq(p.returncode, 2, f"wharfd with {body} {flags}: {p.stderr!r}")
        check(want in p.stderr.decode(), f"error for {body} {flags} lacks {want!r}: {p.stderr!r}")


@test(shared=False)
def scan_api_states(srv):
    """202 while queued, 200 with a packages-only report without a database, 404 for unknown
    manifests and repositories, 400 for a bad digest; artifacts fail with a reason."""
    srv.extra_args = ["--scan-workers", "0"]
    srv.start()
    digest = push_small_image(srv, "small/app", "v1")
    r = srv.request("GET", vulns_path("small/app", digest))
    eq(r.status, 202, f"no worker: {r!r}")
    eq(r.json()["status"], "queued", "state without a worker")
    remote = [wharf_bin(), "scan", "--remote", "--server", srv.url, "small/app:v1"]
    p = run(remote, ok=False)
    eq(p.returncode, 3, f"not scanned yet, without --wait: {p.stderr!r}")
    check(b"--wait" in p.stderr, f"the message suggests --wait: {p.stderr!r}")
    p = run(remote + ["--wait", "--timeout", "1s"], ok=False)
    eq(p.returncode, 3, f"not scanned within --timeout: {p.stderr!r}")
    srv.stop()
    srv.extra_args = []
    srv.start()
    # Queued at push time with no worker; this start scans it, and --wait sees it through.
    p = run(remote + ["--wait", "--format", "json"], what="wharf scan --remote --wait")
    eq(json.loads(p.stdout)["WharfScan"]["VulnDB"], "absent", "report via --wait")
    r = wait_report(srv, "small/app", digest, timeout=30)
    rep = r.json()
    eq(rep["WharfScan"]["VulnDB"], "absent", "database without a vulndb")
    check("packages and secrets only" in rep["WharfScan"]["Note"], "the report says it is packages only")
    check(b'"tiny"' in r.body, f"package missing from the report: {r.body[:400]!r}")
    # An index: its own digest is no image (404 naming that), --remote picks the platform image.
    size = len(srv.request("GET", f"/v2/small/app/manifests/{digest}", headers={"Accept": OCI_MANIFEST}).body)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                            "platform": {"os": "linux", "architecture": "amd64"}}]}
    idx, _ = srv.push_manifest("small/app", "multi", index, media_type="application/vnd.oci.image.index.v1+json")
    r = srv.request("GET", vulns_path("small/app", idx))
    eq(r.status, 404, f"vulnerabilities of an index: {r!r}")
    check("platform image" in r.body.decode(), f"index answer: {r.body!r}")
    p = run([wharf_bin(), "scan", "--remote", "--server", srv.url, "small/app:multi", "--format", "json"],
            what="wharf scan --remote of an index tag")
    check(digest in json.loads(p.stdout)["ArtifactName"], f"report of the platform image: {p.stdout[:300]!r}")
    p = run([wharf_bin(), "scan", "--remote", "--server", srv.url, "small/app:multi", "--platform", "linux/s390x"],
            ok=False)
    eq(p.returncode, 1, "no such platform")
    check(b"linux/s390x" in p.stderr, f"platform error: {p.stderr!r}")
    metrics = srv.request("GET", "/metrics").body.decode()
    check('wharf_scan_jobs{state="done"} 1' in metrics, f"scan gauges in /metrics: {metrics[-600:]}")
    other = "sha256:" + "0" * 64
    eq(srv.request("GET", vulns_path("small/app", other)).status, 404, "unknown manifest")
    eq(srv.request("GET", vulns_path("nobody/here", digest)).status, 404, "manifest of another repository")
    eq(srv.request("GET", vulns_path("small/app", "sha256:xyz")).status, 400, "bad digest")
    eq(srv.request("DELETE", vulns_path("small/app", digest)).status, 405, "DELETE")
    for path in ("/api/v1/repositories/a/manifests/vulnerabilities", "/api/v1/repositories/manifests/x/vulnerabilities",
                 "/api/v1/repositories//manifests/" + digest + "/vulnerabilities"):
        r = srv.request("GET", path)
        check(r.status in (400, 404), f"{path}: {r!r}")
    # A repository named like the route words still works.
    d4 = push_small_image(srv, "x/manifests/y", "v1")
    eq(wait_report(srv, "x/manifests/y", d4, timeout=30).status, 200, "repository with 'manifests' in its name")
    # An artifact (not an image config): failed, with the reason.
    cfg = srv.push_blob("small/app", b'{"kind":"sbom"}')
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": "application/vnd.example.sbom", "digest": cfg, "size": 15},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": cfg, "size": 15}]}
    art, _ = srv.push_manifest("small/app", "sbom", m)
    deadline = time.time() + 30
    while True:
        r = srv.request("GET", vulns_path("small/app", art))
        if r.status != 202 or time.time() > deadline:
            break
        time.sleep(0.05)
    eq(r.status, 422, f"artifact scan: {r!r}")
    check("artifact" in r.json()["error"], f"failure reason: {r.body!r}")
    # block_unscanned: a new image with scanning off is refused until scanned.
    srv.stop()
    srv.extra_args = ["--scan-block-unscanned", "--scan-workers", "0"]
    srv.start()
    d2 = push_small_image(srv, "small/app", "v2")
    check(d2 == digest, "same image, same digest")
    r = srv.request("GET", "/v2/small/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    eq(r.status, 200, "a scanned image is served under block_unscanned")
    layer = gzip.compress(_tar({"hello.txt": b"hi\n"}), mtime=0)
    diffid = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [diffid]}}).encode()
    d3, _ = srv.push_image("small/app", "v3", layers=(layer,), config=config)
    r = srv.request("GET", f"/v2/small/app/manifests/{d3}", headers={"Accept": OCI_MANIFEST})
    eq(r.status, 403, f"unscanned image under block_unscanned: {r!r}")
    check("no scan result yet" in r.body.decode(), f"denial reason: {r.body!r}")
    r = srv.request("HEAD", f"/v2/small/app/manifests/v3", headers={"Accept": OCI_MANIFEST})
    eq(r.status, 403, f"HEAD of an unscanned image under block_unscanned: {r!r}")
    r = srv.request("HEAD", f"/v2/small/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    eq(r.status, 200, f"HEAD of a scanned image: {r!r}")
