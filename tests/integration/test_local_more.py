#!/usr/bin/env python3
"""local beyond Maildir: |command, /file and :include: alias targets,
.forward, forwarding to other domains through a new queue file, the
Delivered-To: loop check and the to=<target>, orig_to=<alias> log lines.

One private instance (master, qmgr, local) as test_delivery.py; messages
go in with tests/integration/qinject.  The .forward of the invoking user
is read from forward_path = TOP/fwd/$user so that no real home directory
is touched.  Run as root, alias commands and files run as default_privs
(nobody) and root's .forward commands too; as another user, everything
runs as that user.
"""

import glob
import os
import pwd
import re
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402
from agentproto import frame, read_frames, read_qfile  # noqa: E402

ROOT = os.geteuid() == 0
QINJECT = os.path.join(ft.BUILDDIR, "tests", "integration", "qinject")
QMGR = os.path.join(ft.BUILDDIR, "qmgr", "qmgr")
LOCAL = os.path.join(ft.BUILDDIR, "local", "local")
ME = pwd.getpwuid(os.getuid()).pw_name


def mail_owner():
    if not ROOT:
        return None
    try:
        pwd.getpwnam("facteur")
        return "facteur"
    except KeyError:
        return "nobody"


MAIL_OWNER = mail_owner()
NOBODY = pwd.getpwnam("nobody")
# Who runs alias commands: default_privs as root, else ourselves.
PRIV = NOBODY if ROOT else pwd.getpwuid(os.getuid())


class Env:
    def __init__(self):
        self.inst = ft.Instance(name="facteur-localmore")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.out = os.path.join(top, "out")
        self.vmail = os.path.join(top, "vmail")
        self.fwd = os.path.join(top, "fwd")
        for d in (self.out, self.vmail, self.fwd):
            os.makedirs(d)
            os.chmod(d, 0o777 if ROOT else 0o755)
        os.chmod(self.fwd, 0o755)
        ids = "%d:%d" % (NOBODY.pw_uid, NOBODY.pw_gid) if ROOT else ":"
        with open(os.path.join(top, "passwd"), "w") as f:
            f.write("bob@virt.test:{PLAIN}x:%s::%s/bob::\n" % (ids, self.vmail))
            f.write("carol@virt.test:{PLAIN}x:%s::%s/carol::\n" % (ids, self.vmail))
        self.include = os.path.join(top, "list")
        with open(self.include, "w") as f:
            f.write("# the list\ncarol@virt.test\n|echo from-include\n")
        out = self.out
        with open(os.path.join(top, "aliases"), "w") as f:
            f.write("info: bob@virt.test\n")
            f.write("pipe: |env > %s/pipe.env; cat > %s/pipe.in\n" % (out, out))
            f.write("tempfail: |echo try later; exit 75\n")
            f.write("usage: |echo you used it wrong; exit 64\n")
            f.write("died: |echo boom >&2; exit 3\n")
            f.write("slow: |sleep 30\n")
            f.write("mbox: %s/mbox\n" % out)
            f.write("mdir: %s/md/\n" % out)
            f.write("remote: someone@remote.test, other@remote.test, bob@virt.test\n")
            f.write("incl: :include:%s\n" % self.include)
            f.write("loopy: bob@virt.test\n")
        self.inst.write_main_cf(
            "mydestination = example.test\n"
            "virtual_mailbox_domains = virt.test\n"
            "alias_maps = texthash:%s/aliases\n"
            "auth_passwd_file = %s/passwd\n"
            "virtual_mailbox_base = %s\n"
            "forward_path = %s/$$user\n"
            "command_time_limit = 2s\n"
            "recipient_delimiter = +\n"
            "minimal_backoff_time = 100s\n"
            "maximal_backoff_time = 200s\n"
            "queue_run_delay = 100s\n"
            % (top, top, self.vmail, self.fwd)
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        self.inst.write_master_cf(
            "qmgr unix n - n 300 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - 4 %s\n" % (QMGR, LOCAL))
        self.inst.start()
        ft.wait_for(lambda: os.path.exists(
            os.path.join(self.inst.queue_dir, "public", "qmgr")), what="qmgr socket")

    def inject(self, sender, rcpts, content):
        kw = {"user": MAIL_OWNER} if ROOT else {}
        proc = subprocess.run([QINJECT, self.inst.queue_dir, sender] + list(rcpts),
                              input=content, capture_output=True, check=True, **kw)
        return proc.stdout.decode().strip()

    def wait_log(self, pattern, timeout=20):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)

    def mailbox(self, user):
        return sorted(glob.glob(os.path.join(self.vmail, user, "Maildir", "new", "*")))

    def wait_mail(self, user, needle):
        def find():
            for p in self.mailbox(user):
                with open(p, "rb") as f:
                    data = f.read()
                if needle in data:
                    return data
            return None
        return ft.wait_for(find, what="%r for %s" % (needle, user))

    def wait_file(self, path):
        ft.wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0,
                    what=path)
        with open(path, "rb") as f:
            return f.read()

    def queue_file(self, qid):
        for d in ("incoming", "active", "deferred", "hold"):
            for root, _, files in os.walk(os.path.join(self.inst.queue_dir, d)):
                if qid in files:
                    return os.path.join(root, qid)
        return None


