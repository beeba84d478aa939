"""Every endpoint of the OCI Distribution Spec v1.1 as wharfd serves it, with curl-level checks."""
import json
import os

from harness import check, eq, sha256, sha512, test

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@test
def base_endpoint_says_registry_v2(s):
    r = s.request("GET", "/v2/")
    eq(r.status, 200, "GET /v2/")
    eq(r.header("Docker-Distribution-API-Version"), "registry/2.0", "API version header")
    eq(r.json(), {}, "body")


@test
def blob_monolithic_push_then_get_head(s):
    data = os.urandom(100000)
    d = s.push_blob("api/blob", data)
    r = s.request("GET", f"/v2/api/blob/blobs/{d}")
    eq(r.status, 200, "GET blob")
    eq(r.body, data, "blob bytes")
    eq(r.header("Docker-Content-Digest"), d, "Docker-Content-Digest")
    eq(r.header("Content-Type"), "application/octet-stream", "Content-Type")
    eq(r.header("ETag"), f'"{d}"', "ETag")
    h = s.request("HEAD", f"/v2/api/blob/blobs/{d}")
    eq(h.status, 200, "HEAD blob")
    eq(h.header("Content-Length"), str(len(data)), "HEAD Content-Length")
    eq(h.body, b"", "HEAD has no body")
    nm = s.request("GET", f"/v2/api/blob/blobs/{d}", headers={"If-None-Match": f'"{d}"'})
    eq(nm.status, 304, "If-None-Match with the ETag")


@test
def blob_range_requests(s):
    data = bytes(range(256)) * 40
    d = s.push_blob("api/range", data)
    r = s.request("GET", f"/v2/api/range/blobs/{d}", headers={"Range": "bytes=10-19"})
    eq(r.status, 206, "range status")
    eq(r.body, data[10:20], "range bytes")
    eq(r.header("Content-Range"), f"bytes 10-19/{len(data)}", "Content-Range")
    r = s.request("GET", f"/v2/api/range/blobs/{d}", headers={"Range": "bytes=-5"})
    eq((r.status, r.body), (206, data[-5:]), "suffix range")
    r = s.request("GET", f"/v2/api/range/blobs/{d}", headers={"Range": f"bytes={len(data) - 3}-"})
    eq((r.status, r.body), (206, data[-3:]), "open range")
    r = s.request("GET", f"/v2/api/range/blobs/{d}", headers={"Range": f"bytes={len(data)}-"})
    eq(r.status, 416, "unsatisfiable range")
    eq(r.header("Content-Range"), f"bytes */{len(data)}", "416 Content-Range")
    eq(int(r.header("Content-Length")), len(r.body), "416 body length matches Content-Length")
    eq(r.error_code(), "BLOB_UNKNOWN", "416 error code")
    r = s.request("GET", f"/v2/api/range/blobs/{d}", headers={"Range": "bytes=0-1,5-6"})
    eq((r.status, r.body), (200, data), "multiple ranges: whole blob")


