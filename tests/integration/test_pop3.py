#!/usr/bin/env python3
"""POP3 end to end: pop3-login and pop3d over mail delivered by SMTP.

One instance runs smtpd, qmgr, local and auth (the delivery chain), and
pop3-login on two ports (110-like with STLS, 995-like with implicit TLS)
with the post-login pop3d service, all from the build tree.  Virtual users
come from a passwd-file made with `facteur user add`.  Mail goes in with
smtplib and comes out with Python's poplib, raw sockets and fetchmail; the
tests compare bytes: what RETR returns against the Maildir file (LF on
disk, CRLF on the wire, dot-stuffing undone by the client) and against
what was sent.

Runs as root (pop3-login and the other services drop to "nobody"; pop3d's
worker runs as the mailbox owner from the passwd-file) and as an ordinary
user (everything runs as that user).
"""

import glob
import imaplib
import os
import poplib
import pwd
import re
import socket
import ssl
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
B = ft.BUILDDIR
SMTPD = os.path.join(B, "smtpd", "smtpd")
QMGR = os.path.join(B, "qmgr", "qmgr")
LOCAL = os.path.join(B, "local", "local")
AUTH = os.path.join(B, "auth", "auth")
LOGIN = os.path.join(B, "pop3d", "pop3-login")
POP3D = os.path.join(B, "pop3d", "pop3d")
# When built, IMAP shows the same messages: the UIDs must agree.
IMAP_LOGIN = os.path.join(B, "imapd", "imap-login")
IMAPD = os.path.join(B, "imapd", "imapd")
HAVE_IMAP = all(os.access(p, os.X_OK) for p in (IMAP_LOGIN, IMAPD))
HOST = "mail.example.test"
VDOM = "virtual.test"
VUSER = "vuser@" + VDOM
VPASS = "s3cret Pw"  # a space: PASS takes the rest of the line
OTHER = "other@" + VDOM
OPASS = "0ther-Pw"
IDLE = 5  # pop3d_timeout in the test, seconds
OLD = "old@" + VDOM  # a Maildir taken over from Dovecot
OLDPASS = "old-Pw"

if ROOT:
    NOBODY = pwd.getpwnam("nobody")
    MB_UID, MB_GID = NOBODY.pw_uid, NOBODY.pw_gid
else:
    MB_UID, MB_GID = os.getuid(), os.getgid()

