"""A small TUF specification-format repository writer for the tests (python `cryptography`),
and a static HTTP server that can be told to serve modified files (a malicious mirror).

Independent of wharf's C code on purpose: what wharf and tuf-js verify is made by a third party.
"""
import hashlib
import http.server
import json
import os
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def canonical(obj):
    """OLPC canonical JSON as securesystemslib writes it: sorted keys, no whitespace, integers,
    and in strings only '"' and '\\' escaped (a PEM key keeps its raw newlines)."""
    if isinstance(obj, bool):
        return b"true" if obj else b"false"
    if obj is None:
        return b"null"
    if isinstance(obj, int):
        return str(obj).encode()
    if isinstance(obj, str):
        return b'"' + obj.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
    if isinstance(obj, (list, tuple)):
        return b"[" + b",".join(canonical(v) for v in obj) + b"]"
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: kv[0].encode())
        return b"{" + b",".join(canonical(k) + b":" + canonical(v) for k, v in items) + b"}"
    raise TypeError(f"not canonical JSON: {obj!r}")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Key:
    def __init__(self, kind="ed25519"):
        self.kind = kind
        if kind == "ed25519":
            self.priv = ed25519.Ed25519PrivateKey.generate()
            pub = self.priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
            self.meta = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pub}}
        else:
            self.priv = ec.generate_private_key(ec.SECP256R1())
            pem = self.priv.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            self.meta = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": pem}}
        self.keyid = hashlib.sha256(canonical(self.meta)).hexdigest()

    def sign(self, data):
        if self.kind == "ed25519":
            return self.priv.sign(data).hex()
        return self.priv.sign(data, ec.ECDSA(hashes.SHA256())).hex()


def signed(body, keys):
    data = canonical(body)
    return {"signed": body, "signatures": [{"keyid": k.keyid, "sig": k.sign(data)} for k in keys]}


