"""The auth service: a private instance runs auth under master, users come
from a passwd-file made with `facteur user add`, and the test speaks the
auth/1 protocol (docs/architecture.md, lib/global/auth_client.h) over
queue_directory/private/auth with its own small attr encoder/decoder.

Run as root, master stays root and auth drops to mail_owner = nobody (the
passwd-file is then made group-readable for it by `facteur user add`); as
an ordinary user everything runs as that user.
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
AUTH = os.path.join(ft.BUILDDIR, "auth", "auth")
DELAY = 1  # auth_failure_delay in the test, seconds
SECRETS = ["Tr0ub4dor&3", "n3w-s3cret!", "guess-me-not"]


# --- attr framing (lib/global/attr.h) ---------------------------------

def encode(attrs):
    """A frame: u32 length, then (u8 name len, name, u32 len, value)*."""
    payload = b""
    for name, value in attrs:
        if isinstance(value, str):
            value = value.encode()
        payload += bytes([len(name)]) + name.encode()
        payload += struct.pack(">I", len(value)) + value
    return struct.pack(">I", len(payload)) + payload


def decode(payload):
    attrs = []
    i = 0
    while i < len(payload):
        n = payload[i]
        name = payload[i + 1:i + 1 + n].decode()
        i += 1 + n
        (vlen,) = struct.unpack(">I", payload[i:i + 4])
        i += 4
        attrs.append((name, payload[i:i + vlen].decode()))
        i += vlen
    return attrs


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Auth:
    def __init__(self, inst):
        self.path = os.path.join(inst.queue_dir, "private", "auth")

    def raw(self, data, timeout=10):
        """Send bytes, return the decoded reply (dict) or None at EOF."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.path)
            s.sendall(data)
            head = recv_exact(s, 4)
            if head is None:
                return None
            (n,) = struct.unpack(">I", head)
            assert n <= 4096, "reply too long"
            attrs = decode(recv_exact(s, n))
        finally:
            s.close()
        assert attrs[0] == ("proto", "auth-result/1"), attrs
        return dict(attrs[1:])

    def request(self, user, password, service="smtp", client="192.0.2.7",
                mech="PLAIN"):
        return self.raw(encode([
            ("proto", "auth/1"), ("mech", mech), ("user", user),
            ("password", password), ("service", service),
            ("client", client)]))

    def timed(self, user, password, **kw):
        t = time.monotonic()
        r = self.request(user, password, **kw)
        return r, time.monotonic() - t


# --- the instance -------------------------------------------------------

class AuthInstance:
    def __init__(self, extra_main_cf=""):
        if not os.access(AUTH, os.X_OK):
            raise ft.SkipTest("%s is not built" % AUTH)
        self.inst = ft.Instance(name="facteur-auth")
        # auth may run as nobody: let it reach the passwd-file.
        os.chmod(self.inst.top, 0o711)
        pwdir = os.path.join(self.inst.top, "pw")
        os.mkdir(pwdir, 0o755)
        self.passwd = os.path.join(pwdir, "passwd")
        self.inst.write_main_cf(
            "auth_passwd_file = %s\n"
            "auth_failure_delay = %ds\n"
            "max_idle = 30s\n"
            "service_throttle_time = 2s\n"
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
            % (self.passwd, DELAY)
            + ("mail_owner = nobody\n" if ROOT else "")
            + extra_main_cf)
        self.inst.write_master_cf("auth unix - - n - - %s\n" % AUTH)
        self.auth = Auth(self.inst)

    def user(self, *args, input=None):
        return self.inst.facteur("user", *args, check=True, input=input)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inst.cleanup()


def start(a):
    a.inst.start()
    ft.wait_for(lambda: os.path.exists(a.auth.path), what="private/auth")


def check_no_secret(a):
    log = a.inst.log()
    for secret in SECRETS:
        assert secret not in log, "password %r in the maillog" % secret
    assert "panic:" not in log and "fatal:" not in log, log


# --- tests -----------------------------------------------------------------

