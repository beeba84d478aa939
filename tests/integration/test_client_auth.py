"""wharf's own clients against a wharfd with access control on (issue 7, client side): `wharf login`
and `wharf logout`, then `wharf trust init/sign/ls`, `wharf pull` and `wharf scan docker://` through
Docker's token protocol with the stored credentials; read-only users, anonymous pulls of public
repositories, and refusals that say what was refused."""
import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile

from harness import check, eq, test
from test_auth import ADMIN_PW, PW, start_auth, wharf_cli
from test_auth_clients import small_layout
from test_clients import Containers

WPASS = {"WHARF_ROOT_PASSPHRASE": "ca-root-pass", "WHARF_TARGETS_PASSPHRASE": "ca-targets-pass",
         "WHARF_SNAPSHOT_PASSPHRASE": "ca-snapshot-pass"}


class Client:
    """The wharf client with its own $WHARF_HOME and no credentials from the environment."""

    def __init__(self, s):
        self.s = s
        self.home = tempfile.mkdtemp(prefix="wharf-ca-home-")
        self.docker = tempfile.mkdtemp(prefix="wharf-ca-docker-")
        self.bin = os.path.join(os.path.dirname(s.wharfd), "wharf")

    def run(self, *args, stdin=None, env_extra=None, ok=True):
        e = {k: v for k, v in os.environ.items() if k not in ("WHARF_USER", "WHARF_PASSWORD", "WHARF_TRUST_SERVER")}
        e.update(WHARF_HOME=self.home, DOCKER_CONFIG=self.docker, **WPASS)
        e.update(env_extra or {})
        p = subprocess.run([self.bin] + list(args), env=e, input=stdin, capture_output=True, text=True,
                           timeout=300)
        if ok and p.returncode != 0:
            raise AssertionError(f"wharf {' '.join(args)} exited {p.returncode}: {p.stderr[-1500:]}")
        return p

    def login(self, user, pw, ok=True):
        return self.run("login", "-u", user, "--password-stdin", self.s.addr, stdin=pw + "\n", ok=ok)

    def auth_file(self):
        return os.path.join(self.home, "auth.json")

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.docker, ignore_errors=True)


def admin(s, *args):
    p = wharf_cli(s, *args, env_extra={"WHARF_NEW_PASSWORD": PW})
    eq(p.returncode, 0, f"wharf admin {' '.join(args)}: {p.stderr}")


def setup_users(s):
    """acme/app: writer (team devs, write), reader (team qa, read); outsider has no grant."""
    for u in ("writer", "reader", "outsider"):
        admin(s, "user", "add", u)
    admin(s, "org", "add", "acme")
    for team, user, perm in (("devs", "writer", "write"), ("qa", "reader", "read")):
        admin(s, "team", "add", "acme", team)
        admin(s, "team", "member", "add", "acme", team, user)
        admin(s, "team", "grant", "acme", team, "acme/app", perm)


@test(shared=False)
def login_checks_and_stores_credentials(s):
    start_auth(s)
    setup_users(s)
    c = Client(s)
    try:
        p = c.login("writer", "not-the-password", ok=False)
        eq(p.returncode, 1, f"login with a wrong password fails: {p.stderr}")
        check("refused the credentials of user writer" in p.stderr, f"the refusal is explained: {p.stderr!r}")
        check(not os.path.exists(c.auth_file()), "nothing is stored after a refused login")
        p = c.login("nobody", PW, ok=False)
        eq(p.returncode, 1, "login of an unknown user fails")

        p = c.login("writer", PW)
        check(p.stdout.startswith(f"Login Succeeded: {s.addr} as writer"), f"login output: {p.stdout!r}")
        check(PW not in p.stdout + p.stderr, "the password is never printed")
        mode = stat.S_IMODE(os.stat(c.auth_file()).st_mode)
        eq(mode, 0o600, "auth.json is private")
        with open(c.auth_file()) as f:
            text = f.read()
        check(PW not in text, "the password is not stored in clear")
        doc = json.loads(text)
        eq(base64.b64decode(doc["auths"][s.addr]["auth"]).decode(), f"writer:{PW}", "docker-style auth entry")

        p = c.run("login", "--json", "-u", "reader", "--password-stdin", f"http://{s.addr}/", stdin=PW)
        eq(json.loads(p.stdout), {"server": s.addr, "user": "reader", "file": c.auth_file()}, "--json output")
        doc = json.load(open(c.auth_file()))
        eq(list(doc["auths"]), [s.addr], "a second login replaces the entry of the host")
        eq(base64.b64decode(doc["auths"][s.addr]["auth"]).decode(), f"reader:{PW}", "the new user is stored")

        p = c.run("login", "-u", "x", "--password-stdin", "127.0.0.1:1", stdin="pw", ok=False)
        eq(p.returncode, 1, "login to a closed port fails")
        eq(c.run("login", "--password-stdin", s.addr, stdin=PW, ok=False).returncode, 2, "no user: usage error")
        eq(c.run("login", "-u", "a", ok=False).returncode, 2, "no server: usage error")
        eq(c.run("login", "--help").returncode, 0, "login --help")
        eq(c.run("logout", "--help").returncode, 0, "logout --help")

        p = c.run("logout", s.addr)
        check("Removed" in p.stdout, f"logout output: {p.stdout!r}")
        eq(json.load(open(c.auth_file()))["auths"], {}, "logout removes the host")
        p = c.run("logout", s.addr)
        check("Not logged in" in p.stdout, f"second logout: {p.stdout!r}")
    finally:
        c.cleanup()


