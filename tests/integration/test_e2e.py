#!/usr/bin/env python3
"""Inbound mail end to end: one instance with every service of master.cf.

smtpd on three ports (plain 25-like, submission with STARTTLS + AUTH,
implicit-TLS submissions), pickup, qmgr, local and auth, all from the build
tree, with a self-signed certificate and a passwd-file made with
`facteur user add`.  Messages go in with smtplib, sendmail and swaks and are
checked byte for byte in the Maildir, with their reply codes and maillog
lines.  Then pflogsumm reads the maillog, and a durability run kill -9s
smtpd, qmgr, local and master while mail flows: every message that got a
250 must arrive, and nothing partial may appear.

Runs as root (services drop to "nobody"; local switches to the mailbox
owner from the passwd-file) and as an ordinary user (everything runs as
that user).
"""

import base64
import email
import glob
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
B = ft.BUILDDIR
SMTPD = os.path.join(B, "smtpd", "smtpd")
PICKUP = os.path.join(B, "pickup", "pickup")
QMGR = os.path.join(B, "qmgr", "qmgr")
LOCAL = os.path.join(B, "local", "local")
AUTH = os.path.join(B, "auth", "auth")
SENDMAIL = os.path.join(B, "cli", "sendmail")
HOST = "mail.example.test"
VDOM = "virtual.test"
LDOM = "local.test"
VUSER = "vuser@" + VDOM
VPASS = "s3cret-Pw"
LUSER = "luser@" + LDOM
LPASS = "l0cal-Pw"
OUTSIDE = "someone@outside.example"

if ROOT:
    NOBODY = pwd.getpwnam("nobody")
    MB_UID, MB_GID = NOBODY.pw_uid, NOBODY.pw_gid
else:
    MB_UID, MB_GID = os.getuid(), os.getgid()