ENV = None


def message(marker, extra=""):
    return ("From: alice@example.test\r\n%sSubject: %s\r\n\r\n"
            "Hello.\r\nFrom the start of a line.\r\n" % (extra, marker)).encode()


def test_orig_to_logged():
    qid = ENV.inject("alice@example.test", ["info@example.test"], message("o1"))
    data = ENV.wait_mail("bob", b"Subject: o1")
    assert b"Delivered-To: bob@virt.test\n" in data
    ENV.wait_log(r"%s: to=<bob@virt.test>, orig_to=<info@example.test>, "
                 r"relay=local, delay=[\d.e-]+, delays=[\d.e-]+/0/0/[\d.e-]+, "
                 r"dsn=2.0.0, status=sent \(delivered to maildir\)" % qid)


def test_pipe_environment_and_stdin():
    content = message("p1")
    qid = ENV.inject("alice@example.test", ["pipe+ext@example.test"], content)
    ENV.wait_log(r"%s: to=<pipe\+ext@example.test>, relay=local, .*dsn=2.0.0, "
                 r"status=sent \(delivered to command: env > " % qid)
    with open(os.path.join(ENV.out, "pipe.env")) as f:
        env = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
    assert env["SENDER"] == "alice@example.test", env
    assert env["RECIPIENT"] == "pipe+ext@example.test", env
    assert env["LOCAL"] == "pipe+ext", env
    assert env["DOMAIN"] == "example.test", env
    assert env["EXTENSION"] == "ext", env
    assert env["USER"] == PRIV.pw_name, env
    assert env["HOME"] == PRIV.pw_dir, env
    assert env["SHELL"] == PRIV.pw_shell, env
    assert "PATH" in env
    with open(os.path.join(ENV.out, "pipe.in"), "rb") as f:
        data = f.read()
    first, rest = data.split(b"\n", 1)
    assert re.match(rb"^From alice@example.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$",
                    first), first
    expect = (b"Return-Path: <alice@example.test>\n"
              b"X-Original-To: pipe+ext@example.test\n"
              b"Delivered-To: pipe+ext@example.test\n"
              + content.replace(b"\r\n", b"\n"))
    # Commands get no ">From " quoting and no final empty line.
    assert rest == expect, rest
    if ROOT:
        st = os.stat(os.path.join(ENV.out, "pipe.in"))
        assert st.st_uid == NOBODY.pw_uid, st.st_uid