@test
def chunked_upload_with_status_and_out_of_order(s):
    data = os.urandom(3 * 65536 + 17)
    d = sha256(data)
    r = s.request("POST", "/v2/api/chunked/blobs/uploads/")
    eq(r.status, 202, "POST starts upload")
    loc = r.header("Location")
    check(loc and "/blobs/uploads/" in loc, f"Location {loc}")
    check(r.header("Docker-Upload-UUID"), "Docker-Upload-UUID")
    eq(r.header("Range"), "0-0", "empty upload Range")
    chunks = [data[0:65536], data[65536:131072], data[131072:]]
    off = 0
    for i, c in enumerate(chunks[:2]):
        r = s.request("PATCH", loc, body=c, headers={
            "Content-Range": f"{off}-{off + len(c) - 1}", "Content-Type": "application/octet-stream"})
        eq(r.status, 202, f"PATCH chunk {i}")
        off += len(c)
        eq(r.header("Range"), f"0-{off - 1}", f"Range after chunk {i}")
        loc = r.header("Location")
    st = s.request("GET", loc)
    eq(st.status, 204, "upload status")
    eq(st.header("Range"), f"0-{off - 1}", "status Range")
    bad = s.request("PATCH", loc, body=chunks[2], headers={"Content-Range": f"{off + 5}-{off + 5 + len(chunks[2]) - 1}"})
    eq(bad.status, 416, "out-of-order chunk")
    eq(bad.header("Range"), f"0-{off - 1}", "416 tells where the upload stands")
    again = s.request("PATCH", loc, body=chunks[1], headers={"Content-Range": f"0-{len(chunks[1]) - 1}"})
    eq(again.status, 416, "chunk restarting at 0")
    eq(s.request("GET", loc).header("Range"), f"0-{off - 1}", "rejected chunks change nothing")
    r = s.request("PUT", f"{loc}{'&' if '?' in loc else '?'}digest={d}", body=chunks[2],
                  headers={"Content-Range": f"{off}-{len(data) - 1}"})
    eq(r.status, 201, "final PUT with last chunk")
    eq(r.header("Docker-Content-Digest"), d, "digest header")
    eq(r.header("Location"), f"/v2/api/chunked/blobs/{d}", "blob Location")
    eq(s.request("GET", f"/v2/api/chunked/blobs/{d}").body, data, "assembled blob")
    eq(s.request("GET", loc).status, 404, "finished upload is gone")


@test
def streamed_patch_without_content_range(s):
    data = os.urandom(200000)
    r = s.request("POST", "/v2/api/stream/blobs/uploads/")
    loc = r.header("Location")
    r = s.request("PATCH", loc, body=data)
    eq(r.status, 202, "streamed PATCH")
    eq(r.header("Range"), f"0-{len(data) - 1}", "Range")
    r = s.request("PUT", f"{r.header('Location')}?digest={sha256(data)}")
    eq(r.status, 201, "PUT without body")


@test
def sha512_digests_throughout(s):
    data = os.urandom(5000)
    d = sha512(data)
    s.push_blob("api/sha512", data, digest=d)
    r = s.request("GET", f"/v2/api/sha512/blobs/{d}")
    eq((r.status, r.body), (200, data), "sha512 blob")
    eq(r.header("Docker-Content-Digest"), d, "sha512 Docker-Content-Digest")
    r = s.request("POST", "/v2/api/sha512/blobs/uploads/")
    data2 = os.urandom(7000)
    r = s.request("PATCH", r.header("Location"), body=data2)
    r = s.request("PUT", r.header("Location") + f"?digest={sha512(data2)}")
    eq(r.status, 201, "chunked upload finished with a sha512 digest")
    cfg = s.push_blob("api/sha512", b"{}")
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": 2},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d,
                                "size": len(data)}]}).encode()
    md = sha512(m)
    r = s.request("PUT", f"/v2/api/sha512/manifests/{md}", body=m, headers={"Content-Type": OCI_MANIFEST})
    eq(r.status, 201, "manifest PUT by sha512 digest")
    eq(r.header("Docker-Content-Digest"), md, "manifest sha512 digest")
    eq(s.request("GET", f"/v2/api/sha512/manifests/{md}").body, m, "manifest by sha512")


@test
def cancel_upload(s):
    r = s.request("POST", "/v2/api/cancel/blobs/uploads/")
    loc = r.header("Location")
    s.request("PATCH", loc, body=b"abc")
    r = s.request("DELETE", loc)
    eq(r.status, 204, "DELETE upload")
    eq(s.request("GET", loc).status, 404, "cancelled upload is unknown")
    eq(s.request("GET", loc).error_code(), "BLOB_UPLOAD_UNKNOWN", "error code")
    eq(s.request("DELETE", loc).status, 404, "second DELETE")


@test
def cross_repository_mount(s):
    data = os.urandom(1000)
    d = s.push_blob("api/mount-src", data)
    r = s.request("POST", f"/v2/api/mount-dst/blobs/uploads/?mount={d}&from=api/mount-src")
    eq(r.status, 201, "mount")
    eq(r.header("Location"), f"/v2/api/mount-dst/blobs/{d}", "mount Location")
    eq(s.request("GET", f"/v2/api/mount-dst/blobs/{d}").body, data, "mounted blob")
    missing = sha256(b"not there")
    r = s.request("POST", f"/v2/api/mount-dst/blobs/uploads/?mount={missing}&from=api/mount-src")
    eq(r.status, 202, "mount of an unknown blob falls back to an upload")
    check("/blobs/uploads/" in r.header("Location"), "upload Location")


