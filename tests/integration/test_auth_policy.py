"""The policy file and authorization plugins decide on the resolved image inside a running wharfd
(issue 7): the auth stage runs before a manifest is found, so a manifest GET/HEAD is asked again
once its digest is known, with the scan result's highest severity ("unscanned" is not "clean") and
whether the tag is signed in the repository's trust data. Real clients: skopeo pulls a real Debian
image whose scan (a tracker JSON written from the image's own packages) has a CRITICAL finding;
`wharf trust` signs a tag; a deny plugin process refuses a skopeo push with its message."""
import json
import os
import tempfile
import time

from harness import check, eq, sha256, test
from test_auth import ADMIN_PW, OCI_MANIFEST, PW, admin_ok, basic, push_image, start_auth
from test_auth_ext import audit_records, audit_verify
from test_authz_plugin import PLUGIN_SERVE, Plugin, authz
from test_clients import TAG, Containers, Layout, image_layout
from test_client_auth import Client
from test_scan_server import db_import, image_packages, pick_sources, tracker, wait_report


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def setup_users(s, repos):
    """User dev (team acme/devs, write on each repo) and reader (team acme/qa, read)."""
    for u in ("dev", "reader"):
        admin_ok(s, "POST", "users", {"name": u, "password": PW})
    admin_ok(s, "POST", "orgs", {"name": "acme", "owner": "dev"})
    for team, user, perm in (("devs", "dev", "write"), ("qa", "reader", "read")):
        admin_ok(s, "POST", "orgs/acme/teams", {"name": team})
        admin_ok(s, "PUT", f"orgs/acme/teams/{team}/members/{user}")
        for repo in repos:
            admin_ok(s, "POST", f"orgs/acme/teams/{team}/grants", {"repository": repo, "permission": perm})


class As:
    """s as seen by one user: request() carries their Basic credentials (for wait_report)."""

    def __init__(self, s, user, pw):
        self.s, self.auth = s, basic(user, pw)

    def request(self, method, path, body=None, headers=None):
        return self.s.request(method, path, body=body, headers=dict(headers or {}, Authorization=self.auth))


OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def get_manifest(s, repo, ref, user="reader", method="GET", accept=OCI_MANIFEST):
    return s.request(method, f"/v2/{repo}/manifests/{ref}",
                     headers={"Authorization": basic(user, PW), "Accept": accept})


def push_index(s, repo, tag, layout):
    """An index over the layout's image (already in repo), as root."""
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": layout.manifest.get("mediaType", OCI_MANIFEST), "digest": layout.digest,
         "size": len(layout.raw), "platform": {"architecture": "amd64", "os": "linux"}}]}
    r = s.request("PUT", f"/v2/{repo}/manifests/{tag}", body=json.dumps(index).encode(),
                  headers={"Authorization": basic("root", ADMIN_PW), "Content-Type": OCI_INDEX})
    eq(r.status, 201, f"push the index {repo}:{tag}: {r!r}")


def head_ms(s, path, n=200):
    """Mean milliseconds of n HEAD /v2/acme/deb/<path> as reader (a figure, not a check)."""
    t0 = time.perf_counter()
    for _ in range(n):
        eq(s.request("HEAD", f"/v2/acme/deb/{path}", headers={"Authorization": basic("reader", PW),
                                                              "Accept": OCI_MANIFEST}).status, 200, path)
    return (time.perf_counter() - t0) / n * 1000


def denial(r):
    eq(r.status, 403, f"refused: {r!r}")
    eq(r.error_code(), "DENIED", "error code")
    return r.json()["errors"][0]["message"]


def skopeo_pull(tools, s, repo, ref, out, ok=True):
    sep = "@" if ref.startswith("sha256:") else ":"
    return tools.skopeo("copy", "--src-tls-verify=false", "--src-creds", f"reader:{PW}",
                        f"docker://{s.addr}/{repo}{sep}{ref}", f"oci:{out}:{TAG}", ok=ok)


