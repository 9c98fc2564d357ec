#!/usr/bin/env python3
"""imapd end to end: imap-login and imapd over mail delivered by SMTP.

One instance runs smtpd, qmgr, local and auth (the delivery chain),
imap-login on a plaintext-login port and an implicit-TLS port, and the
post-login imapd service, all from the build tree.  Virtual users come
from a passwd-file made with `facteur user add`.  Mail goes in with smtplib
(and APPEND) and comes out with Python's imaplib, raw sockets and mbsync;
the tests compare what a client sees with what was sent and with the
Maildir on disk: every command of the authenticated and selected states
and every advertised extension, two sessions seeing each other's changes,
IDLE seeing an SMTP delivery, UIDs across a restart, a Maildir made by
Dovecot served in place with its UIDs.

Runs as root (imap-login and the other services drop to "nobody"; imapd's
worker runs as the mailbox owner from the passwd-file) and as an ordinary
user (everything runs as that user).
"""

import glob
import imaplib
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
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
LOGIN = os.path.join(B, "imapd", "imap-login")
IMAPD = os.path.join(B, "imapd", "imapd")
HOST = "mail.example.test"
VDOM = "virtual.test"
VUSER = "vuser@" + VDOM
VPASS = "s3cret Pw"
OLD = "old@" + VDOM  # a Maildir taken over from Dovecot
OLDPASS = "old-Pw"
SYNC = "sync@" + VDOM  # the mbsync account
SYNCPASS = "sync-Pw"

if ROOT:
    NOBODY = pwd.getpwnam("nobody")
    MB_UID, MB_GID = NOBODY.pw_uid, NOBODY.pw_gid
else:
    MB_UID, MB_GID = os.getuid(), os.getgid()

OLD_UIDVALIDITY = 1700000000
OLD_MSGS = [
    (41, "1700000001.M1P1.old.example", "S",
     b"From: a@example.org\nSubject: first\n\nold one\n"),
    (42, "1700000002.M2P1.old.example", "",
     b"From: b@example.org\nSubject: second\n\nold two\n"),
]


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Env:
    def __init__(self):
        for prog in (SMTPD, QMGR, LOCAL, AUTH, LOGIN, IMAPD):
            if not os.access(prog, os.X_OK):
                raise ft.SkipTest("%s is not built" % prog)
        self.p25, self.p143, self.p993 = (ft.free_port() for _ in range(3))
        self.inst = ft.Instance(name="facteur-imapd")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.homes = {}
        for user in (VUSER, OLD, SYNC):
            home = os.path.join(top, "home", user.split("@")[0])
            os.makedirs(home)
            os.chown(home, MB_UID, MB_GID)
            self.homes[user] = home
        self.make_dovecot_maildir(self.homes[OLD])
        self.cert = os.path.join(top, "cert.pem")
        self.key = os.path.join(top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", self.key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"],
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
            "imapd_tls_cert_file = %s\n"
            "imapd_tls_key_file = %s\n"
            "imapd_max_literal_size = 200k\n"
            % (VDOM, self.passwd, self.cert, self.key)
            + ("mail_owner = nobody\n" if ROOT else ""))
        self.master = (
            "127.0.0.1:%d inet n - n - - %s\n"
            "qmgr unix n - n 2 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - - %s\n"
            "auth unix - - n - - %s\n"
            "127.0.0.1:%d inet n - n - - %s"
            " -o imapd_disable_plaintext_auth=no\n"
            "127.0.0.1:%d inet n - n - - %s -o imapd_tls_wrappermode=yes\n"
            "imapd unix - n n - - %s\n"
            % (self.p25, SMTPD, QMGR, LOCAL, AUTH, self.p143, LOGIN,
               self.p993, LOGIN, IMAPD))
        self.inst.write_master_cf(self.master)
        ids = ["-u", str(MB_UID), "-g", str(MB_GID)] if ROOT else []
        for user, pw in ((VUSER, VPASS), (OLD, OLDPASS), (SYNC, SYNCPASS)):
            self.inst.facteur("user", "add", user, "-p", pw, "-d",
                              self.homes[user], *ids, check=True)
        os.chmod(self.passwd, 0o644)
        self.start()

    def make_dovecot_maildir(self, home):
        md = os.path.join(home, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        lines = ["3 V%d N43" % OLD_UIDVALIDITY]
        for uid, base, flags, data in OLD_MSGS:
            with open(os.path.join(md, "cur", base + ":2," + flags),
                      "wb") as f:
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
                     "private/imapd"):
            ft.wait_for(lambda: os.path.exists(os.path.join(
                self.inst.queue_dir, name)), what=name)
        for port in (self.p143, self.p993):
            ft.wait_for(lambda: port_open(port), what="port %d" % port)

    def restart(self):
        self.inst.stop()
        ft.wait_for(lambda: self.inst.master_pid() is None, what="stop")
        self.start()

    def maildir(self, user, folder=""):
        md = os.path.join(self.homes[user], "Maildir",
                          "." + folder if folder else "")
        return sorted(glob.glob(os.path.join(md, "new", "*")) +
                      glob.glob(os.path.join(md, "cur", "*")))

    def stored(self, user, folder=""):
        out = {}
        for path in self.maildir(user, folder):
            with open(path, "rb") as f:
                data = f.read()
            m = re.search(rb"^Subject: (.*)$", data, re.M)
            out[m.group(1).decode() if m else path] = data
        return out

    def deliver(self, user, subject, body="hello\r\n", extra=""):
        data = ("From: Sender <sender@example.org>\r\nTo: <%s>\r\n"
                "Subject: %s\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
                "%s\r\n%s" % (user, subject, extra, body)).encode()
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

    def login(self, user=VUSER, password=VPASS):
        m = imaplib.IMAP4("127.0.0.1", self.p143, timeout=30)
        typ, data = m.login(user, password)
        assert typ == "OK", data
        return m

    def cleanup(self):
        self.inst.cleanup()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