@test
def blob_is_scoped_to_its_repository(s):
    d = s.push_blob("api/scope-a", b"private bytes")
    r = s.request("GET", f"/v2/api/scope-b/blobs/{d}")
    eq(r.status, 404, "blob of another repository")
    eq(r.error_code(), "BLOB_UNKNOWN", "code")


def small_image(s, repo, tag, layer=b"layer"):
    return s.push_image(repo, tag, layers=(layer,))


@test
def manifest_put_get_by_tag_and_digest(s):
    d, body = small_image(s, "api/man", "v1")
    for ref in ("v1", d):
        r = s.request("GET", f"/v2/api/man/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
        eq(r.status, 200, f"GET manifest {ref}")
        eq(r.body, body, "exact bytes")
        eq(r.header("Content-Type"), OCI_MANIFEST, "Content-Type")
        eq(r.header("Docker-Content-Digest"), d, "digest header")
        eq(r.header("ETag"), f'"{d}"', "ETag")
        h = s.request("HEAD", f"/v2/api/man/manifests/{ref}")
        eq((h.status, h.header("Content-Length"), h.header("Docker-Content-Digest")),
           (200, str(len(body)), d), "HEAD manifest")
    eq(sha256(body), d, "digest is sha256 of the exact bytes")


@test
def manifest_exact_bytes_kept(s):
    cfg = s.push_blob("api/exact", b"{}")
    text = ('{\n   "schemaVersion" :2, "mediaType": "%s",\n "config": {"mediaType": '
            '"application/vnd.oci.image.config.v1+json", "digest": "%s", "size": 2}, "layers": []}  \n'
            % (OCI_MANIFEST, cfg)).encode()
    d, _ = s.push_manifest("api/exact", "odd", text)
    eq(d, sha256(text), "digest of the bytes as sent")
    eq(s.request("GET", "/v2/api/exact/manifests/odd").body, text, "bytes as sent")


@test
def content_negotiation(s):
    d, body = small_image(s, "api/neg", "oci")
    r = s.request("GET", "/v2/api/neg/manifests/oci", headers={"Accept": DOCKER_MANIFEST})
    eq(r.status, 404, "OCI manifest to a client that only takes Docker schema 2")
    eq(r.error_code(), "MANIFEST_UNKNOWN", "code")
    check(OCI_MANIFEST in r.json()["errors"][0]["message"], "message names the media type")
    r = s.request("GET", "/v2/api/neg/manifests/oci",
                  headers={"Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.9"})
    eq(r.status, 200, "listed among several")
    r = s.request("GET", "/v2/api/neg/manifests/oci", headers={"Accept": "*/*"})
    eq(r.status, 200, "wildcard")


@test
def docker_schema2_and_manifest_list(s):
    cfg = s.push_blob("api/docker", b'{"architecture":"amd64"}')
    layer = s.push_blob("api/docker", b"docker layer")
    m = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
         "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg, "size": 24},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer,
                     "size": 12}]}
    md, mb = s.push_manifest("api/docker", "amd64", m, DOCKER_MANIFEST)
    lst = {"schemaVersion": 2, "mediaType": DOCKER_LIST,
           "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": md, "size": len(mb),
                          "platform": {"architecture": "amd64", "os": "linux"}}]}
    ld, lb = s.push_manifest("api/docker", "multi", lst, DOCKER_LIST)
    r = s.request("GET", "/v2/api/docker/manifests/multi", headers={"Accept": DOCKER_LIST})
    eq((r.status, r.header("Content-Type"), r.body), (200, DOCKER_LIST, lb), "manifest list")
    idx = {"schemaVersion": 2, "mediaType": OCI_INDEX,
           "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": md, "size": len(mb)}]}
    s.push_manifest("api/docker", "index", idx, OCI_INDEX)
    missing = {"schemaVersion": 2, "mediaType": OCI_INDEX,
               "manifests": [{"mediaType": OCI_MANIFEST, "digest": sha256(b"nope"), "size": 4}]}
    r = s.request("PUT", "/v2/api/docker/manifests/broken", body=json.dumps(missing).encode(),
                  headers={"Content-Type": OCI_INDEX})
    eq((r.status, r.error_code()), (400, "MANIFEST_BLOB_UNKNOWN"), "index naming a missing manifest")


