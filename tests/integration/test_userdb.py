"""Only auth reads auth_passwd_file: the userdb service end to end.

One instance runs smtpd, qmgr, local, auth, userdb (the auth program on
private/userdb), imap-login and imapd, the whole instance traced with
strace(1) from its start.  main.cf names a passwd-file that does not
exist; only the auth and userdb lines of master.cf name the real one
(-o auth_passwd_file=...), so smtpd, local and imapd can only know the
virtual users by asking userdb.  As root the real file is also mode 0600
and owned by auth_owner ("daemon"), which is not mail_owner ("nobody").

Checks: RCPT answers 250 for a passwd-file user and 550 5.1.1 for an
unknown one; mail is delivered to the user's home + /Maildir/ and read
back over IMAP; userdb/1 on the wire (home, uid, gid and nothing more;
a frame with an extra attribute closes the connection); with auth and
userdb gone (removed from master.cf, reloaded) RCPT answers 451 4.3.0
(never 550) and local defers (never bounces) a queued message, which is
delivered once auth is back without the userdb line (the clients then
ask private/auth); at the end the trace shows that no process but auth
opened either path.

Skips (exit 77) without strace or when ptrace is not allowed.
"""

import imaplib
import os
import pwd
import re
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
B = ft.BUILDDIR
SMTPD = os.path.join(B, "smtpd", "smtpd")
QMGR = os.path.join(B, "qmgr", "qmgr")
LOCAL = os.path.join(B, "local", "local")
AUTH = os.path.join(B, "auth", "auth")
LOGIN = os.path.join(B, "imapd", "imap-login")
IMAPD = os.path.join(B, "imapd", "imapd")
QINJECT = os.path.join(B, "tests", "integration", "qinject")
VDOM = "virt.test"
VUSER = "vuser@" + VDOM
LATE = "late@" + VDOM  # first looked up while auth is down
PASS = "s3cret"

if ROOT:
    NOBODY = pwd.getpwnam("nobody")
    MB_UID, MB_GID = NOBODY.pw_uid, NOBODY.pw_gid
    AUTH_OWNER = pwd.getpwnam("daemon")
else:
    MB_UID, MB_GID = os.getuid(), os.getgid()


class Env:
    def __init__(self):
        for prog in (SMTPD, QMGR, LOCAL, AUTH, LOGIN, IMAPD, QINJECT):
            if not os.access(prog, os.X_OK):
                raise ft.SkipTest("%s is not built" % prog)
        if subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"],
                          capture_output=True).returncode != 0:
            raise ft.SkipTest("strace is missing or ptrace is not allowed")
        self.p25, self.p143 = ft.free_port(), ft.free_port()
        self.inst = ft.Instance(name="facteur-userdb")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.homes = {}
        lines = []
        for user in (VUSER, LATE):
            home = os.path.join(top, "home", user.split("@")[0])
            os.makedirs(home)
            os.chown(home, MB_UID, MB_GID)
            self.homes[user] = home
            lines.append("%s:{PLAIN}%s:%d:%d::%s::\n" % (
                user, PASS, MB_UID, MB_GID, home))
        self.passwd = os.path.join(top, "secret", "passwd")
        self.bogus = os.path.join(top, "not-here", "passwd")
        os.makedirs(os.path.dirname(self.passwd))
        with open(self.passwd, "w") as f:
            f.write("".join(lines))
        os.chmod(self.passwd, 0o600)
        if ROOT:
            os.chown(self.passwd, AUTH_OWNER.pw_uid, AUTH_OWNER.pw_gid)
            os.chown(os.path.dirname(self.passwd), AUTH_OWNER.pw_uid,
                     AUTH_OWNER.pw_gid)
        self.cert = os.path.join(top, "cert.pem")
        self.key = os.path.join(top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        self.inst.write_main_cf(
            "master_stop_timeout = 3s\n"
            "service_throttle_time = 1s\n"
            "mydestination =\n"
            "virtual_mailbox_domains = %s\n"
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 0s\n"
            "imapd_tls_cert_file = %s\n"
            "imapd_tls_key_file = %s\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            "queue_run_delay = 1s\n"
            % (VDOM, self.bogus, self.cert, self.key)
            + ("mail_owner = nobody\nauth_owner = daemon\n" if ROOT else ""))
        real = "-o auth_passwd_file=%s" % self.passwd
        self.userdb_line = "userdb unix - - n - - %s %s\n" % (AUTH, real)
        self.auth_line = "auth unix - - n - - %s %s\n" % (AUTH, real)
        self.base = (
            "127.0.0.1:%d inet n - n - - %s\n"
            "qmgr unix n - n 2 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s"
            " -o imapd_disable_plaintext_auth=no\n"
            "imapd unix - n n - - %s\n"
            % (self.p25, SMTPD, QMGR, LOCAL, self.p143, LOGIN, IMAPD))
        self.inst.write_master_cf(self.base + self.auth_line +
                                  self.userdb_line)
        # The whole instance under strace, from master's first exec on.
        self.trace = os.path.join(top, "strace.out")
        self.strace = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=open,openat,execve,clone,clone3,fork,vfork",
             "-o", self.trace, ft.FACTEUR, "-c", self.inst.config_dir,
             "start"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ft.wait_for(lambda: os.path.exists(os.path.join(
            self.inst.queue_dir, "public", "qmgr")), timeout=30,
            what="qmgr socket")
        self.wait_socket("private/userdb", True)

    def wait_socket(self, name, present):
        path = os.path.join(self.inst.queue_dir, name)
        ft.wait_for(lambda: os.path.exists(path) == present, timeout=20,
                    what="%s %s" % (name, "present" if present else "gone"))

    def reload(self, master_cf):
        self.inst.write_master_cf(master_cf, userdb=False)
        self.inst.facteur("reload", check=True)

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.p25, timeout=30)
        s.ehlo("client.example")
        assert s.mail("sender@example.org")[0] == 250
        return s

    def maildir_new(self, user):
        d = os.path.join(self.homes[user], "Maildir", "new")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def cleanup(self):
        self.inst.cleanup()
        try:
            self.strace.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.strace.kill()


