"""wharf db: import real advisory data (Go and PyPI OSV, RustSec, the Debian tracker sample,
Alpine secdb from ../shared/vulndata), status, atomic failure on bad input, and
`wharf db match` reports checked against the shapes of Trivy's JSON, SARIF 2.1.0 and
CycloneDX 1.5.
"""
import json
import os
import shutil
import subprocess
import tempfile
import zipfile

from harness import check, eq, test

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "vulndb")


def shared_vulndata():
    """../shared/vulndata beside the checkout (CI), else the machine's /work/shared."""
    for d in (os.environ.get("WHARF_SHARED_VULNDATA"), os.path.join(ROOT, "..", "shared", "vulndata"),
              "/work/shared/vulndata"):
        if d and os.path.isdir(os.path.join(d, "osv-go")):
            return os.path.abspath(d)
    return None


class Db:
    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="wharf-vulndb-")
        self.bin = os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")
        self.path = os.path.join(self.home, "vulndb.sqlite")

    def run(self, *args, ok=True, rc=None):
        env = dict(os.environ, WHARF_HOME=self.home)
        p = subprocess.run([self.bin] + list(args), env=env, capture_output=True, text=True, timeout=300)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        if rc is not None:
            eq(p.returncode, rc, f"exit status of wharf {' '.join(args)} ({p.stderr.strip()[:300]})")
        return p

    def status(self):
        return json.loads(self.run("db", "status", "--json").stdout)

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


def eco(status, name):
    for e in status["ecosystems"]:
        if e["ecosystem"] == name:
            return e["advisories"]
    return None


def live_osv_records(directory):
    """OSV records wharf must import: every file's record that is not withdrawn."""
    ids = set()
    for dirpath, _, files in os.walk(directory):
        for f in files:
            if f.endswith(".json"):
                with open(os.path.join(dirpath, f)) as fh:
                    d = json.load(fh)
                if "withdrawn" not in d:
                    ids.add(d["id"])
    return ids


@test
def db_import_real_data_and_status(srv):  # noqa: ARG001 (the CLI needs no server)
    data = shared_vulndata()
    db = Db()
    try:
        if data:
            out = json.loads(db.run("db", "import", "--json", "osv", os.path.join(data, "osv-go")).stdout)
            want = live_osv_records(os.path.join(data, "osv-go"))
            eq(out["advisories"], len(want), "Go OSV records imported")
            db.run("db", "import", "osv", os.path.join(data, "pypa"))
            out = json.loads(db.run("db", "import", "--json", "rustsec", os.path.join(data, "rustsec")).stdout)
            check(out["advisories"] > 500 and out["advisories"] + out["skipped"] == out["files"],
                  f"RustSec: every file imported or skipped as informational/withdrawn: {out}")
            db.run("db", "import", "debian", os.path.join(data, "debian-tracker-sample.json"))
            db.run("db", "import", "alpine", os.path.join(data, "alpine-secdb-2020"))
        else:
            db.run("db", "import", "osv", os.path.join(FIXTURES, "osv"))
            db.run("db", "import", "debian", os.path.join(FIXTURES, "debian-tracker-sample.json"))
            db.run("db", "import", "alpine", os.path.join(FIXTURES, "alpine"))
        st = db.status()
        eq(st["schema_version"], 1, "schema version")
        eq(st["path"], db.path, "default database path under $WHARF_HOME")
        want = ["alpine", "debian", "osv", "rustsec"] if data else ["alpine", "debian", "osv"]
        eq(sorted(s["format"] for s in st["sources"]), want, "sources")
        for s in st["sources"]:
            check(s["imported_at"] > 1600000000 and s["files"] >= 1, f"source row {s}")
        eq(eco(st, "debian:bookworm"), 7, "bookworm advisories in the tracker sample")
        check((eco(st, "Go") or 0) >= 3 and (eco(st, "PyPI") or 0) >= 3, f"OSV ecosystems: {st['ecosystems']}")
        check(not data or (eco(st, "crates.io") or 0) > 500, "crates.io advisories from RustSec")
        check((eco(st, "alpine:v3.10") or 0) > 1000, "Alpine v3.10 advisories")
        eq(len(st["generation"]), 32, "generation is 128 random bits in hex")
        text = db.run("db", "status").stdout
        check("debian:bookworm" in text and "schema version: 1" in text, f"status text: {text[:400]}")
        # Idempotent: the same import again leaves the counts as they were, with a new generation.
        db.run("db", "import", "debian", os.path.join(FIXTURES, "debian-tracker-sample.json"))
        st2 = db.status()
        eq(st2["ecosystems"], st["ecosystems"], "counts after re-importing the same data")
        check(st2["generation"] != st["generation"], "generation changes on every import")
    finally:
        db.cleanup()