@test
def manifest_put_validation(s):
    cfg = s.push_blob("api/val", b"{}")
    good_cfg = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": 2}
    cases = [
        (b"{not json", OCI_MANIFEST, "MANIFEST_INVALID", "not JSON"),
        (json.dumps({"schemaVersion": 1}).encode(), OCI_MANIFEST, "MANIFEST_INVALID", "schema 1"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode(), OCI_MANIFEST,
         "MANIFEST_INVALID", "no config"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode(), OCI_MANIFEST,
         "MANIFEST_INVALID", "Content-Type differs from mediaType"),
        (json.dumps({"schemaVersion": 2, "config": good_cfg, "layers": []}).encode(), "application/x-weird",
         "MANIFEST_INVALID", "unknown media type"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": good_cfg,
                     "layers": [{"mediaType": "a/b", "digest": sha256(b"x"), "size": 1}]}).encode(), OCI_MANIFEST,
         "MANIFEST_BLOB_UNKNOWN", "missing layer"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                     "config": dict(good_cfg, size=3), "layers": []}).encode(), OCI_MANIFEST,
         "MANIFEST_INVALID", "wrong config size"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                     "config": dict(good_cfg, digest="sha256:abc"), "layers": []}).encode(), OCI_MANIFEST,
         "MANIFEST_INVALID", "malformed digest in a descriptor"),
        (b'{"schemaVersion":2,"schemaVersion":2}', OCI_MANIFEST, "MANIFEST_INVALID", "duplicate keys"),
    ]
    for body, ct, code, what in cases:
        r = s.request("PUT", "/v2/api/val/manifests/t", body=body, headers={"Content-Type": ct})
        eq((r.status, r.error_code()), (400, code), what)
        check(len(r.json()["errors"][0]["message"]) > 10, f"{what}: message explains")
    eq(s.request("GET", "/v2/api/val/manifests/t").status, 404, "nothing was stored by bad PUTs")
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": good_cfg, "layers": []}).encode()
    r = s.request("PUT", f"/v2/api/val/manifests/{sha256(b'other')}", body=body,
                  headers={"Content-Type": OCI_MANIFEST})
    eq((r.status, r.error_code()), (400, "DIGEST_INVALID"), "PUT by a digest the bytes do not have")


@test
def manifest_size_limit(s):
    big = b'{"schemaVersion":2,"pad":"' + b"x" * (4 * 1024 * 1024) + b'"}'
    r = s.request("PUT", "/v2/api/big/manifests/t", body=big, headers={"Content-Type": OCI_MANIFEST})
    eq(r.status, 413, "manifest over 4 MiB")
    eq(r.error_code(), "MANIFEST_INVALID", "code")
    eq(s.request("GET", "/v2/api/big/manifests/t").status, 404, "not stored")


@test
def tags_list_pagination(s):
    _, _ = small_image(s, "api/tags", "b")
    for t in ["a", "C", "c", "a1", "z", "B"]:
        d, body = small_image(s, "api/tags", t)
    r = s.request("GET", "/v2/api/tags/tags/list")
    eq(r.status, 200, "tags list")
    eq(r.json(), {"name": "api/tags", "tags": ["B", "C", "a", "a1", "b", "c", "z"]}, "lexical order")
    r = s.request("GET", "/v2/api/tags/tags/list?n=3")
    eq(r.json()["tags"], ["B", "C", "a"], "first page")
    eq(r.header("Link"), '</v2/api/tags/tags/list?n=3&last=a>; rel="next"', "Link to next page")
    r = s.request("GET", "/v2/api/tags/tags/list?n=3&last=a")
    eq(r.json()["tags"], ["a1", "b", "c"], "second page")
    r = s.request("GET", "/v2/api/tags/tags/list?n=3&last=c")
    eq(r.json()["tags"], ["z"], "last page")
    eq(r.header("Link"), None, "no Link on the last page")
    r = s.request("GET", "/v2/api/tags/tags/list?n=0")
    eq((r.status, r.json()["tags"]), (200, []), "n=0")
    r = s.request("GET", "/v2/api/tags/tags/list?n=abc")
    eq(r.status, 400, "n not a number")
    r = s.request("GET", "/v2/api/no-such-repo/tags/list")
    eq((r.status, r.error_code()), (404, "NAME_UNKNOWN"), "unknown repository")