ENV = None


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Raw:
    """A line-oriented IMAP client over a plain socket, logged in."""

    def __init__(self, user=VUSER, password=VPASS):
        self.sock = socket.create_connection(("127.0.0.1", ENV.p143),
                                             timeout=30)
        self.buf = b""
        assert self.line().startswith(b"* OK")
        self.send(b'L LOGIN "%s" "%s"\r\n' % (user.encode(),
                                              password.encode()))
        self.login_reply = self.until(b"L ")

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until(self, tag):
        """Lines up to and including the tagged one (literals inline)."""
        lines = []
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:
                n = int(m.group(1))
                while len(self.buf) < n:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise EOFError(self.buf)
                    self.buf += chunk
                line += b"\r\n" + self.buf[:n]
                self.buf = self.buf[n:]
                line += self.line()
                m = re.search(rb"\{(\d+)\}$", line)
            lines.append(line)
            if line.startswith(tag):
                return lines

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag + b" ")

    def close(self):
        self.sock.close()


def ok(typ_data):
    typ, data = typ_data
    assert typ == "OK", (typ, data)
    return data


def test_login_capability_special_folders():
    r = Raw()
    last = r.login_reply[-1]
    assert re.match(rb"L OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .*\] Logged in$",
                    last), last
    for cap in (b"UIDPLUS", b"MOVE", b"SPECIAL-USE", b"CONDSTORE",
                b"NAMESPACE", b"LITERAL+", b"IDLE", b"UTF8=ACCEPT",
                b"ENABLE", b"ID", b"LIST-EXTENDED", b"LIST-STATUS",
                b"ESEARCH", b"UNSELECT", b"CHILDREN", b"SASL-IR", b"BINARY"):
        assert cap in last.split(b"]")[0].split(b" "), cap
    lines = r.cmd(b"a", b"CAPABILITY")
    assert lines[0].startswith(b"* CAPABILITY IMAP4rev2 IMAP4rev1"), lines
    assert lines[-1] == b"a OK Capability completed.", lines
    lines = r.cmd(b"b", b'LIST "" "*"')
    names = [l for l in lines if l.startswith(b"* LIST")]
    assert b'* LIST (\\HasNoChildren) "." INBOX' in names or \
        b'* LIST (\\HasNoChildren) "." "INBOX"' in names, names
    for name, use in (("Sent", "Sent"), ("Drafts", "Drafts"),
                      ("Junk", "Junk"), ("Trash", "Trash"),
                      ("Archive", "Archive")):
        assert any(("\\" + use).encode() in l and
                   ('"%s"' % name).encode() in l for l in names), names
        assert os.path.isdir(os.path.join(ENV.homes[VUSER], "Maildir",
                                          "." + name, "cur")), name
    assert r.cmd(b"c", b"NOOP")[-1] == b"c OK NOOP completed."
    lines = r.cmd(b"d", b"NAMESPACE")
    assert lines[0] == b'* NAMESPACE (("" ".")) NIL NIL', lines
    lines = r.cmd(b"e", b'ID ("name" "test")')
    assert lines[0].startswith(b"* ID ("), lines
    lines = r.cmd(b"f", b"LOGOUT")
    assert lines[0].startswith(b"* BYE"), lines
    assert lines[-1] == b"f OK Logout completed.", lines
    ENV.wait_log(r"imap\(%s\): Logged out in=\d+ out=\d+" % re.escape(VUSER))
    r.close()


def test_select_fetch_delivered():
    data = ENV.deliver(VUSER, "fetch me", "line one\r\nline two\r\n")
    m = ENV.login()
    typ, d = m.select("INBOX")
    assert typ == "OK" and int(d[0]) >= 1, d
    n = int(d[0])
    typ, d = m.fetch(str(n), "(UID FLAGS RFC822.SIZE INTERNALDATE "
                     "BODY.PEEK[] ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK", d
    meta, body = d[0]
    assert body == crlf(data)[-len(body):] or crlf(data) in body, body
    size = int(re.search(rb"RFC822.SIZE (\d+)", meta).group(1))
    assert size == len(body), (size, len(body))
    stored = ENV.stored(VUSER)["fetch me"]
    assert b"\r" not in stored and crlf(stored) == body
    assert b"\\Seen" not in meta, meta
    assert b'"fetch me"' in meta and b'"TEXT" "PLAIN"' in meta.upper(), meta
    # BODY[] without PEEK sets \Seen, in the file name too.
    typ, d = m.fetch(str(n), "(BODY[TEXT])")
    assert d[0][1] == b"line one\r\nline two\r\n", d
    assert b"\\Seen" in d[0][0] or b"\\Seen" in d[1], d
    assert any(p.endswith("S") for p in ENV.maildir(VUSER)
               if "fetch me" in open(p, "rb").read().decode())
    typ, d = m.fetch(str(n), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] "
                     "BODY.PEEK[]<0.4> BINARY.PEEK[1] BINARY.SIZE[1])")
    assert typ == "OK", d
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in d)
    assert b"Subject: fetch me\r\n\r\n" in flat, flat
    assert b"BINARY[1] {20}line one\r\nline two\r\n" in flat, flat
    assert b"BINARY.SIZE[1] 20" in flat, flat
    typ, d = m.fetch(str(n), "(RFC822.HEADER RFC822.TEXT)")
    assert typ == "OK", d
    typ, d = m.fetch(str(n), "FAST")
    assert typ == "OK" and b"RFC822.SIZE %d" % size in d[0], d
    typ, d = m.fetch(str(n), "ALL")
    assert typ == "OK" and b"ENVELOPE" in d[0], d
    typ, d = m.fetch(str(n), "FULL")
    assert typ == "OK" and b"BODY (" in d[0], d
    m.logout()


