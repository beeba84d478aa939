"""The access-control extensions inside a running wharfd (issue 7): LDAP users log in through the
token endpoint and get the teams their directory groups map to; an authorization plugin and the
policy file refuse requests the roles allow; every decision lands in the hash-chained audit log."""
import base64
import json
import os
import subprocess

from harness import check, eq, test
from test_auth import (ADMIN_PW, OCI_MANIFEST, PW, admin_ok, basic, bearer, claims_of, push_image, setup_org,
                       start_auth, token)
from test_authz_plugin import Plugin
from test_ldap import PASSWORDS, slapd


def config_file(s, ext):
    path = os.path.join(s.tmp, "wharfd.json")
    with open(path, "w") as f:
        json.dump({"access_extensions": ext}, f)
    return path


def audit_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def audit_verify(path):
    p = subprocess.run([os.path.join(os.environ["WHARF_TEST_BIN"], "wharf"), "admin", "audit", "verify", "--json",
                        path], capture_output=True, text=True, timeout=60)
    return p.returncode, json.loads(p.stdout)


@test(slow=True, shared=False)
def ldap_users_log_in_with_mapped_teams(s):
    d = slapd()
    audit = os.path.join(s.tmp, "audit.log")
    start_auth(s, "--config", config_file(s, {"ldap": d.config(), "audit_log": audit}))
    admin_ok(s, "POST", "orgs", {"name": "acme"})
    for team, perm in (("release", "admin"), ("dev", "write")):
        admin_ok(s, "POST", "orgs/acme/teams", {"name": team})
        admin_ok(s, "POST", f"orgs/acme/teams/{team}/grants", {"repository": "acme/app", "permission": perm})
    scope = "repository:acme/app:pull,push,delete"
    eq(claims_of(token(s, "alice", PASSWORDS["alice"], scope))["access"][0]["actions"],
       ["pull", "push", "delete"], "alice (groups release, dev): the release team's admin grant")
    eq(claims_of(token(s, "bob", PASSWORDS["bob"], scope))["access"][0]["actions"], ["pull", "push"],
       "bob (group dev): write")
    token(s, "bob", "wrong", scope, status=401)
    token(s, "carol", PASSWORDS["carol"], scope, status=401)  # disabled in the directory
    token(s, "nobody", "x", scope, status=401)
    users = {u["name"]: u for u in admin_ok(s, "GET", "users")["users"]}
    eq(users["alice"]["source"], "ldap", "alice is an LDAP user")
    # bob leaves the dev group: his next login drops the team
    d.modify("ldapmodify", "dn: cn=dev,ou=groups,dc=example,dc=org\nchangetype: modify\n"
                           "delete: member\nmember: uid=bob,ou=people,dc=example,dc=org\n")
    eq(claims_of(token(s, "bob", PASSWORDS["bob"], scope))["access"], [], "bob after leaving the group")
    d.modify("ldapmodify", "dn: cn=dev,ou=groups,dc=example,dc=org\nchangetype: modify\n"
                           "add: member\nmember: uid=bob,ou=people,dc=example,dc=org\n")
    # a local user of the same name is never looked up in the directory
    admin_ok(s, "POST", "users", {"name": "localonly", "password": PW})
    token(s, "localonly", PW, scope)
    recs = audit_records(audit)
    logins = [(r["user"], r["method"], r["ok"]) for r in recs if r.get("type") == "authn"]
    for want in (("alice", "ldap", True), ("bob", "ldap", False), ("carol", "ldap", False)):
        check(want in logins, f"audit log records the login {want}: {logins}")
    check(any(r.get("type") == "admin" and r["path"] == "/api/v1/admin/orgs" for r in recs), "admin change audited")
    rc, out = audit_verify(audit)
    eq((rc, out["ok"]), (0, True), f"the audit chain verifies: {out}")


