"""Durability: kill -9 under concurrent uploads, and garbage collection racing real push flows.

Every check re-hashes the bytes wharfd serves; nothing trusts a status code alone.
"""
import hashlib
import http.client
import json
import os
import random
import re
import subprocess
import threading
import time

from harness import Failure, check, eq, sha256, test

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
KiB, MiB = 1024, 1024 * 1024
NET_ERRORS = (OSError, http.client.HTTPException)


def wharf_cli():
    return os.path.join(os.environ["WHARF_TEST_BIN"], "wharf")


def admin_gc(*args, timeout=120):
    p = subprocess.run([wharf_cli(), "admin", "gc"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def admin_gc_json(*args):
    rc, out, err = admin_gc(*args, "--json")
    eq(rc, 0, f"wharf admin gc {' '.join(args)} exit status (stderr: {err.strip()[:500]})")
    try:
        return json.loads(out)
    except ValueError as e:
        raise Failure(f"wharf admin gc {' '.join(args)} --json printed no JSON: {out[:500]!r}") from e


def run_seed(what):
    """Choices (not timing, not blob bytes) follow WHARF_TEST_SEED when it is set."""
    seed = int(os.environ.get("WHARF_TEST_SEED") or random.randrange(1 << 30))
    print(f"# {what}: WHARF_TEST_SEED={seed}", flush=True)
    return seed


def log_uniform_size(rng, lo, hi):
    return int(lo * (hi / lo) ** rng.random())


def manifest_for(config, layers, note):
    """An OCI image manifest: config and layers are (digest, size) pairs."""
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "digest": config[0], "size": config[1]},
         "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers],
         "annotations": {"org.example.note": note}}
    return json.dumps(m, sort_keys=True).encode()


# ---------------------------------------------------------------------------------------------
# Upload flows as clients do them. Each returns the final Response (or raises on network errors).

def upload_monolithic(srv, repo, data, digest):
    return srv.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data,
                       headers={"Content-Type": "application/octet-stream"})


def _with_digest(location, digest):
    return location + ("&" if "?" in location else "?") + f"digest={digest}"


def upload_chunked(srv, repo, data, digest, rng):
    """POST, one to four PATCHes with Content-Range, then PUT ?digest= (empty, or with the last chunk)."""
    r = srv.request("POST", f"/v2/{repo}/blobs/uploads/")
    if r.status != 202:
        return r
    location = r.header("Location")
    nchunks = rng.randint(1, 4)
    cuts = sorted(rng.sample(range(1, len(data)), nchunks - 1)) if nchunks > 1 else []
    bounds = list(zip([0] + cuts, cuts + [len(data)]))
    last_in_put = rng.random() < 0.5
    patches = bounds[:-1] if last_in_put else bounds
    for start, end in patches:
        r = srv.request("PATCH", location, body=data[start:end],
                        headers={"Content-Type": "application/octet-stream",
                                 "Content-Range": f"{start}-{end - 1}"})
        if r.status != 202:
            return r
        if r.header("Range") != f"0-{end - 1}":
            raise Failure(f"PATCH {start}-{end - 1} of {digest}: Range {r.header('Range')!r}")
        location = r.header("Location") or location
    body = data[bounds[-1][0]:] if last_in_put else b""
    return srv.request("PUT", _with_digest(location, digest), body=body,
                       headers={"Content-Type": "application/octet-stream"})


def put_manifest(srv, repo, ref, raw):
    return srv.request("PUT", f"/v2/{repo}/manifests/{ref}", body=raw, headers={"Content-Type": OCI_MANIFEST})


def fetch_blob_ok(srv, repo, digest, size, what):
    r = srv.request("GET", f"/v2/{repo}/blobs/{digest}", timeout=120)
    eq(r.status, 200, f"{what}: GET blob {digest} of {repo} ({r.body[:200]!r})")
    eq(len(r.body), size, f"{what}: size of blob {digest} of {repo}")
    eq(sha256(r.body), digest, f"{what}: bytes of blob {digest} of {repo}")