class E2E:
    def __init__(self):
        for prog in (SMTPD, PICKUP, QMGR, LOCAL, AUTH, SENDMAIL):
            if not os.access(prog, os.X_OK):
                raise ft.SkipTest("%s is not built" % prog)
        self.p25, self.p587, self.p465 = (ft.free_port() for _ in range(3))
        self.inst = ft.Instance(name="facteur-e2e")
        top = self.top = self.inst.top
        # nobody (smtpd, qmgr, auth as root) must reach below top.
        os.chmod(top, 0o755)
        self.home = os.path.join(top, "home")
        os.makedirs(self.home)
        self.vhome = os.path.join(self.home, "vuser")
        self.lhome = os.path.join(self.home, "luser")
        for d in (self.vhome, self.lhome):
            os.makedirs(d)
            os.chown(d, MB_UID, MB_GID)
        self.cert = os.path.join(top, "cert.pem")
        self.key = os.path.join(top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=" + HOST],
                       check=True, capture_output=True)
        self.passwd = os.path.join(top, "passwd")
        with open(os.path.join(top, "aliases"), "w") as f:
            f.write("postmaster: %s\nghost: nosuchuser@%s\n" % (VUSER, VDOM))
        self.inst.write_main_cf(
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
            "master_stop_timeout = 3s\n"
            "service_throttle_time = 1s\n"
            "mydestination = %s\n"
            "virtual_mailbox_domains = %s\n"
            "mynetworks = 10.255.255.0/24\n"
            "alias_maps = texthash:%s/aliases\n"
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 0s\n"
            "command_directory = %s\n"
            "smtpd_tls_cert_file = %s\n"
            "smtpd_tls_key_file = %s\n"
            "smtpd_error_sleep_time = 0\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            "queue_run_delay = 1s\n"
            % (LDOM, VDOM, top, self.passwd, os.path.join(B, "cli"),
               self.cert, self.key)
            + ("mail_owner = nobody\n" if ROOT else ""))
        sub = ("-o smtpd_sasl_auth_enable=yes -o smtpd_add_missing_headers=yes"
               " -o smtpd_relay_restrictions=permit_sasl_authenticated,reject")
        self.inst.write_master_cf(
            "127.0.0.1:%d inet n - n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s\n"
            "  -o syslog_name=facteur/submission\n"
            "  -o smtpd_tls_security_level=encrypt %s\n"
            "127.0.0.1:%d inet n - n - - %s\n"
            "  -o syslog_name=facteur/submissions\n"
            "  -o smtpd_tls_wrappermode=yes %s\n"
            "pickup unix n - n 60 1 %s\n"
            "qmgr unix n - n 2 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - - %s\n"
            "auth unix - - n - - %s\n"
            % (self.p25, SMTPD, self.p587, SMTPD, sub, self.p465, SMTPD, sub,
               PICKUP, QMGR, LOCAL, AUTH))
        ids = ["-u", str(MB_UID), "-g", str(MB_GID)] if ROOT else []
        self.inst.facteur("user", "add", VUSER, "-p", VPASS, "-d", self.vhome,
                          *ids, check=True)
        self.inst.facteur("user", "add", LUSER, "-p", LPASS, "-d", self.lhome,
                          *ids, check=True)
        # auth (nobody when root) reads it; so does smtpd's resolver.
        os.chmod(self.passwd, 0o644)
        self.start()

    def start(self):
        self.inst.start()
        for name in ("public/qmgr", "public/pickup", "private/local",
                     "private/auth"):
            ft.wait_for(lambda: os.path.exists(os.path.join(
                self.inst.queue_dir, name)), what=name)

    def maildir(self, home, sub="new"):
        return sorted(glob.glob(os.path.join(home, "Maildir", sub, "*")))

    def find(self, home, needle):
        for path in self.maildir(home):
            with open(path, "rb") as f:
                data = f.read()
            if needle in data:
                return path, data
        return None

    def wait_mail(self, home, needle, timeout=30):
        return ft.wait_for(lambda: self.find(home, needle), timeout=timeout,
                           what="%r in %s" % (needle, home))

    def queue_files(self, *dirs):
        out = []
        for d in dirs or ("maildrop", "incoming", "active", "deferred",
                          "hold", "corrupt"):
            for root, _, files in os.walk(os.path.join(self.inst.queue_dir, d)):
                # tmp.PID.N: a writer's uncommitted file (see tmp_files)
                out += [os.path.join(root, f) for f in files
                        if not f.startswith("tmp.")]
        return out

    def tmp_files(self):
        out = []
        for root, _, files in os.walk(self.inst.queue_dir):
            out += [os.path.join(root, f) for f in files if f.startswith("tmp.")]
        return out

    def wait_log(self, pattern, timeout=30):
        rx = re.compile(pattern, re.M)
        return ft.wait_for(lambda: rx.search(self.inst.log()), timeout=timeout,
                           what="log /%s/" % pattern)

    def wait_queue_empty(self, timeout=30, dirs=()):
        try:
            ft.wait_for(lambda: not self.queue_files(*dirs), timeout=timeout)
        except AssertionError:
            raise AssertionError("queue not empty: %r" % self.queue_files(*dirs))

    def cleanup(self):
        self.inst.cleanup()


ENV = None


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def msg(subject, extra="", body="Hello there.\r\nSecond line.\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n%s\r\n%s"
            % (VUSER, VUSER, subject, extra, body))


def send(port, sender, rcpts, data, tls=None, login=None):
    """One transaction; returns (smtplib client closed, per-rcpt refused,
    the DATA reply)."""
    if tls == "wrapper":
        s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=30, context=client_ctx())
    else:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        s.ehlo("client.example")
        if tls == "starttls":
            s.starttls(context=client_ctx())
            s.ehlo("client.example")
        if login:
            s.login(*login)
        s.mail(sender)
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        code, text = s.data(data.encode())
        s.quit()
        return code, text.decode()
    finally:
        s.close()


def qid_of(text):
    m = re.search(r"queued as (\S+)", text)
    assert m, text
    return m.group(1)