@test
def db_bad_input_leaves_database_unchanged(srv):  # noqa: ARG001 (the CLI needs no server)
    db = Db()
    tmp = tempfile.mkdtemp(prefix="wharf-vulndb-bad-")
    try:
        db.run("db", "import", "osv", os.path.join(FIXTURES, "osv"))
        before = db.status()
        bad = os.path.join(tmp, "advisories")
        os.mkdir(bad)
        shutil.copy(os.path.join(FIXTURES, "osv", "GO-2020-0001.json"), os.path.join(bad, "a.json"))
        with open(os.path.join(bad, "b.json"), "w") as f:
            f.write('{"id": "X-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}, '
                    '"ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0", "introduced": "0"}]}]}]}')
        p = db.run("db", "import", "osv", bad, ok=False, rc=1)
        check("b.json" in p.stderr and "exactly one of introduced" in p.stderr, f"error names file and rule: {p.stderr}")
        eq(db.status(), before, "status after a failed import")
        with open(os.path.join(tmp, "broken.json"), "w") as f:
            f.write('{"openssl": {"CVE-1": ')
        p = db.run("db", "import", "debian", os.path.join(tmp, "broken.json"), ok=False, rc=1)
        check("broken.json" in p.stderr and "not valid JSON" in p.stderr, p.stderr)
        # A file over the size limit is refused before it is read whole.
        big = os.path.join(tmp, "big.json")
        with open(big, "wb") as f:
            f.truncate(300 << 20)
        p = db.run("db", "import", "nvd", big, ok=False, rc=1)
        check("larger than" in p.stderr and "big.json" in p.stderr, p.stderr)
        eq(db.status(), before, "status after the failed imports")
        db.run("db", "import", "cvrf", bad, ok=False, rc=2)
        db.run("db", "import", "osv", ok=False, rc=2)
        db.run("db", "frobnicate", ok=False, rc=2)
        eq(db.run("db", "--help").returncode, 0, "wharf db --help")
        check("import FORMAT PATH" in db.run("db", "import", "--help").stdout, "import --help")
        # No database yet: status fails with a hint.
        p = db.run("db", "status", "--db", os.path.join(tmp, "none.sqlite"), ok=False, rc=1)
        check("wharf db import" in p.stderr, p.stderr)
        check(not os.path.exists(os.path.join(tmp, "none.sqlite")), "status created no file")
        # Another program's SQLite database, or a file that is none, is left alone.
        other = os.path.join(tmp, "other.sqlite")
        subprocess.run(["python3", "-c", f"import sqlite3; c = sqlite3.connect({other!r}); "
                        "c.execute('CREATE TABLE t(x)'); c.commit()"], check=True)
        p = db.run("db", "import", "--db", other, "osv", os.path.join(FIXTURES, "osv"), ok=False, rc=1)
        check("not a wharf vulnerability database" in p.stderr, p.stderr)
        text = os.path.join(tmp, "notes.txt")
        with open(text, "w") as f:
            f.write("just some notes, not a database\n" * 100)
        p = db.run("db", "import", "--db", text, "osv", os.path.join(FIXTURES, "osv"), ok=False, rc=1)
        with open(text) as f:
            check(f.read().startswith("just some notes"), "the text file was not touched")
        # A failed first import leaves no file behind.
        db.run("db", "import", "--db", os.path.join(tmp, "new.sqlite"), "osv", os.path.join(tmp, "broken.json"),
               ok=False, rc=1)
        check(not os.path.exists(os.path.join(tmp, "new.sqlite")), "no database after a failed first import")
    finally:
        db.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@test