@test(shared=False)
def catalog_pagination(s):
    s.start()
    for name in ["zeta", "alpha/one", "alpha/two", "mid"]:
        s.push_blob(name, name.encode())
    r = s.request("GET", "/v2/_catalog")
    eq(r.json(), {"repositories": ["alpha/one", "alpha/two", "mid", "zeta"]}, "catalog")
    r = s.request("GET", "/v2/_catalog?n=2")
    eq(r.json()["repositories"], ["alpha/one", "alpha/two"], "page 1")
    eq(r.header("Link"), '</v2/_catalog?n=2&last=alpha/two>; rel="next"', "Link")
    r = s.request("GET", "/v2/_catalog?n=2&last=alpha/two")
    eq(r.json()["repositories"], ["mid", "zeta"], "page 2")


@test
def referrers_api(s):
    subject_digest, subject_body = small_image(s, "api/ref", "subject")
    subject_desc = {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject_body)}
    empty = s.push_blob("api/ref", b"{}")
    empty_desc = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}

    def artifact(atype, ann):
        return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": atype, "config": empty_desc,
                "layers": [empty_desc], "subject": subject_desc, "annotations": ann}

    sig = artifact("application/vnd.example.signature", {"org.example.who": "alice"})
    sbom = artifact("application/spdx+json", {"org.example.kind": "sbom"})
    r = s.request("PUT", "/v2/api/ref/manifests/" + sha256(json.dumps(sig).encode()),
                  body=json.dumps(sig).encode(), headers={"Content-Type": OCI_MANIFEST})
    eq(r.status, 201, "push signature")
    eq(r.header("OCI-Subject"), subject_digest, "OCI-Subject header")
    sig_digest = r.header("Docker-Content-Digest")
    sbom_digest, sbom_body = s.push_manifest("api/ref", sha256(json.dumps(sbom).encode()), sbom)
    r = s.request("GET", f"/v2/api/ref/referrers/{subject_digest}")
    eq((r.status, r.header("Content-Type")), (200, OCI_INDEX), "referrers")
    idx = r.json()
    eq(idx["mediaType"], OCI_INDEX, "index mediaType")
    got = {m["digest"]: m for m in idx["manifests"]}
    eq(set(got), {sig_digest, sbom_digest}, "both referrers")
    eq(got[sig_digest]["artifactType"], "application/vnd.example.signature", "artifactType")
    eq(got[sig_digest]["annotations"], {"org.example.who": "alice"}, "annotations")
    eq(got[sbom_digest]["size"], len(sbom_body), "size")
    r = s.request("GET", f"/v2/api/ref/referrers/{subject_digest}?artifactType=application/spdx%2Bjson")
    eq([m["digest"] for m in r.json()["manifests"]], [sbom_digest], "filtered")
    eq(r.header("OCI-Filters-Applied"), "artifactType", "OCI-Filters-Applied")
    r = s.request("GET", f"/v2/api/ref/referrers/{sha256(b'nothing refers')}")
    eq((r.status, r.json()["manifests"]), (200, []), "no referrers: empty index, not 404")
    eq(s.request("GET", "/v2/api/ref/referrers/sha256:zz").status, 400, "bad digest")


@test
def referrer_pushed_before_its_subject(s):
    future = sha256(b"a subject that does not exist yet")
    empty = s.push_blob("api/early", b"{}")
    empty_desc = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.x",
         "config": empty_desc, "layers": [empty_desc],
         "subject": {"mediaType": OCI_MANIFEST, "digest": future, "size": 123}}
    body = json.dumps(m).encode()
    r = s.request("PUT", f"/v2/api/early/manifests/{sha256(body)}", body=body, headers={"Content-Type": OCI_MANIFEST})
    eq(r.status, 201, "referrer of a missing subject is accepted")
    eq(r.header("OCI-Subject"), future, "OCI-Subject")
    r = s.request("GET", f"/v2/api/early/referrers/{future}")
    eq([x["digest"] for x in r.json()["manifests"]], [sha256(body)], "listed")