def check_layout(data, sender, rcpt, subject):
    """Return-Path, Delivered-To, Received from smtpd, LF endings."""
    assert data.startswith(("Return-Path: <%s>\nDelivered-To: %s\nReceived: "
                            % (sender, rcpt)).encode()), data[:300]
    assert b"\r" not in data, data
    m = email.message_from_bytes(data)
    assert m["Subject"] == subject, data
    return m


# ------------------------------------------------------------------ tests

def test_smtp_to_virtual():
    # smtplib dot-stuffs: ".dot" goes out as "..dot".
    code, text = send(ENV.p25, "sender@example.org", [VUSER],
                      msg("e2e one", "Message-ID: <one@example.org>\r\n",
                          body="Hello there.\r\n.dot\r\nlast\r\n"))
    assert code == 250 and text.startswith("2.0.0 Ok: queued as "), text
    qid = qid_of(text)
    path, data = ENV.wait_mail(ENV.vhome, b"Subject: e2e one")
    assert len(ENV.maildir(ENV.vhome)) == 1
    assert os.path.basename(path).endswith(",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))), path
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (MB_UID, MB_GID), st
    check_layout(data, "sender@example.org", VUSER, "e2e one")
    # Received: from smtpd, with the queue id and the recipient.
    hdr = data.split(b"\n\n", 1)[0].decode()
    assert re.search(r"\nReceived: from client\.example \(unknown \[127\.0\.0\.1\]\)"
                     r"\n\tby mail\.example\.test \(Facteur\) with ESMTP id %s\n"
                     % qid, hdr), hdr
    assert data.endswith(b"\n\nHello there.\n.dot\nlast\n"), data
    assert ENV.maildir(ENV.vhome, "tmp") == []
    assert ENV.tmp_files() == []
    ENV.wait_log(r"%s: removed" % qid)
    ENV.wait_queue_empty()
    log = ENV.inst.log()
    assert re.search(r" facteur/smtpd\[\d+\]: connect from unknown\[127\.0\.0\.1\]", log), log
    for rx in (r"facteur/smtpd\[\d+\]: %s: client=unknown\[127\.0\.0\.1\]$",
               r"facteur/smtpd\[\d+\]: %s: message-id=<one@example\.org>$",
               r"facteur/qmgr\[\d+\]: %s: from=<sender@example\.org>, size=\d+, "
               r"nrcpt=1 \(queue active\)$",
               r"facteur/local\[\d+\]: %s: to=<vuser@virtual\.test>, relay=local, "
               r"delay=[\d.]+, (delays=[\d./]+, )?dsn=2\.0\.0, status=sent \(",
               r"facteur/qmgr\[\d+\]: %s: removed$"):
        assert re.search(rx % qid, log, re.M), (rx, log)


def test_submission_starttls_auth():
    # AUTH is not offered before STARTTLS, and refused.
    s = smtplib.SMTP("127.0.0.1", ENV.p587, timeout=30)
    s.ehlo("client.example")
    assert not s.has_extn("auth")
    assert s.has_extn("starttls")
    code, text = s.docmd("AUTH", "PLAIN AGZvbwBiYXI=")
    assert (code, text[:5]) == (530, b"5.7.0"), (code, text)
    code, text = s.docmd("MAIL", "FROM:<%s>" % VUSER)
    assert (code, text[:5]) == (530, b"5.7.0"), (code, text)
    s.starttls(context=client_ctx())
    s.ehlo("client.example")
    assert "PLAIN" in s.esmtp_features["auth"], s.esmtp_features
    try:
        s.login(VUSER, "wrong")
        assert False, "wrong password accepted"
    except smtplib.SMTPAuthenticationError as e:
        assert (e.smtp_code, e.smtp_error[:5]) == (535, b"5.7.8"), e
    s.close()
    # Unauthenticated relaying on the plain port is refused.
    s = smtplib.SMTP("127.0.0.1", ENV.p25, timeout=30)
    s.ehlo("client.example")
    s.mail(VUSER)
    code, text = s.rcpt(OUTSIDE)
    assert (code, text[:5]) == (554, b"5.7.1"), (code, text)
    s.quit()
    ENV.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 "
                 r"<someone@outside\.example>: Relay access denied; "
                 r"from=<vuser@virtual\.test> to=<someone@outside\.example> "
                 r"proto=ESMTP helo=<client\.example>$")
    # Authenticated: local delivered (with the added headers), outside
    # deferred (this master.cf has no smtp service: qmgr cannot reach it).
    code, text = send(ENV.p587, VUSER, [VUSER, OUTSIDE],
                      "Subject: e2e two\r\n\r\nbody two\r\n",
                      tls="starttls", login=(VUSER, VPASS))
    assert code == 250, text
    qid = qid_of(text)
    path, data = ENV.wait_mail(ENV.vhome, b"Subject: e2e two")
    hdr = data.split(b"\n\n", 1)[0].decode()
    assert "\nMessage-ID: <%s@%s>\n" % (qid, HOST) in hdr + "\n", hdr
    assert re.search(r"\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", hdr), hdr
    assert re.search(r"with ESMTPSA id %s" % qid, hdr), hdr
    assert data.endswith(b"\n\nbody two\n"), data
    ENV.wait_log(r"facteur/submission/smtpd\[\d+\]: %s: client=unknown\[127\.0\.0\.1\], "
                 r"sasl_method=PLAIN, sasl_username=vuser@virtual\.test$" % qid)
    ENV.wait_log(r"%s: to=<someone@outside\.example>, relay=none, delay=[\d.]+, "
                 r"(delays=[\d./]+, )?dsn=4\.3\.0, status=deferred \(" % qid)
    ft.wait_for(lambda: ENV.queue_files("deferred"), what="deferred file")
    assert [os.path.basename(f) for f in ENV.queue_files()] == [qid], \
        ENV.queue_files()
    out = ENV.inst.facteur("queue", "-p", check=True).stdout
    assert re.search(r"^%s\s+\d+ .* vuser@virtual\.test\n\s*\(.+\)\n\s+someone@outside\.example$"
                     % qid, out, re.M), out
    assert VPASS not in ENV.inst.log()
    ENV.inst.facteur("queue", "-d", qid, check=True)
    ENV.wait_queue_empty()