@test(slow=True, shared=False)
def policy_scan_severity_blocks_critical_pull(s):
    """deny pull when scan.severity_at_least CRITICAL, and deny unscanned images of acme/deb: the
    unscanned image is refused by the second rule; after the scan finds a CRITICAL vulnerability
    skopeo's pull (by tag and by digest, GET and HEAD) is refused with the first rule's reason while
    its blobs and other repositories stay readable; after a database import removes the finding
    the rescan lets the pull through. Every second-pass decision is in the audit log."""
    layout = Layout(image_layout(), TAG)
    (a, a_ver, a_bins), = pick_sources(image_packages(layout), 1)
    tmp = tempfile.mkdtemp(prefix="wharf-policy-it-", dir=s.tmp)
    db = os.path.join(tmp, "vulndb.sqlite")
    db_import(db, tracker([(a, "CVE-2099-0101", {"status": "open", "urgency": "critical"})]), tmp)
    policy = write_json(os.path.join(tmp, "policy.json"), {"version": 1, "default": "allow", "rules": [
        {"name": "no-critical", "effect": "deny", "actions": ["pull"], "scan": {"severity_at_least": "CRITICAL"}},
        {"name": "no-unscanned", "effect": "deny", "actions": ["pull"], "repositories": ["acme/deb"],
         "scan": {"scanned": False}}]})
    audit = os.path.join(tmp, "audit.log")
    repo, digest = "acme/deb", layout.digest
    base = ["--vulndb", db, "--policy", policy, "--audit-log", audit]
    s.extra_args = base + ["--scan-workers", "0"]  # queued, never scanned
    start_auth(s)
    setup_users(s, [repo, "acme/other"])
    out = os.path.join(tmp, "pulled")
    with Containers(os.path.join(tmp, "containers")) as tools:
        tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"dev:{PW}", f"oci:{layout.path}:{TAG}",
                     f"docker://{s.addr}/{repo}:{TAG}")
        tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"dev:{PW}", f"oci:{layout.path}:{TAG}",
                     f"docker://{s.addr}/acme/other:{TAG}")
        # Unscanned: the no-unscanned rule (acme/deb only); no-critical does not match an unknown result.
        msg = denial(get_manifest(s, repo, TAG))
        eq(msg, "policy rule 1 (no-unscanned): deny", "unscanned image")
        push_index(s, repo, "multi", layout)
        eq(denial(get_manifest(s, repo, "multi", accept=OCI_INDEX)), "policy rule 1 (no-unscanned): deny",
           "an index over an unscanned image")
        p = skopeo_pull(tools, s, repo, TAG, out, ok=False)
        check(p.returncode != 0 and "no-unscanned" in p.stderr.decode(errors="replace"),
              f"skopeo pull of the unscanned image: {p.stderr[-600:]!r}")
        eq(get_manifest(s, "acme/other", TAG).status, 200, "an unscanned image outside acme/deb")

        # Scanned, with the CRITICAL finding.
        s.stop()
        s.extra_args = list(base)
        start_auth(s)
        report = wait_report(As(s, "reader", PW), repo, digest).json()
        gen1 = report["WharfScan"]["Generation"]
        sevs = {v["Severity"] for res in report.get("Results", []) for v in res.get("Vulnerabilities") or []}
        eq(sevs, {"CRITICAL"}, f"the scan's findings for {a} {a_ver} ({a_bins})")
        for ref in (TAG, digest):
            for method in ("GET", "HEAD"):
                r = get_manifest(s, repo, ref, method=method)
                if method == "GET":
                    eq(denial(r), "policy rule 0 (no-critical): deny", f"{method} {ref}")
                else:
                    eq(r.status, 403, f"HEAD {ref}: {r!r}")
        eq(denial(get_manifest(s, repo, "multi", accept=OCI_INDEX)), "policy rule 0 (no-critical): deny",
           "an index is as bad as its worst image")
        p = skopeo_pull(tools, s, repo, TAG, out, ok=False)
        err = p.stderr.decode(errors="replace")
        check(p.returncode != 0 and "no-critical" in err and "denied" in err.lower(),
              f"skopeo's error does not carry the rule's reason: {err[-800:]}")
        print("# skopeo: " + err.strip().splitlines()[-1][-300:])
        check(not os.path.exists(os.path.join(out, "index.json")), "skopeo wrote a refused image")
        # The manifest is the gate: blobs are not image-attribute requests ("unknown" is not "unscanned").
        r = s.request("GET", f"/v2/{repo}/blobs/{layout.config}", headers={"Authorization": basic("reader", PW)})
        eq(r.status, 200, f"config blob of the image: {r!r}")
        r = get_manifest(s, "acme/other", TAG)
        eq(denial(r), "policy rule 0 (no-critical): deny", "the same image in another repository")

        # The database no longer has the finding (a backport): the rescan allows the pull.
        db_import(db, tracker([(a, "CVE-2099-0101", {"status": "resolved", "fixed_version": "0.0~backport-0",
                                                      "urgency": "critical"})]), tmp)
        wait_report(As(s, "reader", PW), repo, digest, generation_not=gen1)
        eq(get_manifest(s, repo, TAG).status, 200, "manifest GET after the rescan")
        eq(get_manifest(s, repo, "multi", accept=OCI_INDEX).status, 200, "the index after the rescan")
        print(f"# HEAD of the manifest (two passes, two audit records): {head_ms(s, f'manifests/{TAG}'):.2f} ms; "
              f"of its config blob (one pass, one record): {head_ms(s, f'blobs/{layout.config}'):.2f} ms")
        skopeo_pull(tools, s, repo, TAG, out)
        check(os.path.exists(os.path.join(out, "index.json")), "skopeo pulled the image after the rescan")
    s.stop()
    recs = [r for r in audit_records(audit) if r.get("type") == "authz" and r.get("repository") == repo]
    second = [r for r in recs if r.get("digest") == digest]
    check(any(r["allowed"] is False and r["scan_max_severity"] == "unscanned" and "no-unscanned" in r["reason"]
              for r in second), f"the unscanned refusal is audited: {second[:3]}")
    check(any(r["allowed"] is False and r["scan_max_severity"] == "CRITICAL" and "no-critical" in r["reason"]
              for r in second), "the critical refusal is audited")
    check(any(r["allowed"] is True and r["scan_max_severity"] == "NONE" for r in second), "the allowed pull is audited")
    check(any(r.get("image") == "pending" and "deferred" in r["reason"] for r in recs),
          "the first pass of a manifest read defers")
    rc, res = audit_verify(audit)
    eq((rc, res["ok"]), (0, True), f"audit chain: {res}")