def test_append():
    m = ENV.login()
    msg = b"From: me@example.org\r\nSubject: appended\r\n\r\nbody\r\n"
    typ, d = m.append("INBOX", "(\\Flagged \\Seen $Work)",
                      '"17-Jul-1996 02:44:25 -0700"', msg)
    assert typ == "OK", d
    mt = re.search(rb"\[APPENDUID (\d+) (\d+)\]", d[0])
    assert mt, d
    uid = mt.group(2).decode()
    ok(m.select("INBOX"))
    typ, d = m.uid("FETCH", uid, "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK", d
    meta = d[0][0]
    assert b"\\Flagged" in meta and b"\\Seen" in meta and \
        b"$Work" in meta, meta
    assert b'INTERNALDATE "17-Jul-1996 09:44:25 +0000"' in meta or \
        b"1996" in meta, meta
    assert d[0][1] == msg, d
    on_disk = ENV.stored(VUSER)["appended"]
    assert on_disk == msg.replace(b"\r\n", b"\n"), on_disk
    # A large literal arrives in many reads; the bytes come back intact.
    big = b"From: me@example.org\r\nSubject: big append\r\n\r\n" + b"".join(
        b"line %06d %s\r\n" % (i, b"x" * 60) for i in range(2000))
    typ, d = m.append("INBOX", None, None, big)
    assert typ == "OK", d
    buid = re.search(rb"\[APPENDUID \d+ (\d+)\]", d[0]).group(1).decode()
    ok(m.noop())
    typ, d = m.uid("FETCH", buid, "(RFC822.SIZE BODY.PEEK[])")
    assert d[0][1] == big, len(d[0][1])
    assert b"RFC822.SIZE %d" % len(big) in d[0][0], d[0][0]
    # A missing folder: TRYCREATE.
    typ, d = m.append("Nowhere", None, None, msg)
    assert typ == "NO" and b"[TRYCREATE]" in d[0], (typ, d)
    # Into another folder; the message is there afterwards.
    typ, d = m.append("Drafts", "(\\Draft)", None, msg)
    assert typ == "OK" and b"APPENDUID" in d[0], d
    assert "appended" in ENV.stored(VUSER, "Drafts")
    m.logout()
    # LITERAL+ and a literal over imapd_max_literal_size.
    r = Raw()
    lines = r.cmd(b"a", b"APPEND INBOX {%d+}\r\n%s" % (len(msg), msg))
    assert lines[-1].startswith(b"a OK [APPENDUID "), lines
    big = 300 * 1024
    r.send(b"b APPEND INBOX {%d}\r\n" % big)
    line = r.line()
    assert line.startswith(b"b BAD") or line.startswith(b"b NO"), line
    assert r.cmd(b"c", b"NOOP")[-1] == b"c OK NOOP completed."
    r.close()


def test_folders():
    m = ENV.login()
    ok(m.create("Work.Projects"))
    assert os.path.isdir(os.path.join(ENV.homes[VUSER], "Maildir",
                                      ".Work.Projects", "cur"))
    typ, d = m.create("Work.Projects")
    assert typ == "NO" and b"[ALREADYEXISTS]" in d[0], d
    typ, d = m.create("INBOX")
    assert typ == "NO", d
    d = ok(m.list('""', "Work*"))
    assert b'(\\HasChildren) "." "Work"' in d, d
    assert b'(\\HasNoChildren) "." "Work.Projects"' in d, d
    d = ok(m.list('""', "%"))
    assert not any(b"Work.Projects" in x for x in d), d
    d = ok(m.list("Work.", "%"))
    assert d == [b'(\\HasNoChildren) "." "Work.Projects"'], d
    typ, d = m.list('""', '""')
    assert d == [b'(\\Noselect) "." ""'], d
    # mUTF-7 names for an IMAP4rev1 client, on disk as Dovecot has them.
    ok(m.create("Entw&APw-rfe"))
    assert os.path.isdir(os.path.join(ENV.homes[VUSER], "Maildir",
                                      ".Entw&APw-rfe"))
    d = ok(m.list('""', "Entw*"))
    assert d == [b'(\\HasNoChildren) "." "Entw&APw-rfe"'], d
    typ, d = m.create("Bad&-name&AGE-")
    assert typ == "NO", d
    # Subscriptions and LSUB, LIST-EXTENDED.
    ok(m.subscribe("Work.Projects"))
    d = ok(m.lsub('""', "Work*"))
    assert d == [b'() "." "Work.Projects"'], d
    typ, d = m._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"',
                               "RETURN", "(CHILDREN SPECIAL-USE)")
    d = m._untagged_response(typ, d, "LIST")[1]
    assert any(b"\\Subscribed" in x and b"Work.Projects" in x for x in d), d
    assert not any(b'"Work"' in x for x in d), d
    assert any(b"\\Sent" in x for x in d), d
    typ, d = m._simple_command("LIST", '""', '"INBOX"', "RETURN",
                               "(STATUS (MESSAGES UNSEEN))")
    assert typ == "OK", d
    st = m.untagged_responses.pop("STATUS", [])
    m.untagged_responses.pop("LIST", None)
    assert st and re.match(rb'"?INBOX"? \(MESSAGES \d+ UNSEEN \d+\)',
                           st[0]), st
    ok(m.unsubscribe("Work.Projects"))
    assert ok(m.lsub('""', "Work*")) == [None], "still subscribed"
    # RENAME and DELETE.
    ok(m.rename("Work.Projects", "Work.Done"))
    assert os.path.isdir(os.path.join(ENV.homes[VUSER], "Maildir",
                                      ".Work.Done"))
    typ, d = m.rename("Nothing", "Else")
    assert typ == "NO" and b"NONEXISTENT" in d[0], d
    typ, d = m.rename("Work.Done", "Sent")
    assert typ == "NO" and b"ALREADYEXISTS" in d[0], d
    ok(m.delete("Work.Done"))
    typ, d = m.delete("Work.Done")
    assert typ == "NO" and b"NONEXISTENT" in d[0], d
    typ, d = m.delete("INBOX")
    assert typ == "NO", d
    ok(m.delete("Entw&APw-rfe"))
    # UTF-8 names after ENABLE UTF8=ACCEPT.
    typ, d = m.enable("UTF8=ACCEPT")
    assert typ == "OK", d
    # (imaplib would send the name as an atom, which may not hold 8-bit.)
    ok(m.create('"Caf\u00e9"'))
    d = ok(m.list('""', "Caf*"))
    assert d == ['(\\HasNoChildren) "." "Caf\u00e9"'.encode()], d
    assert os.path.isdir(os.path.join(ENV.homes[VUSER], "Maildir",
                                      ".Caf&AOk-"))
    ok(m.delete('"Caf\u00e9"'))
    m.logout()
    # APPEND UTF8 (~{n}) once UTF8=ACCEPT is on (RFC 6855 section 4).
    r = Raw()
    r.cmd(b"a", b"ENABLE UTF8=ACCEPT")
    msg8 = "Subject: caf\u00e9 utf8 append\r\n\r\nb\u00f6dy\r\n".encode()
    lines = r.cmd(b"b", b"APPEND Drafts UTF8 (~{%d+}\r\n%s)"
                  % (len(msg8), msg8))
    assert lines[-1].startswith(b"b OK [APPENDUID "), lines
    assert msg8.replace(b"\r\n", b"\n") in \
        ENV.stored(VUSER, "Drafts").values()
    r.close()
    m = ENV.login()
    m.logout()