# A Dovecot dovecot-uidlist for OLD's Maildir: UIDVALIDITY and UIDs that
# UIDL must show as %08X%08X (uid, uidvalidity).
OLD_UIDVALIDITY = 1700000000
OLD_MSGS = [
    (41, "1700000001.M1P1.old.example", b"Subject: first\n\nold one\n"),
    (42, "1700000002.M2P1.old.example", b"Subject: second\n\n.dot\nend\n"),
]


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Env:
    def __init__(self):
        for prog in (SMTPD, QMGR, LOCAL, AUTH, LOGIN, POP3D):
            if not os.access(prog, os.X_OK):
                raise ft.SkipTest("%s is not built" % prog)
        self.p25, self.p110, self.p995, self.pplain, self.p993 = (
            ft.free_port() for _ in range(5))
        self.inst = ft.Instance(name="facteur-pop3")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.homes = {}
        for user in (VUSER, OTHER, OLD):
            home = os.path.join(top, "home", user.split("@")[0])
            os.makedirs(home)
            os.chown(home, MB_UID, MB_GID)
            self.homes[user] = home
        self.make_dovecot_maildir(self.homes[OLD])
        self.cert = os.path.join(top, "cert.pem")
        self.key = os.path.join(top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=" + HOST],
                       check=True, capture_output=True)
        self.passwd = os.path.join(top, "passwd")
        self.inst.write_main_cf(
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
            "master_stop_timeout = 3s\n"
            "service_throttle_time = 1s\n"
            "mydestination =\n"
            "virtual_mailbox_domains = %s\n"
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 0s\n"
            "smtpd_tls_cert_file = %s\n"
            "smtpd_tls_key_file = %s\n"
            "smtpd_error_sleep_time = 0\n"
            % (VDOM, self.passwd, self.cert, self.key)
            + ("mail_owner = nobody\n" if ROOT else ""))
        self.inst.write_master_cf(
            "127.0.0.1:%d inet n - n - - %s\n"
            "qmgr unix n - n 2 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - - %s\n"
            "auth unix - - n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s -o pop3d_tls_wrappermode=yes\n"
            "127.0.0.1:%d inet n - n - - %s"
            " -o pop3d_disable_plaintext_auth=no -o pop3d_tls_cert_file="
            " -o pop3d_login_timeout=2s\n"
            "pop3d unix - n n - - %s -o pop3d_timeout=%ds\n"
            % (self.p25, SMTPD, QMGR, LOCAL, AUTH, self.p110, LOGIN,
               self.p995, LOGIN, self.pplain, LOGIN, POP3D, IDLE)
            + ("127.0.0.1:%d inet n - n - - %s -o imapd_tls_wrappermode=yes\n"
               "imapd unix - n n - - %s\n" % (self.p993, IMAP_LOGIN, IMAPD)
               if HAVE_IMAP else ""))
        ids = ["-u", str(MB_UID), "-g", str(MB_GID)] if ROOT else []
        for user, pw in ((VUSER, VPASS), (OTHER, OPASS), (OLD, OLDPASS)):
            self.inst.facteur("user", "add", user, "-p", pw, "-d",
                              self.homes[user], *ids, check=True)
        os.chmod(self.passwd, 0o644)
        self.start()

    def make_dovecot_maildir(self, home):
        md = os.path.join(home, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        lines = ["3 V%d N43" % OLD_UIDVALIDITY]
        for uid, base, data in OLD_MSGS:
            with open(os.path.join(md, "cur", base + ":2,S"), "wb") as f:
                f.write(data)
            lines.append("%d :%s" % (uid, base))
        with open(os.path.join(md, "dovecot-uidlist"), "w") as f:
            f.write("\n".join(lines) + "\n")
        for root, dirs, files in os.walk(home):
            for n in dirs + files:
                os.chown(os.path.join(root, n), MB_UID, MB_GID)

    def start(self):
        self.inst.start()
        for name in ("public/qmgr", "private/local", "private/auth",
                     "private/pop3d"):
            ft.wait_for(lambda: os.path.exists(os.path.join(
                self.inst.queue_dir, name)), what=name)

    def restart(self):
        self.inst.stop()
        ft.wait_for(lambda: self.inst.master_pid() is None, what="stop")
        self.start()

    def maildir(self, user):
        md = os.path.join(self.homes[user], "Maildir")
        return sorted(glob.glob(os.path.join(md, "new", "*")) +
                      glob.glob(os.path.join(md, "cur", "*")))

    def stored(self, user):
        """{Subject: bytes of the file} of user's Maildir."""
        out = {}
        for path in self.maildir(user):
            with open(path, "rb") as f:
                data = f.read()
            m = re.search(rb"^Subject: (.*)$", data, re.M)
            out[m.group(1).decode() if m else path] = data
        return out

    def deliver(self, user, subject, body):
        data = ("From: <sender@example.org>\r\nTo: <%s>\r\n"
                "Subject: %s\r\n\r\n%s" % (user, subject, body)).encode()
        s = smtplib.SMTP("127.0.0.1", self.p25, timeout=30)
        try:
            s.sendmail("sender@example.org", [user], data)
            s.quit()
        finally:
            s.close()
        ft.wait_for(lambda: subject in self.stored(user), timeout=30,
                    what="delivery of %r" % subject)
        return data

    def wait_log(self, pattern, timeout=20):
        rx = re.compile(pattern, re.M)
        return ft.wait_for(lambda: rx.search(self.inst.log()),
                           timeout=timeout, what="log /%s/" % pattern)

    def pop_ssl(self):
        return poplib.POP3_SSL("127.0.0.1", self.p995, timeout=30,
                               context=client_ctx())

    def login(self, user=VUSER, password=VPASS):
        p = self.pop_ssl()
        p.user(user)
        resp = p.pass_(password)
        assert resp == b"+OK Logged in.", resp
        return p

    def login_retry(self, user=VUSER, password=VPASS):
        """Log in once the previous session has let go of the lock."""
        def attempt():
            try:
                return self.login(user, password)
            except poplib.error_proto as e:
                assert b"[IN-USE]" in e.args[0], e
                return None
        return ft.wait_for(attempt, timeout=10, what="the POP3 lock")

    def cleanup(self):
        self.inst.cleanup()


ENV = None


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Raw:
    """A line-oriented POP3 client over a plain or TLS socket."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            self.sock = client_ctx().wrap_socket(self.sock)
        self.buf = b""

    def starttls(self):
        self.sock = client_ctx().wrap_socket(self.sock)

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multi(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line)

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------ tests

def test_greeting_capa_plaintext_refused():
    r = Raw(ENV.p110)
    assert r.line() == b"+OK Facteur ready."
    assert r.cmd("CAPA") == b"+OK Capability list follows"
    caps = r.multi()
    for c in (b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING",
              b"AUTH-RESP-CODE", b"UTF8", b"STLS"):
        assert c in caps, caps
    assert b"USER" not in caps and b"SASL PLAIN" not in caps, caps
    refused = (b"-ERR [AUTH] Plaintext authentication disallowed on "
               b"non-secure (SSL/TLS) connections.")
    assert r.cmd("USER " + VUSER) == refused
    assert r.cmd("PASS " + VPASS) == refused
    assert r.cmd("AUTH PLAIN") == refused
    assert r.cmd("STAT") == b"-ERR Unknown command"
    assert r.cmd("XYZZY") == b"-ERR Unknown command"
    assert r.cmd("LIST x") == b"-ERR Unknown command"
    assert r.cmd("RETR 1 2") == b"-ERR Unknown command"
    assert r.cmd("NOOP") == b"+OK"
    assert r.cmd("USER " + "x" * 300) == b"-ERR Command line too long"
    assert r.cmd("UTF8") == b"+OK UTF8 enabled."
    assert r.cmd("QUIT") == b"+OK Logging out."
    r.close()
    ENV.wait_log(r"facteur/pop3-login\[\d+\]: Disconnected \(no auth "
                 r"attempts\): user=<>, rip=127\.0\.0\.1, lport=%d$" % ENV.p110)


def test_stls():
    # poplib: STLS, then USER/PASS are offered and accepted.
    p = poplib.POP3("127.0.0.1", ENV.p110, timeout=30)
    assert p.getwelcome() == b"+OK Facteur ready."
    assert p.stls(context=client_ctx()).startswith(b"+OK")
    caps = p.capa()
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"], caps
    assert "STLS" not in caps, caps
    p.user(VUSER)
    assert p.pass_(VPASS) == b"+OK Logged in."
    assert p.quit().startswith(b"+OK Logging out")
    ENV.wait_log(r"facteur/pop3-login\[\d+\]: Login: user=<%s>, "
                 r"method=PLAIN, rip=127\.0\.0\.1, lport=%d, TLS$"
                 % (re.escape(VUSER), ENV.p110))
    # Plaintext pipelined behind STLS is dropped, not run over TLS.
    r = Raw(ENV.p110)
    r.line()
    r.send(b"STLS\r\nCAPA\r\n")
    assert r.line() == b"+OK Begin TLS negotiation now."
    r.starttls()
    assert r.cmd("NOOP") == b"+OK"
    assert r.cmd("STLS") == b"-ERR TLS is already active."
    r.close()
    ENV.wait_log(r"discarding 6 bytes of plaintext pipelined after STLS")
    # Without a certificate there is no STLS.
    r = Raw(ENV.pplain)
    r.line()
    r.cmd("CAPA")
    caps = r.multi()
    assert b"STLS" not in caps and b"USER" in caps, caps
    assert r.cmd("STLS") == b"-ERR TLS support isn't enabled."
    r.close()


def test_plaintext_allowed():
    """pop3d_disable_plaintext_auth = no: USER/PASS without TLS; the
    client's own socket is passed to pop3d (no relay)."""
    p = poplib.POP3("127.0.0.1", ENV.pplain, timeout=30)
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps, caps
    p.user(VUSER)
    assert p.pass_(VPASS) == b"+OK Logged in."
    assert p.stat()[0] >= 0
    assert p.quit().startswith(b"+OK Logging out")
    ENV.wait_log(r"Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.1, "
                 r"lport=%d$" % (re.escape(VUSER), ENV.pplain))
    # Commands pipelined behind PASS reach pop3d, in order.
    r = Raw(ENV.pplain)
    r.line()
    r.send(("USER %s\r\nPASS %s\r\nNOOP\r\nQUIT\r\n"
            % (VUSER, VPASS)).encode())
    assert r.line() == b"+OK"
    assert r.line() == b"+OK Logged in."
    assert r.line() == b"+OK"
    assert r.line().startswith(b"+OK Logging out")
    r.close()
    # UTF-8 user names only after UTF8 (RFC 6856).
    r = Raw(ENV.pplain)
    r.line()
    assert r.cmd("USER j\u00f6rg@" + VDOM) == \
        b"-ERR Non-ASCII character without UTF8"
    assert r.cmd("UTF8") == b"+OK UTF8 enabled."
    assert r.cmd("USER j\u00f6rg@" + VDOM) == b"+OK"
    # Ten bad commands end the session.
    for i in range(8):
        assert r.cmd("BAD%d" % i) == b"-ERR Unknown command"
    assert r.cmd("BAD") == b"-ERR Unknown command"
    assert r.line() == b"-ERR Too many bad commands."
    try:
        r.line()
        raise AssertionError("still connected")
    except (EOFError, ConnectionError):
        pass
    r.close()
    # pop3d_login_timeout (2s here).
    r = Raw(ENV.pplain)
    r.line()
    t = time.monotonic()
    assert r.line() == b"-ERR Disconnected for inactivity."
    assert 1.5 < time.monotonic() - t < 10
    r.close()
    ENV.wait_log(r"Disconnected \(inactivity\): user=<>, rip=127\.0\.0\.1, "
                 r"lport=%d$" % ENV.pplain)


def test_login_failures():
    p = ENV.pop_ssl()
    p.user(VUSER)
    try:
        p.pass_("wrong")
        raise AssertionError("wrong password accepted")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR [AUTH] Authentication failed.", e
    try:
        p.pass_(VPASS)
        raise AssertionError("PASS without USER accepted")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR No username given.", e
    p.user("nobody-here@" + VDOM)
    try:
        p.pass_(VPASS)
        raise AssertionError("unknown user accepted")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR [AUTH] Authentication failed.", e
    # The third failure ends the session.
    p.user(VUSER)
    try:
        p.pass_("wrong again")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR [AUTH] Authentication failed.", e
    assert p._getline()[0] == \
        b"-ERR [AUTH] Too many authentication failures."
    p.close()
    ENV.wait_log(r"Disconnected \(auth failed, too many attempts\): "
                 r"user=<%s>" % re.escape(VUSER))
    log = ENV.inst.log()
    assert VPASS not in log and "wrong again" not in log, "password logged"


def test_auth_plain():
    import base64
    good = base64.b64encode(("\0%s\0%s" % (VUSER, VPASS)).encode()).decode()
    bad = base64.b64encode(("\0%s\0nope" % VUSER).encode()).decode()
    # Initial response, over implicit TLS.
    r = Raw(ENV.p995, tls=True)
    assert r.line() == b"+OK Facteur ready."
    assert r.cmd("AUTH") == b"+OK"
    assert r.multi() == [b"PLAIN"]
    assert r.cmd("AUTH PLAIN " + bad) == b"-ERR [AUTH] Authentication failed."
    assert r.cmd("AUTH CRAM-MD5") == \
        b"-ERR [AUTH] Unsupported authentication mechanism."
    assert r.cmd("AUTH PLAIN !!!!") == b"-ERR Invalid base64 data"
    # Continuation, cancelled with "*".
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("*") == b"-ERR Authentication aborted."
    # Continuation, then the login; a pipelined STAT reaches pop3d.
    assert r.cmd("AUTH PLAIN") == b"+ "
    r.send(good.encode() + b"\r\nSTAT\r\n")
    assert r.line() == b"+OK Logged in."
    assert r.line().startswith(b"+OK ")
    assert r.cmd("QUIT").startswith(b"+OK Logging out")
    r.close()
    ENV.wait_log(r"Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.1, "
                 r"lport=%d, TLS$" % (re.escape(VUSER), ENV.p995))
    # Malformed PLAIN responses are failed logins; the third ends it.
    r = Raw(ENV.p995, tls=True)
    r.line()
    for raw in ("\0" + VUSER,                          # no password
                "x\0%s\0%s" % (VUSER, VPASS),          # authzid differs
                "\0%s\0%s\0" % (VUSER, VPASS)):       # NUL after it
        b64 = base64.b64encode(raw.encode()).decode()
        assert r.cmd("AUTH PLAIN " + b64) == \
            b"-ERR [AUTH] Authentication failed."
    assert r.line() == b"-ERR [AUTH] Too many authentication failures."
    try:
        r.line()
        raise AssertionError("still connected")
    except (EOFError, ConnectionError):
        pass
    r.close()


def test_retr_list_top_bytes():
    body = ("First line.\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
            "x" * 998 + "\r\nlast line\r\n")
    sent = ENV.deliver(VUSER, "bytes", body)
    ENV.deliver(VUSER, "second", "short\r\n")
    p = ENV.login()
    count, total = p.stat()
    stored = ENV.stored(VUSER)
    assert count == len(stored) == 2, (count, stored.keys())
    resp, listing, _ = p.list()
    sizes = {}
    for line in listing:
        n, size = line.split()
        sizes[int(n)] = int(size)
    assert sum(sizes.values()) == total, (sizes, total)
    by_subject = {}
    for n in sorted(sizes):
        resp, lines, _ = p.retr(n)
        got = b"\r\n".join(lines) + b"\r\n"
        assert resp == b"+OK %d octets" % sizes[n], resp
        assert len(got) == sizes[n], (len(got), sizes[n])
        subj = re.search(rb"^Subject: (.*)\r$", got, re.M).group(1).decode()
        by_subject[subj] = (n, got)
        # CRLF on the wire, LF on disk; dot-stuffing undone by poplib.
        assert got == crlf(stored[subj]), (got, stored[subj])
        assert b"\r" not in stored[subj]
    n, got = by_subject["bytes"]
    # What was sent is what comes back, after the trace headers.
    assert got.endswith(sent), (got, sent)
    assert got.startswith(b"Return-Path: <sender@example.org>\r\n"
                          b"Delivered-To: %s\r\nReceived: " % VUSER.encode())
    # TOP: the header, the empty line, then n lines of the body.
    resp, lines, _ = p.top(n, 2)
    head, _, rest = got.partition(b"\r\n\r\n")
    assert lines == head.split(b"\r\n") + [b"", b"First line.",
                                           b".starts with a dot"], lines
    resp, lines, _ = p.top(n, 0)
    assert lines == head.split(b"\r\n") + [b""], lines
    assert p.list(n) == b"+OK %d %d" % (n, sizes[n])
    # Errors.
    for cmd, want in (("RETR 9", b"-ERR There's no message 9."),
                      ("LIST 0", b"-ERR Invalid message number"),
                      ("TOP 1", b"-ERR Missing argument"),
                      ("DELE x", b"-ERR Invalid message number"),
                      ("USER x", b"-ERR Already logged in."),
                      ("FOO", b"-ERR Unknown command")):
        try:
            p._shortcmd(cmd)
            raise AssertionError("%s accepted" % cmd)
        except poplib.error_proto as e:
            assert e.args[0] == want, (cmd, e)
    assert p.noop() == b"+OK"
    caps = p.capa()
    assert sorted(caps) == ["AUTH-RESP-CODE", "CAPA", "PIPELINING",
                            "RESP-CODES", "TOP", "UIDL"], caps
    p.quit()
    ENV.wait_log(r"facteur/pop3d\[\d+\]: pop3\(%s\): Disconnected: "
                 r"Logged out top=2/\d+, retr=2/\d+, del=0/2, size=%d$"
                 % (re.escape(VUSER), total))
    # RETR marked them \Seen (as Dovecot does); nothing was deleted.
    names = ENV.maildir(VUSER)
    assert len(names) == 2 and all(re.search(r":2,[A-Z]*S", x)
                                   for x in names), names


def test_big_message():
    """A message larger than the output window is streamed whole."""
    line = "0123456789" * 7 + "\r\n"
    body = line * 40000 + ".\r\n..\r\nend\r\n"  # about 2.9 MB
    ENV.deliver(VUSER, "big", body)
    p = ENV.login()
    n = numbers(p)["big"]
    resp, lines, _ = p.retr(n)
    got = b"\r\n".join(lines) + b"\r\n"
    want = crlf(ENV.stored(VUSER)["big"])
    assert got == want, (len(got), len(want))
    assert resp == b"+OK %d octets" % len(want), resp
    # RETR again and TOP after it on the same connection: in order.
    p._putcmd("RETR %d" % n)
    p._putcmd("TOP %d 1" % n)
    resp, lines, _ = p._getlongresp()
    assert resp.startswith(b"+OK") and \
        b"\r\n".join(lines) + b"\r\n" == want
    resp, lines, _ = p._getlongresp()
    assert resp == b"+OK" and lines[-1] == line.rstrip().encode(), lines
    p.quit()


def test_slow_reader_outlasts_timeout():
    """A client that reads a big message slowly, sending nothing for
    longer than pop3d_timeout, gets all of it and can go on: only a
    client that stops reading (the write timeout) or sends nothing once
    the message is out is inactive.  12 MB at 1 MB/s, so that the
    message is still being sent after IDLE seconds (4 MB of socket
    buffers at most on loopback)."""
    line = b"0123456789" * 7 + b"\r\n"
    want = (b"From: <sender@example.org>\r\nSubject: slow\r\n\r\n" +
            line * (12 * 1024 * 1024 // len(line)))
    path = os.path.join(ENV.homes[VUSER], "Maildir", "new",
                        "%d.slow.test" % time.time())
    with open(path, "wb") as f:
        f.write(want)
    os.chown(path, MB_UID, MB_GID)
    p = ENV.login()
    n = numbers(p)["slow"]
    p.quit()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", ENV.pplain))
    sock.sendall(("USER %s\r\nPASS %s\r\nRETR %d\r\nNOOP\r\n"
                  % (VUSER, VPASS, n)).encode())
    got, t = b"", time.monotonic()
    while not got.endswith(b"\r\n.\r\n+OK\r\n"):
        chunk = sock.recv(65536)
        assert chunk, got[-200:]
        got += chunk
        time.sleep(len(chunk) / (1024 * 1024))
    assert time.monotonic() - t > IDLE + 1, "read too fast to test"
    head = b"+OK\r\n+OK Logged in.\r\n+OK %d octets\r\n" % len(want)
    assert got.split(b"\r\n", 1)[1] == head + want + b".\r\n+OK\r\n"
    sock.sendall(b"QUIT\r\n")
    assert sock.recv(4096).startswith(b"+OK Logging out")
    sock.close()
    os.unlink(glob.glob(os.path.join(ENV.homes[VUSER], "Maildir", "*",
                                     os.path.basename(path) + "*"))[0])


def test_uidl_stable():
    p = ENV.login()
    first = p.uidl()[1]
    assert first and all(re.fullmatch(rb"\d+ [0-9A-F]{16}", x)
                         for x in first), first
    p.quit()
    if HAVE_IMAP:
        # The same messages, numbered alike, seen by IMAP: UIDL is the
        # IMAP UID then the UIDVALIDITY.
        m = imaplib.IMAP4_SSL("127.0.0.1", ENV.p993,
                              ssl_context=client_ctx(), timeout=30)
        m.login(VUSER, VPASS)
        typ, data = m.status("INBOX", "(UIDVALIDITY)")
        uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)",
                                    data[0]).group(1))
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(UID)")
        want = []
        for item in data:
            seq, uid = re.match(rb"(\d+) \(UID (\d+)\)", item).groups()
            want.append(b"%s %08X%08X" % (seq, int(uid), uidvalidity))
        m.logout()
        assert first == want, (first, want)
    p = ENV.login()
    one = p.uidl(1)
    assert one == b"+OK " + first[0], one
    p.quit()
    p = ENV.login()
    assert p.uidl()[1] == first
    p.quit()
    ENV.restart()
    p = ENV.login_retry()
    assert p.uidl()[1] == first
    p.quit()
    # A Dovecot Maildir: the UIDs and UIDVALIDITY of its dovecot-uidlist,
    # in Dovecot's format %08Xu%08Xv, so clients download nothing twice.
    p = ENV.login(OLD, OLDPASS)
    want = [b"%d %08X%08X" % (i + 1, uid, OLD_UIDVALIDITY)
            for i, (uid, _, _) in enumerate(OLD_MSGS)]
    assert p.uidl()[1] == want, p.uidl()[1]
    for i, (_, _, data) in enumerate(OLD_MSGS):
        resp, lines, _ = p.retr(i + 1)
        assert b"\r\n".join(lines) + b"\r\n" == crlf(data), lines
    p.quit()


