"""Real clients log in to wharfd with access control on and push/pull through Docker's token
protocol: skopeo (--dest-creds/--src-creds), podman login + push/pull, docker login."""
import gzip
import hashlib
import io
import json
import os
import tarfile

from harness import check, eq, test
from test_auth import PW, admin_ok, setup_org, start_auth
from test_clients import Containers, run


def small_layout(path, tag="v1"):
    """A one-layer OCI image layout (a file in a gzip tar), enough for every client here."""
    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(path, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return f"sha256:{d}", len(data)
    os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        payload = os.urandom(256)
        info = tarfile.TarInfo("hello.bin")
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    tar = raw.getvalue()
    layer = gzip.compress(tar, mtime=0)
    ldig, lsize = put(layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
    cdig, csize = put(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig,
                                      "size": csize},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ldig,
                                       "size": lsize}]}).encode()
    mdig, msize = put(manifest)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                      "digest": mdig, "size": msize,
                                                      "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return mdig


@test(slow=True, shared=False)
def skopeo_and_podman_with_token_auth(s):
    start_auth(s)
    setup_org(s)
    layout = os.path.join(s.tmp, "layout")
    digest = small_layout(layout)
    with Containers(os.path.join(s.tmp, "containers")) as tools:
        dest = f"docker://{s.addr}/acme/app:skopeo"
        tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"writer:{PW}", f"oci:{layout}:v1", dest)
        p = tools.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"reader:{PW}", f"oci:{layout}:v1",
                         f"docker://{s.addr}/acme/app:by-reader", ok=False)
        check(p.returncode != 0, "skopeo copy with a reader's credentials is refused")
        p = tools.skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
                         f"docker://{s.addr}/acme/app:anon", ok=False)
        check(p.returncode != 0, "anonymous skopeo copy is refused")
        p = tools.skopeo("inspect", "--tls-verify=false", "--raw", "--creds", f"reader:{PW}", dest)
        eq("sha256:" + hashlib.sha256(p.stdout).hexdigest(), digest, "skopeo inspect --creds reader")
        p = tools.skopeo("inspect", "--tls-verify=false", "--raw", "--creds", f"outsider:{PW}", dest, ok=False)
        check(p.returncode != 0, "an outsider cannot inspect")
        back = os.path.join(s.tmp, "back")
        tools.skopeo("copy", "--src-tls-verify=false", "--src-creds", f"reader:{PW}", dest, f"oci:{back}:v1")
        check(os.path.exists(os.path.join(back, "index.json")), "skopeo copied the image back with --src-creds")

        authfile = os.path.join(s.tmp, "auth.json")
        p = tools.podman("main", "login", "--tls-verify=false", "--authfile", authfile, "-u", "writer", "-p", "bad",
                         s.addr, ok=False)
        check(p.returncode != 0, "podman login with a wrong password fails")
        p = tools.podman("main", "login", "--tls-verify=false", "--authfile", authfile, "-u", "writer", "-p", PW,
                         s.addr)
        check(b"Login Succeeded" in p.stdout, f"podman login: {p.stdout!r} {p.stderr!r}")
        ref = f"{s.addr}/acme/app:skopeo"
        tools.podman("main", "pull", "--tls-verify=false", "--authfile", authfile, ref)
        pushed = f"{s.addr}/acme/app:podman"
        tools.podman("main", "tag", ref, pushed)
        tools.podman("main", "push", "--tls-verify=false", "--authfile", authfile, pushed)
        r = s.request("GET", "/v2/acme/app/tags/list", headers={"Authorization": "Basic " + __import__("base64")
                                                                 .b64encode(f"reader:{PW}".encode()).decode()})
        check("podman" in r.json()["tags"], f"podman pushed the tag: {r.json()}")
        p = tools.podman("fresh", "pull", "--tls-verify=false", ref, ok=False)
        check(p.returncode != 0, "podman pull without login is refused on a private repository")
        admin_ok(s, "POST", "repos/visibility", {"repository": "acme/app", "public": True})
        tools.podman("fresh", "pull", "--tls-verify=false", ref)


@test(slow=True, shared=False)
def docker_login_with_token_auth(s):
    start_auth(s)
    setup_org(s)
    config_dir = os.path.join(s.tmp, "docker-config")
    os.makedirs(config_dir)
    env = dict(os.environ, DOCKER_CONFIG=config_dir)
    env.pop("DOCKER_HOST", None)
    p = run(["docker", "login", s.addr, "-u", "reader", "-p", "wrong"], env=env, timeout=120, ok=False)
    check(p.returncode != 0, "docker login with a wrong password fails")
    p = run(["docker", "login", s.addr, "-u", "reader", "-p", PW], env=env, timeout=120, what="docker login")
    check(b"Login Succeeded" in p.stdout, f"docker login output: {p.stdout!r} {p.stderr!r}")
    p = run(["docker", "manifest", "inspect", "--insecure", f"{s.addr}/acme/app:v1"], env=env, timeout=120,
            what="docker manifest inspect")
    eq(json.loads(p.stdout)["schemaVersion"], 2, "docker manifest inspect through a token")
    run(["docker", "logout", s.addr], env=env, timeout=60)
    p = run(["docker", "manifest", "inspect", "--insecure", f"{s.addr}/acme/app:v1"], env=env, timeout=120, ok=False)
    check(p.returncode != 0, "docker manifest inspect after logout is refused")