def test_rename_inbox():
    ENV.deliver(VUSER, "rename inbox")
    m = ENV.login()
    n_before = int(ok(m.select("INBOX"))[0])
    assert n_before > 0
    m.close()
    ok(m.rename("INBOX", "Saved"))
    assert int(ok(m.select("INBOX"))[0]) == 0
    assert int(ok(m.select("Saved"))[0]) == n_before
    assert "rename inbox" in ENV.stored(VUSER, "Saved")
    m.close()
    ok(m.delete("Saved"))
    m.logout()


def test_status():
    ENV.deliver(VUSER, "status one")
    m = ENV.login()
    typ, d = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN "
                      "DELETED SIZE RECENT HIGHESTMODSEQ)")
    assert typ == "OK", d
    mt = re.match(rb'"?INBOX"? \(MESSAGES (\d+) UIDNEXT (\d+) '
                  rb'UIDVALIDITY (\d+) UNSEEN (\d+) DELETED (\d+) '
                  rb'SIZE (\d+) RECENT (\d+) HIGHESTMODSEQ (\d+)\)', d[0])
    assert mt, d
    n = int(mt.group(1))
    assert n == len(ENV.maildir(VUSER)), (n, ENV.maildir(VUSER))
    assert int(mt.group(4)) >= 1
    size = sum(len(crlf(open(p, "rb").read())) for p in ENV.maildir(VUSER))
    assert int(mt.group(6)) == size, (mt.group(6), size)
    typ, d = m.status("Nowhere", "(MESSAGES)")
    assert typ == "NO", d
    try:
        m.status("INBOX", "(BOGUS)")
        raise AssertionError("STATUS (BOGUS) accepted")
    except imaplib.IMAP4.error as e:
        assert "BAD" in str(e), e
    m.logout()


def test_store_expunge_condstore():
    for i in range(3):
        ENV.deliver(VUSER, "flagme %d" % i)
    r = Raw()
    lines = r.cmd(b"a", b"ENABLE CONDSTORE")
    assert lines[0] == b"* ENABLED CONDSTORE", lines
    lines = r.cmd(b"b", b"SELECT INBOX")
    assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in lines), lines
    assert lines[-1] == b"b OK [READ-WRITE] Select completed.", lines
    n = int([l for l in lines if l.endswith(b" EXISTS")][0].split()[1])
    lines = r.cmd(b"c", b"STORE %d +FLAGS (\\Flagged $Work)" % n)
    assert re.match(rb"\* %d FETCH \(FLAGS \(.*\\Flagged.*\$Work.*\) "
                    rb"MODSEQ \((\d+)\)\)" % n, lines[0]), lines
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert lines[-1] == b"c OK Store completed.", lines
    lines = r.cmd(b"d", b"FETCH %d (FLAGS MODSEQ)" % n)
    assert b"MODSEQ (%d)" % modseq in lines[0], lines
    # UNCHANGEDSINCE older than the message: MODIFIED, nothing changes.
    lines = r.cmd(b"e", b"STORE %d (UNCHANGEDSINCE %d) -FLAGS (\\Flagged)"
                  % (n, modseq - 1))
    assert lines[-1].startswith(b"e OK [MODIFIED %d]" % n), lines
    lines = r.cmd(b"f", b"STORE %d (UNCHANGEDSINCE %d) -FLAGS.SILENT "
                  b"(\\Flagged)" % (n, modseq))
    assert lines[-1] == b"f OK Store completed.", lines
    lines = r.cmd(b"g", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq)
    assert len(lines) == 2 and lines[0].startswith(b"* %d FETCH" % n), lines
    assert b"\\Flagged" not in lines[0] and b"$Work" in lines[0], lines
    # .SILENT without UNCHANGEDSINCE: no FETCH.
    lines = r.cmd(b"h", b"STORE %d:%d +FLAGS.SILENT (\\Deleted)"
                  % (n - 1, n))
    assert lines == [b"h OK Store completed."], lines
    lines = r.cmd(b"i", b"UID SEARCH DELETED")
    uids = lines[0].split()[2:]
    assert len(uids) >= 2, lines
    # UID EXPUNGE of one of them; then EXPUNGE the rest.
    lines = r.cmd(b"j", b"UID EXPUNGE " + uids[-1])
    assert lines == [b"* %d EXPUNGE" % n, b"j OK Expunge completed."], lines
    lines = r.cmd(b"k", b"EXPUNGE")
    assert b"* %d EXPUNGE" % (n - 1) in lines, lines
    assert lines[-1] == b"k OK Expunge completed.", lines
    assert len(ENV.maildir(VUSER)) == n - 2
    # Errors: out of range, bad flags, bad syntax; the session goes on.
    lines = r.cmd(b"l", b"STORE 999 +FLAGS (\\Seen)")
    assert lines[-1].startswith(b"l BAD"), lines
    lines = r.cmd(b"m", b"STORE 1 +FLAGS (\\Bogus)")
    assert lines[-1].startswith(b"m BAD"), lines
    lines = r.cmd(b"n", b"STORE 1 FROBNICATE (\\Seen)")
    assert lines[-1].startswith(b"n BAD"), lines
    assert r.cmd(b"o", b"LOGOUT")[-1] == b"o OK Logout completed."
    r.close()