def push_with_skopeo(s, tools, layout, user, tag):
    tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"{user}:{PW}", f"oci:{layout}:v1",
                 f"docker://{s.addr}/acme/app:{tag}")


@test(slow=True, shared=False)
def trust_pull_and_scan_with_stored_credentials(s):
    start_auth(s)
    setup_users(s)
    layout = os.path.join(s.tmp, "layout")
    digest = small_layout(layout)
    # The trust GUN of `wharf pull` is HOST:PORT/REPO; wharfd authorizes it as the repository after
    # its own host, so team members reach it with their grants on acme/app. The writer's own trust
    # data (with its own keys) uses the GUN acme/app.
    host_gun = f"{s.addr}/acme/app"
    writer, reader, anon, root = Client(s), Client(s), Client(s), Client(s)
    try:
        with Containers(os.path.join(s.tmp, "containers")) as tools:
            push_with_skopeo(s, tools, layout, "writer", "v1")

        # without credentials: a private repository is refused, and the message says what helps
        p = anon.run("pull", f"{host_gun}:v1", ok=False)
        eq(p.returncode, 1, "anonymous pull of a private repository fails")
        check("wharf login" in p.stderr, f"the refusal points at wharf login: {p.stderr!r}")

        # an administrator: trust init + sign + verified pull, all through the token protocol
        root.login("root", ADMIN_PW)
        root.run("trust", "init", "--server", s.url, host_gun)
        root.run("trust", "sign", "--server", s.url, f"{host_gun}:v1")
        out = json.loads(root.run("pull", "--json", f"{host_gun}:v1").stdout)
        eq(out["digest"], digest, "a trusted pull with stored credentials")
        eq(out["signedBy"], "targets", "verified through trust data")

        # a writer signs; a reader lists but may not sign, and is told so
        writer.login("writer", PW)
        writer.run("trust", "init", "--server", s.url, "acme/app")
        writer.run("trust", "sign", "--server", s.url, "acme/app:v1")
        reader.login("reader", PW)
        p = reader.run("trust", "ls", "--server", s.url, "acme/app")
        check("v1" in p.stdout and digest.split(":")[1] in p.stdout,
              f"a read-only user lists the signed tag: {p.stdout!r}")
        # the reader holds the writer's keys, so only the server can refuse the signature
        shutil.copytree(os.path.join(writer.home, "keys"), os.path.join(reader.home, "keys"), dirs_exist_ok=True)
        shutil.copytree(os.path.join(writer.home, "trust"), os.path.join(reader.home, "trust"), dirs_exist_ok=True)
        p = reader.run("trust", "sign", "--server", s.url, "acme/app:v1", ok=False)
        eq(p.returncode, 1, f"a read-only user cannot sign: {p.stderr}")
        check("403" in p.stderr and "repository acme/app" in p.stderr and "denied" in p.stderr,
              f"the refusal names the repository and the 403: {p.stderr!r}")
        out = json.loads(reader.run("pull", "--json", f"{host_gun}:v1").stdout)
        eq(out["digest"], digest, "a read-only user's trusted pull under HOST:PORT/acme/app")
        eq(out["signedBy"], "targets", "the reader verified the tag through trust data")
        outsider_pull = Client(s)
        try:
            outsider_pull.login("outsider", PW)
            p = outsider_pull.run("pull", f"{host_gun}:v1", ok=False)
            check(p.returncode == 1 and "denied" in p.stderr,
                  f"a user without a grant on acme/app is refused its trust data: {p.stderr!r}")
        finally:
            outsider_pull.cleanup()
        check(os.path.exists(os.path.join(reader.home, "content", "blobs", "sha256", digest.split(":")[1])),
              "the manifest is in the reader's content store")

        # credentials from the environment override the file; a wrong password is reported as such
        p = reader.run("pull", "--disable-content-trust", f"{host_gun}:v1",
                       env_extra={"WHARF_USER": "reader", "WHARF_PASSWORD": "wrong"}, ok=False)
        eq(p.returncode, 1, "a wrong password from the environment fails")
        check("refused the credentials of user reader" in p.stderr and "WHARF_USER" in p.stderr,
              f"the refusal names the user and the source: {p.stderr!r}")
        p = anon.run("pull", "--json", "--disable-content-trust", f"{host_gun}:v1",
                     env_extra={"WHARF_USER": "reader", "WHARF_PASSWORD": PW})
        eq(json.loads(p.stdout)["digest"], digest, "WHARF_USER/WHARF_PASSWORD work without login")
        p = anon.run("trust", "ls", "--server", s.url, "acme/app", ok=False)
        check(p.returncode == 1 and "401" in p.stderr and "wharf login" in p.stderr,
              f"trust ls without credentials is refused with a hint: {p.stderr!r}")

        # docker's config.json is read when wharf has nothing stored for the host
        with open(os.path.join(anon.docker, "config.json"), "w") as f:
            json.dump({"auths": {s.addr: {"auth": base64.b64encode(f"reader:{PW}".encode()).decode()}}}, f)
        out = json.loads(anon.run("pull", "--json", "--disable-content-trust", f"{host_gun}:v1").stdout)
        eq(out["digest"], digest, "credentials from docker's config.json")
        os.unlink(os.path.join(anon.docker, "config.json"))

        # wharf scan docker:// with the stored credentials; without them it is refused
        p = reader.run("scan", "--list-packages", "--format", "json", f"docker://{host_gun}:v1", ok=False)
        eq(p.returncode, 0, f"scan docker:// with credentials: {p.stderr[-800:]}")
        p = anon.run("scan", "--list-packages", f"docker://{host_gun}:v1", ok=False)
        check(p.returncode != 0 and "401" in p.stderr, f"scan without credentials is refused: {p.stderr!r}")

        # a public repository: anonymous pulls (and trust reads) work without any login
        admin(s, "repo", "public", "acme/app")
        out = json.loads(anon.run("pull", "--json", "--disable-content-trust", f"{host_gun}:v1").stdout)
        eq(out["digest"], digest, "anonymous pull of a public repository")
        p = anon.run("trust", "ls", "--server", s.url, "acme/app")
        check("v1" in p.stdout, f"anonymous trust ls of a public repository: {p.stdout!r}")
        check(not os.path.exists(anon.auth_file()), "no credentials were needed")
    finally:
        for c in (writer, reader, anon, root):
            c.cleanup()