def test_pipe_exit_codes():
    qid = ENV.inject("alice@example.test", ["usage@example.test"], message("p2"))
    ENV.wait_log(r"%s: to=<usage@example.test>, relay=local, .*dsn=5.3.0, "
                 r"status=bounced \(command line usage error\. Command output: "
                 r"you used it wrong\)" % qid)
    qid = ENV.inject("alice@example.test", ["died@example.test"], message("p3"))
    ENV.wait_log(r"%s: to=<died@example.test>, relay=local, .*dsn=5.3.0, "
                 r"status=bounced \(Command died with status 3: \"echo boom >&2; "
                 r"exit 3\"\. Command output: boom\)" % qid)
    qid = ENV.inject("alice@example.test", ["tempfail@example.test"], message("p4"))
    ENV.wait_log(r"%s: to=<tempfail@example.test>, relay=local, .*dsn=4.3.0, "
                 r"status=deferred \(temporary failure\. Command output: try later\)"
                 % qid)
    ft.wait_for(lambda: ENV.queue_file(qid) and "deferred" in ENV.queue_file(qid),
                what="deferred queue file")
    qid = ENV.inject("alice@example.test", ["slow@example.test"], message("p5"))
    ENV.wait_log(r"%s: to=<slow@example.test>, relay=local, .*dsn=5.3.0, "
                 r"status=bounced \(Command time limit exceeded: \"sleep 30\"\)" % qid,
                 timeout=15)


def test_bounce_has_command_output():
    qid = ENV.inject("carol@virt.test", ["usage@example.test"], message("p6"))
    data = ENV.wait_mail("carol", b"X-Facteur-Queue-ID: " + qid.encode())
    assert b"Status: 5.3.0" in data, data
    assert b"you used it wrong" in data, data


