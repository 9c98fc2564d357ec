"""imap-login: the IMAP server before authentication, and the hand-over.

A private instance runs auth, imap-login on three loopback ports (STARTTLS
with plaintext logins refused; implicit TLS; plaintext logins allowed) and,
as the post-login service "imapd", the test program mailecho: it is built
on mail_dispatch_main() exactly like the real imapd, and answers a handed
over session with "TAG OK Logged in as USER uid=N gid=N pid=N tls=... ",
then echoes.  The tests drive imap-login with imaplib and raw sockets.

Run as root, master stays root, imap-login and auth drop to mail_owner =
nobody, the dispatcher stays root and the worker runs as the virtual
user's uid (5000): /proc/PID/status says so.  As an ordinary user,
everything runs as that user.
"""

import base64
import imaplib
import os
import pwd
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
AUTH = os.path.join(ft.BUILDDIR, "auth", "auth")
IMAP_LOGIN = os.path.join(ft.BUILDDIR, "imapd", "imap-login")
MAILECHO = os.path.join(ft.BUILDDIR, "tests", "integration", "mailecho")
USER, PASSWORD = "bob@example.com", "s3cret-Pw!"
VUID = 5000


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=mail.example.test"], check=True,
                   capture_output=True)
    return cert, key


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapInstance:
    def __init__(self, extra_main_cf="", login_args="", extra_master_cf=""):
        for prog in (AUTH, IMAP_LOGIN, MAILECHO):
            if not os.access(prog, os.X_OK):
                raise ft.SkipTest("%s is not built" % prog)
        self.inst = ft.Instance(name="facteur-imap")
        top = self.inst.top
        os.chmod(top, 0o711)
        pwdir = os.path.join(top, "pw")
        os.mkdir(pwdir, 0o755)
        self.passwd = os.path.join(pwdir, "passwd")
        cert, key = make_cert(top)
        self.port = ft.free_port()      # STARTTLS, no plaintext login
        self.tls_port = ft.free_port()  # implicit TLS
        self.plain_port = ft.free_port()  # plaintext login allowed
        self.inst.write_main_cf(
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 1s\n"
            "max_idle = 30s\n"
            "service_throttle_time = 2s\n"
            "imapd_tls_cert_file = %s\n"
            "imapd_tls_key_file = %s\n"
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS "
            "LSAN_OPTIONS\n" % (self.passwd, cert, key)
            + ("mail_owner = nobody\n" if ROOT else "")
            + extra_main_cf)
        self.inst.write_master_cf(
            "auth unix - - n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s %s\n"
            "127.0.0.1:%d inet n - n - - %s -o imapd_tls_wrappermode=yes\n"
            "127.0.0.1:%d inet n - n - - %s "
            "-o imapd_disable_plaintext_auth=no\n"
            "imapd unix - n n - - %s\n"
            % (AUTH, self.port, IMAP_LOGIN, login_args, self.tls_port,
               IMAP_LOGIN, self.plain_port, IMAP_LOGIN, MAILECHO)
            + extra_master_cf)
        home = os.path.join(top, "vmail", "bob")
        os.makedirs(home)
        self.inst.facteur("user", "add", USER, "-p", PASSWORD, "-u",
                          str(VUID), "-g", str(VUID), "-d", home,
                          check=True)
        self.inst.start()
        for port in (self.port, self.tls_port, self.plain_port):
            ft.wait_for(lambda: port_open(port), what="port %d" % port)
        ft.wait_for(lambda: os.path.exists(
            os.path.join(self.inst.queue_dir, "private", "auth")),
            what="private/auth")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        log = self.inst.log()
        self.inst.cleanup()
        if exc_type is None:
            # No crash, abnormal exit or sanitizer abort anywhere.
            for bad in ("panic:", "fatal:", "killed by signal",
                        "exited with status", "exit status"):
                assert bad not in log, "%r in the log:\n%s" % (bad, log)

    def wait_log(self, pattern, timeout=10):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log()),
                           timeout=timeout, what="log %r" % pattern)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Raw:
    """A line-oriented IMAP client on a raw (optionally TLS) socket."""

    def __init__(self, port, tls=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            s = client_ctx().wrap_socket(s)
        self.s = s
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def cmd(self, text):
        """Send one command; return (untagged lines, tagged line)."""
        tag = text.split(" ", 1)[0]
        self.send(text + "\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return untagged, line
            untagged.append(line)

    def closed(self):
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.s.close()


def status_ids(pid):
    """(real uid, real gid) of pid from /proc/PID/status."""
    uid = gid = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
            elif line.startswith("Gid:"):
                gid = int(line.split()[1])
    return uid, gid


def ppid_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def logged_in(text):
    """The fields of mailecho's OK line."""
    m = re.search(r"Logged in as (\S+) uid=(\d+) gid=(\d+) pid=(\d+) "
                  r"tls=(\S+) method=(\S+) maildir=(\S+)", text)
    assert m, "not a mailecho login: %r" % text
    return {"user": m.group(1), "uid": int(m.group(2)),
            "gid": int(m.group(3)), "pid": int(m.group(4)),
            "tls": m.group(5), "method": m.group(6),
            "maildir": m.group(7)}


def check_worker(info):
    """The worker's credentials: the mailbox owner as root, else us."""
    uid, gid = status_ids(info["pid"])
    assert (uid, gid) == (info["uid"], info["gid"]), (uid, gid, info)
    if ROOT:
        assert info["uid"] == VUID and info["gid"] == VUID, info
        # The dispatcher (the worker's parent) stays root.
        assert status_ids(ppid_of(info["pid"]))[0] == 0
    else:
        assert info["uid"] == os.getuid(), info


def login_pids(inst, port=None):
    """Pids of the running imap-login processes (of one port's service:
    master names it with -n 127.0.0.1:PORT)."""
    pids = []
    for pid in ft.children_of(inst.master_pid()):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if not any(a.endswith(b"imap-login") for a in args):
            continue
        if port is None or ("127.0.0.1:%d" % port).encode() in args:
            pids.append(pid)
    return pids


# ------------------------------------------------------------- tests

def test_capability_before_and_after_starttls():
    with ImapInstance() as im:
        m = imaplib.IMAP4("127.0.0.1", im.port)
        greeting = m.welcome.decode()
        assert greeting.startswith("* OK [CAPABILITY "), greeting
        assert greeting.endswith("Facteur ready."), greeting
        caps = m.capabilities
        for cap in ("IMAP4REV2", "IMAP4REV1", "SASL-IR", "LITERAL+", "ID",
                    "ENABLE", "IDLE", "STARTTLS", "LOGINDISABLED"):
            assert cap in caps, (cap, caps)
        assert "AUTH=PLAIN" not in caps, caps
        typ, data = m.capability()
        assert typ == "OK" and b"LOGINDISABLED" in data[0], data
        m.starttls(ssl_context=client_ctx())
        caps = m.capabilities  # imaplib asks CAPABILITY again after TLS
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps, caps
        typ, _ = m.noop()
        assert typ == "OK"
        m.logout()
        # Plaintext pipelined behind STARTTLS is dropped (CVE-2011-0411).
        r = Raw(im.port)
        r.line()
        r.send("s1 STARTTLS\r\ns2 LOGIN injected x\r\n")
        assert r.line() == "s1 OK Begin TLS negotiation now."
        r.s = client_ctx().wrap_socket(r.s)
        _, tagged = r.cmd("s3 NOOP")
        assert tagged == "s3 OK NOOP completed.", tagged
        r.close()
        im.wait_log(r"discarding \d+ bytes of plaintext pipelined after "
                    r"STARTTLS")
        # STARTTLS twice, or without TLS configured, is BAD.
        r = Raw(im.tls_port, tls=True)
        assert "STARTTLS" not in r.line()
        _, tagged = r.cmd("t1 STARTTLS")
        assert tagged.startswith("t1 BAD"), tagged
        r.close()


def test_no_login_before_tls():
    with ImapInstance() as im:
        r = Raw(im.port)
        assert "LOGINDISABLED" in r.line()
        _, tagged = r.cmd("a1 LOGIN %s %s" % (USER, PASSWORD))
        assert tagged.startswith("a1 NO [PRIVACYREQUIRED]"), tagged
        _, tagged = r.cmd("a2 AUTHENTICATE PLAIN %s" % base64.b64encode(
            ("\0%s\0%s" % (USER, PASSWORD)).encode()).decode())
        assert tagged.startswith("a2 NO [PRIVACYREQUIRED]"), tagged
        _, tagged = r.cmd("a3 LOGOUT")
        assert tagged == "a3 OK Logout completed.", tagged
        assert r.closed()
        assert PASSWORD not in im.inst.log()


def test_login_after_starttls_hands_over():
    with ImapInstance() as im:
        m = imaplib.IMAP4("127.0.0.1", im.port)
        m.starttls(ssl_context=client_ctx())
        typ, data = m.login(USER, PASSWORD)
        assert typ == "OK", (typ, data)
        info = logged_in(data[0].decode())
        assert info["user"] == USER and info["tls"] == "yes", info
        assert info["method"] == "PLAIN", info
        assert info["maildir"].endswith("/vmail/bob/Maildir/"), info
        check_worker(info)
        # The relay carries bytes both ways (mailecho echoes them).
        m.send(b"ping over TLS\r\n")
        assert m.readline() == b"ping over TLS\r\n"
        im.wait_log(r"imap-login\[\d+\]: Login: user=<bob@example\.com>, "
                    r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, TLS")
        if ROOT:
            nobody = pwd.getpwnam("nobody").pw_uid
            pids = login_pids(im.inst)
            assert pids, "no imap-login process"
            for pid in pids:
                assert status_ids(pid)[0] == nobody, pid
        m.shutdown()
        assert PASSWORD not in im.inst.log()


def test_implicit_tls_login():
    with ImapInstance() as im:
        m = imaplib.IMAP4_SSL("127.0.0.1", im.tls_port,
                              ssl_context=client_ctx())
        caps = m.capabilities
        assert "STARTTLS" not in caps and "AUTH=PLAIN" in caps, caps
        assert "LOGINDISABLED" not in caps, caps
        typ, data = m.login(USER, PASSWORD)
        assert typ == "OK", data
        info = logged_in(data[0].decode())
        assert info["tls"] == "yes"
        check_worker(info)
        m.shutdown()


def test_authenticate_plain_sasl_ir_and_plain_handover():
    with ImapInstance() as im:
        # SASL-IR on the plaintext port: the socket itself is passed.
        r = Raw(im.plain_port)
        greeting = r.line()
        assert "AUTH=PLAIN" in greeting and "LOGINDISABLED" not in greeting
        ir = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode())
        _, tagged = r.cmd("x1 AUTHENTICATE PLAIN " + ir.decode())
        assert tagged.startswith("x1 OK Logged in as "), tagged
        info = logged_in(tagged)
        assert info["tls"] == "no" and info["method"] == "PLAIN", info
        check_worker(info)
        r.send("echo me\r\n")
        assert r.line() == "echo me"
        r.close()
        # The continuation form, through imaplib, over TLS.
        m = imaplib.IMAP4_SSL("127.0.0.1", im.tls_port,
                              ssl_context=client_ctx())
        typ, data = m.authenticate(
            "PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
        assert typ == "OK" and logged_in(data[0].decode())["tls"] == "yes"
        m.shutdown()
        # AUTHENTICATE LOGIN, and LOGIN with a literal for the password.
        r = Raw(im.plain_port)
        r.line()
        r.send("l1 AUTHENTICATE LOGIN\r\n")
        assert r.line() == "+ VXNlcm5hbWU6"
        r.send(base64.b64encode(USER.encode()) + b"\r\n")
        assert r.line() == "+ UGFzc3dvcmQ6"
        r.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        line = r.line()
        assert line.startswith("l1 OK Logged in as ") and \
            "method=LOGIN" in line, line
        r.close()
        r = Raw(im.plain_port)
        r.line()
        r.send("l2 LOGIN \"%s\" {%d}\r\n" % (USER, len(PASSWORD)))
        assert r.line().startswith("+ ")
        r.send(PASSWORD + "\r\n")
        line = r.line()
        assert line.startswith("l2 OK Logged in as "), line
        r.close()
        # Pipelined behind the login command: relayed, in order.
        r = Raw(im.plain_port)
        r.line()
        r.send("p1 LOGIN %s \"%s\"\r\nafter login\r\n" % (USER, PASSWORD))
        assert r.line().startswith("p1 OK Logged in as ")
        assert r.line() == "after login"
        r.close()
        assert PASSWORD not in im.inst.log()


def test_wrong_password_and_cancel():
    with ImapInstance() as im:
        r = Raw(im.plain_port)
        r.line()
        t = time.monotonic()
        _, tagged = r.cmd("w1 LOGIN %s wrong-password" % USER)
        assert tagged == "w1 NO [AUTHENTICATIONFAILED] " \
            "Authentication failed.", tagged
        assert time.monotonic() - t >= 0.9, "no failure delay"
        # "*" cancels an AUTHENTICATE: BAD (RFC 9051 6.2.2).
        r.send("w2 AUTHENTICATE PLAIN\r\n")
        assert r.line() == "+ "
        r.send("*\r\n")
        assert r.line().startswith("w2 BAD"), "cancel"
        _, tagged = r.cmd("w3 AUTHENTICATE CRAM-MD5")
        assert tagged.startswith("w3 NO"), tagged
        ir = base64.b64encode(b"\0%s\0nope" % USER.encode()).decode()
        _, tagged = r.cmd("w4 AUTHENTICATE PLAIN " + ir)
        assert tagged.startswith("w4 NO [AUTHENTICATIONFAILED]"), tagged
        # The third failure ends the session (imapd_login_failure_limit).
        _, tagged = r.cmd("w5 LOGIN nobody-here x")
        assert tagged.startswith("w5 NO [AUTHENTICATIONFAILED]"), tagged
        assert r.line().startswith("* BYE"), "no BYE"
        assert r.closed()
        im.wait_log(r"Disconnected \(auth failed, 3 attempts\): "
                    r"user=<nobody-here>, rip=127\.0\.0\.1")
        # imaplib sees the failure as an error.
        m = imaplib.IMAP4("127.0.0.1", im.plain_port)
        try:
            m.login(USER, "bad")
            raise AssertionError("login with a bad password succeeded")
        except imaplib.IMAP4.error as e:
            assert "AUTHENTICATIONFAILED" in str(e), e
        m.logout()


def test_garbage_and_overlong_commands():
    with ImapInstance() as im:
        r = Raw(im.port)
        r.line()
        for bad, want in (("\x01\x02 junk", "* BAD"),
                          ("a1", "* BAD Missing command"),
                          ("a2 SELECT INBOX", "a2 BAD"),
                          ("a3 LOGIN onlyone", "a3 BAD"),
                          ("a4 ID (\"a\")", "a4 BAD"),
                          ("a5 NOOP extra", "a5 BAD"),
                          ("a6 LOGIN \"unterminated", "a6 BAD")):
            r.send(bad + "\r\n")
            line = r.line()
            assert line.startswith(want), (bad, line)
        # Longer than the pre-login line limit (8192): BAD, then on.
        r.send("a7 NOOP " + "x" * 20000 + "\r\n")
        line = r.line()
        assert "BAD" in line and "too long" in line.lower(), line
        _, tagged = r.cmd("a8 NOOP")
        assert tagged == "a8 OK NOOP completed.", tagged
        untagged, tagged = r.cmd('a9 ID ("name" "test" "version" NIL)')
        assert untagged == ['* ID ("name" "Facteur")'], untagged
        assert tagged == "a9 OK ID completed.", tagged
        r.close()
        # Too many invalid commands: BYE, and the server stays up.
        r = Raw(im.port)
        r.line()
        for i in range(10):
            r.send("b%d BOGUS\r\n" % i)
        lines = [r.line() for _ in range(11)]
        assert lines[-1].startswith("* BYE"), lines
        assert r.closed()
        m = imaplib.IMAP4("127.0.0.1", im.port)
        assert m.noop()[0] == "OK"
        m.logout()
        # Plaintext on the implicit-TLS port: the handshake fails, the
        # connection closes, the port keeps working.
        r = Raw(im.tls_port)
        r.send("a1 NOOP\r\n")
        assert r.closed()
        im.wait_log(r"Disconnected \(TLS handshaking failed: ")
        m = imaplib.IMAP4_SSL("127.0.0.1", im.tls_port,
                              ssl_context=client_ctx())
        assert m.noop()[0] == "OK"
        m.logout()


def test_handover_failure_and_shutdown_bye():
    # The post-login service named on the command line does not exist.
    with ImapInstance(login_args="nosuchservice") as im:
        m = imaplib.IMAP4("127.0.0.1", im.port)
        m.starttls(ssl_context=client_ctx())
        try:
            m.login(USER, PASSWORD)
            raise AssertionError("login without a post-login service")
        except imaplib.IMAP4.error as e:
            assert "[UNAVAILABLE]" in str(e), e
        im.wait_log(r"hand-over to nosuchservice failed")
        # A session still at the login stage hears BYE when master stops.
        r = Raw(im.port)
        r.line()
        r2 = Raw(im.tls_port, tls=True)
        r2.line()
        im.inst.stop()
        assert r.line() == "* BYE Server shutting down."
        assert r2.line() == "* BYE Server shutting down."


def test_wrong_post_login_service():
    # imap-login pointed at a POP3 service: the dispatcher refuses.
    top = ft.tempfile.mkdtemp(prefix="facteur-pop3echo-")
    os.chmod(top, 0o755)
    link = os.path.join(top, "pop3echo")
    os.symlink(MAILECHO, link)
    try:
        with ImapInstance(login_args="pop3echo",
                          extra_master_cf="pop3echo unix - n n - - %s\n"
                          % link) as im:
            m = imaplib.IMAP4("127.0.0.1", im.port)
            m.starttls(ssl_context=client_ctx())
            try:
                m.login(USER, PASSWORD)
                raise AssertionError("an IMAP session went to pop3echo")
            except imaplib.IMAP4.error as e:
                assert "[UNAVAILABLE]" in str(e), e
            im.wait_log(r"protocol imap sent to service pop3echo")
    finally:
        ft.shutil.rmtree(top, ignore_errors=True)


def test_reload_keeps_logged_in_sessions():
    with ImapInstance() as im:
        r = Raw(im.plain_port)
        r.line()
        _, tagged = r.cmd("r1 LOGIN %s \"%s\"" % (USER, PASSWORD))
        info = logged_in(tagged)
        pre = Raw(im.port)
        pre.line()
        im.inst.facteur("reload", check=True)
        # Not logged in yet: BYE.  Logged in: the worker goes on.
        assert pre.line() == "* BYE Server shutting down."
        time.sleep(0.5)
        r.send("still here\r\n")
        assert r.line() == "still here"
        assert ft.process_alive(info["pid"])
        r.close()
        # The old dispatcher and its worker go once the session ended.
        ft.wait_for(lambda: not ft.process_alive(info["pid"]),
                    what="the old worker to exit")
        m = imaplib.IMAP4("127.0.0.1", im.plain_port)
        assert m.login(USER, PASSWORD)[0] == "OK"
        m.shutdown()


def test_timeouts_and_root_owner_refused():
    with ImapInstance(extra_main_cf="max_idle = 2s\n"
                      "imapd_login_timeout = 2s\n"
                      "imapd_process_session_limit = 1\n") as im:
        # One session per process: a second client gets a second one.
        a, b = Raw(im.port), Raw(im.port)
        assert a.line().startswith("* OK") and b.line().startswith("* OK")
        assert len(login_pids(im.inst, im.port)) == 2, \
            login_pids(im.inst, im.port)
        _, tagged = b.cmd("n1 NOOP")
        assert tagged == "n1 OK NOOP completed."
        a.close()
        b.close()
        # Silent before login for imapd_login_timeout: BYE.
        r = Raw(im.port)
        r.line()
        t = time.monotonic()
        assert r.line() == "* BYE Disconnected for inactivity."
        assert 1.5 <= time.monotonic() - t < 10
        assert r.closed()
        im.wait_log(r"Disconnected \(inactivity\): user=<>")
        if ROOT:
            # A mailbox owned by root is never served.
            home = os.path.join(im.inst.top, "vmail", "toor")
            os.makedirs(home)
            im.inst.facteur("user", "add", "toor@example.com", "-p", "pw",
                            "-u", "0", "-g", "0", "-d", home, check=True)
            r = Raw(im.plain_port)
            r.line()
            _, tagged = r.cmd("z1 LOGIN toor@example.com pw")
            assert tagged.startswith("z1 NO [UNAVAILABLE]"), tagged
            assert r.closed()
            im.wait_log(r"refusing mailbox owner uid 0")
        r = Raw(im.plain_port)
        r.line()
        _, tagged = r.cmd("i1 LOGIN %s \"%s\"" % (USER, PASSWORD))
        first = logged_in(tagged)
        r.close()
        # No session for max_idle: the worker says so and goes.
        ft.wait_for(lambda: not ft.process_alive(first["pid"]),
                    timeout=15, what="the idle worker to exit")
        r = Raw(im.plain_port)
        r.line()
        _, tagged = r.cmd("i2 LOGIN %s \"%s\"" % (USER, PASSWORD))
        second = logged_in(tagged)
        assert second["pid"] != first["pid"], (first, second)
        check_worker(second)
        r.close()


if __name__ == "__main__":
    ft.run_tests([
        test_capability_before_and_after_starttls,
        test_no_login_before_tls,
        test_login_after_starttls_hands_over,
        test_implicit_tls_login,
        test_authenticate_plain_sasl_ir_and_plain_handover,
        test_wrong_password_and_cancel,
        test_garbage_and_overlong_commands,
        test_handover_failure_and_shutdown_bye,
        test_wrong_post_login_service,
        test_reload_keeps_logged_in_sessions,
        test_timeouts_and_root_owner_refused,
    ])