def numbers(p):
    """{Subject: message number} of a session (the store numbers
    messages in UID order, which need not be the delivery order)."""
    out = {}
    for line in p.list()[1]:
        n = int(line.split()[0])
        for h in p.top(n, 0)[1]:
            if h.startswith(b"Subject: "):
                out[h[9:].decode()] = n
    return out


def test_dele_quit_and_drop():
    ENV.deliver(OTHER, "keep-1", "one\r\n")
    ENV.deliver(OTHER, "gone-2", "two\r\n")
    ENV.deliver(OTHER, "keep-3", "three\r\n")
    # DELE then a dropped connection: nothing is deleted.
    p = ENV.login(OTHER, OPASS)
    assert p.stat()[0] == 3
    num = numbers(p)
    gone, keep = num["gone-2"], sorted([num["keep-1"], num["keep-3"]])
    assert p.dele(gone) == b"+OK Marked to be deleted."
    p.close()
    ENV.wait_log(r"pop3\(%s\): Disconnected: Connection closed top=3/\d+, "
                 r"retr=0/0, del=0/3" % re.escape(OTHER))
    assert len(ENV.maildir(OTHER)) == 3
    # RSET undoes DELE.
    p = ENV.login_retry(OTHER, OPASS)
    assert numbers(p) == num
    p.dele(keep[0])
    assert p.stat()[0] == 2
    assert p.rset() == b"+OK"
    assert p.stat()[0] == 3
    # DELE then QUIT: gone from the Maildir; numbers do not shift.
    uidls = dict(x.split() for x in p.uidl()[1])
    p.dele(gone)
    try:
        p.retr(gone)
        raise AssertionError("RETR of a deleted message")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR Message is deleted.", e
    resp, listing, _ = p.list()
    want = [str(n).encode() for n in keep]
    assert [x.split()[0] for x in listing] == want, listing
    assert [x.split()[0] for x in p.uidl()[1]] == want
    assert p.retr(num["keep-3"])[1][-1] == b"three"
    assert p.quit() == b"+OK Logging out, messages deleted."
    ENV.wait_log(r"pop3\(%s\): Disconnected: Logged out top=3/\d+, "
                 r"retr=1/\d+, del=1/3" % re.escape(OTHER))
    left = ENV.stored(OTHER)
    assert sorted(left) == ["keep-1", "keep-3"], left.keys()
    p = ENV.login(OTHER, OPASS)
    assert p.uidl()[1] == [b"1 " + uidls[want[0]], b"2 " + uidls[want[1]]]
    p.quit()


