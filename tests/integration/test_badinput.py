"""Hostile and broken input: clear errors, the server keeps serving, nothing stored changes."""
import os
import socket
import time

from harness import check, eq, sha256, test


def raw(s, data, read=True, timeout=10):
    c = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    c.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and b"Content-Length: 0" in out:
                    break
        except socket.timeout:
            pass
    c.close()
    return out


@test
def invalid_repository_names(s):
    bad = ["..%2Fx", "UPPER/case", "a//b", "a/", "-a", "a--/b_", "x" * 256, "a/" + "b" * 254,
           "a/../b", "a/./b"]
    for name in bad:
        for path in (f"/v2/{name}/manifests/latest", f"/v2/{name}/tags/list", f"/v2/{name}/blobs/uploads/"):
            method = "POST" if path.endswith("uploads/") else "GET"
            r = s.request(method, path)
            check(r.status in (400, 404), f"{method} {path[:60]}: status {r.status}")
            if r.status == 400:
                eq(r.error_code(), "NAME_INVALID", f"{path[:60]} code")
    r = s.request("GET", "/v2/" + "x" * 256 + "/tags/list")
    eq(r.status, 400, "name over 255 characters")
    check("255" in r.json()["errors"][0]["message"], "message names the limit")
    r = s.request("GET", "/v2/" + "x" * 255 + "/tags/list")
    eq(r.status, 404, "255 characters is a valid (unknown) name")
    r = s.request("GET", "/v2/Upper/tags/list")
    check("Upper" in r.json()["errors"][0]["message"], "message names the input")


@test
def malformed_digests(s):
    for d in ["sha256:abc", "sha256:" + "G" * 64, "md5:" + "a" * 32, "sha256" + "a" * 64, ":abc",
              "sha256:" + "A" * 64, "sha512:" + "a" * 64]:
        r = s.request("GET", f"/v2/bad/d/blobs/{d}")
        eq((r.status, r.error_code()), (400, "DIGEST_INVALID"), f"GET blob {d[:20]}")
        r = s.request("POST", f"/v2/bad/d/blobs/uploads/?digest={d}", body=b"x")
        eq((r.status, r.error_code()), (400, "DIGEST_INVALID"), f"POST ?digest={d[:20]}")


@test
def wrong_digest_stores_nothing(s):
    data = b"the real content"
    lie = sha256(b"something else")
    r = s.request("POST", f"/v2/bad/wrong/blobs/uploads/?digest={lie}", body=data)
    eq((r.status, r.error_code()), (400, "DIGEST_INVALID"), "monolithic upload with a wrong digest")
    check(sha256(data) in r.json()["errors"][0]["message"], "message gives the real digest")
    eq(s.request("HEAD", f"/v2/bad/wrong/blobs/{lie}").status, 404, "claimed digest not stored")
    eq(s.request("HEAD", f"/v2/bad/wrong/blobs/{sha256(data)}").status, 404, "real digest not stored either")
    r = s.request("POST", "/v2/bad/wrong/blobs/uploads/")
    loc = r.header("Location")
    s.request("PATCH", loc, body=data)
    r = s.request("PUT", f"{loc}?digest={lie}")
    eq(r.status, 400, "chunked upload finished with a wrong digest")
    eq(s.request("HEAD", f"/v2/bad/wrong/blobs/{lie}").status, 404, "nothing stored")
    r = s.request("PUT", f"{loc}")
    check(r.status in (400, 404), "PUT without digest")