def db_import_zip_archive(srv):  # noqa: ARG001 (the CLI needs no server)
    """OSV's per-ecosystem all.zip: entries read from the archive; a bad entry is named."""
    db = Db()
    try:
        good = os.path.join(db.home, "all.zip")
        with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(os.listdir(os.path.join(FIXTURES, "osv"))):
                z.write(os.path.join(FIXTURES, "osv", f), f)
            z.writestr("README.txt", "not an advisory")
        out = json.loads(db.run("db", "import", "--json", "osv", good).stdout)
        eq((out["files"], out["advisories"]), (6, 6), "zip entries imported")
        st = db.status()
        eq((eco(st, "Go"), eco(st, "PyPI")), (3, 3), "advisories per ecosystem from the zip")
        bad = os.path.join(db.home, "bad.zip")
        with zipfile.ZipFile(bad, "w") as z:
            z.write(os.path.join(FIXTURES, "osv", "GO-2020-0001.json"), "GO-2020-0001.json")
            z.writestr("GO-9999-0001.json", '{"id": "GO-9999-0001", "affected": 7}')
        p = db.run("db", "import", "osv", bad, ok=False, rc=1)
        check("bad.zip:GO-9999-0001.json" in p.stderr and "not an array" in p.stderr, p.stderr)
        eq(db.status()["ecosystems"], st["ecosystems"], "counts after the failed zip import")
        with open(os.path.join(db.home, "junk.zip"), "wb") as f:
            f.write(b"PK\x03\x04 this is not a zip")
        p = db.run("db", "import", "osv", os.path.join(db.home, "junk.zip"), ok=False, rc=1)
        check("junk.zip" in p.stderr, p.stderr)
    finally:
        db.cleanup()


PKGLIST = {
    "artifact": "registry.local/app:1.0",
    "os": {"id": "debian", "version_id": "11", "codename": "bullseye"},
    "packages": [
        # backported fix in a bullseye security update: not affected
        {"ecosystem": "Debian", "name": "libssl1.1", "version": "1.1.1w-0+deb11u1", "source_name": "openssl",
         "layer_digest": "sha256:" + "a" * 64, "layer_diffid": "sha256:" + "b" * 64},
        # before the fix
        {"ecosystem": "Debian", "name": "openssl", "version": "1.1.1n-0+deb11u4",
         "layer_digest": "sha256:" + "a" * 64, "layer_diffid": "sha256:" + "b" * 64},
        {"ecosystem": "Go", "name": "github.com/gin-gonic/gin", "version": "v1.5.0", "path": "app/server",
         "purl": "pkg:golang/github.com/gin-gonic/gin@v1.5.0",
         "layer_digest": "sha256:" + "c" * 64, "layer_diffid": "sha256:" + "d" * 64},
        {"ecosystem": "PyPI", "name": "AccessControl", "version": "5.1",
         "path": "usr/lib/python3/dist-packages/AccessControl-5.1.dist-info/METADATA",
         "layer_digest": "sha256:" + "c" * 64, "layer_diffid": "sha256:" + "d" * 64},
    ],
}

BULLSEYE = {"openssl": {
    "CVE-2023-0464": {"releases": {"bullseye": {"status": "resolved", "fixed_version": "1.1.1n-0+deb11u5",
                                                "urgency": "medium"}}},
    "CVE-2023-9999": {"releases": {"bullseye": {"status": "open", "urgency": "high"}}}}}


def match_db():
    db = Db()
    tmp = os.path.join(db.home, "in")
    os.mkdir(tmp)
    with open(os.path.join(tmp, "bullseye.json"), "w") as f:
        json.dump(BULLSEYE, f)
    with open(os.path.join(tmp, "pkgs.json"), "w") as f:
        json.dump(PKGLIST, f)
    db.run("db", "import", "osv", os.path.join(FIXTURES, "osv"))
    db.run("db", "import", "debian", os.path.join(tmp, "bullseye.json"))
    return db, os.path.join(tmp, "pkgs.json")