@test(slow=True, shared=False)
def policy_denies_unsigned_tags_until_signed(s):
    """deny pull of unsigned tags of acme/signed: refused until `wharf trust sign` (logged in with
    `wharf login`) signs the tag, allowed after, refused again when the tag moves to content the trust data does not sign; by digest
    the signature is unknown and the rule does not apply; acme/other is not covered."""
    policy = write_json(os.path.join(s.tmp, "policy.json"), {"version": 1, "default": "allow", "rules": [
        {"name": "signed-only", "effect": "deny", "actions": ["pull"], "repositories": ["acme/signed"],
         "signed": False}]})
    start_auth(s, "--policy", policy)
    setup_users(s, ["acme/signed", "acme/other"])
    root = basic("root", ADMIN_PW)
    st, digest = push_image(s, "acme/signed", "v1", root)
    eq(st, 201, "push acme/signed:v1")
    eq(push_image(s, "acme/other", "v1", root)[0], 201, "push acme/other:v1")
    eq(denial(get_manifest(s, "acme/signed", "v1")), "policy rule 0 (signed-only): deny", "unsigned tag")
    eq(get_manifest(s, "acme/signed", digest).status, 200, "by digest (no tag to be signed)")
    eq(get_manifest(s, "acme/other", "v1").status, 200, "a repository the rule does not name")
    # root signs with `wharf trust` through the token protocol (wharf login). Reading the tag to
    # learn its digest is itself refused by the rule (the tag is not signed yet): the signer names
    # the digest and size, which it can read by digest.
    size = int(get_manifest(s, "acme/signed", digest, method="HEAD").header("Content-Length"))
    signer = Client(s)
    try:
        signer.login("root", ADMIN_PW)
        gun = f"{s.addr}/acme/signed"
        signer.run("trust", "init", "--server", s.url, gun)
        p = signer.run("trust", "sign", "--server", s.url, f"{gun}:v1", ok=False)
        # (the client reports the 403 in its own words, without the server's reason)
        check(p.returncode == 1 and "403" in p.stderr,
              f"resolving the unsigned tag to sign it is refused by the rule: {p.returncode} {p.stderr[-600:]!r}")
        check("policy rule 0 (signed-only): deny" in s.log_text(), "wharfd logged the rule that refused it")
        signer.run("trust", "sign", "--server", s.url, "--digest", digest, "--size", str(size), f"{gun}:v1")
    finally:
        signer.cleanup()
    r = get_manifest(s, "acme/signed", "v1")
    eq(r.status, 200, f"signed tag: {r!r}")
    eq(r.header("Docker-Content-Digest"), digest, "the signed manifest")
    eq(get_manifest(s, "acme/signed", "v1", method="HEAD").status, 200, "HEAD of the signed tag")
    with Containers(os.path.join(s.tmp, "containers")) as tools:
        out = os.path.join(s.tmp, "pulled")
        tools.skopeo("copy", "--src-tls-verify=false", "--src-creds", f"reader:{PW}",
                     f"docker://{s.addr}/acme/signed:v1", f"oci:{out}:v1")
        check(os.path.exists(os.path.join(out, "index.json")), "skopeo pulled the signed tag")
    st, digest2 = push_image(s, "acme/signed", "v1", root)
    eq(st, 201, "the tag moves")
    check(digest2 != digest, "a different manifest")
    eq(denial(get_manifest(s, "acme/signed", "v1")), "policy rule 0 (signed-only): deny",
       "a tag signed for other content than it points to now")