@test
def deletes(s):
    d, _ = small_image(s, "api/del", "keep")
    s.push_manifest("api/del", "also", s.request("GET", f"/v2/api/del/manifests/{d}").body)
    r = s.request("DELETE", "/v2/api/del/manifests/also")
    eq(r.status, 202, "delete tag")
    eq(s.request("GET", "/v2/api/del/manifests/also").status, 404, "tag gone")
    eq(s.request("GET", "/v2/api/del/manifests/keep").status, 200, "other tag stays")
    eq(s.request("DELETE", "/v2/api/del/manifests/also").status, 404, "delete missing tag")
    r = s.request("DELETE", f"/v2/api/del/manifests/{d}")
    eq(r.status, 202, "delete manifest by digest")
    eq(s.request("GET", "/v2/api/del/manifests/keep").status, 404, "tags of a deleted manifest go too")
    eq(s.request("GET", f"/v2/api/del/manifests/{d}").status, 404, "manifest gone")
    b = s.push_blob("api/del", b"loose blob")
    eq(s.request("DELETE", f"/v2/api/del/blobs/{b}").status, 202, "delete blob")
    eq(s.request("GET", f"/v2/api/del/blobs/{b}").status, 404, "blob gone from the repository")
    eq(s.request("DELETE", f"/v2/api/del/blobs/{b}").error_code(), "BLOB_UNKNOWN", "second delete")


@test
def method_not_allowed(s):
    r = s.request("POST", "/v2/api/x/tags/list")
    eq((r.status, r.error_code()), (405, "UNSUPPORTED"), "POST tags list")
    eq(s.request("PUT", "/v2/_catalog").status, 405, "PUT catalog")
    eq(s.request("GET", "/nowhere").status, 404, "unknown path")


@test
def metrics_endpoint(s):
    s.request("GET", "/v2/")
    s.request("GET", "/v2/api/none/manifests/latest")
    r = s.request("GET", "/metrics")
    eq(r.status, 200, "metrics")
    text = r.body.decode()
    for needle in ['wharf_http_requests_total{route="base",code="200"}',
                   'wharf_http_requests_total{route="manifest",code="404"}',
                   "wharf_http_request_duration_seconds_bucket", "wharf_http_sent_bytes_total",
                   "wharf_http_received_bytes_total", "wharf_storage_bytes"]:
        check(needle in text, f"metrics has {needle}")


@test(shared=False)
def access_log_is_json_lines(s):
    s.start()
    s.request("GET", "/v2/api/log/manifests/nope")
    s.stop()
    lines = [json.loads(line) for line in s.log_text().splitlines() if line.startswith("{")]
    acc = [x for x in lines if x.get("type") == "access" and x["path"] == "/v2/api/log/manifests/nope"]
    eq(len(acc), 1, "one access line")
    eq((acc[0]["status"], acc[0]["route"], acc[0]["method"]), (404, "manifest", "GET"), "fields")
    check("error" in acc[0] and "subject" in acc[0], "error and subject recorded")


@test(shared=False)
def restart_keeps_everything(s):
    s.start()
    d, body = small_image(s, "api/persist", "v1")
    s.stop()
    s.start()
    eq(s.request("GET", "/v2/api/persist/manifests/v1").body, body, "manifest after restart")
    r = s.request("POST", "/v2/api/persist/blobs/uploads/")
    loc = r.header("Location")
    s.request("PATCH", loc, body=b"first half ")
    s.stop()
    s.start()
    r = s.request("PATCH", loc, body=b"second half", headers={"Content-Range": "11-21"})
    eq(r.status, 202, "resume upload after restart")
    data = b"first half second half"
    r = s.request("PUT", r.header("Location") + "?digest=" + sha256(data))
    eq(r.status, 201, "finish upload whose hash was rebuilt from disk")