def require(obj, keys, what):
    for k in keys:
        check(k in obj, f"{what} lacks {k}: {json.dumps(obj)[:300]}")


@test
def db_match_trivy_json(srv):  # noqa: ARG001 (the CLI needs no server)
    db, pkgs = match_db()
    try:
        rep = json.loads(db.run("db", "match", "--format", "json", pkgs).stdout)
        require(rep, ["SchemaVersion", "ArtifactName", "ArtifactType", "Metadata", "Results"], "report")
        eq(rep["SchemaVersion"], 2, "SchemaVersion")
        eq(rep["Metadata"]["OS"], {"Family": "debian", "Name": "11"}, "Metadata.OS")
        require(rep["Metadata"], ["DiffIDs", "RepoTags", "RepoDigests", "ImageConfig"], "Metadata")
        found = {}
        for res in rep["Results"]:
            require(res, ["Target", "Class", "Type"], "result")
            check(res["Class"] in ("os-pkgs", "lang-pkgs"), res["Class"])
            for v in res.get("Vulnerabilities", []):
                require(v, ["VulnerabilityID", "PkgName", "InstalledVersion", "Status", "Severity", "Layer"], "vuln")
                require(v["Layer"], ["Digest", "DiffID"], "Layer")
                check(v["Severity"] in ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"), v["Severity"])
                found[(v["PkgName"], v["VulnerabilityID"])] = (res, v)
        # the backported fix is not reported; the open issue is, as affected without a fix
        check(("libssl1.1", "CVE-2023-0464") not in found, "backported fix reported")
        res, v = found[("libssl1.1", "CVE-2023-9999")]
        eq((v["Status"], v.get("FixedVersion"), v["Severity"], v["SeveritySource"]),
           ("affected", None, "HIGH", "debian"), "open bullseye issue")
        eq((res["Class"], res["Type"]), ("os-pkgs", "debian"), "distro result")
        res, v = found[("openssl", "CVE-2023-0464")]
        eq((v["Status"], v["FixedVersion"]), ("fixed", "1.1.1n-0+deb11u5"), "fixed finding")
        res, v = found[("github.com/gin-gonic/gin", "GO-2020-0001")]
        eq((res["Class"], res["Type"], res["Target"], v["PkgPath"]), ("lang-pkgs", "gobinary", "app/server", "app/server"),
           "Go result")
        eq(v["Layer"]["Digest"], "sha256:" + "c" * 64, "layer of the Go package")
        res, v = found[("AccessControl", "PYSEC-2021-335")]
        eq((res["Type"], res["Target"], v["FixedVersion"]), ("python-pkg", "Python", "5.2"), "PyPI result")
        # filters
        rep = json.loads(db.run("db", "match", "--format", "json", "--ignore-unfixed", pkgs).stdout)
        ids = [v["VulnerabilityID"] for r in rep["Results"] for v in r.get("Vulnerabilities", [])]
        check("CVE-2023-9999" not in ids and "CVE-2023-0464" in ids, f"--ignore-unfixed: {ids}")
        rep = json.loads(db.run("db", "match", "--format", "json", "--severity", "HIGH", pkgs).stdout)
        ids = [v["VulnerabilityID"] for r in rep["Results"] for v in r.get("Vulnerabilities", [])]
        eq(ids, ["CVE-2023-9999", "CVE-2023-9999"], "--severity HIGH (both packages of openssl)")
        ign = os.path.join(db.home, "ignore")
        with open(ign, "w") as f:
            f.write("CVE-2023-9999 mitigated by configuration expires=2099-12-31\n"
                    "GO-2020-0001 old entry expires=2020-01-01\n")
        p = db.run("db", "match", "--format", "json", "--ignorefile", ign, pkgs)
        ids = [v["VulnerabilityID"] for r in json.loads(p.stdout)["Results"] for v in r.get("Vulnerabilities", [])]
        check("CVE-2023-9999" not in ids and "GO-2020-0001" in ids, f"ignore file: {ids}")
        check("GO-2020-0001" in p.stderr and "expired" in p.stderr, f"warning for the expired entry: {p.stderr}")
        # An entry for a CVE also covers the advisory that aliases it (GO-2021-0052 is CVE-2020-28483).
        with open(ign, "w") as f:
            f.write("CVE-2020-28483 not exposed: no untrusted proxies expires=2099-12-31\n")
        ids = [v["VulnerabilityID"] for r in json.loads(db.run("db", "match", "--format", "json", "--ignorefile", ign,
                                                                 pkgs).stdout)["Results"] for v in r.get("Vulnerabilities", [])]
        check("GO-2021-0052" not in ids and "GO-2020-0001" in ids, f"ignored through an alias: {ids}")
        with open(ign, "w") as f:
            f.write("CVE-2023-9999 expires=2099-12-31\n")
        p = db.run("db", "match", "--ignorefile", ign, pkgs, ok=False, rc=1)
        check("needs a reason" in p.stderr and ":1:" in p.stderr, p.stderr)
        db.run("db", "match", "--exit-code", "4", "--fail-on", "HIGH", pkgs, ok=False, rc=4)
        db.run("db", "match", "--exit-code", "4", "--fail-on", "CRITICAL", pkgs, rc=0)
        db.run("db", "match", "--format", "xml", pkgs, ok=False, rc=2)
    finally:
        db.cleanup()


@test
def db_match_sarif_and_cyclonedx(srv):  # noqa: ARG001 (the CLI needs no server)
    db, pkgs = match_db()
    try:
        sarif = json.loads(db.run("db", "match", "--format", "sarif", pkgs).stdout)
        eq(sarif["version"], "2.1.0", "SARIF version")
        require(sarif, ["$schema", "runs"], "SARIF")
        run = sarif["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        require(run["tool"]["driver"], ["name", "rules"], "driver")
        check(len(run["results"]) >= 5, f"SARIF results: {len(run['results'])}")
        for r in run["results"]:
            require(r, ["ruleId", "level", "message", "locations"], "SARIF result")
            eq(rules[r["ruleIndex"]]["id"], r["ruleId"], "ruleIndex points at the rule")
            check(r["level"] in ("error", "warning", "note", "none"), r["level"])
            loc = r["locations"][0]["physicalLocation"]
            check(loc["artifactLocation"]["uri"] and loc["region"]["startLine"] >= 1, f"location {loc}")
        for rule in rules:
            require(rule, ["id", "shortDescription", "fullDescription", "defaultConfiguration"], "rule")
        cdx = json.loads(db.run("db", "match", "--format", "cyclonedx", pkgs).stdout)
        eq((cdx["bomFormat"], cdx["specVersion"], cdx["version"]), ("CycloneDX", "1.5", 1), "CycloneDX header")
        check(cdx["serialNumber"].startswith("urn:uuid:"), cdx["serialNumber"])
        refs = {c["bom-ref"] for c in cdx["components"] if c["type"] == "library"}
        eq(len(refs), 4, "one component per package")
        eq([c["name"] for c in cdx["components"] if c["type"] == "operating-system"], ["debian"], "the OS component")
        purls = [c.get("purl") for c in cdx["components"]]
        check("pkg:golang/github.com/gin-gonic/gin@v1.5.0" in purls, f"purls {purls}")
        check("pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u4?distro=debian-11" in purls, f"made purls {purls}")
        ids = set()
        for v in cdx["vulnerabilities"]:
            require(v, ["id", "ratings", "affects"], "CycloneDX vulnerability")
            for r in v["ratings"]:
                check(r["severity"] in ("critical", "high", "medium", "low", "info", "none", "unknown"), r)
            for a in v["affects"]:
                check(a["ref"] in refs, f"affects ref {a['ref']} names a component")
            ids.add(v["id"])
        check({"CVE-2023-9999", "CVE-2023-0464", "GO-2020-0001", "PYSEC-2021-335"} <= ids, f"ids {ids}")
        check("CVE-2023-0464" in ids and len(ids) == len(cdx["vulnerabilities"]), "one entry per vulnerability")
        table = db.run("db", "match", pkgs).stdout
        check("HIGH (2)" in table and "aaaaaaaaaaaa" in table and "(no fix)" in table, table[:800])
    finally:
        db.cleanup()
