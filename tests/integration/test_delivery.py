"""Delivery side of inbound mail: qmgr + local into Maildir.

One private instance (master, qmgr, local from the build tree) for all
tests; messages go into incoming/ with tests/integration/qinject (the qfile
writer, then a wakeup of qmgr).  Run as root, master and local stay root,
qmgr runs as mail_owner and every mailbox belongs to "nobody", which checks
local's uid switch; as another user everything runs as that user.
"""

import glob
import os
import pwd
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
QINJECT = os.path.join(ft.BUILDDIR, "tests", "integration", "qinject")
QMGR = os.path.join(ft.BUILDDIR, "qmgr", "qmgr")
LOCAL = os.path.join(ft.BUILDDIR, "local", "local")


def owner():
    """(mail_owner name, mailbox uid, mailbox gid)."""
    if not ROOT:
        return None, os.getuid(), os.getgid()
    try:
        pwd.getpwnam("facteur")
        mo = "facteur"
    except KeyError:
        mo = "nobody"
    nb = pwd.getpwnam("nobody")
    return mo, nb.pw_uid, nb.pw_gid


MAIL_OWNER, MB_UID, MB_GID = owner()


class Env:
    def __init__(self, extra=""):
        self.inst = ft.Instance(name="facteur-delivery")
        top = self.inst.top
        self.top = top
        # Mailboxes of "nobody" and qmgr (mail_owner) must reach below top.
        os.chmod(top, 0o755)
        self.home = os.path.join(top, "home")
        self.vmail = os.path.join(top, "vmail")
        for d in (self.home, self.vmail):
            os.makedirs(d)
            os.chmod(d, 0o777 if ROOT else 0o755)
        ids = "%d:%d" % (MB_UID, MB_GID) if ROOT else ":"
        with open(os.path.join(top, "passwd"), "w") as f:
            f.write("alice@example.test:{PLAIN}x:%s::%s/alice::\n" % (ids, self.home))
            f.write("bob@virt.test:{PLAIN}x:%s::%s/bob::\n" % (ids, self.home))
            f.write("carol@virt.test:{PLAIN}x:%s::::\n" % ids)
        with open(os.path.join(top, "aliases"), "w") as f:
            f.write("info: bob@virt.test, alice\n")
        with open(os.path.join(top, "valias"), "w") as f:
            f.write("sales@virt.test bob@virt.test, carol@virt.test\n")
        self.inst.write_main_cf(
            "mydestination = example.test\n"
            "virtual_mailbox_domains = virt.test\n"
            "alias_maps = texthash:%s/aliases\n"
            "virtual_alias_maps = texthash:%s/valias\n"
            "auth_passwd_file = %s/passwd\n"
            "virtual_mailbox_base = %s\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            "queue_run_delay = 1s\n"
            % (top, top, top, self.vmail) + extra
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        self.inst.write_master_cf(
            "qmgr unix n - n 300 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - 4 %s\n" % (QMGR, LOCAL))
        self.inst.start()
        ft.wait_for(lambda: os.path.exists(
            os.path.join(self.inst.queue_dir, "public", "qmgr")), what="qmgr socket")

    def inject(self, sender, rcpts, content, opts=()):
        kw = {}
        if ROOT:
            kw["user"] = MAIL_OWNER
        proc = subprocess.run(
            [QINJECT] + list(opts) + [self.inst.queue_dir, sender] + list(rcpts),
            input=content, capture_output=True, check=True, **kw)
        return proc.stdout.decode().strip()

    def maildir(self, path):
        return sorted(glob.glob(os.path.join(path, "new", "*")))

    def wait_files(self, path, n, timeout=20):
        return ft.wait_for(lambda: len(self.maildir(path)) >= n and self.maildir(path),
                           timeout=timeout, what="%d files in %s" % (n, path))

    def wait_log(self, pattern, timeout=20):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)

    def queue_files(self, *dirs):
        out = []
        for d in dirs or ("incoming", "active", "deferred"):
            for root, _, files in os.walk(os.path.join(self.inst.queue_dir, d)):
                out += [os.path.join(root, f) for f in files]
        return out


