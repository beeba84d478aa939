"""The audit log's event records inside a running wharfd (issue 7): besides authentications and
decisions, every manifest push that was stored, every delete that succeeded and every content
trust signature published or staged is a record naming the authenticated user, checked here
with real clients (skopeo, wharf trust) and `wharf admin audit verify`. Refused requests are
decisions ("authz" records), never events."""
import json
import os

from harness import check, eq, sha256, test
from test_auth import ADMIN_PW, OCI_MANIFEST, PW, basic, push_image, start_auth
from test_auth_clients import small_layout
from test_auth_ext import audit_records, audit_verify
from test_client_auth import Client, push_with_skopeo, setup_users
from test_clients import Containers

KPASS = "audit-key-pass"


def records(path, type_, **want):
    return [r for r in audit_records(path) if r.get("type") == type_ and all(r.get(k) == v for k, v in want.items())]


def one(path, type_, what, **want):
    got = records(path, type_, **want)
    check(len(got) >= 1, f"{what}: a {type_} record with {want}; the log has "
                         f"{[r for r in audit_records(path) if r.get('type') == type_]}")
    return got[-1]


@test(slow=True, shared=False)
def pushes_and_deletes_are_audited_with_the_user(s):
    audit = os.path.join(s.tmp, "audit.log")
    start_auth(s, "--audit-log", audit)
    setup_users(s)
    layout = os.path.join(s.tmp, "layout")
    digest = small_layout(layout)
    with Containers(os.path.join(s.tmp, "containers")) as tools:
        push_with_skopeo(s, tools, layout, "writer", "v1")
    rec = one(audit, "push", "the skopeo push", user="writer", repository="acme/app", tag="v1")
    eq((rec["digest"], rec["media_type"]), (digest, OCI_MANIFEST), "the push record names digest and media type")
    eq(rec["remote"], "127.0.0.1", "and the client's address")
    check(isinstance(rec["size"], int) and rec["size"] > 0, f"and the manifest's size: {rec}")

    # refused: a read-only user's push and a writer's delete are decisions only
    st, _ = push_image(s, "acme/app", "nope", basic("reader", PW))
    eq(st, 403, "reader may not push")
    check(not records(audit, "push", user="reader"), "a refused push is no push record")
    check(records(audit, "authz", user="reader", action="push", allowed=False),
          "the refused push is an authz record")

    layer = os.urandom(64)
    st, d2 = push_image(s, "acme/app", "tmp", basic("writer", PW), layer=layer)
    eq(st, 201, "writer pushes acme/app:tmp")
    one(audit, "push", "a push by tag through the registry API", user="writer", tag="tmp", digest=d2)
    r = s.request("DELETE", "/v2/acme/app/manifests/tmp", headers={"Authorization": basic("writer", PW)})
    eq(r.status, 403, "write does not include delete")
    check(not records(audit, "delete"), "a refused delete is no delete record")

    root = {"Authorization": basic("root", ADMIN_PW)}
    eq(s.request("DELETE", "/v2/acme/app/manifests/tmp", headers=root).status, 202, "root deletes the tag")
    one(audit, "delete", "the tag delete", user="root", object="tag", repository="acme/app", tag="tmp")
    eq(s.request("DELETE", f"/v2/acme/app/manifests/{d2}", headers=root).status, 202, "root deletes the manifest")
    one(audit, "delete", "the manifest delete", user="root", object="manifest", repository="acme/app", digest=d2)
    eq(s.request("DELETE", f"/v2/acme/app/blobs/{sha256(layer)}", headers=root).status, 202, "and the layer")
    one(audit, "delete", "the blob delete", user="root", object="blob", digest=sha256(layer))
    eq(s.request("DELETE", f"/v2/acme/app/manifests/{d2}", headers=root).status, 404, "a second delete finds nothing")
    eq(len(records(audit, "delete", object="manifest")), 1, "a failed delete is no delete record")
    rc, out = audit_verify(audit)
    eq((rc, out["ok"]), (0, True), f"the audit chain verifies: {out}")


@test(slow=True, shared=False)
def signatures_published_and_staged_are_audited(s):
    audit = os.path.join(s.tmp, "audit.log")
    start_auth(s, "--audit-log", audit)
    setup_users(s)
    layout = os.path.join(s.tmp, "layout")
    small_layout(layout)
    with Containers(os.path.join(s.tmp, "containers")) as tools:
        push_with_skopeo(s, tools, layout, "writer", "v1")
    writer, reader = Client(s), Client(s)
    try:
        writer.login("writer", PW)
        writer.run("trust", "init", "--server", s.url, "--server-managed-snapshot", "acme/app")
        rec = one(audit, "sign", "trust init", user="writer", action="publish", gun="acme/app")
        check("root" in rec["roles"] and rec["versions"]["root"] == 1, f"init publishes root 1: {rec}")
        writer.run("trust", "sign", "--server", s.url, "acme/app:v1")
        rec = one(audit, "sign", "trust sign", user="writer", action="publish", gun="acme/app")
        check("targets" in rec["roles"] and rec["versions"]["targets"] >= 2, f"sign publishes targets: {rec}")
        targets = json.loads(s.request("GET", "/v2/acme/app/_trust/tuf/targets.json",
                                       headers={"Authorization": basic("writer", PW)}).body)
        eq(sorted(rec["keyids"]), sorted(x["keyid"] for x in targets["signatures"]),
           "the record names the keys that signed targets")
        check("v1" in targets["signed"]["targets"], "v1 is signed")

        # a read-only user's signature is refused: a decision, no sign record
        reader.login("reader", PW)
        before = len(records(audit, "sign"))
        r = s.request("POST", "/v2/acme/app/_trust/tuf/", body=b"", headers={"Authorization": basic("reader", PW)})
        eq(r.status, 403, "reader may not publish trust data")
        eq(len(records(audit, "sign")), before, "a refused publish is no sign record")

        # a 2-of-2 targets role: the proposal and the approval that publishes it are both recorded
        kb = os.path.join(writer.home, "b.key")
        p = writer.run("trust", "key", "generate", "--out", kb, env_extra={"WHARF_KEY_PASSPHRASE": KPASS})
        kb_id = p.stdout.strip()
        p = writer.run("trust", "threshold", "--server", s.url, "--add-key", kb + ".pub", "acme/app", "targets", "2")
        check("pending change" in p.stdout, f"raising targets to 2 is staged: {p.stdout}")
        prop = one(audit, "sign", "the proposal", user="writer", action="propose", gun="acme/app", state="pending")
        check("root" in prop["roles"] and prop["keyids"], f"the proposal names its roles and signers: {prop}")
        writer.run("trust", "approve", "--server", s.url, "--key", kb, "acme/app", str(prop["pending_id"]),
                   env_extra={"WHARF_KEY_PASSPHRASE": KPASS})
        appr = one(audit, "sign", "the approval", user="writer", action="approve", gun="acme/app",
                   pending_id=prop["pending_id"])
        eq(appr["state"], "published", "the approval completed the change")
        eq(appr["keyids"], [kb_id], "the approval names the key that approved")
        eq(appr["roles"], prop["roles"], "the same roles")
    finally:
        writer.cleanup()
        reader.cleanup()
    r = s.request("DELETE", "/v2/acme/app/_trust/tuf/", headers={"Authorization": basic("root", ADMIN_PW)})
    eq(r.status, 200, "root deletes the trust data")
    one(audit, "delete", "the trust data delete", user="root", object="trust", gun="acme/app")
    rc, out = audit_verify(audit)
    eq((rc, out["ok"]), (0, True), f"the audit chain verifies: {out}")