def test_ok_fail_unknown():
    with AuthInstance() as a:
        a.user("add", "bob@Example.COM", "-u", "1000", "-g", "1000",
               "-d", "/home/bob", input=SECRETS[0] + "\n")
        a.user("add", "plain@example.com", "-p", "pl", "-s", "PLAIN")
        if ROOT:
            st = os.stat(a.passwd)
            assert st.st_mode & 0o777 == 0o640, oct(st.st_mode)
        start(a)

        r, t = a.auth.timed("bob@example.com", SECRETS[0])
        assert r == {"result": "ok", "user": "bob@example.com",
                     "reason": ""}, r
        assert t < DELAY, t
        # The domain part is case-insensitive.
        r = a.auth.request("bob@EXAMPLE.com", SECRETS[0])
        assert r["result"] == "ok" and r["user"] == "bob@example.com", r
        r = a.auth.request("plain@example.com", "pl", service="imap",
                           mech="LOGIN")
        assert r["result"] == "ok", r

        r, t = a.auth.timed("bob@example.com", SECRETS[2])
        assert r == {"result": "fail", "reason": "authentication failed"}, r
        assert t >= DELAY - 0.05, "failure answered after %.2fs" % t
        # The local part is not case-folded.
        r = a.auth.request("Bob@example.com", SECRETS[0])
        assert r["result"] == "fail", r
        r, t = a.auth.timed("nobody-here@example.com", SECRETS[0])
        assert r["result"] == "fail" and "user" not in r, r
        assert t >= DELAY - 0.05, t
        # No realm configured: a bare name is just unknown.
        r = a.auth.request("bob", SECRETS[0])
        assert r["result"] == "fail", r

        # master writes the log lines a little after they are sent.
        ft.wait_for(lambda: "failed (unknown user)" in a.inst.log(),
                    what="log lines")
        log = a.inst.log()
        assert ("auth: service=smtp user=<bob@example.com> "
                "client=192.0.2.7: ok") in log, log
        assert ("auth: service=smtp user=<bob@example.com> "
                "client=192.0.2.7: failed (password mismatch)") in log, log
        assert ("user=<nobody-here@example.com> client=192.0.2.7: "
                "failed (unknown user)") in log, log
        check_no_secret(a)


def test_failure_delay_does_not_block():
    """A failing login waits on a timer; others are answered meanwhile."""
    with AuthInstance() as a:
        a.user("add", "u@example.com", "-p", SECRETS[0])
        start(a)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(a.auth.path)
        s.sendall(encode([("proto", "auth/1"), ("mech", "PLAIN"),
                          ("user", "u@example.com"),
                          ("password", SECRETS[2]), ("service", "smtp"),
                          ("client", "c")]))
        time.sleep(0.1)
        r, t = a.auth.timed("u@example.com", SECRETS[0])
        assert r["result"] == "ok" and t < DELAY / 2, (r, t)
        s.settimeout(5)
        (n,) = struct.unpack(">I", recv_exact(s, 4))
        assert dict(decode(recv_exact(s, n)))["result"] == "fail"
        s.close()
        check_no_secret(a)


def test_default_realm():
    with AuthInstance("auth_default_realm = example.org\n") as a:
        a.user("add", "carol@example.org", "-p", SECRETS[0])
        start(a)
        r = a.auth.request("carol", SECRETS[0])
        assert r["result"] == "ok" and r["user"] == "carol@example.org", r
        r = a.auth.request("carol@example.org", SECRETS[0])
        assert r["result"] == "ok", r
        # An explicit other domain is not rewritten.
        r = a.auth.request("carol@example.net", SECRETS[0])
        assert r["result"] == "fail", r
        check_no_secret(a)


def test_password_change_without_restart():
    with AuthInstance() as a:
        a.user("add", "dave@example.com", "-p", SECRETS[0])
        start(a)
        assert a.auth.request("dave@example.com", SECRETS[0])["result"] == "ok"
        a.user("passwd", "dave@example.com", input=SECRETS[1] + "\n")
        r = a.auth.request("dave@example.com", SECRETS[1])
        assert r["result"] == "ok", r
        r = a.auth.request("dave@example.com", SECRETS[0])
        assert r["result"] == "fail", r
        a.user("add", "erin@example.com", "-p", SECRETS[2])
        assert a.auth.request("erin@example.com", SECRETS[2])["result"] == "ok"
        a.user("del", "dave@example.com")
        r = a.auth.request("dave@example.com", SECRETS[1])
        assert r["result"] == "fail", r
        out = a.inst.facteur("user", "list", check=True).stdout
        assert out == "erin@example.com\n", out
        # A broken edit by hand keeps the last good contents.
        with open(a.passwd, "a") as f:
            f.write("broken:x:not-a-uid\n")
        r = a.auth.request("erin@example.com", SECRETS[2])
        assert r["result"] == "ok", r
        ft.wait_for(lambda: "keeping the previous contents" in a.inst.log(),
                    what="refresh warning in the maillog")
        check_no_secret(a)


