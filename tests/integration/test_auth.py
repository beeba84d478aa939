"""Access control (issue 7): users x roles x actions against a real wharfd with --auth, the Docker
token protocol, and tokens that must be refused (expired, forged, wrong audience, HS256, alg none)."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from harness import Failure, check, eq, sha256, test

ADMIN_PW = "root-password-1"
PW = "user-password-1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NOTARY_PASS = {"NOTARY_ROOT_PASSPHRASE": "root-pass-1234", "NOTARY_TARGETS_PASSPHRASE": "targets-pass-1234",
               "NOTARY_SNAPSHOT_PASSPHRASE": "snapshot-pass-1234"}


def start_auth(s, *extra):
    """Start s with access control on and root as the first administrator."""
    pwfile = os.path.join(s.tmp, "admin-password")
    with open(pwfile, "w") as f:
        f.write(ADMIN_PW + "\n")
    s.extra_args += ["--auth", "--admin-user", "root", "--admin-password-file", pwfile] + list(extra)
    s.log = open(s.log_path, "ab")
    s.proc = subprocess.Popen([s.wharfd, "--listen", s.addr, "--data", s.data] + s.extra_args,
                              stdout=s.log, stderr=s.log)
    deadline = time.time() + 20
    while time.time() < deadline:
        if s.proc.poll() is not None:
            raise Failure(f"wharfd exited with {s.proc.returncode}: {s.log_text()[-2000:]}")
        try:
            if s.request("GET", "/healthz").status == 200:
                return s
        except OSError:
            time.sleep(0.05)
    raise Failure("wharfd did not start within 20 s")


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def token(s, user, pw, *scopes, status=200):
    q = urllib.parse.urlencode([("service", "wharf")] + [("scope", sc) for sc in scopes])
    headers = {"Authorization": basic(user, pw)} if user else {}
    r = s.request("GET", f"/token?{q}", headers=headers)
    eq(r.status, status, f"token for {user} {scopes}: {r.body[:200]!r}")
    return r.json()["token"] if status == 200 else None


def claims_of(tok):
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


def admin_api(s, method, path, body=None, user="root", pw=ADMIN_PW):
    data = json.dumps(body).encode() if body is not None else None
    return s.request(method, f"/api/v1/admin/{path}", body=data,
                     headers={"Authorization": basic(user, pw), "Content-Type": "application/json"})


def admin_ok(s, method, path, body=None):
    r = admin_api(s, method, path, body)
    check(r.status in (200, 201), f"admin {method} {path}: {r.status} {r.body[:300]!r}")
    return r.json()


def push_image(s, repo, tag, auth, layer=None):
    """Push a one-layer image with the given Authorization; returns the final status and digest."""
    layer = layer or os.urandom(64)
    h = {"Authorization": auth} if auth else {}
    for data in (b"{}", layer):
        r = s.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}", body=data, headers=h)
        if r.status != 201:
            return r.status, None
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"{}"), "size": 2},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer),
                     "size": len(layer)}]}
    r = s.request("PUT", f"/v2/{repo}/manifests/{tag}", body=json.dumps(m).encode(),
                  headers=dict(h, **{"Content-Type": OCI_MANIFEST}))
    return r.status, r.header("Docker-Content-Digest")


def setup_org(s):
    """acme: owner (org owner); teams admins (admin), devs (write), qa (read) on acme/app; outsider."""
    for u in ("owner", "boss", "writer", "reader", "outsider"):
        admin_ok(s, "POST", "users", {"name": u, "password": PW})
    admin_ok(s, "POST", "orgs", {"name": "acme", "owner": "owner"})
    for team, user, perm in (("admins", "boss", "admin"), ("devs", "writer", "write"), ("qa", "reader", "read")):
        admin_ok(s, "POST", "orgs/acme/teams", {"name": team})
        admin_ok(s, "PUT", f"orgs/acme/teams/{team}/members/{user}")
        admin_ok(s, "POST", f"orgs/acme/teams/{team}/grants", {"repository": "acme/app", "permission": perm})
    # writer is also in qa: the highest grant (write) wins
    admin_ok(s, "PUT", "orgs/acme/teams/qa/members/writer")
    root_auth = basic("root", ADMIN_PW)
    st, _ = push_image(s, "acme/app", "v1", root_auth)
    eq(st, 201, "root pushes acme/app:v1 with Basic auth")


def can_pull(s, user):
    tok = token(s, user, PW if user != "root" else ADMIN_PW, "repository:acme/app:pull")
    r = s.request("GET", "/v2/acme/app/manifests/v1", headers=bearer(tok) | {"Accept": OCI_MANIFEST})
    check(r.status in (200, 401), f"pull by {user}: unexpected {r.status}")
    return r.status == 200


def can_push(s, user):
    pw = PW if user != "root" else ADMIN_PW
    tok = token(s, user, pw, "repository:acme/app:pull,push")
    st, _ = push_image(s, "acme/app", f"by-{user}", f"Bearer {tok}")
    check(st in (201, 401), f"push by {user}: unexpected {st}")
    return st == 201


def can_delete(s, user):
    st, digest = push_image(s, "acme/app", f"del-{user}", basic("root", ADMIN_PW))
    eq(st, 201, "root pushes an image to delete")
    pw = PW if user != "root" else ADMIN_PW
    tok = token(s, user, pw, "repository:acme/app:delete")
    r = s.request("DELETE", f"/v2/acme/app/manifests/{digest}", headers=bearer(tok))
    check(r.status in (202, 401), f"delete by {user}: unexpected {r.status}")
    return r.status == 202


def can_sign(s, user):
    """Publishing trust data is push on the repository (here: the POST reaches the trust service,
    which refuses the empty body with 400, or the auth stage answers 401)."""
    pw = PW if user != "root" else ADMIN_PW
    tok = token(s, user, pw, "repository:acme/app:pull,push")
    r = s.request("POST", "/v2/acme/app/_trust/tuf/", body=b"",
                  headers=bearer(tok) | {"Content-Type": "multipart/form-data; boundary=x"})
    check(r.status in (400, 401), f"sign by {user}: unexpected {r.status} {r.body[:200]!r}")
    return r.status == 400


def can_admin(s, user):
    pw = PW if user != "root" else ADMIN_PW
    r = admin_api(s, "POST", "repos/visibility", {"repository": "acme/app", "public": False}, user=user, pw=pw)
    check(r.status in (200, 403), f"admin by {user}: unexpected {r.status}")
    return r.status == 200


@test(shared=False)
def matrix_users_roles_actions(s):
    start_auth(s)
    setup_org(s)
    want = {  # pull, push, delete, sign, admin
        "root": (True, True, True, True, True),
        "owner": (True, True, True, True, True),
        "boss": (True, True, True, True, True),
        "writer": (True, True, False, True, False),
        "reader": (True, False, False, False, False),
        "outsider": (False, False, False, False, False),
    }
    for user, expect in want.items():
        got = (can_pull(s, user), can_push(s, user), can_delete(s, user), can_sign(s, user), can_admin(s, user))
        eq(got, expect, f"{user}: (pull, push, delete, sign, admin)")


@test(shared=False)
def anonymous_gets_challenge_and_public_pull_only(s):
    start_auth(s)
    setup_org(s)
    r = s.request("GET", "/v2/")
    eq(r.status, 401, "anonymous GET /v2/")
    check(r.header("WWW-Authenticate").startswith(f'Bearer realm="http://{s.addr}/token",service="wharf"'),
          f"challenge names the realm: {r.header('WWW-Authenticate')}")
    r = s.request("GET", "/v2/acme/app/manifests/v1")
    eq(r.status, 401, "anonymous pull of a private repository")
    eq(r.header("WWW-Authenticate").split(",scope=")[1], '"repository:acme/app:pull"', "challenge scope")
    r = s.request("PUT", "/v2/acme/app/manifests/x", body=b"{}")
    check('scope="repository:acme/app:pull,push"' in r.header("WWW-Authenticate"), "push challenge scope")
    anon = token(s, None, None, "repository:acme/app:pull")
    eq(claims_of(anon)["access"], [], "anonymous token grants nothing on a private repository")
    admin_ok(s, "POST", "repos/visibility", {"repository": "acme/app", "public": True})
    anon = token(s, None, None, "repository:acme/app:pull,push")
    eq(claims_of(anon)["access"], [{"type": "repository", "name": "acme/app", "actions": ["pull"]}],
       "anonymous token on a public repository: pull only")
    r = s.request("GET", "/v2/acme/app/manifests/v1", headers=bearer(anon) | {"Accept": OCI_MANIFEST})
    eq(r.status, 200, "anonymous pull of a public repository")
    st, _ = push_image(s, "acme/app", "anon", f"Bearer {anon}")
    eq(st, 401, "anonymous push to a public repository")


@test(shared=False)
def token_grants_intersection_and_scopes_do_not_escalate(s):
    start_auth(s)
    setup_org(s)
    st, _ = push_image(s, "acme/other", "v1", basic("root", ADMIN_PW))
    eq(st, 201, "root pushes acme/other")
    tok = token(s, "reader", PW, "repository:acme/app:pull,push,delete", "repository:acme/other:pull")
    c = claims_of(tok)
    eq(c["access"], [{"type": "repository", "name": "acme/app", "actions": ["pull"]}], "reader's grant")
    eq((c["iss"], c["aud"], c["sub"]), ("wharf", "wharf", "reader"), "iss, aud, sub")
    check(0 < c["exp"] - c["iat"] <= 300, "a short lifetime (5 minutes)")
    r = s.request("GET", "/v2/acme/other/manifests/v1", headers=bearer(tok))
    eq(r.status, 401, "token for acme/app used on acme/other")
    check('error="insufficient_scope"' in r.header("WWW-Authenticate"), "insufficient_scope in the challenge")
    st, _ = push_image(s, "acme/app", "esc", f"Bearer {tok}")
    eq(st, 401, "pull token used for push")
    wtok = token(s, "writer", PW, "repository:acme/app:*")
    eq(claims_of(wtok)["access"][0]["actions"], ["pull", "push"], "* asks for all: writer gets pull, push")
    r = s.request("DELETE", "/v2/acme/app/manifests/v1", headers=bearer(wtok))
    eq(r.status, 401, "writer's token cannot delete")
    # cross-repository mount needs pull on the source: without it, a fresh upload (202), not the blob
    secret_blob = os.urandom(100)
    h = {"Authorization": basic("root", ADMIN_PW)}
    eq(s.request("POST", f"/v2/acme/other/blobs/uploads/?digest={sha256(secret_blob)}", body=secret_blob,
                 headers=h).status, 201, "root uploads a blob to acme/other")
    wtok = token(s, "writer", PW, "repository:acme/app:pull,push", "repository:acme/other:pull")
    eq(len(claims_of(wtok)["access"]), 1, "writer gets nothing on acme/other")
    r = s.request("POST", f"/v2/acme/app/blobs/uploads/?mount={sha256(secret_blob)}&from=acme/other",
                  headers=bearer(wtok))
    eq(r.status, 202, "mount from a repository the token cannot pull starts an upload instead")
    rtok = token(s, "root", ADMIN_PW, "repository:acme/app:pull,push", "repository:acme/other:pull")
    r = s.request("POST", f"/v2/acme/app/blobs/uploads/?mount={sha256(secret_blob)}&from=acme/other",
                  headers=bearer(rtok))
    eq(r.status, 201, "mount with pull on the source (control)")
    token(s, "reader", "wrong-password", "repository:acme/app:pull", status=401)
    token(s, "nobody", PW, "repository:acme/app:pull", status=401)
    r = s.request("GET", "/v2/acme/app/tags/list", headers={"Authorization": basic("reader", PW)})
    eq(r.status, 200, "Basic auth directly on /v2")
    r = s.request("PUT", "/v2/acme/app/manifests/x", body=b"{}", headers={"Authorization": basic("reader", PW)})
    eq(r.status, 403, "Basic auth without the right: 403")
    r = s.request("GET", "/v2/acme/app/tags/list", headers={"Authorization": basic("reader", "bad")})
    eq(r.status, 401, "Basic auth with a wrong password")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, claims, sign):
    h = b64u(json.dumps(header).encode())
    c = b64u(json.dumps(claims).encode())
    return f"{h}.{c}.{b64u(sign(f'{h}.{c}'.encode()))}"


def es256_signer(pem):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    key = serialization.load_pem_private_key(pem, password=None)

    def sign(data):
        r, s_ = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    return sign, key


@test(shared=False)
def bad_tokens_are_refused(s):
    start_auth(s)
    setup_org(s)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    with open(os.path.join(s.data, "auth", "token.key"), "rb") as f:
        server_sign, server_key = es256_signer(f.read())
    other_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    other_sign, _ = es256_signer(other_pem)
    now = int(time.time())
    good = {"iss": "wharf", "aud": "wharf", "sub": "root", "iat": now, "nbf": now, "exp": now + 120,
            "access": [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]}
    hdr = {"alg": "ES256", "typ": "JWT"}
    url = "/v2/acme/app/manifests/v1"

    def status(tok):
        return s.request("GET", url, headers=bearer(tok) | {"Accept": OCI_MANIFEST}).status

    eq(status(forge(hdr, good, server_sign)), 200, "a token signed with the server's key (control)")
    eq(status(forge(hdr, dict(good, exp=now - 3600, iat=now - 4000, nbf=now - 4000), server_sign)), 401, "expired")
    eq(status(forge(hdr, dict(good, nbf=now + 3600), server_sign)), 401, "not valid yet")
    eq(status(forge(hdr, good, other_sign)), 401, "signed by another key")
    eq(status(forge(hdr, dict(good, aud="other-service"), server_sign)), 401, "wrong audience")
    eq(status(forge(hdr, dict(good, iss="someone-else"), server_sign)), 401, "wrong issuer")
    pub = server_key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    hs = forge({"alg": "HS256", "typ": "JWT"}, good, lambda d: hmac.new(pub, d, hashlib.sha256).digest())
    eq(status(hs), 401, "HS256 with the public key as secret")
    none = forge({"alg": "none", "typ": "JWT"}, good, lambda d: b"")
    eq(status(none), 401, "alg none")
    real = token(s, "reader", PW, "repository:acme/app:pull")
    h, c, sig = real.split(".")
    cl = claims_of(real)
    cl["access"][0]["actions"] = ["pull", "push", "delete"]
    tampered = f"{h}.{b64u(json.dumps(cl).encode())}.{sig}"
    eq(status(tampered), 401, "claims changed after signing")
    eq(status(real), 200, "the real token (control)")


@test(shared=False)
def oauth2_password_and_refresh_grants(s):
    start_auth(s)
    setup_org(s)
    body = urllib.parse.urlencode({"grant_type": "password", "username": "reader", "password": PW,
                                   "service": "wharf", "scope": "repository:acme/app:pull",
                                   "client_id": "test", "access_type": "offline"}).encode()
    r = s.request("POST", "/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 200, f"password grant: {r.body[:200]!r}")
    j = r.json()
    check(j.get("refresh_token"), "offline access gives a refresh token")
    eq(claims_of(j["access_token"])["access"][0]["actions"], ["pull"], "password grant's access")
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": j["refresh_token"],
                                   "service": "wharf", "scope": "repository:acme/app:pull,push",
                                   "client_id": "test"}).encode()
    r = s.request("POST", "/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 200, "refresh grant")
    eq(claims_of(r.json()["access_token"])["access"][0]["actions"], ["pull"], "refresh grant cannot escalate")
    bad = urllib.parse.urlencode({"grant_type": "password", "username": "reader", "password": "x",
                                  "service": "wharf"}).encode()
    eq(s.request("POST", "/token", body=bad).status, 401, "password grant with a wrong password")
    admin_ok(s, "PUT", "users/reader/disabled", {"disabled": True})
    body2 = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": j["refresh_token"],
                                    "service": "wharf"}).encode()
    eq(s.request("POST", "/token", body=body2).status, 401, "refresh token of a disabled user")
    token(s, "reader", PW, "repository:acme/app:pull", status=401)


@test(shared=False)
def catalog_needs_scope_and_is_filtered(s):
    start_auth(s)
    setup_org(s)
    st, _ = push_image(s, "acme/secret", "v1", basic("root", ADMIN_PW))
    eq(st, 201, "push acme/secret")
    eq(s.request("GET", "/v2/_catalog").status, 401, "anonymous catalog")
    tok = token(s, "reader", PW, "registry:catalog:*")
    r = s.request("GET", "/v2/_catalog", headers=bearer(tok))
    eq((r.status, r.json()), (200, {"repositories": ["acme/app"]}), "reader sees only acme/app")
    tok = token(s, "root", ADMIN_PW, "registry:catalog:*")
    r = s.request("GET", "/v2/_catalog", headers=bearer(tok))
    eq(r.json(), {"repositories": ["acme/app", "acme/secret"]}, "root sees all")
    tok = token(s, "reader", PW, "repository:acme/app:pull")
    eq(s.request("GET", "/v2/_catalog", headers=bearer(tok)).status, 401, "catalog without its scope")


@test(shared=False)
def robot_accounts_are_scoped_and_expire(s):
    start_auth(s)
    setup_org(s)
    r = admin_ok(s, "POST", "robots", {"name": "ci", "repositories": ["acme/*"], "actions": ["pull", "push"]})
    secret = r["secret"]
    eq(len(secret), 64, "the secret is shown once")
    check("secret" not in json.dumps(admin_ok(s, "GET", "robots")), "the robot list holds no secret")
    tok = token(s, "ci", secret, "repository:acme/app:pull,push,delete", "repository:other/x:pull")
    eq(claims_of(tok)["access"], [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}],
       "robot grant: its repositories and actions only")
    st, _ = push_image(s, "acme/app", "ci", f"Bearer {tok}")
    eq(st, 201, "robot pushes")
    admin_ok(s, "POST", "robots", {"name": "old", "repositories": ["acme/*"], "actions": ["pull"],
                                   "expires": int(time.time()) - 1})
    old = admin_ok(s, "GET", "robots")
    check(any(x["name"] == "old" for x in old["robots"]), "expired robot listed")
    r = admin_api(s, "POST", "robots", {"name": "x", "repositories": ["a/*"], "actions": ["pull"]},
                  user="owner", pw=PW)
    eq(r.status, 403, "only administrators make robots")


@test(shared=False)
def secrets_on_disk_are_private(s):
    start_auth(s)
    admin_ok(s, "POST", "users", {"name": "alice", "password": PW})
    for name in ("auth.db", "auth/token.key"):
        mode = os.stat(os.path.join(s.data, name)).st_mode & 0o777
        eq(oct(mode), oct(0o600), f"mode of {name}")
    eq(oct(os.stat(os.path.join(s.data, "auth")).st_mode & 0o777), oct(0o700), "mode of auth/")
    for name in os.listdir(s.data):
        if name.startswith("auth.db"):
            with open(os.path.join(s.data, name), "rb") as f:
                check(PW.encode() not in f.read(), f"no password in {name}")
            check(os.stat(os.path.join(s.data, name)).st_mode & 0o077 == 0, f"{name} is private")


@test(shared=False)
def access_control_off_by_default(s):
    s.start()
    eq(s.request("GET", "/v2/").status, 200, "no --auth: /v2/ open")
    eq(s.request("GET", "/token").status, 404, "no token endpoint without --auth")
    st, _ = push_image(s, "acme/app", "v1", None)
    eq(st, 201, "anonymous push without --auth")


@test(shared=False, slow=True)
def first_admin_needs_a_password(s):
    s.extra_args += ["--auth", "--admin-user", "root"]
    env = {k: v for k, v in os.environ.items() if k != "WHARF_ADMIN_PASSWORD"}
    p = subprocess.run([s.wharfd, "--listen", s.addr, "--data", s.data] + s.extra_args, env=env,
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1, "wharfd refuses to start without the administrator's password")
    check("WHARF_ADMIN_PASSWORD" in p.stderr, f"the error names the variable: {p.stderr[-300:]}")


@test(shared=False, slow=True)
def notary_client_publishes_with_token_auth(s):
    check(shutil.which("notary") is not None, "the notary client is installed")
    start_auth(s)
    setup_org(s)
    d = tempfile.mkdtemp(prefix="wharf-notary-auth-")
    try:
        def notary(user, *args, trust_dir=d):
            env = dict(os.environ, **NOTARY_PASS)
            env["NOTARY_AUTH"] = base64.b64encode(f"{user}:{PW}".encode()).decode()
            return subprocess.run(["notary", "-s", s.url, "-d", trust_dir] + list(args), env=env, capture_output=True,
                                  text=True, timeout=120, stdin=subprocess.DEVNULL)
        payload = os.path.join(d, "payload")
        with open(payload, "w") as f:
            f.write("hello")
        p = notary("reader", "init", "acme/app", "-p")
        check(p.returncode != 0, "reader cannot publish trust data")
        p = notary("writer", "init", "acme/app", "-p")
        eq(p.returncode, 0, f"writer publishes with token auth: {p.stderr[-800:]}")
        p = notary("writer", "add", "acme/app", "v1", payload, "-p")
        eq(p.returncode, 0, f"writer signs a target: {p.stderr[-800:]}")
        p = notary("reader", "list", "acme/app")
        eq(p.returncode, 0, f"reader lists: {p.stderr[-500:]}")
        check("v1" in p.stdout, "reader sees the signed target")
        # fresh trust directories, so nothing comes from a local cache
        p = notary("reader", "list", "acme/app", trust_dir=os.path.join(d, "reader"))
        eq(p.returncode, 0, f"reader lists from the server: {p.stderr[-500:]}")
        check("v1" in p.stdout, "reader sees the signed target from the server")
        p = notary("outsider", "list", "acme/app", trust_dir=os.path.join(d, "outsider"))
        check(p.returncode != 0, "outsider cannot read trust data")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wharf_cli(s, *args, user="root", pw=ADMIN_PW, stdin=None, env_extra=None):
    wharf = os.path.join(os.path.dirname(s.wharfd), "wharf")
    env = dict(os.environ, WHARF_USER=user, WHARF_PASSWORD=pw, **(env_extra or {}))
    return subprocess.run([wharf, "admin"] + list(args) + ["--server", s.url], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


@test(shared=False)
def admin_cli_manages_users_orgs_teams_repos_robots(s):
    start_auth(s)
    def ok(*args, **kw):
        p = wharf_cli(s, *args, **kw)
        eq(p.returncode, 0, f"wharf admin {' '.join(args)}: {p.stderr}")
        return p.stdout
    ok("user", "add", "alice", "--password-stdin", stdin=PW + "\n")
    ok("user", "add", "bob", env_extra={"WHARF_NEW_PASSWORD": PW})
    users = json.loads(ok("user", "ls", "--json"))
    eq(sorted(u["name"] for u in users), ["alice", "bob", "root"], "users listed")
    ok("org", "add", "corp", "--owner", "alice")
    ok("team", "add", "corp", "devs")
    ok("team", "member", "add", "corp", "devs", "bob")
    ok("team", "grant", "corp", "devs", "corp/api", "write")
    teams = json.loads(ok("team", "ls", "corp", "--json"))
    eq(teams, [{"name": "devs", "members": "bob", "grants": "corp/api:write"}], "team listed")
    tok = token(s, "bob", PW, "repository:corp/api:pull,push")
    eq(claims_of(tok)["access"][0]["actions"], ["pull", "push"], "bob's grant through the CLI")
    st, _ = push_image(s, "corp/api", "v1", f"Bearer {tok}")
    eq(st, 201, "bob pushes")
    # the org owner (not a system administrator) manages teams and visibility, not users
    p = wharf_cli(s, "user", "add", "eve", user="alice", pw=PW, env_extra={"WHARF_NEW_PASSWORD": PW})
    eq(p.returncode, 1, "an org owner cannot add users")
    check("403" in p.stderr and "may not add users" in p.stderr, f"the refusal is explained: {p.stderr}")
    ok("repo", "public", "corp/api", user="alice", pw=PW)
    r = s.request("GET", "/v2/corp/api/manifests/v1",
                  headers=bearer(token(s, None, None, "repository:corp/api:pull")) | {"Accept": OCI_MANIFEST})
    eq(r.status, 200, "public after wharf admin repo public")
    out = ok("robot", "add", "deploy", "--repo", "corp/*", "--actions", "pull", "--expires-in", "1h")
    secret = out.strip().rsplit(" ", 1)[1]
    eq(claims_of(token(s, "deploy", secret, "repository:corp/api:pull,push"))["access"][0]["actions"], ["pull"],
       "robot secret printed once works")
    ok("user", "disable", "bob")
    token(s, "bob", PW, "repository:corp/api:pull", status=401)
    ok("user", "disable", "bob", "--enable")
    ok("user", "passwd", "bob", env_extra={"WHARF_NEW_PASSWORD": "new-pass-2"})
    token(s, "bob", "new-pass-2", "repository:corp/api:pull")
    ok("team", "member", "rm", "corp", "devs", "bob")
    eq(claims_of(token(s, "bob", "new-pass-2", "repository:corp/api:push"))["access"], [], "removed member")
    ok("robot", "rm", "deploy")
    ok("user", "rm", "bob")
    ok("org", "rm", "corp")
    eq(wharf_cli(s, "user", "rm", "bob").returncode, 1, "removing a missing user fails")
    eq(wharf_cli(s, "user", "frob").returncode, 2, "unknown verb is a usage error")
    eq(wharf_cli(s, "user", "ls", pw="wrong").returncode, 1, "wrong admin password")
    # registry administration (online gc) is for system administrators
    eq(wharf_cli(s, "gc").returncode, 0, "wharf admin gc --server as root")
    eq(wharf_cli(s, "gc", user="alice", pw=PW).returncode, 1, "wharf admin gc --server as a non-administrator")