def test_search():
    ENV.deliver(VUSER, "=?ISO-8859-1?Q?Caf=E9?= search target",
                "Quoted =E8 body with NEEDLE inside\r\n",
                "Content-Type: text/plain; charset=iso-8859-1\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n"
                "X-Tag: special\r\n")
    m = ENV.login()
    n = int(ok(m.select("INBOX"))[0])
    def search(*keys, charset=None):
        typ, d = m.search(charset, *keys)
        assert typ == "OK", (keys, d)
        return [int(x) for x in d[0].split()]
    assert n in search("ALL")
    assert search("ALL") == list(range(1, n + 1))
    assert n in search("SUBJECT", '"search target"')
    assert n in search("BODY", "needle")
    assert n in search("TEXT", "special")
    assert n in search("HEADER", "X-Tag", "spec")
    assert n not in search("HEADER", "X-Tag", "nothing")
    assert n in search("FROM", "sender@example.org")
    assert n in search("TO", "vuser")
    assert n not in search("CC", "vuser")
    assert n not in search("BCC", "x")
    assert n in search("SENTON", "7-Feb-1994")
    assert n in search("SENTBEFORE", "8-Feb-1994")
    assert n in search("SENTSINCE", "1-Jan-1994")
    today = time.strftime("%d-%b-%Y", time.localtime())
    assert n in search("ON", today)
    assert n in search("SINCE", today)
    assert n not in search("BEFORE", today)
    assert n in search("LARGER", "10")
    assert n not in search("SMALLER", "10")
    assert n in search("UNSEEN")
    assert n not in search("SEEN")
    assert n in search("NOT", "SEEN")
    assert n in search("OR", "SEEN", "UNSEEN")
    assert n in search("(UNSEEN UNDELETED)", "UNANSWERED", "UNFLAGGED",
                       "UNDRAFT", "UNKEYWORD", "$Work")
    assert search("%d" % n) == [n]
    assert search("*") == [n]
    assert search("1:*") == list(range(1, n + 1))
    assert n in search("NEW") or n in search("OLD")
    assert search("ANSWERED") == []
    assert search("DRAFT") == []
    assert search("DELETED") == []
    typ, d = m.fetch(str(n), "(UID)")
    uid = int(re.search(rb"UID (\d+)", d[0]).group(1))
    typ, d = m.uid("SEARCH", "UID", str(uid))
    assert d[0] == str(uid).encode(), d
    # UTF-8 search strings as literals: RFC 2047 and QP/Latin-1 undone.
    r = Raw()
    r.cmd(b"s", b"EXAMINE INBOX")
    lines = r.cmd(b"u", b"SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncaf\xc3\xa9")
    assert lines[0].split()[-1] == str(n).encode(), lines
    lines = r.cmd(b"v", b"SEARCH CHARSET UTF-8 BODY {9+}\r\nQuoted \xc3\xa8")
    assert lines[0].split()[-1] == str(n).encode(), lines
    r.close()
    typ, d = m.search("KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in d[0], d
    for keys in (("BOGUS",), ("SINCE", "2000-01-01"), ("OR", "SEEN"),
                 ("UID", "x"), ("LARGER", "big")):
        try:
            m.search(None, *keys)
            raise AssertionError("SEARCH %s accepted" % (keys,))
        except imaplib.IMAP4.error as e:
            assert "BAD" in str(e), e
    # ESEARCH (RFC 4731).
    typ, d = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)",
                               "ALL")
    assert typ == "OK", d
    es = m.untagged_responses.pop("ESEARCH", [])
    assert es and re.search(rb"MIN 1 MAX %d COUNT %d ALL 1:%d" % (n, n, n),
                            es[0]), es
    typ, d = m._simple_command("UID", "SEARCH", "RETURN", "(COUNT)",
                               "MODSEQ", "1")
    assert typ == "OK", d
    es = m.untagged_responses.pop("ESEARCH", [])
    assert es and b" UID COUNT %d" % n in es[0], es
    m.logout()


def test_copy_move():
    ENV.deliver(VUSER, "copy me")
    ENV.deliver(VUSER, "move me")
    m = ENV.login()
    n = int(ok(m.select("INBOX"))[0])
    typ, d = m.copy(str(n - 1), "Archive")
    assert typ == "OK" and re.search(rb"\[COPYUID \d+ \d+ \d+\]", d[0]), d
    assert "copy me" in ENV.stored(VUSER, "Archive")
    assert "copy me" in ENV.stored(VUSER)
    typ, d = m._simple_command("MOVE", str(n), "Trash")
    assert typ == "OK", d
    assert m.untagged_responses.pop("EXPUNGE", None) == [str(n).encode()]
    oks = m.untagged_responses.pop("OK", [])
    assert any(b"COPYUID" in x for x in oks), oks
    assert "move me" in ENV.stored(VUSER, "Trash")
    assert "move me" not in ENV.stored(VUSER)
    typ, d = m.copy("1", "Nowhere")
    assert typ == "NO" and b"[TRYCREATE]" in d[0], d
    # UID MOVE back.
    ok(m.select("Trash"))
    typ, d = m.uid("MOVE", "1:*", "INBOX")
    assert typ == "OK", d
    assert ENV.stored(VUSER, "Trash") == {}
    m.logout()


def test_examine_readonly():
    ENV.deliver(VUSER, "examine me")
    m = ENV.login()
    typ, d = m.select("INBOX", readonly=True)
    assert typ == "OK", d
    n = int(d[0])
    assert "READ-ONLY" in m.untagged_responses, m.untagged_responses
    typ, d = m.fetch(str(n), "(BODY[])")
    assert typ == "OK" and b"\\Seen" not in d[0][0], d
    typ, d = m.fetch(str(n), "(FLAGS)")
    assert b"\\Seen" not in d[0], d
    typ, d = m.store(str(n), "+FLAGS", "(\\Seen)")
    assert typ == "NO" and b"READ-ONLY" in d[0], d
    typ, d = m.expunge()
    assert typ == "NO", d
    ok(m._simple_command("UNSELECT"))
    r = Raw()
    lines = r.cmd(b"a", b"EXAMINE INBOX (CONDSTORE)")
    assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in lines), lines
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox." in lines, lines
    assert lines[-1] == b"a OK [READ-ONLY] Examine completed.", lines
    lines = r.cmd(b"b", b"FETCH 1 (MODSEQ)")
    assert re.match(rb"\* 1 FETCH \(MODSEQ \(\d+\)\)", lines[0]), lines
    lines = r.cmd(b"c", b"SELECT INBOX")
    assert b"* OK [CLOSED] Previous mailbox closed." in lines, lines
    r.close()
    try:
        m.fetch("1", "(FLAGS)")
        raise AssertionError("FETCH without a mailbox accepted")
    except imaplib.IMAP4.error as e:
        assert "No mailbox selected" in str(e), e
    m.logout()