def test_submissions_implicit_tls_login():
    def login(s, password):
        code, text = s.docmd("AUTH", "LOGIN")
        assert (code, text) == (334, b"VXNlcm5hbWU6"), (code, text)
        code, text = s.docmd(base64.b64encode(LUSER.encode()).decode())
        assert (code, text) == (334, b"UGFzc3dvcmQ6"), (code, text)
        return s.docmd(base64.b64encode(password.encode()).decode())

    s = smtplib.SMTP_SSL("127.0.0.1", ENV.p465, timeout=30, context=client_ctx())
    s.ehlo("client.example")
    assert not s.has_extn("starttls")
    assert "LOGIN" in s.esmtp_features["auth"], s.esmtp_features
    code, text = login(s, "nope")
    assert (code, text[:5]) == (535, b"5.7.8"), (code, text)
    s.quit()
    s = smtplib.SMTP_SSL("127.0.0.1", ENV.p465, timeout=30, context=client_ctx())
    s.ehlo("client.example")
    code, text = login(s, LPASS)
    assert (code, text[:5]) == (235, b"2.7.0"), (code, text)
    s.mail(LUSER)
    assert s.rcpt(VUSER)[0] == 250
    assert s.rcpt(LUSER)[0] == 250
    code, text = s.data(b"Subject: e2e three\r\n\r\nbody three\r\n")
    assert code == 250, text
    qid = qid_of(text.decode())
    s.quit()
    _, data = ENV.wait_mail(ENV.vhome, b"Subject: e2e three")
    check_layout(data, LUSER, VUSER, "e2e three")
    _, data = ENV.wait_mail(ENV.lhome, b"Subject: e2e three")
    check_layout(data, LUSER, LUSER, "e2e three")
    assert b"\nMessage-ID: <%s@%s>\n" % (qid.encode(), HOST.encode()) in data
    ENV.wait_log(r"facteur/submissions/smtpd\[\d+\]: %s: client=unknown\[127\.0\.0\.1\], "
                 r"sasl_method=LOGIN, sasl_username=luser@local\.test$" % qid)
    ENV.wait_log(r"%s: removed" % qid)
    ENV.wait_queue_empty()