def push_labelled(s, repo, tag, labels=None, annotations=None):
    """Push a one-layer image whose config has config.Labels and whose manifest has annotations."""
    auth = {"Authorization": basic("root", ADMIN_PW)}
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": labels or {}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = os.urandom(64)
    for data in (config, layer):
        eq(s.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}", body=data, headers=auth).status,
           201, "blob upload")
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config),
                    "size": len(config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer),
                     "size": len(layer)}]}
    if annotations:
        m["annotations"] = annotations
    r = s.request("PUT", f"/v2/{repo}/manifests/{tag}", body=json.dumps(m).encode(),
                  headers=dict(auth, **{"Content-Type": OCI_MANIFEST}))
    eq(r.status, 201, f"push {repo}:{tag}")
    return r.header("Docker-Content-Digest")


@test(shared=False)
def policy_labels_from_config_and_annotations(s):
    """The docs' prod-signed rule (labels tier=prod*, signed false): the labels are the image
    config's config.Labels, then the manifest's annotations; dev images and signed-unknown pulls
    by digest pass."""
    policy = write_json(os.path.join(s.tmp, "policy.json"), {"version": 1, "default": "allow", "rules": [
        {"name": "prod-signed", "effect": "deny", "actions": ["pull"], "labels": {"tier": "prod*"},
         "signed": False}]})
    start_auth(s, "--policy", policy)
    setup_users(s, ["acme/app"])
    prod = push_labelled(s, "acme/app", "prod", labels={"tier": "production", "team": "x"})
    push_labelled(s, "acme/app", "dev", labels={"tier": "dev"})
    push_labelled(s, "acme/app", "annotated", annotations={"tier": "prod-eu"})
    push_labelled(s, "acme/app", "both", labels={"tier": "dev"}, annotations={"tier": "prod-eu"})
    eq(denial(get_manifest(s, "acme/app", "prod")), "policy rule 0 (prod-signed): deny", "config label tier=production")
    eq(denial(get_manifest(s, "acme/app", "annotated")), "policy rule 0 (prod-signed): deny",
       "manifest annotation tier=prod-eu")
    eq(get_manifest(s, "acme/app", "dev").status, 200, "tier=dev")
    eq(get_manifest(s, "acme/app", "both").status, 200, "a config label wins over an annotation")
    eq(get_manifest(s, "acme/app", prod).status, 200, "by digest the signature is unknown")