class FakeRegistry:
    """A registry in front of an OCI layout that demands credentials the way mode says:
    "bearer" (realm on this host), "bearer-noscope" (the same without a scope in the challenge),
    "bearer-elsewhere" (realm on another host name), "basic".
    Records every Authorization header that reaches the registry and the token service."""

    def __init__(self, layout, mode, user="u", pw="p"):
        import http.server
        import threading
        self.layout, self.mode, self.basic = layout, mode, "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        self.seen, self.token_requests = [], []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()

    def reply(self, h, status, body=b"", headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h):
        auth = h.headers.get("Authorization")
        if h.path.startswith("/token"):
            self.token_requests.append((h.headers.get("Host"), h.path, auth))
            if self.mode.startswith("bearer") and self.mode != "bearer-elsewhere" and auth != self.basic:
                return self.reply(h, 401)
            if "scope=repository:x/y:pull" not in h.path:
                return self.reply(h, 200, json.dumps({"token": "no-access", "expires_in": 300}).encode())
            return self.reply(h, 200, json.dumps({"token": "tok-123", "expires_in": 300}).encode())
        self.seen.append(auth)
        if h.path == "/v2/" and auth in (self.basic, "Bearer tok-123"):
            return self.reply(h, 200, b"{}")
        good = auth == (self.basic if self.mode == "basic" else "Bearer tok-123")
        if not good:
            host = "localhost" if self.mode == "bearer-elsewhere" else "127.0.0.1"
            scope = "" if self.mode == "bearer-noscope" else ',scope="repository:x/y:pull"'
            challenge = ('Basic realm="fake"' if self.mode == "basic" else
                         f'Bearer realm="http://{host}:{self.port}/token",service="fake"{scope}')
            return self.reply(h, 401, b"{}", [("WWW-Authenticate", challenge)])
        kind, ref = h.path.split("/")[-2:]
        if kind == "manifests" and not ref.startswith("sha256:"):
            ref = json.load(open(os.path.join(self.layout, "index.json")))["manifests"][0]["digest"]
        path = os.path.join(self.layout, "blobs", "sha256", ref.split(":")[-1])
        if not os.path.exists(path):
            return self.reply(h, 404)
        ct = "application/vnd.oci.image.manifest.v1+json" if kind == "manifests" else "application/octet-stream"
        self.reply(h, 200, open(path, "rb").read(), [("Content-Type", ct)])


