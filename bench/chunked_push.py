#!/usr/bin/env python3
"""Chunked blob push over one keep-alive connection, as registry clients do it.

Usage: chunked_push.py BASE_URL REPO FILE CHUNK_BYTES DIGEST

POST /v2/REPO/blobs/uploads/, then one PATCH per chunk with Content-Range, following the
Location of each answer, then PUT ?digest=. Prints the elapsed microseconds (POST to the
final 201) on stdout; exits 1 with a message on any unexpected status.
"""
import http.client
import os
import sys
import time
import urllib.parse


def fail(msg):
    print(f"chunked_push.py: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 6:
        fail("usage: chunked_push.py BASE_URL REPO FILE CHUNK_BYTES DIGEST")
    base, repo, path, chunk, digest = sys.argv[1:]
    chunk = int(chunk)
    size = os.path.getsize(path)
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def call(method, url, body=b"", headers=None, want=202):
        hdrs = {"Content-Length": str(len(body))}
        hdrs.update(headers or {})
        conn.request(method, url, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != want:
            fail(f"{method} {url}: HTTP {resp.status}: {data[:400]!r}")
        return resp

    def next_url(resp):
        loc = resp.getheader("Location")
        if not loc:
            fail("answer without Location")
        p = urllib.parse.urlsplit(loc)
        return urllib.parse.urlunsplit(("", "", p.path, p.query, ""))

    with open(path, "rb") as f:
        t0 = time.monotonic_ns()
        url = next_url(call("POST", f"/v2/{repo}/blobs/uploads/"))
        off = 0
        while off < size:
            data = f.read(chunk)
            if not data:
                fail(f"{path} ended at {off} of {size} bytes")
            resp = call("PATCH", url, data, {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{off}-{off + len(data) - 1}",
            })
            url = next_url(resp)
            off += len(data)
        sep = "&" if "?" in url else "?"
        call("PUT", f"{url}{sep}digest={urllib.parse.quote(digest, safe=':')}", want=201)
        t1 = time.monotonic_ns()
    conn.close()
    print((t1 - t0) // 1000)


if __name__ == "__main__":
    main()
