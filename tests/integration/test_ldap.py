"""LDAP authentication (issue 7) against a real slapd started here, through `wharf admin ldap test`,
which runs the library's search-then-bind exactly as wharfd does. Covers the three group schemas
(memberOf via slapd's memberof overlay, groupOfNames member, posixGroup memberUid), wrong and
empty passwords, unknown users, filter injection, removed members, disabled accounts, an
unreachable directory, and StartTLS with the right and a wrong CA."""
import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import check, eq, free_port, test

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "root-secret"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PW = "reader-secret"
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
{tls}
database mdb
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
maxsize 104857600
overlay memberof
access to attrs=userPassword by dn.exact="{rootdn}" write by anonymous auth by self write by * none
access to * by * read
"""


def ldif():
    out = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n",
           f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
           f"cn: reader\nuserPassword: {READER_PW}\n"]
    for ou in ("people", "groups", "posix"):
        out.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n")
    for i, (uid, pw) in enumerate(PASSWORDS.items()):
        extra = "employeeType: disabled\n" if uid == "carol" else ""
        out.append(f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()} Example\n"
                   f"sn: Example\nuserPassword: {pw}\n{extra}")
    members = {"release": ["alice"], "dev": ["alice", "bob"], "ops": ["bob"]}
    for g, us in members.items():
        out.append(f"dn: cn={g},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {g}\n" +
                   "".join(f"member: uid={u},ou=people,{SUFFIX}\n" for u in us))
    for i, (g, us) in enumerate({"docker": ["alice"], "wheel": ["bob"]}.items()):
        out.append(f"dn: cn={g},ou=posix,{SUFFIX}\nobjectClass: posixGroup\ncn: {g}\ngidNumber: {1000 + i}\n" +
                   "".join(f"memberUid: {u}\n" for u in us))
    return "\n".join(out)


def make_tls(d):
    """A CA and a server certificate for 127.0.0.1 (EC P-256), plus an unrelated CA."""
    def run(*a):
        subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name in ("ca", "other-ca"):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", "2", "-subj", f"/CN=wharf test {name}")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=127.0.0.1")
    with open(f"{d}/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
        "-CAcreateserial", "-out", f"{d}/server.pem", "-days", "2", "-extfile", f"{d}/ext")


class Slapd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wharf-slapd-")
        os.mkdir(f"{self.dir}/db")
        make_tls(self.dir)
        tls = (f"TLSCACertificateFile {self.dir}/ca.pem\nTLSCertificateFile {self.dir}/server.pem\n"
               f"TLSCertificateKeyFile {self.dir}/server.key")
        with open(f"{self.dir}/slapd.conf", "w") as f:
            f.write(CONF.format(dir=self.dir, suffix=SUFFIX, rootdn=ROOT_DN, rootpw=ROOT_PW, tls=tls))
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_uri = f"ldaps://127.0.0.1:{free_port()}"
        self.log = open(f"{self.dir}/slapd.log", "w")
        self.proc = subprocess.Popen(["slapd", "-h", f"{self.uri}/ {self.ldaps_uri}/", "-f", f"{self.dir}/slapd.conf",
                                      "-d", "0"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                check(self.proc.poll() is None, "slapd exited: " + open(f"{self.dir}/slapd.log").read()[-2000:])
                time.sleep(0.05)
        self.modify("ldapadd", ldif())

    def modify(self, tool, text):
        p = subprocess.run([tool, "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PW], input=text, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        eq(p.returncode, 0, f"{tool}: {p.stderr}")

    def config(self, name="ldap.json", **over):
        cfg = {"uri": self.uri, "bind_dn": READER_DN, "bind_password": READER_PW,
               "user_base": f"ou=people,{SUFFIX}", "user_filter": "(&(objectClass=inetOrgPerson)(uid=%s))",
               "group_base": f"ou=groups,{SUFFIX}", "group_mode": "member",
               "group_filter": "(objectClass=groupOfNames)", "disabled_filter": "(employeeType=disabled)",
               "timeout_ms": 3000,
               "team_map": {"release": "acme/release", "dev": ["acme/dev", "acme/readers"], "ops": "infra/ops"}}
        cfg.update(over)
        cfg = {k: v for k, v in cfg.items() if v is not None}
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


_slapd = None


def slapd():
    global _slapd
    if _slapd is None:
        _slapd = Slapd()
        atexit.register(_slapd.stop)
    return _slapd


def ldap_test(config, user, password=None, lookup=False):
    env = dict(os.environ)
    env.pop("WHARF_LDAP_PASSWORD", None)
    if password is not None:
        env["WHARF_LDAP_PASSWORD"] = password
    cmd = [os.path.join(os.environ["WHARF_TEST_BIN"], "wharf"), "admin", "ldap", "test", "--json", "--config", config]
    p = subprocess.run(cmd + (["--lookup"] if lookup else []) + [user], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


@test(slow=True)
def ldap_right_password_groupofnames(srv):
    d = slapd()
    rc, out, err = ldap_test(d.config(), "alice", PASSWORDS["alice"])
    eq(rc, 0, f"exit status ({err})")
    eq(out["dn"], f"uid=alice,ou=people,{SUFFIX}", "dn")
    eq(out["display"], "Alice Example", "display")
    eq(out["groups"], ["dev", "release"], "groups")
    eq(out["teams"], ["acme/dev", "acme/readers", "acme/release"], "teams mapped from groups")


@test(slow=True)
def ldap_wrong_empty_and_unknown_are_refused(srv):
    d = slapd()
    cfg = d.config()
    rc, out, err = ldap_test(cfg, "alice", "not-her-password")
    eq((rc, out["reason"]), (5, "bad-credentials"), f"wrong password ({err})")
    # An empty password would be an unauthenticated bind, which slapd answers with success.
    rc, out, err = ldap_test(cfg, "alice", "")
    eq((rc, out["reason"]), (5, "bad-credentials"), f"empty password ({err})")
    check("empty password" in out["error"], out["error"])
    rc, out, err = ldap_test(cfg, "mallory", "x")
    eq((rc, out["reason"]), (5, "no-such-user"), f"unknown user ({err})")
    # Another user's password does not open alice's account.
    rc, out, _ = ldap_test(cfg, "alice", PASSWORDS["bob"])
    eq(rc, 5, "bob's password for alice")


@test(slow=True)
def ldap_filter_injection_matches_nobody(srv):
    d = slapd()
    cfg = d.config()
    for name in ("*)(uid=*", "*", "al*", "alice)(|(uid=*", "alice\\2a"):
        rc, out, err = ldap_test(cfg, name, PASSWORDS["alice"])
        eq((rc, out and out.get("reason")), (5, "no-such-user"), f"user name {name!r} ({err})")


@test(slow=True)
def ldap_posixgroup_and_memberof_modes(srv):
    d = slapd()
    posix = d.config("posix.json", group_base=f"ou=posix,{SUFFIX}", group_mode="memberUid",
                     group_filter="(objectClass=posixGroup)")
    rc, out, err = ldap_test(posix, "bob", PASSWORDS["bob"])
    eq((rc, out and out.get("groups")), (0, ["wheel"]), f"posixGroup groups ({err})")
    memberof = d.config("memberof.json", group_mode="memberOf", group_filter=None)
    rc, out, err = ldap_test(memberof, "bob", PASSWORDS["bob"])
    eq((rc, out and out.get("groups")), (0, ["dev", "ops"]), f"memberOf groups ({err})")


@test(slow=True)
def ldap_removed_member_loses_the_group(srv):
    d = slapd()
    cfg = d.config()
    memberof = d.config("memberof2.json", group_mode="memberOf", group_filter=None)
    rc, out, _ = ldap_test(cfg, "bob", lookup=True)
    eq((rc, out["groups"]), (0, ["dev", "ops"]), "bob before")
    d.modify("ldapmodify", f"dn: cn=dev,ou=groups,{SUFFIX}\nchangetype: modify\ndelete: member\n"
                           f"member: uid=bob,ou=people,{SUFFIX}\n")
    try:
        for c in (cfg, memberof):
            rc, out, err = ldap_test(c, "bob", PASSWORDS["bob"])
            eq((rc, out and out.get("groups")), (0, ["ops"]), f"bob after removal ({err})")
            eq(out["teams"], ["infra/ops"], "bob's teams after removal: acme/dev gone")
    finally:
        d.modify("ldapmodify", f"dn: cn=dev,ou=groups,{SUFFIX}\nchangetype: modify\nadd: member\n"
                               f"member: uid=bob,ou=people,{SUFFIX}\n")


@test(slow=True)
def ldap_disabled_and_deleted_users(srv):
    d = slapd()
    cfg = d.config()
    rc, out, err = ldap_test(cfg, "carol", PASSWORDS["carol"])
    eq((rc, out["reason"]), (5, "bad-credentials"), f"disabled carol ({err})")
    check("disabled" in out["error"], out["error"])
    rc, out, _ = ldap_test(cfg, "carol", lookup=True)
    eq((rc, out["disabled"]), (0, True), "lookup reports disabled")
    # Without the disabled filter the same password works: the filter is what refused her.
    rc, out, err = ldap_test(d.config("nofilter.json", disabled_filter=None), "carol", PASSWORDS["carol"])
    eq(rc, 0, f"carol without the filter ({err})")
    d.modify("ldapadd", f"dn: uid=dave,ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\n"
                        f"sn: D\nuserPassword: dave-pw\n")
    rc, out, _ = ldap_test(cfg, "dave", lookup=True)
    eq(rc, 0, "dave exists")
    d.modify("ldapdelete", f"uid=dave,ou=people,{SUFFIX}\n")
    rc, out, _ = ldap_test(cfg, "dave", lookup=True)
    eq((rc, out["reason"]), (5, "no-such-user"), "dave removed")


@test(slow=True)
def ldap_unreachable_and_bad_service_account(srv):
    d = slapd()
    rc, out, err = ldap_test(d.config("down.json", uri=f"ldap://127.0.0.1:{free_port()}"), "alice", "x")
    eq((rc, out["reason"]), (1, "unreachable"), f"closed port ({err})")
    rc, out, err = ldap_test(d.config("badsvc.json", bind_password="wrong"), "alice", PASSWORDS["alice"])
    eq((rc, out["reason"]), (1, "unreachable"), f"refused service bind ({err})")
    check("service bind" in out["error"], out["error"])


@test(slow=True)
def ldap_starttls_verifies_the_server(srv):
    d = slapd()
    rc, out, err = ldap_test(d.config("tls.json", starttls=True, ca_file=f"{d.dir}/ca.pem"), "alice",
                             PASSWORDS["alice"])
    eq(rc, 0, f"StartTLS with the right CA ({err})")
    rc, out, err = ldap_test(d.config("tlsbad.json", starttls=True, ca_file=f"{d.dir}/other-ca.pem"), "alice",
                             PASSWORDS["alice"])
    eq((rc, out and out["reason"]), (1, "unreachable"), f"StartTLS with a wrong CA ({err})")
    check("StartTLS" in out["error"], out["error"])


@test(slow=True)
def ldap_ldaps_verifies_the_server(srv):
    d = slapd()
    rc, out, err = ldap_test(d.config("ldaps.json", uri=d.ldaps_uri, ca_file=f"{d.dir}/ca.pem"), "alice",
                             PASSWORDS["alice"])
    eq((rc, out and out.get("groups")), (0, ["dev", "release"]), f"ldaps with the right CA ({err})")
    rc, out, err = ldap_test(d.config("ldapsbad.json", uri=d.ldaps_uri, ca_file=f"{d.dir}/other-ca.pem"), "alice",
                             PASSWORDS["alice"])
    eq((rc, out and out["reason"]), (1, "unreachable"), f"ldaps with a wrong CA ({err})")


@test(slow=True)
def ldap_silent_directory_times_out(srv):
    # A server that accepts the connection and never answers: the configured timeout ends it.
    d = slapd()
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    try:
        cfg = d.config("silent.json", uri=f"ldap://127.0.0.1:{lsock.getsockname()[1]}", timeout_ms=1000)
        start = time.time()
        rc, out, err = ldap_test(cfg, "alice", PASSWORDS["alice"])
        took = time.time() - start
        eq((rc, out and out["reason"]), (1, "unreachable"), f"silent directory ({err})")
        check(took < 10, f"took {took:.1f} s with a 1 s timeout")
    finally:
        lsock.close()
