"""Integration test harness: starts the real wharfd on 127.0.0.1 and reports TAP.

Tests are plain functions decorated with @test; each gets a fresh Server unless it asks
for a shared one. Run a module with `python3 -m ...` through tests/integration/run.py.
"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REGISTRY = []


def test(fn=None, *, slow=False, shared=True):
    """Register a test. slow tests are skipped with --quick (the sanitizer pass)."""
    def wrap(f):
        f.slow = slow
        f.shared = shared
        REGISTRY.append(f)
        return f
    return wrap(fn) if fn else wrap


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        try:
            return self.json()["errors"][0]["code"]
        except Exception:
            return None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Server:
    """A wharfd process with its own data directory."""

    def __init__(self, wharfd, extra_args=(), data=None):
        self.wharfd = wharfd
        self.tmp = tempfile.mkdtemp(prefix="wharf-it-")
        self.data = data or os.path.join(self.tmp, "data")
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "wharfd.log")
        self.bad_exits = []  # exit codes of stops that were not clean (sanitizer reports, crashes)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.addr}"

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.wharfd, "--listen", self.addr, "--data", self.data] + self.extra_args,
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"wharfd exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                if self.request("GET", "/v2/").status == 200:
                    return self
            except OSError:
                time.sleep(0.02)
        raise Failure("wharfd did not start within 20 s")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if rc not in (None, 0):
            self.bad_exits.append(rc)
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            conn.close()

    # Helpers for the common flows.
    def push_blob(self, repo, data, digest=None):
        digest = digest or sha256(data)
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data)
        eq(r.status, 201, f"monolithic upload of {digest}: {r.body[:300]!r}")
        return digest

    def push_manifest(self, repo, ref, manifest, media_type="application/vnd.oci.image.manifest.v1+json"):
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        r = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                         headers={"Content-Type": media_type})
        eq(r.status, 201, f"manifest PUT {repo}:{ref}: {r.body[:300]!r}")
        return r.header("Docker-Content-Digest"), body

    def push_image(self, repo, tag, layers=(b"layer one",), config=b"{}", extra=None):
        """Push a small OCI image; returns (manifest digest, manifest bytes)."""
        cfg = self.push_blob(repo, config)
        descs = []
        for data in layers:
            d = self.push_blob(repo, data)
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": d, "size": len(data)})
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg,
                        "size": len(config)},
             "layers": descs}
        if extra:
            m.update(extra)
        return self.push_manifest(repo, tag, m)


def run_tests(wharfd, selected=None, quick=False, tests=None):
    """Run registered tests; print TAP; return (passed, failed)."""
    chosen = [t for t in (tests or REGISTRY)
            if (not selected or any(s in t.__module__ + "." + t.__name__ for s in selected))
            and not (quick and t.slow)]
    print(f"1..{len(chosen)}", flush=True)
    shared = None
    passed = failed = 0
    for i, t in enumerate(chosen, 1):
        name = f"{t.__module__}.{t.__name__}"
        start = time.time()
        srv = None
        try:
            if t.shared:
                if shared is None or shared.proc is None or shared.proc.poll() is not None:
                    shared = Server(wharfd).start()
                srv = shared
            else:
                srv = Server(wharfd)
            t(srv)
            if not t.shared:
                srv.stop()
            if srv.bad_exits:
                raise Failure(f"wharfd exited with status {srv.bad_exits} (a crash or a sanitizer report)")
            print(f"ok {i} - {name} ({time.time() - start:.1f}s)", flush=True)
            passed += 1
        except Exception as e:  # noqa: BLE001 - a test failure of any kind
            failed += 1
            print(f"not ok {i} - {name}", flush=True)
            for line in (traceback.format_exc() if not isinstance(e, Failure) else str(e)).splitlines():
                print(f"# {line}", flush=True)
            if srv is not None:
                for line in srv.log_text().splitlines()[-15:]:
                    print(f"#   wharfd: {line[:300]}", flush=True)
        finally:
            if srv is not None and not t.shared:
                srv.cleanup()
    if shared is not None:
        rc = shared.stop()
        if rc not in (0, None):
            failed += 1
            print(f"not ok {len(chosen) + 1} - shared wharfd stops cleanly (exit status {rc})", flush=True)
            for line in shared.log_text().splitlines()[-30:]:
                print(f"#   wharfd: {line[:300]}", flush=True)
        shared.cleanup()
    return passed, failed