def test_two_sessions():
    for i in range(2):
        ENV.deliver(VUSER, "shared %d" % i)
    a = Raw()
    b = Raw()
    la = a.cmd(b"a1", b"SELECT INBOX")
    n = int([l for l in la if l.endswith(b" EXISTS")][0].split()[1])
    b.cmd(b"b1", b"SELECT INBOX")
    # A flags the last message, B sees it after NOOP.
    a.cmd(b"a2", b"STORE %d +FLAGS (\\Flagged)" % n)
    lines = b.cmd(b"b2", b"NOOP")
    assert any(re.match(rb"\* %d FETCH \(FLAGS \(.*\\Flagged" % n, l)
               for l in lines), lines
    # Never an EXPUNGE during FETCH: B sees it at NOOP.
    a.cmd(b"a3", b"STORE %d +FLAGS (\\Deleted)" % (n - 1))
    a.cmd(b"a4", b"EXPUNGE")
    lines = b.cmd(b"b3", b"FETCH %d (FLAGS)" % (n - 1))
    assert not any(b"EXPUNGE" in l for l in lines), lines
    lines = b.cmd(b"b3b", b"FETCH %d (BODY.PEEK[])" % (n - 1))
    assert lines == [b"b3b NO [EXPUNGEISSUED] Some of the requested "
                     b"messages no longer exist."], lines
    lines = b.cmd(b"b4", b"NOOP")
    assert b"* %d EXPUNGE" % (n - 1) in lines, lines
    # A new message: EXISTS.
    ENV.deliver(VUSER, "shared new")
    lines = b.cmd(b"b5", b"NOOP")
    assert b"* %d EXISTS" % len(ENV.maildir(VUSER)) in lines, lines
    # A deletes the folder B has selected: B is told and let go.
    a.cmd(b"a5", b"CREATE Doomed")
    assert b.cmd(b"b6", b"SELECT Doomed")[-1].startswith(b"b6 OK")
    assert a.cmd(b"a6", b"DELETE Doomed")[-1] == b"a6 OK Delete completed."
    b.send(b"b7 NOOP\r\n")
    lines = []
    try:
        while True:
            lines.append(b.line())
    except (EOFError, OSError):
        pass
    assert lines[0] == b"* BYE Selected mailbox was deleted, have to " \
        b"disconnect.", lines
    a.close()
    b.close()


def test_idle_sees_delivery():
    r = Raw()
    lines = r.cmd(b"a", b"SELECT INBOX")
    n = int([l for l in lines if l.endswith(b" EXISTS")][0].split()[1])
    r.send(b"b IDLE\r\n")
    assert r.line() == b"+ idling"
    t0 = time.monotonic()
    ENV.deliver(VUSER, "idle wakeup")
    delivered = time.monotonic()
    r.sock.settimeout(2.5)
    line = r.line()
    assert line == b"* %d EXISTS" % (n + 1), line
    assert time.monotonic() - delivered < 2.0, time.monotonic() - t0
    r.sock.settimeout(30)
    r.send(b"DONE\r\n")
    lines = r.until(b"b ")
    assert lines[-1] == b"b OK Idle completed.", lines
    # Another session's flag change and expunge while idling.
    other = ENV.login()
    ok(other.select("INBOX"))
    r.send(b"c IDLE\r\n")
    assert r.line() == b"+ idling"
    other.store(str(n + 1), "+FLAGS", "(\\Deleted)")
    r.sock.settimeout(2.5)
    line = r.line()
    assert re.match(rb"\* %d FETCH \(FLAGS \(.*\\Deleted" % (n + 1), line), \
        line
    other.expunge()
    assert r.line() == b"* %d EXPUNGE" % (n + 1)
    r.sock.settimeout(30)
    r.send(b"DONE\r\n")
    assert r.until(b"c ")[-1] == b"c OK Idle completed."
    other.logout()
    r.close()


def test_close_check_enable_rev2():
    ENV.deliver(VUSER, "close me")
    r = Raw()
    lines = r.cmd(b"a", b"SELECT INBOX")
    n = int([l for l in lines if l.endswith(b" EXISTS")][0].split()[1])
    assert r.cmd(b"b", b"CHECK")[-1] == b"b OK Check completed."
    r.cmd(b"c", b"STORE %d +FLAGS.SILENT (\\Deleted)" % n)
    lines = r.cmd(b"d", b"CLOSE")
    assert lines == [b"d OK Close completed."], lines  # no EXPUNGE
    assert "close me" not in ENV.stored(VUSER)
    assert r.cmd(b"e", b"FETCH 1 FLAGS")[-1].startswith(b"e BAD")
    lines = r.cmd(b"f", b"ENABLE IMAP4rev2 CONDSTORE")
    assert lines[0] == b"* ENABLED IMAP4rev2 CONDSTORE", lines
    lines = r.cmd(b"g", b"SELECT INBOX")
    assert not any(l.endswith(b" RECENT") for l in lines), lines
    lines = r.cmd(b"h", b"SEARCH ALL")
    assert lines[0].startswith(b'* ESEARCH (TAG "h") ALL 1'), lines
    lines = r.cmd(b"i", b"UID FETCH 1:* (FLAGS)")
    assert all(b"UID " in l for l in lines[:-1]), lines
    r.close()


def test_errors():
    r = Raw()
    for tag, text, want in (
            (b"a", b"BOGUS", b"a BAD"),
            (b"b", b"FETCH 1 FLAGS", b"b BAD"),
            (b"c", b"LOGIN a b", b"c BAD"),
            (b"d", b"SELECT", b"d BAD"),
            (b"e", b"SELECT Nowhere", b"e NO [NONEXISTENT]"),
            (b"f", b"LIST", b"f BAD"),
            (b"g", b"UID", b"g BAD"),
            (b"h", b"UID FROB 1", b"h BAD"),
            (b"i", b"CREATE \"a..b\"", b"i NO"),
            (b"j", b"STATUS INBOX", b"j BAD"),
            (b"k", b"APPEND INBOX", b"k BAD"),
            (b"l", b"ENABLE", b"l BAD"),
            (b"m", b"SELECT INBOX", b"m OK"),
            (b"n", b"FETCH 1:999999 FLAGS", b"n BAD"),
            (b"o", b"FETCH 1 BODY[0]", b"o BAD"),
            (b"p", b"FETCH x FLAGS", b"p BAD"),
            (b"q", b"SEARCH OR SEEN", b"q BAD"),
            (b"r", b"COPY 1", b"r BAD"),
            (b"s", b"NOOP", b"s OK"),
            (b"v", b"CREATE " + b"a" * 2000, b"v NO"),
            (b"w", b"CREATE {3+}\r\na\xffb", b"w NO"),
            (b"x", b"STORE 1 +FLAGS (\\Seen", b"x BAD"),
            (b"y", b"FETCH 1 (BODY[HEADER.FIELDS (A)]<0.0>)", b"y BAD"),
            (b"z", b"MOVE 1 INBOX", b"z NO")):
        lines = r.cmd(tag, text)
        assert lines[-1].startswith(want), (text, lines)
    # More keywords than Maildir has letters for.
    kws = b" ".join(b"kw%d" % i for i in range(20))
    lines = r.cmd(b"kv", b"STORE 1 +FLAGS.SILENT (" + kws + b")")
    assert lines[-1] == b"kv OK Store completed.", lines
    kws = b" ".join(b"kx%d" % i for i in range(10))
    lines = r.cmd(b"kw", b"STORE 1 +FLAGS (" + kws + b")")
    assert lines[-1] == b"kw NO [LIMIT] Too many keywords (at most 26)", \
        lines
    kws = b" ".join(b"ky%d" % i for i in range(30))
    lines = r.cmd(b"kx", b"STORE 1 +FLAGS (" + kws + b")")
    assert lines[-1] == b"kx BAD Too many keywords", lines
    # A parser error with no tag, and an over-long line.
    r.send(b"\r\n")
    assert r.line().startswith(b"* BAD"), "empty line"
    r.send(b"t NOOP " + b"x" * 70000 + b"\r\n")
    assert r.until(b"t ")[-1].startswith(b"t BAD")
    assert r.cmd(b"u", b"NOOP")[-1] == b"u OK NOOP completed."
    r.close()