ENV = None
BOB = None
ALICE = None


def message(marker, body="Hello.\r\n"):
    return ("From: alice@example.test\r\nTo: someone\r\nSubject: %s\r\n"
            "\r\n%s" % (marker, body)).encode()


def find_with(path, needle):
    for f in ENV.maildir(path):
        with open(f, "rb") as fh:
            data = fh.read()
        if needle in data:
            return f, data
    return None


def wait_with(path, needle, timeout=20):
    return ft.wait_for(lambda: find_with(path, needle), timeout=timeout,
                       what="%r in %s" % (needle, path))


def test_deliver_virtual():
    content = message("t1") + b"line 2\r\nbare\rcr\r\n"
    qid = ENV.inject("alice@example.test", ["bob@virt.test"], content)
    f, data = wait_with(BOB, b"Subject: t1")
    expect = (b"Return-Path: <alice@example.test>\nDelivered-To: bob@virt.test\n"
              + content.replace(b"\r\n", b"\n"))
    assert data == expect, data
    assert f.endswith(",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))), f
    assert os.listdir(os.path.join(BOB, "tmp")) == []
    st = os.stat(f)
    if ROOT:
        assert (st.st_uid, st.st_gid) == (MB_UID, MB_GID), (st.st_uid, st.st_gid)
    assert st.st_mode & 0o777 == 0o600
    ENV.wait_log(r"%s: removed" % qid)
    log = ENV.inst.log()
    assert re.search(r"%s: from=<alice@example.test>, size=%d, nrcpt=1 \(queue active\)"
                     % (qid, len(content)), log), log
    assert re.search(r"%s: to=<bob@virt.test>, relay=local, delay=[0-9.e-]+, "
                     r"delays=[0-9.e-]+/0/0/[0-9.e-]+, dsn=2.0.0, status=sent "
                     r"\(delivered to maildir\)" % qid, log), log
    assert not [p for p in ENV.queue_files() if qid in p]


def test_unknown_user_bounces_to_sender():
    qid = ENV.inject("alice@example.test", ["nobody-here@virt.test"], message("t2"))
    ENV.wait_log(r"%s: to=<nobody-here@virt.test>, relay=local, .*dsn=5.1.1, "
                 r"status=bounced \(unknown user" % qid)
    f, data = wait_with(ALICE, b"X-Facteur-Queue-ID: " + qid.encode())
    text = data.decode()
    assert text.startswith("Return-Path: <>\nDelivered-To: alice@example.test\n"), text
    assert "From: MAILER-DAEMON@mail.example.test" in text
    assert re.search(r"Content-Type: multipart/report; report-type=delivery-status;", text)
    assert "Content-Type: message/delivery-status" in text
    assert "Final-Recipient: rfc822; nobody-here@virt.test" in text
    assert "Action: failed" in text
    assert "Status: 5.1.1" in text
    assert "Content-Type: message/rfc822" in text
    assert "Subject: t2\n\nHello." in text
    ENV.wait_log(r"%s: removed" % qid)
    assert re.search(r"%s: sender non-delivery notification: \w+" % qid, ENV.inst.log())


def test_bounce_ret_hdrs_and_notify_never():
    qid = ENV.inject("alice@example.test", ["ghost@virt.test"],
                     message("t3", "secret body\r\n"), ["-R", "HDRS"])
    f, data = wait_with(ALICE, b"X-Facteur-Queue-ID: " + qid.encode())
    assert b"Content-Type: text/rfc822-headers" in data
    assert b"Subject: t3" in data and b"secret body" not in data
    qid2 = ENV.inject("alice@example.test", ["ghost2@virt.test"], message("t3b"),
                      ["-N", "never"])
    ENV.wait_log(r"%s: removed" % qid2)
    time.sleep(0.5)
    assert not find_with(ALICE, b"X-Facteur-Queue-ID: " + qid2.encode())
    assert not re.search(r"%s: sender non-delivery" % qid2, ENV.inst.log())


def test_no_bounce_for_a_bounce():
    qid = ENV.inject("", ["ghost3@virt.test"], message("t4"))
    ENV.wait_log(r"%s: to=<ghost3@virt.test>.*status=bounced" % qid)
    ENV.wait_log(r"%s: removed" % qid)
    assert not re.search(r"%s: sender non-delivery" % qid, ENV.inst.log())


def test_alias_maps():
    qid = ENV.inject("carol@virt.test", ["info@example.test"], message("t5"))
    wait_with(BOB, b"Subject: t5")
    f, data = wait_with(ALICE, b"Subject: t5")
    assert b"Delivered-To: alice@example.test\n" in data
    # Each target is logged as Postfix does: to=<target>, orig_to=<alias>.
    for target in ("bob@virt.test", "alice@example.test"):
        ENV.wait_log(r"%s: to=<%s>, orig_to=<info@example.test>, relay=local.*"
                     r"status=sent" % (qid, target))
    ENV.wait_log(r"%s: removed" % qid)


def test_virtual_alias_maps():
    qid = ENV.inject("alice@example.test", ["sales@virt.test"], message("t6"))
    f, data = wait_with(BOB, b"Subject: t6")
    assert b"Delivered-To: bob@virt.test\n" in data
    carol = os.path.join(ENV.vmail, "virt.test", "carol")
    wait_with(carol, b"Subject: t6")
    ENV.wait_log(r"%s: to=<carol@virt.test>, orig_to=<sales@virt.test>, relay=local"
                 % qid)
    ENV.wait_log(r"%s: removed" % qid)


def test_relay_deferred_and_retried():
    # No smtp service in this master.cf: qmgr cannot reach private/smtp.
    qid = ENV.inject("alice@example.test", ["someone@remote.test"], message("t7"))
    ENV.wait_log(r"%s: to=<someone@remote.test>, relay=none, .*dsn=4.3.0, "
                 r"status=deferred \(delivery via smtp failed: delivery agent "
                 r"not available\)" % qid)
    files = ft.wait_for(lambda: [p for p in ENV.queue_files("deferred") if qid in p],
                        what="file in deferred/")
    assert os.path.basename(os.path.dirname(files[0])) != "deferred"  # hashed
    defer_log = os.path.join(ENV.inst.queue_dir, "defer", qid)
    with open(defer_log) as f:
        line = f.readline()
    assert line.startswith("recipient=<someone@remote.test> offset=") and "dsn=4.3.0" in line, line
    # Retried after the backoff (1-2 s here).
    ft.wait_for(lambda: ENV.inst.log().count("%s: to=<someone@remote.test>" % qid) >= 2,
                timeout=15, what="a second attempt")


def test_corrupt_file():
    qid = ENV.inject("alice@example.test", ["bob@virt.test"], message("t8"), ["-t"])
    path = [p for p in ENV.queue_files("incoming") if qid in p][0]
    with open(path, "r+b") as f:
        f.seek(0)
        f.write(b"X")
    if ROOT:
        os.chown(path, pwd.getpwnam(MAIL_OWNER).pw_uid, -1)
    ENV.inject("alice@example.test", ["bob@virt.test"], message("t8b"))
    ft.wait_for(lambda: os.path.exists(os.path.join(ENV.inst.queue_dir, "corrupt", qid)),
                what="file in corrupt/")
    ENV.wait_log(r"%s: corrupt queue file moved to corrupt/" % qid)


def test_resume_active():
    """A file left in active/ (qmgr died) is delivered by the next qmgr."""
    qid = ENV.inject("alice@example.test", ["bob@virt.test"], message("t9"), ["-t"])
    path = [p for p in ENV.queue_files("incoming") if qid in p][0]
    qmgr_pids = [p for p in ft.children_of(ENV.inst.master_pid())
                 if open("/proc/%d/cmdline" % p, "rb").read().startswith(QMGR.encode())]
    os.rename(path, os.path.join(ENV.inst.queue_dir, "active", qid))
    for p in qmgr_pids:
        os.kill(p, signal.SIGKILL)
    # master starts a new qmgr on the next wakeup (a trigger).
    ENV.inject("alice@example.test", ["bob@virt.test"], message("t9b"))
    wait_with(BOB, b"Subject: t9\r\n".replace(b"\r", b""), timeout=90)
    wait_with(BOB, b"Subject: t9b", timeout=30)


def test_kill_local_no_loss():
    n = 15
    ids = []
    for i in range(n):
        ids.append(ENV.inject("alice@example.test", ["bob@virt.test"],
                              message("kill-%d" % i, "x" * 5000 + "\r\n")))
    for _ in range(5):
        for p in ft.children_of(ENV.inst.master_pid()):
            try:
                if open("/proc/%d/cmdline" % p, "rb").read().startswith(LOCAL.encode()):
                    os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    for i in range(n):
        wait_with(BOB, b"Subject: kill-%d\n" % i, timeout=90)
    for f in ENV.maildir(BOB):
        with open(f, "rb") as fh:
            data = fh.read()
        assert f.endswith(",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))), f
        if b"kill-" in data:
            assert data.endswith(b"x" * 5000 + b"\n"), f
    for qid in ids:
        ENV.wait_log(r"%s: removed" % qid, timeout=60)


def test_expiry_returns_to_sender():
    """Past maximal_queue_lifetime a deferred recipient is returned."""
    env = Env("maximal_queue_lifetime = 0s\n")
    try:
        qid = env.inject("alice@example.test", ["far@remote.test"], message("t10"))
        env.wait_log(r"%s: to=<far@remote.test>, relay=none, .*dsn=4.3.0, "
                     r"status=expired, returned to sender" % qid)
        alice = os.path.join(env.home, "alice", "Maildir")
        ft.wait_for(lambda: env.maildir(alice), what="notice")
        with open(env.maildir(alice)[0], "rb") as f:
            data = f.read().decode()
        assert "Final-Recipient: rfc822; far@remote.test" in data, data
        assert "Action: failed" in data and "Status: 4.3.0" in data, data
        env.wait_log(r"%s: removed" % qid)
        assert not env.queue_files("deferred")
    finally:
        env.inst.cleanup()


def test_missing_alias_db_defers():
    """Postfix's default alias_maps without its .db: deferred, logged."""
    env = Env("alias_maps = hash:%s/no-aliases\n" % "/nonexistent")
    try:
        qid = env.inject("carol@virt.test", ["alice@example.test"], message("t11"))
        env.wait_log(r"warning: alias_maps: .*/nonexistent/no-aliases\.db")
        env.wait_log(r"%s: to=<alice@example.test>, relay=local, .*dsn=4.3.0, "
                     r"status=deferred \(alias database unavailable\)" % qid)
        ft.wait_for(lambda: [p for p in env.queue_files("deferred") if qid in p],
                    what="file in deferred/")
        assert not env.maildir(os.path.join(env.home, "alice", "Maildir"))
    finally:
        env.inst.cleanup()


def main():
    global ENV, BOB, ALICE
    for path in (ft.MASTER, QMGR, LOCAL, QINJECT):
        if not os.path.exists(path):
            print("SKIP: %s not built" % path)
            sys.exit(77)
    ENV = Env()
    BOB = os.path.join(ENV.home, "bob", "Maildir")
    ALICE = os.path.join(ENV.home, "alice", "Maildir")
    try:
        ft.run_tests([
            test_deliver_virtual,
            test_unknown_user_bounces_to_sender,
            test_bounce_ret_hdrs_and_notify_never,
            test_no_bounce_for_a_bounce,
            test_alias_maps,
            test_virtual_alias_maps,
            test_relay_deferred_and_retried,
            test_corrupt_file,
            test_resume_active,
            test_kill_local_no_loss,
            test_expiry_returns_to_sender,
            test_missing_alias_db_defers,
        ])
    finally:
        if os.environ.get("KEEP"):
            print("kept", ENV.top)
        else:
            ENV.inst.cleanup()


if __name__ == "__main__":
    main()