ENV = None


def test_rcpt_known_and_unknown():
    s = ENV.smtp()
    assert s.rcpt(VUSER)[0] == 250
    code, text = s.rcpt("nobody-here@" + VDOM)
    assert code == 550 and b"5.1.1" in text, (code, text)
    assert b"virtual mailbox table" in text, text
    s.quit()


def test_deliver_and_imap():
    s = ENV.smtp()
    assert s.rcpt(VUSER)[0] == 250
    code, _ = s.data(b"From: sender@example.org\r\nSubject: via userdb\r\n"
                     b"\r\nhello\r\n")
    assert code == 250
    s.quit()
    ft.wait_for(lambda: ENV.maildir_new(VUSER), timeout=20,
                what="delivery to %s/Maildir" % ENV.homes[VUSER])
    if ROOT:
        name = os.path.join(ENV.homes[VUSER], "Maildir", "new",
                            ENV.maildir_new(VUSER)[0])
        assert os.stat(name).st_uid == MB_UID
    m = imaplib.IMAP4("127.0.0.1", ENV.p143, timeout=30)
    m.login(VUSER, PASS)
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1, (typ, data)
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"via userdb" in data[0][1], data
    m.logout()


def test_wire():
    """userdb/1 on the socket: the answer, then a malformed frame."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(ENV.inst.queue_dir, "private", "userdb"))
    s.sendall(agentproto.frame([("proto", "userdb/1"), ("user", VUSER)]))
    frames, reuse = agentproto.read_frames(s)
    assert reuse and len(frames) == 2, frames
    r = frames[0]
    assert r["proto"] == "userdb-result/1" and r["result"] == "ok", r
    assert r["home"] == ENV.homes[VUSER] and r["uid"] == str(MB_UID), r
    assert set(r) == {"proto", "result", "reason", "user", "home", "uid",
                      "gid"}, r
    s.sendall(agentproto.frame([("proto", "userdb/1"), ("user", "Nobody@VIRT.test")]))
    frames, reuse = agentproto.read_frames(s)
    assert frames[0]["result"] == "notfound", frames
    # Strict: an extra attribute ends the connection, unanswered.
    s.sendall(agentproto.frame([("proto", "userdb/1"), ("user", VUSER),
                                ("password", "x")]))
    frames, reuse = agentproto.read_frames(s)
    assert frames == [] and not reuse, frames
    s.close()


def test_auth_down():
    ENV.reload(ENV.base)  # neither auth nor userdb
    ENV.wait_socket("private/userdb", False)
    ENV.wait_socket("private/auth", False)
    time.sleep(2.5)  # past the clients' cache (USERDB_CACHE_TTL)
    s = ENV.smtp()
    for rcpt in ("unknown-x@" + VDOM, VUSER):
        code, text = s.rcpt(rcpt)
        assert code == 451 and b"4.3.0" in text, (rcpt, code, text)
    s.quit()
    ft.wait_for(lambda: re.search(r"reject: RCPT from .*451 4\.3\.0 <%s>"
                                  % re.escape(VUSER), ENV.inst.log()),
                timeout=10, what="the 451 reject line")
    # local defers, never bounces, while auth is away.
    kw = {"user": "nobody"} if ROOT else {}
    qid = subprocess.run(
        [QINJECT, ENV.inst.queue_dir, "sender@example.org", LATE],
        input=b"From: sender@example.org\r\nSubject: late\r\n\r\nlater\r\n",
        capture_output=True, check=True, **kw).stdout.decode().strip()
    ft.wait_for(lambda: re.search(
        r"%s: to=<%s>.*dsn=4\.3\.0, status=deferred \(user database "
        r"unavailable\)" % (re.escape(qid), re.escape(LATE)),
        ENV.inst.log()), timeout=20, what="deferral of %s" % qid)
    assert not ENV.maildir_new(LATE)
    assert "status=bounced" not in ENV.inst.log()
    # auth back, from a master.cf without the userdb line (an upgrade):
    # the clients ask private/auth instead, and the retry delivers.
    ENV.reload(ENV.base + ENV.auth_line)
    ENV.wait_socket("private/auth", True)
    ft.wait_for(lambda: ENV.maildir_new(LATE), timeout=30,
                what="delivery to %s after auth came back" % LATE)
    # The line follows the file: local logs once the rename is done.
    ft.wait_for(lambda: re.search(r"%s: to=<%s>.*status=sent" % (
        re.escape(qid), re.escape(LATE)), ENV.inst.log()), timeout=10,
        what="status=sent line of %s" % qid)
    s = ENV.smtp()
    assert s.rcpt(LATE)[0] == 250
    code, text = s.rcpt("unknown-y@" + VDOM)
    assert code == 550 and b"5.1.1" in text, (code, text)
    s.quit()
    # And the userdb service again.
    ENV.reload(ENV.base + ENV.auth_line + ENV.userdb_line)
    ENV.wait_socket("private/userdb", True)
    s = ENV.smtp()
    code, text = s.rcpt("unknown-z@" + VDOM)
    assert code == 550 and b"5.1.1" in text, (code, text)
    s.quit()


def programs_opening(paths):
    """{program: set of paths} of the traced processes that tried to open
    one of paths, each process named by its last execve (a child that
    did not exec, a dispatcher's worker, is named by its parent's)."""
    prog, exec_pending, opened = {}, {}, {}
    with open(ENV.trace, errors="replace") as f:
        lines = f.read().splitlines()
    for line in lines:
        m = re.match(r"(\d+) +(.*)", line)
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        e = re.match(r'execve\("([^"]+)"', rest)
        if e:
            exec_pending[pid] = os.path.basename(e.group(1))
        if re.search(r"^(execve\(|<\.\.\. execve resumed>).* = 0$", rest):
            prog[pid] = exec_pending.pop(pid, prog.get(pid))
        c = re.search(r"^(?:(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) "
                      r"resumed>).* = (\d+)$", rest)
        if c:
            prog.setdefault(int(c.group(1)), prog.get(pid, "?"))
        o = re.match(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)"', rest)
        if o and o.group(1) in paths:
            opened.setdefault(pid, set()).add(o.group(1))
    out = {}
    for pid, names in opened.items():
        out.setdefault(prog.get(pid, "?"), set()).update(names)
    return out


def test_only_auth_opens_the_file():
    ENV.inst.stop()
    try:
        ENV.strace.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    opened = programs_opening({ENV.passwd, ENV.bogus})
    assert "auth" in opened and ENV.passwd in opened["auth"], \
        "the trace does not show auth reading the file: %r" % opened
    others = {p: v for p, v in opened.items() if p != "auth"}
    assert not others, "opened by others than auth: %r" % others


def main():
    global ENV
    try:
        ENV = Env()
    except ft.SkipTest as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    try:
        ft.run_tests([
            test_rcpt_known_and_unknown,
            test_deliver_and_imap,
            test_wire,
            test_auth_down,
            test_only_auth_opens_the_file,
        ])
    except SystemExit as e:
        if e.code == 1:
            print("--- maillog (last 60 lines)")
            print("\n".join(ENV.inst.log().splitlines()[-60:]))
        raise
    finally:
        ENV.cleanup()


if __name__ == "__main__":
    main()