def fetch_manifest_ok(srv, repo, ref, raw, what):
    digest = sha256(raw)
    r = srv.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
    eq(r.status, 200, f"{what}: GET manifest {repo}:{ref} ({r.body[:200]!r})")
    eq(r.body, raw, f"{what}: bytes of manifest {repo}:{ref}")
    eq(r.header("Docker-Content-Digest"), digest, f"{what}: Docker-Content-Digest of {repo}:{ref}")


def scan_store_files(data_dir):
    """Every content-addressed file under DATA/blobs must hash to its own name."""
    bad, n = [], 0
    for root, _dirs, files in os.walk(os.path.join(data_dir, "blobs")):
        alg = "sha512" if "sha512" in root else "sha256"
        for name in files:
            if not re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{128}", name):
                continue
            n += 1
            h = hashlib.new(alg)
            with open(os.path.join(root, name), "rb") as f:
                for chunk in iter(lambda: f.read(MiB), b""):
                    h.update(chunk)
            if h.hexdigest() != name:
                bad.append(os.path.join(root, name))
    check(not bad, f"{len(bad)} of {n} stored blob files do not hash to their names: {bad[:5]}")
    return n


# ---------------------------------------------------------------------------------------------
# kill -9 under load

class Ledger:
    """What the clients were told. acked: got 201 (with the right digest header)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.blobs_tried = {}      # digest -> (repo, size)
        self.blobs_acked = {}      # digest -> (repo, size)
        self.manifests_tried = {}  # digest -> (repo, tag, raw)
        self.manifests_acked = {}  # digest -> (repo, tag, raw, [(digest, size)...])
        self.problems = []
        self.requests = 0
        self.net_errors = 0

    def problem(self, msg):
        with self.lock:
            self.problems.append(msg)


def crash_worker(srv, ledger, idx, seed, stop, counter):
    rng = random.Random(seed)
    repo = f"crash/t{idx}"
    while not stop.is_set():
        with ledger.lock:
            mine = [(d, v[1]) for d, v in ledger.blobs_acked.items() if v[0] == repo]
        try:
            if len(mine) >= 2 and rng.random() < 0.25:
                n = next(counter)
                config = rng.choice(mine)
                layers = rng.sample(mine, rng.randint(1, min(3, len(mine))))
                raw = manifest_for(config, layers, f"crash {idx} {n} {rng.random()}")
                digest, tag = sha256(raw), f"t{idx}-{n}"
                with ledger.lock:
                    ledger.manifests_tried[digest] = (repo, tag, raw)
                    ledger.requests += 1
                r = put_manifest(srv, repo, tag, raw)
                if r.status == 201:
                    if r.header("Docker-Content-Digest") != digest:
                        ledger.problem(f"manifest PUT {repo}:{tag}: 201 with digest {r.header('Docker-Content-Digest')}"
                                       f", want {digest}")
                    with ledger.lock:
                        ledger.manifests_acked[digest] = (repo, tag, raw, [config] + layers)
                elif not (500 <= r.status < 600):
                    ledger.problem(f"manifest PUT {repo}:{tag} -> {r.status} {r.body[:200]!r}")
            else:
                size = log_uniform_size(rng, 64 * KiB, 4 * MiB)
                data = os.urandom(size)
                digest = sha256(data)
                with ledger.lock:
                    ledger.blobs_tried[digest] = (repo, size)
                    ledger.requests += 1
                if rng.random() < 0.5:
                    r = upload_monolithic(srv, repo, data, digest)
                else:
                    r = upload_chunked(srv, repo, data, digest, rng)
                if r.status == 201:
                    if r.header("Docker-Content-Digest") != digest:
                        ledger.problem(f"upload of {digest}: 201 with digest {r.header('Docker-Content-Digest')}")
                    with ledger.lock:
                        ledger.blobs_acked[digest] = (repo, size)
                elif not (500 <= r.status < 600):
                    ledger.problem(f"upload of {digest} ({size} bytes) to {repo} -> {r.status} {r.body[:200]!r}")
        except NET_ERRORS:
            with ledger.lock:
                ledger.net_errors += 1
            if not stop.is_set():
                time.sleep(0.01)
        except Exception as e:  # noqa: BLE001 - reported with the verdict
            ledger.problem(f"client {idx}: {e!r}")


def _counter():
    lock, n = threading.Lock(), [0]

    def nxt():
        with lock:
            n[0] += 1
            return n[0]
    return iter(nxt, None)


def verify_after_crash(srv, ledger, what):
    for digest, (repo, size) in ledger.blobs_acked.items():
        fetch_blob_ok(srv, repo, digest, size, what)
    for digest, (repo, tag, raw, _refs) in ledger.manifests_acked.items():
        fetch_manifest_ok(srv, repo, digest, raw, what)
        fetch_manifest_ok(srv, repo, tag, raw, what)
    # Unacknowledged work may or may not have landed, but never with wrong bytes.
    for digest, (repo, size) in ledger.blobs_tried.items():
        if digest in ledger.blobs_acked:
            continue
        r = srv.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        check(r.status in (200, 404), f"{what}: HEAD of unacknowledged blob {digest}: {r.status}")
        if r.status == 200:
            eq(r.header("Content-Length"), str(size), f"{what}: HEAD size of unacknowledged blob {digest}")
            fetch_blob_ok(srv, repo, digest, size, f"{what} (unacknowledged)")
    for digest, (repo, tag, raw) in ledger.manifests_tried.items():
        if digest in ledger.manifests_acked:
            continue
        r = srv.request("GET", f"/v2/{repo}/manifests/{digest}", headers={"Accept": OCI_MANIFEST})
        check(r.status in (200, 404), f"{what}: GET of unacknowledged manifest {digest}: {r.status}")
        if r.status == 200:
            eq(r.body, raw, f"{what}: bytes of unacknowledged manifest {digest}")


@test(slow=True, shared=False)
def crash_kill9_during_uploads(srv):
    rng = random.Random(run_seed("crash test"))
    ledger = Ledger()
    counter = _counter()
    threads_n, rounds = 16, 5
    srv.start()
    for rnd in range(rounds):
        stop = threading.Event()
        workers = [threading.Thread(target=crash_worker, args=(srv, ledger, i, rng.randrange(1 << 30), stop, counter),
                                    daemon=True) for i in range(threads_n)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(1.0, 3.0))
        srv.kill9()  # mid-flight: sixteen clients are sending
        stop.set()
        for w in workers:
            w.join(timeout=120)
            check(not w.is_alive(), "a client thread hung after kill -9")
        srv.start()
        # Right after each restart: everything acknowledged so far is still there.
        for digest, (repo, size) in list(ledger.blobs_acked.items()):
            r = srv.request("HEAD", f"/v2/{repo}/blobs/{digest}")
            eq((r.status, r.header("Content-Length")), (200, str(size)),
               f"round {rnd}: HEAD of acknowledged blob {digest} of {repo} after kill -9")
    print(f"# crash test: {ledger.requests} requests, {len(ledger.blobs_acked)}/{len(ledger.blobs_tried)} blobs "
          f"and {len(ledger.manifests_acked)}/{len(ledger.manifests_tried)} manifests acknowledged, "
          f"{ledger.net_errors} cut off", flush=True)
    check(len(ledger.blobs_acked) >= 50 and len(ledger.manifests_acked) >= 10,
          "too little work was acknowledged for the test to mean anything")
    check(ledger.net_errors > 0, "no request was cut off by kill -9")

    verify_after_crash(srv, ledger, "after kill -9 and restart")
    scan_store_files(srv.data)

    eq(srv.stop(), 0, "wharfd exit status on SIGTERM")
    report = admin_gc_json("--data", srv.data, "--grace", "0")
    check(report.get("dry_run") is False, f"gc report: {report}")
    srv.start()
    referenced = {}
    for digest, (repo, tag, raw, refs) in ledger.manifests_acked.items():
        fetch_manifest_ok(srv, repo, tag, raw, "after offline gc")
        for d, size in refs:
            referenced[d] = (repo, size)
    for d, (repo, size) in referenced.items():
        fetch_blob_ok(srv, repo, d, size, "after offline gc (referenced blob)")
    # Unreferenced blobs may be gone now, but nothing is served with wrong bytes.
    for digest, (repo, size) in ledger.blobs_tried.items():
        if digest in referenced:
            continue
        r = srv.request("GET", f"/v2/{repo}/blobs/{digest}", timeout=120)
        check(r.status in (200, 404), f"after offline gc: GET of unreferenced blob {digest}: {r.status}")
        if r.status == 200:
            eq(sha256(r.body), digest, f"after offline gc: bytes of unreferenced blob {digest}")
    check(report.get("blobs_removed", 0) > 0,
          f"offline gc with --grace 0 removed no blob, though many were never referenced: {report}")
    scan_store_files(srv.data)

    # What the kills left behind (half-written uploads, files without rows) is reclaimable.
    eq(srv.stop(), 0, "wharfd exit status on SIGTERM")
    time.sleep(1.1)
    report = admin_gc_json("--data", srv.data, "--grace", "0", "--upload-ttl", "0")
    leftovers = [os.path.join(root, f) for root, _dirs, files in os.walk(srv.data) for f in files
                 if ".tmp" in f or os.path.basename(root) == "uploads"]
    srv.start()
    for digest, (repo, tag, raw, _refs) in ledger.manifests_acked.items():
        fetch_manifest_ok(srv, repo, tag, raw, "after reclaiming upload leftovers")
    for d, (repo, size) in referenced.items():
        fetch_blob_ok(srv, repo, d, size, "after reclaiming upload leftovers")
    # Last, so that these do not hide what the durability checks found.
    check(not leftovers, f"durability checks passed, but offline gc --grace 0 --upload-ttl 0 left "
          f"{len(leftovers)} files that kill -9 stranded: {leftovers[:5]} ({report})")
    check(not ledger.problems, f"{len(ledger.problems)} unexpected answers during the uploads "
          f"(durability checks passed): {ledger.problems[:5]}")


# ---------------------------------------------------------------------------------------------
# Garbage collection against live pushes

def push_blob_timed(srv, repo, data, rng):
    digest = sha256(data)
    if rng.random() < 0.5:
        r = upload_monolithic(srv, repo, data, digest)
    else:
        r = upload_chunked(srv, repo, data, digest, rng)
    if r.status != 201:
        raise Failure(f"upload of {digest} ({len(data)} bytes) to {repo} -> {r.status} {r.body[:200]!r}")
    return digest


GC_SHARED = "gc/shared"
GC_GRACE = 5          # seconds, as given to wharfd
SAFE_WINDOW = 4.0     # a blob confirmed less than this long before the manifest PUT must not be lost


class BasePool:
    """Shared base layers, published in generations into one repository and left unreferenced
    until a pusher first uses them. Each generation has a layer first used soon, three first
    used around the moment they become collectable (their age passes the grace: a HEAD races
    the collector) and one first used after the collector has taken it (HEAD 404, so the
    pusher uploads it again), as happens to real base images."""

    FIRST_USE = (lambda rng: 2.0,
                 lambda rng: rng.uniform(GC_GRACE - 1.0, GC_GRACE + 1.5),
                 lambda rng: rng.uniform(GC_GRACE - 1.0, GC_GRACE + 1.5),
                 lambda rng: rng.uniform(GC_GRACE - 1.0, GC_GRACE + 1.5),
                 lambda rng: GC_GRACE + 3.0)

    def __init__(self):
        self.lock = threading.Lock()
        self.generations = []  # [(published_at, [(digest, data, first_use_after)...])]

    def publish(self, srv, rng, gen):
        layers = []
        for i, first_use in enumerate(self.FIRST_USE):
            data = f"base gen {gen} layer {i}\n".encode() + os.urandom(rng.randint(4 * KiB, 64 * KiB))
            layers.append((push_blob_timed(srv, GC_SHARED, data, rng), data, 0.0 if gen == 0 else first_use(rng)))
        with self.lock:
            self.generations.append((time.monotonic(), layers))

    def pick(self, rng):
        now = time.monotonic()
        with self.lock:
            usable = [(d, data) for at, layers in self.generations[-8:] for d, data, after in layers
                      if now - at >= after]
        return rng.sample(usable, min(len(usable), rng.randint(1, 2)))


class GcRun:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []          # (repo, tag, raw, [(digest, size)...])
        self.problems = []
        self.late = 0            # manifests refused after SAFE_WINDOW (slow machine: no verdict)
        self.head_hits = 0
        self.head_misses = 0
        self.admin_runs = []
        self.admin_secs = []

    def problem(self, msg):
        with self.lock:
            self.problems.append(msg)


def gc_pusher(srv, run, pool, idx, seed, deadline):
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            shared = rng.random() < 0.5
            repo = GC_SHARED if shared else f"gc/own{idx}"
            refs, confirmed = [], []
            if shared:
                # As docker/podman do: HEAD each base layer, upload only the missing ones.
                for digest, data in pool.pick(rng):
                    r = srv.request("HEAD", f"/v2/{repo}/blobs/{digest}")
                    if r.status == 200:
                        eq(r.header("Content-Length"), str(len(data)), f"HEAD size of base layer {digest}")
                        with run.lock:
                            run.head_hits += 1
                    elif r.status == 404:
                        with run.lock:
                            run.head_misses += 1
                        push_blob_timed(srv, repo, data, rng)
                    else:
                        raise Failure(f"HEAD base layer {digest}: {r.status}")
                    confirmed.append(time.monotonic())
                    refs.append((digest, len(data)))
            for _ in range(rng.randint(1, 2)):
                data = os.urandom(log_uniform_size(rng, 1 * KiB, 256 * KiB))
                refs.append((push_blob_timed(srv, repo, data, rng), len(data)))
                confirmed.append(time.monotonic())
            config_data = json.dumps({"architecture": "amd64", "os": "linux", "pusher": idx, "n": n,
                                      "r": rng.random()}).encode()
            config = (push_blob_timed(srv, repo, config_data, rng), len(config_data))
            confirmed.append(time.monotonic())
            time.sleep(rng.uniform(0, 1.0))  # a slow client between its blobs and its manifest
            raw = manifest_for(config, refs, f"gc pusher {idx} push {n}")
            tag = f"p{idx}-{n}"
            started = time.monotonic()
            r = put_manifest(srv, repo, tag, raw)
            if r.status == 201:
                eq(r.header("Docker-Content-Digest"), sha256(raw), f"digest of manifest {repo}:{tag}")
                with run.lock:
                    run.acked.append((repo, tag, raw, [config] + refs))
            elif started - min(confirmed) < SAFE_WINDOW:
                run.problem(f"manifest PUT {repo}:{tag} -> {r.status} {r.body[:300]!r}, though every blob it "
                            f"names was uploaded or found by HEAD {started - min(confirmed):.2f}s before "
                            f"(grace {GC_GRACE}s)")
            else:
                with run.lock:
                    run.late += 1
        except Exception as e:  # noqa: BLE001 - reported with the verdict
            run.problem(f"pusher {idx}: {e}")
            time.sleep(0.05)


def gc_admin_loop(srv, run, deadline):
    while time.monotonic() < deadline:
        time.sleep(2.5)
        started = time.monotonic()
        rc, out, err = admin_gc("--server", srv.url, "--json")
        took = time.monotonic() - started
        if rc != 0:
            run.problem(f"wharf admin gc --server exited {rc}: {err.strip()[:300]}")
            continue
        try:
            rep = json.loads(out)
        except ValueError:
            run.problem(f"wharf admin gc --server --json printed {out[:300]!r}")
            continue
        if rep.get("dry_run") is not False:
            run.problem(f"wharf admin gc --server reported {rep}")
        with run.lock:
            run.admin_runs.append(rep)
            run.admin_secs.append(took)


def push_garbage(srv, repo, count, tag):
    blobs = {}
    for i in range(count):
        data = f"garbage {tag} {i}\n".encode() + os.urandom(16 * KiB)
        blobs[srv.push_blob(repo, data)] = data
    return blobs


def garbage_state(srv, repo, blobs):
    """GET (which, unlike HEAD, does not count as use) each blob: 'present' with right bytes, or 'gone'."""
    states = set()
    for digest, data in blobs.items():
        r = srv.request("GET", f"/v2/{repo}/blobs/{digest}")
        if r.status == 200:
            eq(r.body, data, f"bytes of blob {digest}")
            states.add("present")
        else:
            eq(r.status, 404, f"GET of collected blob {digest}")
            states.add("gone")
    return states


@test(slow=True, shared=False)
def gc_races_live_pushes(srv):
    # Part 1, no collector thread: dry runs remove nothing, a real run removes old garbage only.
    srv.extra_args = ["--gc-grace", "2s"]
    srv.start()
    keep_digest, keep_raw = srv.push_image("gc/keep", "v1", layers=(os.urandom(50 * KiB), os.urandom(3 * KiB)),
                                           config=b'{"architecture":"amd64","os":"linux"}')
    keep_refs = [(d["digest"], d["size"]) for d in
                 [json.loads(keep_raw)["config"]] + json.loads(keep_raw)["layers"]]
    garbage1 = push_garbage(srv, "gc/garbage", 12, "one")
    time.sleep(3.5)  # older than the 2 s grace (last_used has one-second resolution)
    rep = admin_gc_json("--server", srv.url, "--dry-run")
    check(rep.get("dry_run") is True and rep.get("blobs_removed", 0) >= len(garbage1),
          f"online dry run should count the {len(garbage1)} garbage blobs: {rep}")
    eq(garbage_state(srv, "gc/garbage", garbage1), {"present"}, "garbage after an online dry run")
    eq(srv.stop(), 0, "wharfd exit status on SIGTERM")
    rep = admin_gc_json("--data", srv.data, "--grace", "0", "--dry-run")
    check(rep.get("dry_run") is True and rep.get("blobs_removed", 0) >= len(garbage1),
          f"offline dry run should count the {len(garbage1)} garbage blobs: {rep}")
    srv.start()
    eq(garbage_state(srv, "gc/garbage", garbage1), {"present"}, "garbage after an offline dry run")
    rep = admin_gc_json("--server", srv.url)
    check(rep.get("dry_run") is False and rep.get("blobs_removed", 0) >= len(garbage1),
          f"online gc should remove the {len(garbage1)} garbage blobs: {rep}")
    eq(garbage_state(srv, "gc/garbage", garbage1), {"gone"}, "garbage after online gc")
    fetch_manifest_ok(srv, "gc/keep", "v1", keep_raw, "after online gc")
    for d, size in keep_refs:
        fetch_blob_ok(srv, "gc/keep", d, size, "after online gc")
    eq(srv.stop(), 0, "wharfd exit status on SIGTERM")

    # Part 2: a collector every second with a 5 s grace, pushers, and admin runs on top.
    srv.extra_args = ["--gc-grace", f"{GC_GRACE}s", "--gc-interval", "1s"]
    srv.start()
    rng = random.Random(run_seed("gc test"))
    garbage2 = push_garbage(srv, "gc/garbage", 12, "two")
    garbage2_at = time.monotonic()
    run, pool = GcRun(), BasePool()
    pool.publish(srv, rng, 0)
    duration = 35.0
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=gc_pusher, args=(srv, run, pool, i, rng.randrange(1 << 30), deadline),
                                daemon=True) for i in range(6)]
    threads.append(threading.Thread(target=gc_admin_loop, args=(srv, run, deadline), daemon=True))
    for t in threads:
        t.start()
    gen = 0
    while time.monotonic() < deadline - 2:
        time.sleep(2.0)
        gen += 1
        try:
            pool.publish(srv, rng, gen)
        except (Failure,) + NET_ERRORS as e:
            run.problem(f"publishing base generation {gen}: {e}")
    for t in threads:
        t.join(timeout=120)
        check(not t.is_alive(), "a pusher thread hung")
    print(f"# gc test: {len(run.acked)} manifests acknowledged, {run.late} refused late, base HEAD "
          f"{run.head_hits} hits / {run.head_misses} misses, {len(run.admin_runs)} admin gc runs "
          f"(longest {max(run.admin_secs, default=0):.1f}s)", flush=True)
    check(len(run.acked) >= 30, f"only {len(run.acked)} manifests were pushed: the test proves little")
    check(len(run.admin_runs) >= 3, f"only {len(run.admin_runs)} admin gc runs completed")
    check(run.head_misses > 0, "no base layer was ever collected before its first use: the HEAD-then-upload "
          "flow never ran (the collector does not collect?)")

    for repo, tag, raw, refs in run.acked:
        fetch_manifest_ok(srv, repo, tag, raw, "after the gc race")
        fetch_manifest_ok(srv, repo, sha256(raw), raw, "after the gc race")
        for d, size in refs:
            fetch_blob_ok(srv, repo, d, size, f"after the gc race (blob of {repo}:{tag})")

    # The collector really collected: garbage older than the grace is gone.
    check(time.monotonic() - garbage2_at > GC_GRACE + 3, "garbage is not old enough yet")
    eq(garbage_state(srv, "gc/garbage", garbage2), {"gone"}, "unreferenced blobs pushed before the race")
    removed = [int(m) for m in re.findall(r"online gc: removed (\d+) blobs", srv.log_text())]
    check(len(removed) >= duration / 5, f"the collector ran {len(removed)} times in {duration:.0f}s at --gc-interval 1s")
    total = sum(removed) + sum(rep.get("blobs_removed", 0) for rep in run.admin_runs)
    check(total >= len(garbage2), f"the collectors removed {total} blobs in all, fewer than the garbage")
    fetch_manifest_ok(srv, "gc/keep", "v1", keep_raw, "at the end")
    scan_store_files(srv.data)
    # Last, so that a protocol error does not hide what the other checks found.
    check(not run.problems, f"{len(run.problems)} problems during the race (the final checks passed), "
          f"first: {run.problems[:3]}")


@test(slow=True, shared=False)
def offline_gc_refuses_while_serving(srv):
    srv.start()
    _digest, raw = srv.push_image("gc/busy", "v1", layers=(os.urandom(20 * KiB),))
    for extra in ([], ["--dry-run"], ["--json"]):
        rc, out, err = admin_gc("--data", srv.data, "--grace", "0", *extra)
        eq(rc, 3, f"offline gc {extra} while wharfd runs: exit status (stdout {out!r}, stderr {err!r})")
        check(srv.data in err, f"offline gc refusal should name the data directory {srv.data}: {err!r}")
    check(srv.proc.poll() is None, "wharfd died while offline gc was refused")
    fetch_manifest_ok(srv, "gc/busy", "v1", raw, "after the refused offline gc")
    rep = admin_gc_json("--server", srv.url)
    check(rep.get("dry_run") is False, f"online gc report: {rep}")
    eq(srv.stop(), 0, "wharfd exit status on SIGTERM")
    time.sleep(1.1)  # every blob is now older than a zero grace (last_used has one-second resolution)
    rep = admin_gc_json("--data", srv.data, "--grace", "0")
    check(rep.get("dry_run") is False, f"offline gc report once wharfd stopped: {rep}")
    srv.start()
    fetch_manifest_ok(srv, "gc/busy", "v1", raw, "after offline gc")
    for desc in [json.loads(raw)["config"]] + json.loads(raw)["layers"]:
        fetch_blob_ok(srv, "gc/busy", desc["digest"], desc["size"], "after offline gc")