@test(slow=True, shared=False)
def plugin_and_policy_refuse_what_roles_allow(s):
    with Plugin("allow") as pl:
        policy = os.path.join(pl.dir, "policy.json")
        with open(policy, "w") as f:
            json.dump({"default": "allow", "rules": [
                {"name": "release-tags", "effect": "allow", "actions": ["push"], "tags": ["rel-*"],
                 "teams": ["acme/admins"]},
                {"name": "others-no-v", "effect": "deny", "actions": ["push"], "tags": ["rel-*"]},
                {"name": "no-signing-by-writer", "effect": "deny", "actions": ["sign"], "users": ["writer"]}]}, f)
        audit = os.path.join(s.tmp, "audit.log")
        start_auth(s, "--config", config_file(s, {"authz_plugins": [pl.sock], "policy": policy, "audit_log": audit}))
        setup_org(s)
        wtok = f"Bearer {token(s, 'writer', PW, 'repository:acme/app:pull,push')}"
        st, _ = push_image(s, "acme/app", "rel-2", wtok)
        eq(st, 403, "writer may push by role, but the policy keeps rel-* tags for acme/admins")
        st, _ = push_image(s, "acme/app", "dev-1", wtok)
        eq(st, 201, "writer pushes a non-release tag")
        st, _ = push_image(s, "acme/app", "rel-2", f"Bearer {token(s, 'boss', PW, 'repository:acme/app:pull,push')}")
        eq(st, 201, "boss (acme/admins) pushes rel-2")
        r = s.request("POST", "/v2/acme/app/_trust/tuf/", body=b"", headers={"Authorization": wtok})
        eq(r.status, 403, "the policy refuses signing by writer")
        check("no-signing-by-writer" in r.body.decode(), f"the refusal names the rule: {r.body[:200]!r}")
        reqs = [json.loads(x["body"]) for x in pl.requests() if x["path"] == "/AuthZPlugin.AuthZReq"]
        check(any(q.get("User") == "writer" and q.get("RequestMethod") == "PUT" for q in reqs),
              f"the plugin saw writer's PUT: {reqs[-3:]}")
        recs = audit_records(audit)
        check(any(r.get("type") == "authz" and r.get("tag") == "rel-2" and r["allowed"] is False for r in recs),
              "the refused push is in the audit log")
        rc, out = audit_verify(audit)
        eq((rc, out["ok"]), (0, True), "audit chain")
    with Plugin("deny") as pl:
        s.stop()
        p = subprocess.run([s.wharfd, "--listen", s.addr, "--data", s.data, "--authz-plugin", pl.sock],
                           capture_output=True, text=True, timeout=30)
        eq(p.returncode, 2, "a plugin without --auth is a usage error")
        check("need access control on" in p.stderr, f"and says why: {p.stderr}")
        s.extra_args = []
        start_auth(s, "--authz-plugin", pl.sock, "--audit-log", audit)
        r = s.request("GET", "/v2/acme/app/manifests/v1",
                      headers={"Authorization": basic("root", ADMIN_PW), "Accept": OCI_MANIFEST})
        eq(r.status, 403, "a deny plugin refuses even the administrator")
        check("pushes are frozen" in r.body.decode(), f"the plugin's message is the reason: {r.body[:200]!r}")
        s.stop()
        recs = audit_records(audit)
        check(any(r.get("type") == "authz" and r.get("user") == "root" and not r["allowed"] and
                  "pushes are frozen" in r.get("reason", "") for r in recs), "the plugin's refusal is audited")
        rc, out = audit_verify(audit)
        eq((rc, out["ok"]), (0, True), f"the chain continues across a restart: {out}")


@test(slow=True, shared=False)
def ldap_sync_disables_users_the_directory_disabled(s):
    d = slapd()
    path = os.path.join(s.tmp, "wharfd.json")
    with open(path, "w") as f:
        json.dump({"auth": {"ldap_sync_interval": 1}, "access_extensions": {"ldap": d.config()}}, f)
    start_auth(s, "--config", path)
    admin_ok(s, "POST", "orgs", {"name": "acme"})
    admin_ok(s, "POST", "orgs/acme/teams", {"name": "dev"})
    admin_ok(s, "POST", "orgs/acme/teams/dev/grants", {"repository": "acme/app", "permission": "write"})
    import urllib.parse
    form = urllib.parse.urlencode({"grant_type": "password", "username": "bob", "password": PASSWORDS["bob"],
                                   "service": "wharf", "access_type": "offline", "client_id": "t"}).encode()
    r = s.request("POST", "/token", body=form)
    eq(r.status, 200, "bob logs in through LDAP")
    refresh = r.json()["refresh_token"]
    bob = {"Authorization": basic("bob", PASSWORDS["bob"])}
    eq(s.request("GET", "/v2/acme/app/tags/list", headers=bob).status, 404, "bob reads (no tags yet)")
    d.modify("ldapmodify", "dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\n"
                           "add: employeeType\nemployeeType: disabled\n")
    try:
        deadline = __import__("time").time() + 15
        disabled = False
        while not disabled and __import__("time").time() < deadline:
            __import__("time").sleep(0.3)
            disabled = {u["name"]: u for u in admin_ok(s, "GET", "users")["users"]}["bob"]["disabled"]
        check(disabled, "the sync disabled bob within 15 s")
        again = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh,
                                        "service": "wharf", "client_id": "t"}).encode()
        eq(s.request("POST", "/token", body=again).status, 401, "bob's refresh token died with the sync")
        eq(s.request("GET", "/v2/acme/app/tags/list", headers=bob).status, 401, "bob's Basic credentials too")
    finally:
        d.modify("ldapmodify", "dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\n"
                               "delete: employeeType\n")