def test_dovecot_maildir():
    m = ENV.login(OLD, OLDPASS)
    typ, d = m.select("INBOX")
    assert typ == "OK" and d == [b"2"], d
    uv = m.untagged_responses.get("UIDVALIDITY")
    assert uv == [str(OLD_UIDVALIDITY).encode()], uv
    assert m.untagged_responses.get("UIDNEXT") == [b"43"]
    typ, d = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK", d
    got = [(int(re.search(rb"UID (\d+)", x[0]).group(1)), x)
           for x in d if isinstance(x, tuple)]
    assert [u for u, _ in got] == [41, 42], got
    assert b"\\Seen" in got[0][1][0] and b"\\Seen" not in got[1][1][0]
    assert got[0][1][1] == crlf(OLD_MSGS[0][3])
    ENV.deliver(OLD, "after dovecot")
    ok(m.noop())
    typ, d = m.uid("SEARCH", "ALL")
    assert d[0].split() == [b"41", b"42", b"43"], d
    m.logout()


def test_uids_stable_across_restart():
    ENV.deliver(VUSER, "before restart")
    m = ENV.login()
    ok(m.select("INBOX"))
    uv = m.untagged_responses["UIDVALIDITY"][0]
    typ, d = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    before = [(re.search(rb"UID (\d+)", x[0]).group(1), x[1])
              for x in d if isinstance(x, tuple)]
    m.logout()
    ENV.restart()
    m = ENV.login()
    ok(m.select("INBOX"))
    assert m.untagged_responses["UIDVALIDITY"][0] == uv
    typ, d = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    after = [(re.search(rb"UID (\d+)", x[0]).group(1), x[1])
             for x in d if isinstance(x, tuple)]
    assert before == after, (before, after)
    m.logout()


def test_mbsync():
    if shutil.which("mbsync") is None:
        raise ft.SkipTest("mbsync (isync) is not installed")
    for i in range(3):
        ENV.deliver(SYNC, "sync %d" % i)
    m = ENV.login(SYNC, SYNCPASS)
    ok(m.append("Sent", "(\\Seen)", None,
                b"From: sync@virtual.test\r\nSubject: sent one\r\n\r\nx\r\n"))
    m.logout()
    local = os.path.join(ENV.top, "mbsync-local")
    os.makedirs(local)
    rc = os.path.join(ENV.top, "mbsyncrc")
    with open(rc, "w") as f:
        f.write(
            "IMAPAccount test\nHost 127.0.0.1\nPort %d\nUser %s\n"
            "Pass \"%s\"\nSSLType IMAPS\nCertificateFile %s\n"
            "SystemCertificates no\n\n"
            "IMAPStore remote\nAccount test\n\n"
            "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
            "SubFolders Verbatim\n\n"
            "Channel test\nFar :remote:\nNear :local:\nPatterns *\n"
            "Create Both\nSyncState *\n"
            % (ENV.p993, SYNC, SYNCPASS, ENV.cert, local, local))
    env = dict(os.environ, HOME=ENV.top)
    p = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                       text=True, timeout=120, env=env)
    if "certificate" in p.stderr.lower() and p.returncode != 0:
        raise AssertionError("mbsync TLS: %s" % p.stderr)
    assert p.returncode == 0, (p.stdout, p.stderr)
    got = sorted(glob.glob(os.path.join(local, "INBOX", "cur", "*")) +
                 glob.glob(os.path.join(local, "INBOX", "new", "*")))
    assert len(got) == 3, got
    subjects = sorted(re.search(rb"^Subject: (.*)$", open(g, "rb").read(),
                                re.M).group(1) for g in got)
    assert subjects == [b"sync 0", b"sync 1", b"sync 2"], subjects
    sent = glob.glob(os.path.join(local, "Sent", "cur", "*"))
    assert len(sent) == 1 and sent[0].endswith("S"), sent
    # A flag set locally goes back to the server on the next run.
    path = got[0]
    os.rename(path, path.split(",U=")[0] if False else
              (path + ("F" if ":2," in path else ":2,F")))
    p = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 0, (p.stdout, p.stderr)
    m = ENV.login(SYNC, SYNCPASS)
    ok(m.select("INBOX"))
    typ, d = m.search(None, "FLAGGED")
    assert len(d[0].split()) == 1, d
    m.logout()