def test_file_mbox():
    for marker in ("f1", "f2"):
        qid = ENV.inject("", ["mbox@example.test"], message(marker))
        ENV.wait_log(r"%s: to=<mbox@example.test>, relay=local, .*dsn=2.0.0, "
                     r"status=sent \(delivered to file: %s/mbox\)" % (qid, ENV.out))
    with open(os.path.join(ENV.out, "mbox"), "rb") as f:
        data = f.read()
    msgs = re.split(rb"(?m)^(?=From MAILER-DAEMON  )", data)
    msgs = [m for m in msgs if m]
    assert len(msgs) == 2, data
    for m, marker in zip(msgs, (b"f1", b"f2")):
        head, rest = m.split(b"\n", 1)
        assert re.match(rb"^From MAILER-DAEMON  \w{3} \w{3} [ \d]\d [\d:]{8} \d{4}$", head)
        assert rest == (b"Return-Path: <>\nX-Original-To: mbox@example.test\n"
                        b"Delivered-To: mbox@example.test\n"
                        b"From: alice@example.test\nSubject: " + marker +
                        b"\n\nHello.\n>From the start of a line.\n\n"), rest
    st = os.stat(os.path.join(ENV.out, "mbox"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    if ROOT:
        assert st.st_uid == NOBODY.pw_uid


def test_file_maildir():
    qid = ENV.inject("alice@example.test", ["mdir@example.test"], message("f3"))
    ENV.wait_log(r"%s: to=<mdir@example.test>, relay=local, .*status=sent "
                 r"\(delivered to maildir: %s/md/\)" % (qid, ENV.out))
    files = glob.glob(os.path.join(ENV.out, "md", "new", "*"))
    assert len(files) == 1, files
    with open(files[0], "rb") as f:
        data = f.read()
    assert data == (b"Return-Path: <alice@example.test>\nDelivered-To: mdir@example.test\n"
                    + message("f3").replace(b"\r\n", b"\n")), data


def test_include_and_restrictions():
    qid = ENV.inject("alice@example.test", ["incl@example.test"], message("i1"))
    data = ENV.wait_mail("carol", b"Subject: i1")
    assert b"Delivered-To: carol@virt.test\n" in data
    ENV.wait_log(r"%s: to=<carol@virt.test>, orig_to=<incl@example.test>, .*"
                 r"status=sent" % qid)
    # allow_mail_to_commands = alias, forward: not from :include: files.
    ENV.wait_log(r"%s: to=<incl@example.test>, relay=local, .*dsn=5.7.1, "
                 r"status=bounced \(mail to command is restricted\)" % qid)


def test_forward_to_other_domain():
    content = message("r1")
    qid = ENV.inject("alice@example.test", ["remote@example.test"], content)
    m = ENV.wait_log(r"%s: to=<someone@remote.test>, orig_to=<remote@example.test>, "
                     r"relay=local, .*dsn=2.0.0, status=sent \(forwarded as (\w+)\)" % qid)
    new = m.group(1)
    ENV.wait_log(r"%s: to=<other@remote.test>, orig_to=<remote@example.test>, .*"
                 r"status=sent \(forwarded as %s\)" % (qid, new))
    ENV.wait_mail("bob", b"Subject: r1")
    # The new message: same sender, the two remote recipients, and the
    # content with Delivered-To: of the alias on top.
    ENV.wait_log(r"%s: from=<alice@example.test>, size=\d+, nrcpt=2" % new)
    ENV.wait_log(r"%s: removed" % qid)
    path = ENV.queue_file(new)
    if path is not None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_smtpd import read_qfile
        q = read_qfile(path)
        assert q["sender"] == "alice@example.test"
        assert sorted(r["addr"] for r in q["rcpts"]) == ["other@remote.test",
                                                          "someone@remote.test"]
        assert q["content"] == b"Delivered-To: remote@example.test\r\n" + content


def test_delivered_to_loop():
    qid = ENV.inject("alice@example.test", ["loopy@example.test"],
                     message("l1", "Delivered-To: LOOPY@example.test\r\n"))
    ENV.wait_log(r"%s: to=<loopy@example.test>, relay=local, .*dsn=5.4.6, "
                 r"status=bounced \(mail forwarding loop for loopy@example.test\)" % qid)
    qid = ENV.inject("alice@example.test", ["bob@virt.test"],
                     message("l2", "X-A: b\r\nDelivered-To:\r\n bob@virt.test\r\n"))
    ENV.wait_log(r"%s: to=<bob@virt.test>, relay=local, .*dsn=5.4.6, "
                 r"status=bounced \(mail forwarding loop for bob@virt.test\)" % qid)
    # Another Delivered-To: is no loop.
    qid = ENV.inject("alice@example.test", ["bob@virt.test"],
                     message("l3", "Delivered-To: someone@else.test\r\n"))
    ENV.wait_mail("bob", b"Subject: l3")


def test_dot_forward():
    path = os.path.join(ENV.fwd, ME)
    with open(path, "w") as f:
        f.write("# my forward\nbob@virt.test, |env > %s/fwd.env; cat > %s/fwd.in\n"
                "%s/fwd.mbox\nfar@remote.test\n" % (ENV.out, ENV.out, ENV.out))
    os.chmod(path, 0o644)
    rcpt = "%s@example.test" % ME
    qid = ENV.inject("alice@example.test", [rcpt], message("d1"))
    ENV.wait_mail("bob", b"Subject: d1")
    ENV.wait_log(r"%s: to=<bob@virt.test>, orig_to=<%s>, relay=local, .*status=sent"
                 % (qid, re.escape(rcpt)))
    ENV.wait_log(r"%s: to=<%s>, relay=local, .*status=sent \(delivered to command: "
                 % (qid, re.escape(rcpt)))
    ENV.wait_log(r"%s: to=<%s>, relay=local, .*status=sent \(delivered to file: "
                 % (qid, re.escape(rcpt)))
    ENV.wait_log(r"%s: to=<far@remote.test>, orig_to=<%s>, .*forwarded as \w+"
                 % (qid, re.escape(rcpt)))
    with open(os.path.join(ENV.out, "fwd.env")) as f:
        env = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
    assert env["RECIPIENT"] == rcpt and env["LOCAL"] == ME, env
    # A user's commands run as the user; root's as default_privs.
    assert env["USER"] == (NOBODY.pw_name if ROOT else ME), env
    data = ENV.wait_file(os.path.join(ENV.out, "fwd.mbox"))
    assert b"Delivered-To: %s\n" % rcpt.encode() in data
    assert data.endswith(b">From the start of a line.\n\n")
    # Unsafe: writable by others.  Bounced, not trusted.
    os.chmod(path, 0o666)
    qid = ENV.inject("alice@example.test", [rcpt], message("d2"))
    ENV.wait_log(r"%s: to=<%s>, relay=local, .*dsn=5.7.1, status=bounced "
                 r"\(unsafe file " % (qid, re.escape(rcpt)))
    os.unlink(path)


def test_dot_forward_loop():
    """A .forward to an alias that points back: the copy that returns is
    caught by its Delivered-To: header, no mail storm."""
    qid = ENV.inject("alice@example.test", ["remote@example.test"],
                     message("x2", "Delivered-To: remote@example.test\r\n"))
    ENV.wait_log(r"%s: to=<remote@example.test>, relay=local, .*dsn=5.4.6, "
                 r"status=bounced \(mail forwarding loop for remote@example.test\)" % qid)


def test_requests_share_one_local_connection():
    """local answers each deliver/1 with its result/1 frames and done/1
    reuse=1, then serves the next request on the same connection, as
    qmgr's agent pool expects; a malformed one ends the connection
    without an answer."""
    active = os.path.join(ENV.inst.queue_dir, "active")
    kw = {"user": MAIL_OWNER} if ROOT else {}
    replay = []
    for i in range(3):
        qid = subprocess.run([QINJECT, "-t", ENV.inst.queue_dir, "alice@example.test",
                              "bob@virt.test"], input=message("replay%d" % i),
                             capture_output=True, check=True, **kw).stdout.decode().strip()
        (src,) = glob.glob(os.path.join(ENV.inst.queue_dir, "incoming", "*", qid))
        os.rename(src, os.path.join(active, qid))
        replay.append(qid)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(os.path.join(ENV.inst.queue_dir, "private", "local"))
    try:
        for i, qid in enumerate(replay):
            q = read_qfile(os.path.join(active, qid))
            ((addr, _, off),) = q["rcpts"]
            c.sendall(frame([("proto", "deliver/1"), ("queue_id", qid),
                             ("queue_file", "active/" + qid), ("sender", q["sender"]),
                             ("nexthop", "virt.test"), ("rcpt_count", "1"),
                             ("rcpt_0", addr), ("rcpt_0_orcpt", ""),
                             ("rcpt_0_offset", str(off))]))
            frames, done = read_frames(c)
            assert done and frames[-1] == {"proto": "done/1", "reuse": "1"}, frames
            (r,) = frames[:-1]
            assert r["proto"] == "result/1" and r["status"] == "sent", r
            assert r["dsn"] == "2.0.0", r
            ENV.wait_mail("bob", b"Subject: replay%d" % i)
        # Not a valid request: closed without an answer.
        c.sendall(frame([("proto", "deliver/1"), ("queue_id", "x")]))
        frames, done = read_frames(c)
        assert frames == [] and not done, frames
    finally:
        c.close()
        for qid in replay:
            try:
                os.unlink(os.path.join(active, qid))
            except FileNotFoundError:
                pass


def main():
    global ENV
    for prog in (QINJECT, QMGR, LOCAL):
        if not os.access(prog, os.X_OK):
            print("SKIP: %s not built" % prog)
            sys.exit(77)
    ENV = Env()
    try:
        ft.run_tests([
            test_orig_to_logged,
            test_pipe_environment_and_stdin,
            test_pipe_exit_codes,
            test_bounce_has_command_output,
            test_file_mbox,
            test_file_maildir,
            test_include_and_restrictions,
            test_forward_to_other_domain,
            test_delivered_to_loop,
            test_dot_forward,
            test_dot_forward_loop,
            test_requests_share_one_local_connection,
        ])
    finally:
        if os.environ.get("KEEP"):
            print("kept", ENV.top)
        else:
            ENV.inst.cleanup()


if __name__ == "__main__":
    main()