def test_garbage_does_not_kill_auth():
    with AuthInstance() as a:
        a.user("add", "frank@example.com", "-p", SECRETS[0])
        start(a)
        bad = [
            b"\x00\x00\x00\x05hello",                    # not attributes
            b"\xff\xff\xff\xff",                          # huge length
            b"GET / HTTP/1.0\r\n\r\n",                    # not a frame
            encode([("proto", "auth/9"), ("user", "x")]),
            encode([("proto", "auth/1"), ("user", "x")]),  # missing attrs
            encode([("proto", "auth/1"), ("mech", "PLAIN"), ("user", "x"),
                    ("password", "y"), ("service", "s"), ("client", "c"),
                    ("extra", "z")]),
            encode([("proto", "auth/1"), ("mech", "CRAM-MD5"),
                    ("user", "x"), ("password", "y"), ("service", "s"),
                    ("client", "c")]),
            b"\x00\x00",                                  # short, then EOF
        ]
        for data in bad:
            try:
                r = a.auth.raw(data, timeout=15)
            except (ConnectionError, socket.timeout):
                r = None
            assert r is None or r["result"] in ("tempfail", "fail"), r
        r = a.auth.request("frank@example.com", "x" * 5000)
        assert r["result"] == "fail", r
        r = a.auth.request("bad\nname", "x")
        assert r["result"] == "fail", r
        r = a.auth.request("frank@example.com", SECRETS[0])
        assert r["result"] == "ok", r
        ft.wait_for(lambda: "auth: bad request" in a.inst.log(),
                    what="bad request in the maillog")
        check_no_secret(a)


def test_user_cli():
    with AuthInstance() as a:
        r = a.inst.facteur("user", "hash", "-s", "SHA256-CRYPT",
                           input="pw\n")
        assert r.returncode == 0 and r.stdout.startswith(
            "{SHA256-CRYPT}$5$"), r
        r = a.inst.facteur("user", "hash", "-s", "NOPE", input="pw\n")
        assert r.returncode == 1 and "unknown password scheme" in r.stderr
        r = a.inst.facteur("user", "del", "nobody@example.com")
        assert r.returncode == 1 and "no such user" in r.stderr, r
        r = a.inst.facteur("user", "add", "a:b", "-p", "x")
        assert r.returncode == 1 and "bad user name" in r.stderr, r
        r = a.inst.facteur("user", "add", "a@b", "-u", "nosuch-user-x",
                           "-p", "x")
        assert r.returncode == 1 and "bad uid" in r.stderr, r
        assert not os.path.exists(a.passwd) or "a@b" not in open(
            a.passwd).read()
        with open(a.passwd, "a") as f:
            f.write("# kept comment\nold:{PLAIN}o:1:1:gecos:/h:/sh:x=y\n")
        a.user("add", "new@example.com", "-p", "n")
        a.user("add", "old", "-p", "p2", "-d", "/h2")
        text = open(a.passwd).read()
        lines = text.splitlines()
        assert lines[0] == "# kept comment", text
        assert lines[1].startswith("old:{SHA512-CRYPT}$6$"), text
        assert lines[1].endswith(":1:1:gecos:/h2:/sh:x=y"), text
        assert lines[2].startswith("new@example.com:{SHA512-CRYPT}$6$"), text
        assert lines[2].endswith("::::::"), text
        out = a.inst.facteur("user", "list", check=True).stdout
        assert out == "old\nnew@example.com\n", out


if __name__ == "__main__":
    ft.run_tests([
        test_ok_fail_unknown,
        test_failure_delay_does_not_block,
        test_default_realm,
        test_password_change_without_restart,
        test_garbage_does_not_kill_auth,
        test_user_cli,
    ])
