"""Authorization plugins (issue 7): Docker's authz plugin protocol over a unix socket, asked through
`wharf admin authz check`, which runs the same chain wharfd runs. The plugin is a real process
speaking HTTP on a unix socket (a plugin is the part users write themselves)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import check, eq, test

# The end of a plugin script (sys.argv: the socket, one argument, the request log): reply(handler,
# answer) sends a JSON answer; the handler class H is served on the unix socket.
PLUGIN_SERVE = r'''
def reply(h, out):
    data = json.dumps(out).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)

class S(socketserver.UnixStreamServer):
    def get_request(self):
        req, _ = super().get_request()
        return req, ("local", 0)

if os.path.exists(sock):
    os.unlink(sock)
S(sock, H).serve_forever()
'''

PLUGIN = r'''
import http.server, json, os, socketserver, sys
sock, mode, log = sys.argv[1], sys.argv[2], sys.argv[3]

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                "body": body.decode() or None}) + "\n")
        if self.path == "/Plugin.Activate":
            out = {"Implements": ["volumedriver"] if mode == "notauthz" else ["authz"]}
        elif mode == "allow":
            out = {"Allow": True, "Msg": ""}
        elif mode == "deny":
            out = {"Allow": False, "Msg": "pushes are frozen"}
        elif mode == "error":
            out = {"Allow": True, "Err": "policy backend down"}
        elif mode == "garbage":
            self.send_response(200); self.end_headers(); self.wfile.write(b"Allow: yes"); return
        elif mode == "hang":
            import time; time.sleep(60)
            out = {"Allow": True}
        elif mode == "crash":
            os._exit(3)  # dies mid-request, after a successful activation
        elif mode == "reqonly":
            out = {"Allow": self.path.endswith("AuthZReq")}
        reply(self, out)
    def log_message(self, *a):
        pass
''' + PLUGIN_SERVE


def wharf_cli():
    return os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")


class Plugin:
    """A plugin process: script (PLUGIN, or another ending in PLUGIN_SERVE) run with its socket,
    arg and its request log, in a temporary folder of its own."""
    def __init__(self, arg, script=PLUGIN):
        self.dir = tempfile.mkdtemp(prefix="wharf-authz-")
        self.sock = os.path.join(self.dir, "plugin.sock")
        self.log = os.path.join(self.dir, "requests.log")
        path = os.path.join(self.dir, "plugin.py")
        with open(path, "w") as f:
            f.write(script)
        self.proc = subprocess.Popen([sys.executable, path, self.sock, arg, self.log])
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        check(os.path.exists(self.sock), "the plugin did not create its socket")

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self

    def close(self):
        self.stop()
        subprocess.run(["rm", "-rf", self.dir])

    def __exit__(self, *a):
        self.close()


def authz(*args):
    p = subprocess.run([wharf_cli(), "admin", "authz", "check", "--json"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    out = json.loads(p.stdout) if p.stdout.strip() else None
    return p.returncode, out, p.stderr


@test
def authz_plugin_allow_sees_docker_fields(srv):
    with Plugin("allow") as pl:
        rc, out, err = authz("--plugin", pl.sock, "-u", "alice", "--team", "acme/dev", "-r", "acme/app",
                             "-a", "push", "--tag", "v1", "--method", "PUT", "--uri", "/v2/acme/app/manifests/v1")
        eq(rc, 0, f"exit status ({err})")
        eq(out["allowed"], True, "decision")
        reqs = pl.requests()
        eq([r["path"] for r in reqs], ["/Plugin.Activate", "/AuthZPlugin.AuthZReq"], "plugin calls")
        body = json.loads(reqs[1]["body"])
        eq(body["User"], "alice", "User")
        eq(body["RequestMethod"], "PUT", "RequestMethod")
        eq(body["RequestURI"], "/v2/acme/app/manifests/v1", "RequestURI")
        eq(body["RequestHeaders"]["X-Wharf-Repository"], "acme/app", "repository header")
        eq(body["RequestHeaders"]["X-Wharf-Action"], "push", "action header")
        eq(body["RequestHeaders"]["X-Wharf-Teams"], "acme/dev", "teams header")
        check("docker.plugins" in reqs[1]["ctype"], f"content type {reqs[1]['ctype']}")


@test
def authz_plugin_deny_message_is_the_reason(srv):
    with Plugin("allow") as first, Plugin("deny") as second:
        rc, out, err = authz("--plugin", first.sock, "--plugin", second.sock, "-u", "bob", "-r", "acme/app",
                             "-a", "push")
        eq(rc, 5, f"exit status ({err})")
        eq(out["allowed"], False, "decision")
        check("pushes are frozen" in out["reason"] and second.sock in out["reason"], out["reason"])
        eq(len(first.requests()), 2, "the first plugin was asked")
    # Order matters: a deny first means the second is never asked.
    with Plugin("deny") as first, Plugin("allow") as second:
        rc, out, err = authz("--plugin", first.sock, "--plugin", second.sock, "-r", "acme/app")
        eq(rc, 5, "exit status")
        eq([r["path"] for r in second.requests()], ["/Plugin.Activate"], "second plugin not asked")


@test
def authz_plugin_err_and_garbage_fail_closed(srv):
    for mode, want in (("error", "policy backend down"), ("garbage", "authorization answer")):
        with Plugin(mode) as pl:
            rc, out, err = authz("--plugin", pl.sock, "-r", "acme/app")
            eq(rc, 5, f"{mode}: exit status ({err})")
            check(not out["allowed"] and "fail closed" in out["reason"] and want in out["reason"],
                  f"{mode}: {out}")


@test
def authz_plugin_crash_and_unreachable_fail_closed(srv):
    with Plugin("allow") as pl:
        # Activation needs the plugin; refuse to build a chain without it.
        pl.stop()
        rc, out, err = authz("--plugin", pl.sock, "-r", "acme/app")
        eq(rc, 1, "exit status without the plugin")
        check("activate" in err and "unreachable" in err, err)
    with Plugin("crash") as pl:
        rc, out, err = authz("--plugin", pl.sock, "-r", "acme/app")
        eq(rc, 5, f"exit status when the plugin dies mid-request ({err})")
        check(not out["allowed"] and "fail closed" in out["reason"], out["reason"])
        pl.proc.wait(timeout=10)
        eq(pl.proc.returncode, 3, "the plugin crashed as planned")
    with Plugin("notauthz") as pl:
        rc, out, err = authz("--plugin", pl.sock, "-r", "acme/app")
        eq(rc, 1, "exit status for a non-authz plugin")
        check("does not list \"authz\"" in err, err)


@test
def authz_response_phase_asks_authzres(srv):
    with Plugin("reqonly") as pl:
        rc, out, _ = authz("--plugin", pl.sock, "-r", "acme/app")
        eq(rc, 0, "request phase allowed")
        rc, out, _ = authz("--plugin", pl.sock, "-r", "acme/app", "--response", "201")
        eq(rc, 5, "response phase denied")
        body = json.loads(pl.requests()[-1]["body"])
        eq(pl.requests()[-1]["path"], "/AuthZPlugin.AuthZRes", "response phase path")
        eq(body["ResponseStatusCode"], 201, "ResponseStatusCode")


@test
def authz_plugin_then_policy_blocks_critical_pull(srv):
    policy = {"default": "allow", "rules": [
        {"name": "no-critical", "effect": "deny", "actions": ["pull"], "scan": {"severity_at_least": "CRITICAL"}}]}
    with Plugin("allow") as pl:
        path = os.path.join(pl.dir, "policy.json")
        with open(path, "w") as f:
            json.dump(policy, f)
        rc, out, _ = authz("--plugin", pl.sock, "--policy", path, "-r", "acme/app", "--severity", "CRITICAL")
        eq((rc, out["reason"]), (5, "policy rule 0 (no-critical): deny"), "critical pull")
        rc, out, _ = authz("--plugin", pl.sock, "--policy", path, "-r", "acme/app", "--severity", "HIGH")
        eq(rc, 0, "high pull")
        with open(path, "w") as f:
            f.write('{"default":"allow","rules":[{"effect":"deny","action":["pull"]}]}')
        rc, out, err = authz("--policy", path, "-r", "acme/app")
        eq(rc, 1, "bad policy exit status")
        check("rule 0: action: unknown field" in err, err)


@test(slow=True)
def authz_hanging_plugin_times_out_closed(srv):
    with Plugin("hang") as pl:
        start = time.time()
        rc, out, err = authz("--plugin", pl.sock, "-r", "acme/app")
        took = time.time() - start
        eq(rc, 5, f"exit status ({err})")
        check("fail closed" in out["reason"] and "imeout" in out["reason"], out["reason"])
        check(took < 15, f"a hanging plugin held the request {took:.1f} s")