def test_in_use():
    p1 = ENV.login(OTHER, OPASS)
    p2 = ENV.pop_ssl()
    p2.user(OTHER)
    try:
        p2.pass_(OPASS)
        raise AssertionError("second session accepted")
    except poplib.error_proto as e:
        assert e.args[0] == \
            b"-ERR [IN-USE] Mailbox is locked by another POP3 session", e
    p2.close()
    # The first session is unaffected; once it is over the lock is free.
    assert p1.stat()[0] == 2
    p1.quit()
    p3 = ENV.login_retry(OTHER, OPASS)
    p3.quit()
    lock = os.path.join(ENV.homes[OTHER], "Maildir", "facteur-pop3.lock")
    assert os.path.exists(lock)
    assert os.stat(lock).st_uid == MB_UID


def test_inactivity():
    """pop3d_timeout: the session ends without the UPDATE state."""
    p = ENV.login(OTHER, OPASS)
    count = p.stat()[0]
    p.dele(1)
    t = time.monotonic()
    assert p._getline()[0] == b"-ERR Disconnected for inactivity."
    assert IDLE - 1 < time.monotonic() - t < IDLE + 10
    p.close()
    ENV.wait_log(r"pop3\(%s\): Disconnected: Inactivity top=0/0, "
                 r"retr=0/0, del=0/%d" % (re.escape(OTHER), count))
    p = ENV.login_retry(OTHER, OPASS)
    assert p.stat()[0] == count
    p.quit()