def test_sendmail():
    r = subprocess.run([SENDMAIL, "-C", ENV.inst.config_dir, "-f", LUSER, VUSER],
                       input=b"Subject: e2e four\n\nvia sendmail\n",
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r
    _, data = ENV.wait_mail(ENV.vhome, b"Subject: e2e four")
    assert data.startswith(("Return-Path: <%s>\nDelivered-To: %s\nReceived: by %s"
                            % (LUSER, VUSER, HOST)).encode()), data
    assert data.endswith(b"\n\nvia sendmail\n"), data
    m = email.message_from_bytes(data)
    assert m["Message-ID"] and m["Date"] and m["From"], data
    ENV.wait_log(r"facteur/pickup\[\d+\]: \w+: uid=%d from=<luser@local\.test>$"
                 % os.getuid())
    ENV.wait_queue_empty()


def test_unknown_and_bounce():
    s = smtplib.SMTP("127.0.0.1", ENV.p25, timeout=30)
    s.ehlo("client.example")
    s.mail(LUSER)
    code, text = s.rcpt("nobody-here@" + VDOM)
    assert (code, text[:5]) == (550, b"5.1.1"), (code, text)
    code, text = s.rcpt("nobody-here@" + LDOM)
    assert (code, text[:5]) == (550, b"5.1.1"), (code, text)
    s.quit()
    ENV.wait_log(r"facteur/smtpd\[\d+\]: NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: "
                 r"550 5\.1\.1 <nobody-here@local\.test>: Recipient address rejected: "
                 r"User unknown in local recipient table; from=<luser@local\.test> "
                 r"to=<nobody-here@local\.test> proto=ESMTP helo=<client\.example>$")
    # postmaster@local is an alias to the virtual user.
    code, text = send(ENV.p25, "", ["postmaster@" + LDOM],
                      "Subject: e2e postmaster\r\n\r\nhi\r\n")
    assert code == 250
    _, data = ENV.wait_mail(ENV.vhome, b"Subject: e2e postmaster")
    assert data.startswith(b"Return-Path: <>\nDelivered-To: %s\n"
                           % VUSER.encode()), data
    # ghost@local is an alias to an unknown virtual user: accepted, then
    # bounced to the (local) sender.
    code, text = send(ENV.p25, LUSER, ["ghost@" + LDOM],
                      "Subject: e2e ghost\r\n\r\nto nobody\r\n")
    assert code == 250
    qid = qid_of(text)
    _, data = ENV.wait_mail(ENV.lhome, b"Undelivered Mail Returned to Sender")
    assert data.startswith(b"Return-Path: <>\nDelivered-To: %s\n"
                           % LUSER.encode()), data
    m = email.message_from_bytes(data)
    assert m.get_content_type() == "multipart/report", data
    assert m.get_param("report-type") == "delivery-status", data
    parts = [p.get_content_type() for p in m.walk()]
    assert "message/delivery-status" in parts, parts
    assert b"Action: failed" in data and b"Status: 5.1.1" in data, data
    assert b"ghost@local.test" in data, data
    # Logged as Postfix: the alias target, with orig_to the alias.
    ENV.wait_log(r"%s: to=<nosuchuser@virtual\.test>, orig_to=<ghost@local\.test>, "
                 r"relay=local, delay=[\d.]+, "
                 r"(delays=[\d./]+, )?dsn=5\.1\.1, status=bounced "
                 r"\(unknown user: \"nosuchuser@virtual\.test\"\)$" % qid)
    ENV.wait_log(r"%s: sender non-delivery notification: \w+$" % qid)
    ENV.wait_log(r"%s: removed" % qid)
    ENV.wait_queue_empty()


def test_swaks():
    if not shutil.which("swaks"):
        raise ft.SkipTest("swaks is not installed (tests/deps installs it)")
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(ENV.p587),
                        "--tls", "--auth", "PLAIN", "--auth-user", VUSER,
                        "--auth-password", VPASS, "--from", VUSER, "--to", LUSER,
                        "--helo", "swaks.example", "--header", "Subject: e2e swaks"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"<~  250 2\.0\.0 Ok: queued as \w+", r.stdout), r.stdout
    _, data = ENV.wait_mail(ENV.lhome, b"Subject: e2e swaks")
    check_layout(data, VUSER, LUSER, "e2e swaks")
    ENV.wait_queue_empty()