def test_idle_memory():
    """Many idle IDLE sessions in one worker: a small cost each, and all
    woken by one delivery."""
    def worker_rss():
        pids = [l.split()[0] for l in subprocess.run(
            ["ps", "-eo", "pid,args"], capture_output=True,
            text=True).stdout.splitlines() if IMAPD in l]
        best = 0
        for pid in pids:
            try:
                with open("/proc/%s/status" % pid) as f:
                    st = f.read()
            except OSError:
                continue
            rss = int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
            best = max(best, rss)
        return best
    warm = [Raw() for _ in range(5)]
    for r in warm:
        r.cmd(b"s", b"SELECT INBOX")
    base = worker_rss()
    count = 100
    conns = []
    for i in range(count):
        r = Raw()
        r.cmd(b"s", b"SELECT INBOX")
        r.send(b"i IDLE\r\n")
        assert r.line() == b"+ idling"
        conns.append(r)
    grown = worker_rss() - base
    per = grown * 1024 / count
    print("idle IDLE session: %d bytes each (RSS %d KiB -> %d KiB)"
          % (per, base, base + grown))
    # ASan quarantines and pads every allocation (the store's view of
    # INBOX is a few hundred of them): allow for it there.  Without
    # sanitizers a session costs about 5 KiB.
    limit = 50 * 1024 * (8 if "fsanitize" in open(
        os.path.join(B, "Makefile")).read() else 1)
    assert per < limit, per
    # One watch for the folder wakes every one of them at one delivery.
    ENV.deliver(VUSER, "wake them all")
    for r in conns:
        r.sock.settimeout(10)
        line = r.line()
        assert line.endswith(b" EXISTS"), line
    for r in conns + warm:
        r.close()


def test_idle_timeout():
    """imapd_idle_timeout without a command, IDLE included: BYE."""
    ENV.inst.write_master_cf(ENV.master.replace(
        IMAPD + "\n", IMAPD + " -o imapd_idle_timeout=2s\n"))
    ENV.restart()
    try:
        r = Raw()
        r.cmd(b"a", b"SELECT INBOX")
        r.send(b"b IDLE\r\n")
        assert r.line() == b"+ idling"
        t0 = time.monotonic()
        r.sock.settimeout(15)
        lines = []
        try:
            while True:
                lines.append(r.line())
        except (EOFError, OSError):
            pass
        assert lines and lines[-1] == b"* BYE Disconnected for inactivity.", \
            lines
        assert 1.5 < time.monotonic() - t0 < 10
        r.close()
        ENV.wait_log(r"imap\(%s\): Disconnected: Inactivity in=\d+ out=\d+"
                     % re.escape(VUSER))
    finally:
        ENV.inst.write_master_cf(ENV.master)
        ENV.restart()


def test_envelope_cache():
    """ENVELOPE comes from FOLDER/facteur-cache once a FETCH rendered it;
    a torn or garbage cache is ignored, never served."""
    m = ENV.login()
    m.create("CacheTest")
    for i in range(3):
        msg = ("From: A <a@example.org>\r\nTo: b@example.org\r\n"
               "Subject: =?utf-8?q?cach=C3=A9_%d?=\r\n"
               "Message-ID: <c%d@example.org>\r\n\r\nbody %d\r\n"
               % (i, i, i))
        typ, _ = m.append("CacheTest", None, None, msg.encode())
        assert typ == "OK"
    m.select("CacheTest")
    typ, want = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE ENVELOPE)")
    assert typ == "OK" and len(want) == 3, want
    m.logout()
    md = os.path.join(ENV.homes[VUSER], "Maildir", ".CacheTest")
    path = os.path.join(md, "facteur-cache")
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"FACTEUR-CACHE 1 "), data
    assert data.count(b"\nE ") == 3 and b"c2@example.org" in data, data

    def fetch():
        m = ENV.login()
        m.select("CacheTest")
        typ, d = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE ENVELOPE)")
        m.logout()
        assert typ == "OK"
        return d

    def evict():
        # A worker keeps the folder it closed last (index, cache):
        # closing another one lets CacheTest go, so that the next
        # session reads the file as changed here.
        m = ENV.login()
        m.select("INBOX")
        m.logout()

    assert fetch() == want
    evict()
    # A record of ours is served: the cache is read, not the files.
    head, _, _ = data.partition(b"\nE ")
    env = b'(NIL "forged" NIL NIL NIL NIL NIL NIL NIL NIL)'
    h = 2166136261
    for c in env:
        h = ((h ^ c) * 16777619) & 0xffffffff
    uid1 = re.search(rb"UID (\d+)", want[0]).group(1)
    forged = head + b"\nE %s 0 0 %d %08x\n%s\n" % (uid1, len(env), h, env)
    with open(path, "wb") as f:
        f.write(forged)
    got = fetch()
    assert b'"forged"' in got[0] and got[1:] == want[1:], got
    # Torn: the tail is cut off and made again; garbage: started again.
    evict()
    with open(path, "wb") as f:
        f.write(data[:-7])
    assert fetch() == want
    evict()
    with open(path, "wb") as f:
        f.write(b"FACTEUR-CACHE 1 x\n" + data)
    assert fetch() == want
    with open(path, "rb") as f:
        again = f.read()
    assert again.startswith(b"FACTEUR-CACHE 1 ") and \
        again.count(b"\nE ") == 3, again
    m = ENV.login()
    m.delete("CacheTest")
    m.logout()


def test_shutdown_bye():
    r = Raw()
    r.cmd(b"a", b"SELECT INBOX")
    ENV.inst.stop()
    r.sock.settimeout(15)
    lines = []
    try:
        while True:
            lines.append(r.line())
    except (EOFError, OSError):
        pass
    assert b"* BYE Server shutting down." in lines, lines
    r.close()
    ft.wait_for(lambda: ENV.inst.master_pid() is None, what="stop")
    ENV.start()


def test_no_errors_logged():
    log = ENV.inst.log()
    for bad in ("panic:", "fatal:", "killed by signal", "exited with status",
                "runtime error", "AddressSanitizer", "LeakSanitizer"):
        assert bad not in log, "%r in the log" % bad
    assert not re.search(r"imapd\[\d+\]: warning", log), \
        re.findall(r".*imapd\[\d+\]: warning.*", log)


def main():
    global ENV
    try:
        ENV = Env()
    except ft.SkipTest as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    try:
        ft.run_tests([
            test_login_capability_special_folders,
            test_select_fetch_delivered,
            test_append,
            test_folders,
            test_rename_inbox,
            test_status,
            test_store_expunge_condstore,
            test_search,
            test_copy_move,
            test_examine_readonly,
            test_two_sessions,
            test_idle_sees_delivery,
            test_close_check_enable_rev2,
            test_errors,
            test_dovecot_maildir,
            test_uids_stable_across_restart,
            test_mbsync,
            test_idle_memory,
            test_idle_timeout,
            test_shutdown_bye,
            test_no_errors_logged,
        ])
    except SystemExit as e:
        if e.code == 1:
            print("--- maillog (last 80 lines)")
            print("\n".join(ENV.inst.log().splitlines()[-80:]))
        raise
    finally:
        ENV.cleanup()


if __name__ == "__main__":
    main()