def test_fetchmail():
    if not shutil_which("fetchmail"):
        raise ft.SkipTest("fetchmail is not installed")
    ENV.deliver(OTHER, "fetch-me", "fetched body\r\n.dot line\r\n")
    stored = ENV.stored(OTHER)
    assert len(stored) == 3, stored.keys()
    out = os.path.join(ENV.top, "fetched.mbox")
    rc = os.path.join(ENV.top, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll 127.0.0.1 service %d protocol pop3 auth password:\n'
                '  user "%s" password "%s" ssl no sslcertck no rewrite\n'
                '  mda "/bin/sh -c \'cat >> %s\'"\n'
                % (ENV.p995, OTHER, OPASS, out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=ENV.top, FETCHMAILHOME=ENV.top)
    r = subprocess.run(["fetchmail", "-f", rc, "-v", "--nodetach"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 messages" in r.stdout + r.stderr, r.stdout + r.stderr
    with open(out, "rb") as f:
        got = f.read()
    # fetchmail hands LF lines to the MDA and adds its own Received:
    # field (after Return-Path and Delivered-To); without it, each message
    # is the Maildir file, byte for byte.
    got = re.sub(rb"Received: from 127\.0\.0\.1 \[127\.0\.0\.1\]\n"
                 rb"(\t[^\n]*\n)*", b"", got)
    assert len(got) == sum(len(d) for d in stored.values()), got
    for subject, data in stored.items():
        assert data in got, (subject, data, got)
    # fetchmail deletes what it fetched (no "keep").
    ft.wait_for(lambda: ENV.maildir(OTHER) == [], what="empty Maildir")
    ENV.wait_log(r"pop3\(%s\): Disconnected: Logged out .*del=3/3"
                 % re.escape(OTHER))


def shutil_which(name):
    import shutil
    return shutil.which(name)


def test_no_errors_logged():
    log = ENV.inst.log()
    for bad in ("panic:", "fatal:", "ERROR: AddressSanitizer",
                "runtime error:"):
        assert bad not in log, log
    assert VPASS not in log and OPASS not in log


def main():
    global ENV
    try:
        ENV = Env()
    except ft.SkipTest as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    try:
        ft.run_tests([
            test_greeting_capa_plaintext_refused,
            test_stls,
            test_plaintext_allowed,
            test_login_failures,
            test_auth_plain,
            test_retr_list_top_bytes,
            test_big_message,
            test_slow_reader_outlasts_timeout,
            test_uidl_stable,
            test_dele_quit_and_drop,
            test_in_use,
            test_inactivity,
            test_fetchmail,
            test_no_errors_logged,
        ])
    except SystemExit as e:
        if e.code == 1:  # a failure: show what the servers said
            print("--- maillog (last 80 lines)")
            print("\n".join(ENV.inst.log().splitlines()[-80:]))
        raise
    finally:
        ENV.cleanup()


if __name__ == "__main__":
    main()