@test
def credentials_only_go_to_their_host(s):
    layout = os.path.join(tempfile.mkdtemp(prefix="wharf-ca-layout-"), "l")
    digest = small_layout(layout)
    c = Client(s)
    try:
        for mode in ("bearer", "bearer-noscope", "basic", "bearer-elsewhere"):
            fake = FakeRegistry(layout, mode)
            try:
                ref = f"127.0.0.1:{fake.port}/x/y:v1"
                p = c.run("pull", "--json", "--disable-content-trust", ref,
                          env_extra={"WHARF_USER": "u", "WHARF_PASSWORD": "p"}, ok=False)
                if mode == "bearer":
                    eq(p.returncode, 0, f"{mode}: pull through a token: {p.stderr}")
                    eq(json.loads(p.stdout)["digest"], digest, f"{mode}: pulled digest")
                    eq(len(fake.token_requests), 1, f"{mode}: one token for manifest, config and layer (cached)")
                    check("scope=repository:x/y:pull" in fake.token_requests[0][1]
                          and "service=fake" in fake.token_requests[0][1], f"token query: {fake.token_requests}")
                    eq(fake.token_requests[0][2], fake.basic, f"{mode}: credentials sent to the same host's realm")
                    check(fake.seen[0] is None and len(fake.seen) >= 4
                          and all(a == "Bearer tok-123" for a in fake.seen[1:]),
                          f"{mode}: one 401, then the cached token on every request: {fake.seen}")
                elif mode == "bearer-noscope":
                    eq(p.returncode, 0, f"{mode}: the request's own scope is asked for: {p.stderr}")
                    check(len(fake.token_requests) == 1 and "scope=repository:x/y:pull" in fake.token_requests[0][1],
                          f"{mode}: token query: {fake.token_requests}")
                elif mode == "basic":
                    eq(p.returncode, 0, f"{mode}: pull with Basic: {p.stderr}")
                    check(fake.basic in fake.seen and not fake.token_requests, f"{mode}: Basic retry")
                else:
                    eq(p.returncode, 0, f"{mode}: anonymous token from another host: {p.stderr}")
                    check(fake.token_requests and all(t[2] is None for t in fake.token_requests),
                          f"{mode}: no credentials to a realm on another host: {fake.token_requests}")
                    check(not any(a and a.startswith("Basic") for a in fake.seen), f"{mode}: nor to the registry")
            finally:
                fake.close()
        # wharf login proves the credentials through each kind of challenge, and never sends them elsewhere
        for mode, want in (("bearer", 0), ("basic", 0), ("bearer-elsewhere", 1)):
            fake = FakeRegistry(layout, mode)
            try:
                addr = f"127.0.0.1:{fake.port}"
                bad = c.run("login", "-u", "u", "--password-stdin", addr, stdin="wrong", ok=False)
                eq(bad.returncode, 1, f"{mode}: login with a wrong password: {bad.stderr}")
                p = c.run("login", "-u", "u", "--password-stdin", addr, stdin="p", ok=False)
                eq(p.returncode, want, f"{mode}: login: {p.stdout} {p.stderr}")
                if mode == "bearer-elsewhere":
                    check("sends credentials only to the host" in p.stderr, f"{mode}: explained: {p.stderr!r}")
                    check(all(t[2] is None for t in fake.token_requests), f"{mode}: {fake.token_requests}")
            finally:
                fake.close()
        auths = json.load(open(c.auth_file()))["auths"]
        eq(len(auths), 2, f"two logins stored, the refused ones not: {list(auths)}")
        for addr in list(auths):
            c.run("logout", addr)

        # the same server without WHARF_USER: the token service refuses, the message says what to do
        fake = FakeRegistry(layout, "bearer")
        try:
            p = c.run("pull", "--disable-content-trust", f"127.0.0.1:{fake.port}/x/y:v1", ok=False)
            eq(p.returncode, 1, "no credentials: refused")
            check("requires credentials" in p.stderr and "wharf login" in p.stderr, f"hint: {p.stderr!r}")
        finally:
            fake.close()
    finally:
        c.cleanup()
        shutil.rmtree(os.path.dirname(layout), ignore_errors=True)
