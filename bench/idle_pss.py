#!/usr/bin/env python3
"""PSS per idle IMAP session of one build tree, without Dovecot.

    FACTEUR_BUILDDIR=build/dev bench/idle_pss.py [--n 200] [--msgs 5000]
    (--n 10000 works: the client raises its descriptor limit, master
    raises its children's soft limit to the hard one)

Starts a private instance (auth, imap-login, imapd) as the integration
tests do, writes MSGS messages of 4 KB into the user's Maildir new/,
opens N sessions doing LOGIN, SELECT INBOX, IDLE (asyncio) and sums Pss
from /proc/PID/smaps_rollup over the instance's processes before and
after; prints KiB per session.  Then delivers one message and checks
that every session got its EXISTS (all woken by one change).
"""

import argparse
import asyncio
import os
import pwd
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import facteur_test as ft  # noqa: E402
import benchlib  # noqa: E402

B = ft.BUILDDIR
USER, PASS = "u@virtual.test", "pw-idle"


def setup(msgs):
    inst = ft.Instance(name="facteur-idlepss")
    top = inst.top
    home = os.path.join(top, "home", "u")
    md = os.path.join(home, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    body = ("From: a@example.org\nSubject: m\n\n" + "x" * 75 + "\n") * 52
    t = 1700000000
    for i in range(msgs):
        name = "%d.M%dP1Q%d.bench,S=%d" % (t + i, i, i, len(body))
        with open(os.path.join(md, "new", name), "w") as f:
            f.write(body)
    port = ft.free_port()
    inst.write_main_cf(
        "mydestination =\nvirtual_mailbox_domains = virtual.test\n"
        "auth_passwd_file = %s\nauth_failure_delay = 0s\n"
        "imapd_disable_plaintext_auth = no\n"
        % os.path.join(top, "passwd")
        + ("mail_owner = nobody\n" if os.geteuid() == 0 else ""))
    inst.write_master_cf(
        "auth unix - - n - - %s\n"
        "127.0.0.1:%d inet n - n - - %s -o imapd_disable_plaintext_auth=no\n"
        "imapd unix - n n - - %s\n"
        % (os.path.join(B, "auth", "auth"), port,
           os.path.join(B, "imapd", "imap-login"),
           os.path.join(B, "imapd", "imapd")))
    ids = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        ids = ["-u", str(nobody.pw_uid), "-g", str(nobody.pw_gid)]
        os.chmod(top, 0o755)
        for d, dirs, files in os.walk(os.path.join(top, "home")):
            for n in [d] + [os.path.join(d, x) for x in dirs + files]:
                os.chown(n, nobody.pw_uid, nobody.pw_gid)
    inst.facteur("user", "add", USER, "-p", PASS, "-d", home, *ids,
                 check=True)
    os.chmod(os.path.join(top, "passwd"), 0o644)
    inst.start()
    for name in ("private/auth", "private/imapd"):
        ft.wait_for(lambda: os.path.exists(os.path.join(
            inst.queue_dir, name)), what=name)
    time.sleep(0.5)
    return inst, port, md


async def line_with(r, prefix):
    while True:
        line = await r.readline()
        if not line:
            raise EOFError("closed")
        if line.startswith(prefix):
            return line


async def session(port, sem, conns):
    async with sem:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        await r.readline()
        w.write(('a LOGIN "%s" "%s"\r\n' % (USER, PASS)).encode())
        line = await line_with(r, b"a ")
        if not line.startswith(b"a OK"):
            raise RuntimeError(line)
        w.write(b"b SELECT INBOX\r\n")
        await line_with(r, b"b ")
        w.write(b"c IDLE\r\n")
        await line_with(r, b"+ ")
        conns.append((r, w))


async def run(inst, port, md, n):
    sem = asyncio.Semaphore(20)
    conns = []
    # One session first, so that the index exists and the worker is warm.
    await session(port, sem, conns)
    await asyncio.sleep(1)
    pids = benchlib.tree_pids(inst.master_pid())
    before = benchlib.pss_kib(pids)
    await asyncio.gather(*[session(port, sem, conns) for _ in range(n)])
    await asyncio.sleep(2)
    pids = benchlib.tree_pids(inst.master_pid())
    after = benchlib.pss_kib(pids)
    print("sessions=%d procs=%d pss_before_kib=%d pss_after_kib=%d "
          "pss_per_session_kib=%.1f" % (n, len(pids), before, after,
                                        (after - before) / n))
    name = "%d.M1P2Q1.bench,S=10" % int(time.time())
    with open(os.path.join(md, "tmp", name), "w") as f:
        f.write("Subject: x\n\nx\n")
    t0 = time.monotonic()
    os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
    got = await asyncio.gather(*[asyncio.wait_for(line_with(r, b"* "), 20)
                                 for r, _ in conns], return_exceptions=True)
    woken = sum(1 for g in got if isinstance(g, bytes) and b"EXISTS" in g)
    print("woken=%d/%d in %.2fs" % (woken, len(conns), time.monotonic() - t0))
    for r, w in conns:
        w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--msgs", type=int, default=5000)
    a = ap.parse_args()
    # The client holds one descriptor per session (10,000 and more).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    inst, port, md = setup(a.msgs)
    try:
        asyncio.run(run(inst, port, md, a.n))
    finally:
        print(inst.log()[-3000:]) if os.environ.get("SHOWLOG") else None
        inst.cleanup()


if __name__ == "__main__":
    main()