@test
def admin_authz_check_image_states(s):
    """`wharf admin authz check --image` runs wharfd's two passes offline: unknown (no image, as on a
    blob request) is not unscanned, pending defers to the second pass, known decides."""
    policy = write_json(os.path.join(s.tmp, "policy-states.json"), {"default": "allow", "rules": [
        {"name": "no-critical", "effect": "deny", "actions": ["pull"], "scan": {"severity_at_least": "CRITICAL"}},
        {"name": "no-unscanned", "effect": "deny", "actions": ["pull"], "scan": {"scanned": False}}]})
    want = {"known": (5, "policy rule 1 (no-unscanned): deny"),
            "unknown": (0, "policy default: allow"),
            "pending": (0, "policy rule 0 (no-critical): deferred until the manifest resolves")}
    for state, (rc, reason) in want.items():
        got, out, err = authz("--policy", policy, "-r", "acme/app", "--image", state)
        eq((got, out["reason"]), (rc, reason), f"--image {state} ({err})")
    got, out, _ = authz("--policy", policy, "-r", "acme/app", "--severity", "CRITICAL", "--digest", "sha256:ab")
    eq((got, out["reason"]), (5, "policy rule 0 (no-critical): deny"), "second pass with a CRITICAL result")
    got, out, _ = authz("--policy", policy, "-r", "acme/app", "--severity", "NONE")
    eq((got, out["reason"]), (0, "policy default: allow"), "clean is not unscanned")
    got, _, err = authz("--policy", policy, "-r", "acme/app", "--image", "maybe")
    eq(got, 2, f"bad --image: {err}")


# A plugin that refuses pushes while the file frozen exists.
FREEZE_PLUGIN = r'''
import http.server, json, os, socketserver, sys
sock, frozen, log = sys.argv[1], sys.argv[2], sys.argv[3]

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)) or b"{}")
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        h = body.get("RequestHeaders", {})
        if self.path == "/Plugin.Activate":
            out = {"Implements": ["authz"]}
        elif h.get("X-Wharf-Action") == "push" and os.path.exists(frozen):
            out = {"Allow": False, "Msg": "acme is frozen for the release"}
        else:
            out = {"Allow": True}
        reply(self, out)
    def log_message(self, *a):
        pass
''' + PLUGIN_SERVE


@test(slow=True, shared=False)
def deny_plugin_blocks_skopeo_push(s):
    """A real plugin process that refuses pushes while a freeze file exists: skopeo's push fails
    with the plugin's message; pulls still work, and the plugin sees a manifest read twice, first
    pending, then resolved with its digest and scan status."""
    d = tempfile.mkdtemp(prefix="wharf-freeze-", dir=s.tmp)
    frozen = os.path.join(d, "frozen")
    plugin = Plugin(frozen, script=FREEZE_PLUGIN)
    try:
        start_auth(s, "--authz-plugin", plugin.sock)
        setup_users(s, ["acme/app"])
        layout = Layout(image_layout(), TAG)
        with Containers(os.path.join(d, "containers")) as tools:
            dest = f"docker://{s.addr}/acme/app:{TAG}"
            tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"dev:{PW}", f"oci:{layout.path}:{TAG}", dest)
            open(frozen, "w").close()
            p = tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"dev:{PW}",
                             f"oci:{layout.path}:{TAG}", f"docker://{s.addr}/acme/app:v2", ok=False)
            err = p.stderr.decode(errors="replace")
            check(p.returncode != 0, "skopeo pushed through a deny plugin")
            check("acme is frozen for the release" in err, f"skopeo's error lacks the plugin's message: {err[-800:]}")
            r = get_manifest(s, "acme/app", "v2")
            eq(r.status, 404, f"the refused push stored nothing: {r!r}")
            out = os.path.join(d, "pulled")
            tools.skopeo("copy", "--src-tls-verify=false", "--src-creds", f"reader:{PW}", dest, f"oci:{out}:{TAG}")
            check(os.path.exists(os.path.join(out, "index.json")), "pulls still work")
        reqs = plugin.requests()
        reads = [q["body"]["RequestHeaders"] for q in reqs if q["path"] == "/AuthZPlugin.AuthZReq"
                 and q["body"].get("RequestMethod") in ("GET", "HEAD") and "/manifests/" in q["body"]["RequestURI"]
                 and q["body"].get("User") == "reader"]
        check(any(h.get("X-Wharf-Image") == "pending" and "X-Wharf-Digest" not in h for h in reads),
              f"first pass of a manifest read: {reads[:2]}")
        resolved = [h for h in reads if h.get("X-Wharf-Image") == "resolved"]
        check(resolved and all(h.get("X-Wharf-Digest") == layout.digest for h in resolved),
              f"second pass with the digest {layout.digest}: {resolved[:2]}")
        check(all("X-Wharf-Scan-Max-Severity" not in h for h in resolved), "no scan result: no severity header")
    finally:
        plugin.close()