@test
def lying_content_length_short_body(s):
    data = os.urandom(1000)
    d = sha256(data)
    # Announce 5000 bytes, send 1000, then hang up: the upload must leave nothing behind.
    req = (f"POST /v2/bad/lie/blobs/uploads/?digest={d} HTTP/1.1\r\nHost: x\r\n"
           f"Content-Length: 5000\r\n\r\n").encode() + data
    raw(s, req, read=False)
    time.sleep(0.3)
    eq(s.request("HEAD", f"/v2/bad/lie/blobs/{d}").status, 404, "truncated upload not stored")
    r = s.request("POST", "/v2/bad/lie/blobs/uploads/")
    loc = r.header("Location")
    s.request("PATCH", loc, body=b"0123456789")
    path = loc
    req = (f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Range: 10-99\r\nContent-Length: 90\r\n\r\n").encode() + b"y" * 40
    raw(s, req, read=False)
    time.sleep(0.3)
    st = s.request("GET", loc)
    eq(st.header("Range"), "0-9", "a dropped chunk leaves the upload as it was")
    r = s.request("PATCH", loc, body=b"abc", headers={"Content-Range": "10-12"})
    eq(r.status, 202, "upload still usable after a dropped chunk")
    r = s.request("PUT", r.header("Location") + "?digest=" + sha256(b"0123456789abc"))
    eq(r.status, 201, "and it finishes with the right bytes")


@test
def content_range_length_mismatch(s):
    r = s.request("POST", "/v2/bad/cr/blobs/uploads/")
    loc = r.header("Location")
    r = s.request("PATCH", loc, body=b"12345", headers={"Content-Range": "0-9"})
    eq((r.status, r.error_code()), (400, "BLOB_UPLOAD_INVALID"), "Content-Range longer than the body")
    r = s.request("PATCH", loc, body=b"12345", headers={"Content-Range": "zero-four"})
    eq(r.status, 400, "malformed Content-Range")
    eq(s.request("GET", loc).header("Range"), "0-0", "upload unchanged")


@test
def unknown_upload_ids(s):
    for uid in ["0" * 32, "x" * 32, "abc", "g" * 32]:
        r = s.request("PATCH", f"/v2/bad/up/blobs/uploads/{uid}", body=b"x")
        eq(r.status, 404, f"PATCH unknown upload {uid[:20]}")
        eq(r.error_code(), "BLOB_UPLOAD_UNKNOWN", "code")
    r = s.request("PATCH", "/v2/bad/up/blobs/uploads/../../etc/passwd", body=b"x")
    eq(r.status, 404, "a path that climbs out is no endpoint")
    r = s.request("POST", "/v2/bad/up/blobs/uploads/")
    loc = r.header("Location")
    r = s.request("GET", loc.replace("/bad/up/", "/bad/other/"))
    eq(r.status, 404, "an upload is only reachable through its own repository")


@test
def post_with_body_but_no_digest(s):
    r = s.request("POST", "/v2/bad/post/blobs/uploads/", body=b"data")
    eq((r.status, r.error_code()), (400, "BLOB_UPLOAD_INVALID"), "body without ?digest=")


@test
def garbage_http(s):
    out = raw(s, b"THIS IS NOT HTTP\r\n\r\n")
    check(out == b"" or out.startswith(b"HTTP/1.1 4") or out.startswith(b"HTTP/1.0 4"), f"garbage: {out[:60]!r}")
    out = raw(s, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 200000 + b"\r\n\r\n")
    check(out == b"" or b" 431 " in out[:20] or b" 413 " in out[:20] or b" 400 " in out[:20],
          f"huge header: {out[:60]!r}")
    eq(s.request("GET", "/v2/").status, 200, "server still serves")


@test
def never_500_for_client_mistakes(s):
    probes = [
        ("GET", "/v2/a/manifests/" + "t" * 200), ("PUT", "/v2/a/manifests/bad%20tag"),
        ("GET", "/v2/a/manifests/sha256:xyz"), ("DELETE", "/v2/a/blobs/sha256:1"),
        ("GET", "/v2/a/referrers/nope"), ("GET", "/v2/_catalog?n=-1"), ("PATCH", "/v2/a/blobs/uploads/"),
        ("GET", "/v2/a/tags/list?n=99999999999999999999999"), ("PUT", "/v2/a/blobs/uploads/" + "f" * 32),
        ("GET", "/v2/a/blobs/uploads/" + "f" * 32), ("DELETE", "/v2/a/manifests/latest"),
        ("GET", "/v2//manifests/x"), ("GET", "/v2/a/b/c/d/e/f/g/h/manifests/%00"),
    ]
    for method, path in probes:
        r = s.request(method, path, body=b"" if method in ("PUT", "PATCH") else None)
        check(400 <= r.status < 500, f"{method} {path[:50]}: {r.status} {r.body[:120]!r}")
        check(r.error_code() is not None, f"{method} {path[:50]}: JSON error body")


@test(slow=True, shared=False)
def thousands_of_idle_connections(s):
    s.start()
    d, body = s.push_image("bad/idle", "v1")
    socks = []
    try:
        for _ in range(3000):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(b"GET /v2/ HTTP/1.1\r\n")  # a request that never finishes
            socks.append(c)
        t0 = time.time()
        r = s.request("GET", "/v2/bad/idle/manifests/v1", timeout=10)
        eq((r.status, r.body), (200, body), "served while 3000 connections idle")
        check(time.time() - t0 < 10, "answered")
    finally:
        for c in socks:
            c.close()
    eq(s.request("GET", "/v2/").status, 200, "still serving after they go")


@test
def dropped_upload_connections_keep_server_alive(s):
    for i in range(50):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(f"POST /v2/bad/drop/blobs/uploads/?digest={sha256(b'x')} HTTP/1.1\r\nHost: x\r\n"
                  f"Content-Length: 1000000\r\n\r\n".encode() + os.urandom(1000 * i))
        c.close()
    eq(s.request("GET", "/v2/").status, 200, "still serving")
    eq(s.request("HEAD", f"/v2/bad/drop/blobs/{sha256(b'x')}").status, 404, "nothing stored")