def test_pflogsumm():
    prog = shutil.which("pflogsumm")
    if not prog:
        raise ft.SkipTest("pflogsumm is not installed (tests/deps installs it)")
    ENV.wait_queue_empty()
    time.sleep(0.5)
    # pflogsumm 1.1.5 knows "postfix" and one extra syslog name, which it
    # puts into a regular expression: let it match the submissions one too.
    r = subprocess.run([prog, "--syslog-name=facteur(?:/submissions)?",
                        ENV.inst.maillog], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    totals = {}
    for m in re.finditer(r"^\s+(\d+)\s+(received|delivered|deferred|bounced|rejected)\b",
                         out, re.M):
        totals.setdefault(m.group(2), int(m.group(1)))
    # received: one, two, three, ghost, postmaster by smtpd (five), four by
    # pickup, swaks: 7.  delivered: one, two (local), three (x2), four,
    # postmaster, the bounce, swaks: 8.  deferred: two (outside).
    # bounced: ghost.
    want = {"received": 7, "delivered": 8, "deferred": 1, "bounced": 1}
    got = {k: totals.get(k) for k in want}
    assert got == want, (got, out)
    assert re.search(r"^\s+3\s+rejected \(", out, re.M), out


# -------------------------------------------------------------- durability

def queue_pids(names):
    """Children of master running one of the programs in names."""
    mpid = ENV.inst.master_pid()
    if not mpid:
        return []
    out = []
    for pid in ft.children_of(mpid):
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            continue
        if os.path.basename(exe) in names:
            out.append(pid)
    return out


def test_durability():
    total, nthreads = 300, 6
    accepted = {}            # test id -> queue id
    lock = threading.Lock()
    counter = iter(range(total))
    stop = threading.Event()
    kills = {"smtpd": 0, "qmgr": 0, "local": 0, "master": 0}
    start_time = time.time()

    def sender():
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            tid = "d%04d" % n
            try:
                s = smtplib.SMTP("127.0.0.1", ENV.p25, timeout=20)
                s.ehlo("client.example")
                s.mail("sender@example.org")
                s.rcpt(VUSER)
                code, text = s.data(("Subject: %s\r\nX-Test-Id: %s\r\n\r\n"
                                     "body of %s\r\nEND %s\r\n"
                                     % (tid, tid, tid, tid)).encode())
                if code == 250:
                    with lock:
                        accepted[tid] = qid_of(text.decode())
                try:
                    s.quit()
                except (OSError, smtplib.SMTPException):
                    pass
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)
            # A bounded pace, so that the killer gets its turns.
            time.sleep(0.02)

    def killer():
        rnd = random.Random(4242)
        while not stop.wait(rnd.uniform(0.05, 0.2)):
            # The least killed of those running now, so that each one
            # dies several times whatever master has restarted yet.
            running = {n: queue_pids([n]) for n in ("smtpd", "qmgr", "local")}
            running = {n: p for n, p in running.items() if p}
            if not running:
                continue
            name = min(running, key=lambda n: (kills[n], rnd.random()))
            for pid in running[name]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills[name] += 1
                except OSError:
                    pass

    threads = [threading.Thread(target=sender) for _ in range(nthreads)]
    k = threading.Thread(target=killer)
    for t in threads + [k]:
        t.start()
    # Once, in the middle: master itself; its children follow it.
    ft.wait_for(lambda: len(accepted) >= total // 3, timeout=90,
                what="a third of the messages accepted")
    mpid = ENV.inst.master_pid()
    os.kill(mpid, signal.SIGKILL)
    kills["master"] += 1
    ft.wait_for(lambda: not ft.process_alive(mpid), what="master gone")
    ft.wait_for(lambda: not any(ft.process_alive(p) for p in queue_pids(
        ["smtpd", "qmgr", "local", "pickup", "auth"])), what="children gone")
    time.sleep(0.5)
    ENV.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    k.join()
    assert all(not t.is_alive() for t in threads)
    print("durability: %d of %d accepted, kills %r" % (len(accepted), total, kills))
    assert len(accepted) >= total // 2, len(accepted)
    assert kills["smtpd"] and kills["qmgr"] and kills["local"], kills

    # The queue drains (qmgr wakeup 2s, deferred retry after 1-2s).
    ENV.wait_queue_empty(timeout=90)
    seen = {}
    for path in ENV.maildir(ENV.vhome):
        with open(path, "rb") as f:
            data = f.read()
        m = re.search(rb"\nX-Test-Id: (d\d{4})\n", data)
        if not m:
            continue
        tid = m.group(1).decode()
        # complete: ends with its body's last line, size in the name right
        assert data.endswith(("\n\nbody of %s\nEND %s\n" % (tid, tid)).encode()), \
            (path, data)
        assert os.path.basename(path).endswith(",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))), path
        seen[tid] = seen.get(tid, 0) + 1
    missing = sorted(set(accepted) - set(seen))
    assert not missing, ("lost after 250", missing[:20],
                         [accepted[t] for t in missing[:20]])
    dups = sum(n - 1 for n in seen.values())
    print("durability: %d delivered, %d duplicates" % (len(seen), dups))
    # Partial deliveries stay in tmp/; none may be older than the run's end
    # minus the run (they are at most what a killed local left behind).
    for path in ENV.maildir(ENV.vhome, "tmp"):
        assert os.stat(path).st_mtime >= start_time, path
    assert ENV.queue_files() == [], ENV.queue_files()
    # What a killed smtpd was writing (tmp.PID.N in incoming/, never a
    # valid queue id) is removed by qmgr's next scan.  The kills above
    # leave such files only by chance (a kill during DATA; the commit
    # renames before it fsyncs, so a kill in the fsync leaves the final
    # name), so one more writer is killed here for certain: a child that
    # creates its tmp.PID.0 as smtpd does and dies by SIGKILL.
    incoming = os.path.join(ENV.inst.queue_dir, "incoming")
    writer = subprocess.Popen([sys.executable, "-c",
                               "import os, signal, sys; "
                               "open(os.path.join(sys.argv[1], 'tmp.%d.0' % os.getpid()), 'w').write('V'); "
                               "os.kill(os.getpid(), signal.SIGKILL)", incoming])
    writer.wait()
    assert os.path.exists(os.path.join(incoming, "tmp.%d.0" % writer.pid))
    ft.wait_for(lambda: not ENV.tmp_files(), timeout=20,
                what="stale temporary files removed")
    assert re.search(r"facteur/qmgr\[\d+\]: removed stale temporary file "
                     r"\S+/incoming/tmp\.\d+\.\d+$", ENV.inst.log(), re.M)
    ENV.inst.facteur("queue", "-p", check=True)


if __name__ == "__main__":
    try:
        ENV = E2E()
    except ft.SkipTest as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    try:
        ft.run_tests([
            test_smtp_to_virtual,
            test_submission_starttls_auth,
            test_submissions_implicit_tls_login,
            test_sendmail,
            test_unknown_and_bounce,
            test_swaks,
            test_pflogsumm,
            test_durability,
        ])
    finally:
        if os.environ.get("FACTEUR_KEEP"):
            print("kept:", ENV.top)
        else:
            ENV.cleanup()