def file_meta(data, version=None, with_hashes=True):
    fm = {"version": version} if version is not None else {}
    if with_hashes:
        fm["length"] = len(data)
        fm["hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
    return fm


class SpecRepo:
    """Keys, current metadata, and the files of a consistent-snapshot repository in a directory."""

    def __init__(self, top, consistent=True):
        self.top = top
        self.meta_dir = os.path.join(top, "metadata")
        self.targets_dir = os.path.join(top, "targets")
        os.makedirs(self.meta_dir)
        os.makedirs(self.targets_dir)
        self.consistent = consistent
        self.keys = {"root": [Key()], "timestamp": [Key()], "snapshot": [Key("ecdsa")], "targets": [Key()]}
        self.thresholds = {r: 1 for r in self.keys}
        self.root_version = 0
        self.versions = {"timestamp": 0, "snapshot": 0, "targets": 0}
        self.targets = {}          # name -> target info
        self.delegations = []      # (role dict, [keys])
        self.deleg_targets = {}    # role -> {name: info}
        self.deleg_versions = {}
        self.files = {}            # served name -> bytes
        self.expires = time.time() + 365 * 86400
        self.ts_expires = time.time() + 7 * 86400

    def root_body(self):
        keys, roles = {}, {}
        for role, ks in self.keys.items():
            for k in ks:
                keys[k.keyid] = k.meta
            roles[role] = {"keyids": [k.keyid for k in ks], "threshold": self.thresholds[role]}
        return {"_type": "root", "spec_version": "1.0.31", "version": self.root_version,
                "expires": iso(self.expires), "consistent_snapshot": self.consistent, "keys": keys, "roles": roles}

    def write(self, name, data):
        self.files[name] = data
        with open(os.path.join(self.meta_dir, name), "wb") as f:
            f.write(data)

    def publish_root(self, signers=None):
        self.root_version += 1
        doc = signed(self.root_body(), signers if signers is not None else self.keys["root"])
        data = json.dumps(doc).encode()
        self.write(f"{self.root_version}.root.json", data)
        self.write("root.json", data)
        return data

    def add_target(self, name, content, role="targets"):
        path = os.path.join(self.targets_dir, os.path.dirname(name))
        os.makedirs(path, exist_ok=True)
        h = hashlib.sha256(content).hexdigest()
        base = os.path.basename(name)
        fname = f"{h}.{base}" if self.consistent else base
        with open(os.path.join(path, fname), "wb") as f:
            f.write(content)
        info = {"length": len(content), "hashes": {"sha256": h}}
        if role == "targets":
            self.targets[name] = info
        else:
            self.deleg_targets.setdefault(role, {})[name] = info

    def delegate(self, name, paths, key=None, terminating=False):
        key = key or Key()
        self.delegations.append(({"name": name, "keyids": [key.keyid], "threshold": 1, "paths": paths,
                                  "terminating": terminating}, [key]))
        self.deleg_targets.setdefault(name, {})
        return key

    def _name(self, role, version):
        return f"{version}.{role}.json" if self.consistent else f"{role}.json"

    def publish(self, targets_signers=None, bump_targets=True):
        """Targets (and delegated roles), snapshot, timestamp: new versions of each."""
        snap_meta = {}
        if bump_targets:
            self.versions["targets"] += 1
            body = {"_type": "targets", "spec_version": "1.0.31", "version": self.versions["targets"],
                    "expires": iso(self.expires), "targets": self.targets}
            if self.delegations:
                keys = {k.keyid: k.meta for _, ks in self.delegations for k in ks}
                body["delegations"] = {"keys": keys, "roles": [r for r, _ in self.delegations]}
            data = json.dumps(signed(body, targets_signers or self.keys["targets"])).encode()
            self.write(self._name("targets", self.versions["targets"]), data)
            for role, ks in self.delegations:
                n = role["name"]
                self.deleg_versions[n] = self.deleg_versions.get(n, 0) + 1
                body = {"_type": "targets", "spec_version": "1.0.31", "version": self.deleg_versions[n],
                        "expires": iso(self.expires), "targets": self.deleg_targets.get(n, {})}
                self.write(self._name(n, self.deleg_versions[n]), json.dumps(signed(body, ks)).encode())
        snap_meta["targets.json"] = {"version": self.versions["targets"]}
        for n, v in self.deleg_versions.items():
            snap_meta[f"{n}.json"] = {"version": v}
        self.versions["snapshot"] += 1
        body = {"_type": "snapshot", "spec_version": "1.0.31", "version": self.versions["snapshot"],
                "expires": iso(self.expires), "meta": snap_meta}
        snap = json.dumps(signed(body, self.keys["snapshot"])).encode()
        self.write(self._name("snapshot", self.versions["snapshot"]), snap)
        self.publish_timestamp(snap)

    def publish_timestamp(self, snap=None):
        if snap is None:
            snap = self.files[self._name("snapshot", self.versions["snapshot"])]
        self.versions["timestamp"] += 1
        body = {"_type": "timestamp", "spec_version": "1.0.31", "version": self.versions["timestamp"],
                "expires": iso(self.ts_expires), "meta": {"snapshot.json": file_meta(snap, self.versions["snapshot"])}}
        self.write("timestamp.json", json.dumps(signed(body, self.keys["timestamp"])).encode())


class StaticServer:
    """Serves top/ over HTTP; overrides maps a URL path to bytes (or None for 404)."""

    def __init__(self, top):
        self.top = top
        self.overrides = {}
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = urllib.parse.unquote(self.path.split("?")[0])
                if path in srv.overrides:
                    data = srv.overrides[path]
                else:
                    fs = os.path.normpath(os.path.join(srv.top, path.lstrip("/")))
                    data = None
                    if fs.startswith(srv.top) and os.path.isfile(fs):
                        with open(fs, "rb") as f:
                            data = f.read()
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # a client that stopped reading at its size limit
                    pass

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
