#!/usr/bin/env python3
"""Reading mail: Facteur's imapd/pop3d beside Dovecot, in the same run.

    bench_read.py BASE seed [--n 5000] [--direct]
        deliver N x 4 KB messages to user2 through each server's own SMTP
        (Postfix 2525 -> Dovecot's Maildir, Facteur 2526 -> Facteur's) and
        keep a copy of new/ as BASE/seed-NAME for the cold runs; --direct
        writes the same messages straight into new/ (tmp/ then rename,
        as an LDA does, with ",S=" and ",W=" in the names): 50,000 in
        seconds, and without an MTA
    bench_read.py BASE imap [--cold] [--reps 3]
        (a) imaplib: LOGIN, SELECT INBOX, UID FETCH 1:* (FLAGS RFC822.SIZE
        ENVELOPE), UID FETCH 1:* (BODY[]); --cold restores the Maildir from
        the seed first (files in new/, no index of either server)
    bench_read.py BASE pop3 [--reps 3]
        (b) poplib: USER/PASS, STAT, RETR 1..N, QUIT
    bench_read.py BASE logins [--n 2000] [--par 50]
        (c) LOGIN + LOGOUT on fresh connections, par at a time: logins/s
    bench_read.py BASE idle [--n 1000] [--par 50]
        (d) N connections LOGIN, SELECT INBOX, IDLE; PSS of the server's
        process tree before and after, per connection

Dovecot listens on 1143/1110, Facteur on 1144/1111 (bench/facteur_up.sh).
--only facteur|dovecot measures one side alone; --facteur-ports IMAP,POP3
and --dovecot-ports IMAP,POP3 move them (an instance started with
facteur_up.sh's IMAP_PORT/POP3_PORT beside another run).
Each measurement waits for a quiet machine and records the CPU of the
server's process tree.  Ratios are Facteur / Dovecot.
"""

import argparse
import asyncio
import imaplib
import json
import os
import poplib
import resource
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

USER, PASS = "user2", "pass2"


def servers(base, a=None):
    all_ = _servers(base)
    if a is not None:
        for s in all_:
            ports = getattr(a, s["name"] + "_ports")
            if ports:
                imap, pop3 = (int(x) for x in ports.split(","))
                s.update(imap=imap, pop3=pop3)
        if a.only:
            all_ = [s for s in all_ if s["name"] == a.only]
    return all_


def _servers(base):
    return [
        dict(name="dovecot", imap=1143, pop3=1110, smtp=2525,
             pidfile=os.path.join(base, "dovecot/run/master.pid"),
             maildir=os.path.join(base, "mail/example.test", USER), owner="vmail"),
        dict(name="facteur", imap=1144, pop3=1111, smtp=2526,
             pidfile=os.path.join(base, "facteur/var/lib/facteur/master.pid"),
             maildir=os.path.join(base, "facteur/mail/example.test", USER),
             owner="vmail" if os.getuid() == 0 else None),
    ]


def master_pid(s):
    with open(s["pidfile"]) as f:
        return int(f.read().split()[0])


def empty_maildir(d):
    """Leave d as a Maildir never opened: empty new/cur/tmp, nothing else
    (no index, no folders such as the .Junk a first login creates)."""
    for e in os.scandir(d):
        if e.name in ("new", "cur", "tmp") and e.is_dir(follow_symlinks=False):
            for f in os.scandir(e.path):
                os.unlink(f.path)
        elif e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path)
        else:
            os.unlink(e.path)


def direct_message(i, size):
    """Message i of the seed: about size bytes, LF line ends, the
    headers smtp-source writes plus a Message-ID."""
    head = ("Return-Path: <bench@example.test>\n"
            "Delivered-To: %s@example.test\n"
            "Received: from client.example.test (localhost [127.0.0.1])\n"
            "\tby mx.example.test with ESMTP id %08X;\n"
            "\tMon, 7 Dec 2026 12:00:00 +0000\n"
            "From: <bench@example.test>\n"
            "To: <%s@example.test>\n"
            "Date: Mon, 7 Dec 2026 12:00:00 +0000\n"
            "Message-ID: <%d.seed@client.example.test>\n"
            "Subject: seed message %d\n\n" % (USER, i, USER, i, i))
    line = "La de da de da %d.\n" % i
    body = line * max(1, (size - len(head)) // len(line))
    return (head + body).encode()


def seed_direct(n, maildir, owner):
    new, tmp = os.path.join(maildir, "new"), os.path.join(maildir, "tmp")
    uid = gid = None
    if owner:
        import pwd
        pw = pwd.getpwnam(owner)
        uid, gid = pw.pw_uid, pw.pw_gid
    t = int(time.time()) - n
    for i in range(n):
        data = direct_message(i, 4096)
        name = "%d.M%dP%d.seed,S=%d,W=%d" % (t + i, i, os.getpid(), len(data),
                                            len(data) + data.count(b"\n"))
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        if uid is not None:
            os.chown(p, uid, gid)
        os.utime(p, (t + i, t + i))
        os.rename(p, os.path.join(new, name))


def seed(a, base):
    for s in servers(base, a):
        empty_maildir(s["maildir"])
        if a.direct:
            seed_direct(a.n, s["maildir"], s["owner"])
        else:
            subprocess.run(["smtp-source", "-d", "-s", "10", "-m", str(a.n), "-l", "4096",
                           "-M", "client.example.test", "-f", "bench@example.test",
                           "-t", USER + "@example.test", "127.0.0.1:%d" % s["smtp"]], check=True)
        new = os.path.join(s["maildir"], "new")
        deadline = time.monotonic() + 300
        while len(os.listdir(new)) < a.n and time.monotonic() < deadline:
            time.sleep(0.1)
        copy = os.path.join(base, "seed-" + s["name"])
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(new, copy)
        print("seeded %d messages for %s" % (len(os.listdir(copy)), s["name"]))


def restore(base, s):
    empty_maildir(s["maildir"])
    subprocess.run(["cp", "-p", "-r", "-T", os.path.join(base, "seed-" + s["name"]),
                    os.path.join(s["maildir"], "new")], check=True)
    for d in ("cur", "tmp"):
        os.makedirs(os.path.join(s["maildir"], d), exist_ok=True)
    if s["owner"]:
        subprocess.run(["chown", "-R", "%s:%s" % (s["owner"], s["owner"]), s["maildir"]],
                       check=True)
    subprocess.run(["sync"])


def measured(s, fn):
    benchlib.wait_quiet()
    pid = master_pid(s)
    s0 = benchlib.snapshot()
    t0 = time.monotonic()
    r = fn(s)
    r["total_s"] = round(time.monotonic() - t0, 3)
    r["server_cpu_s"] = round(benchlib.tree_cpu(s0, benchlib.snapshot(), pid), 3)
    return r


def imap_run(s):
    r = {}
    m = imaplib.IMAP4("127.0.0.1", s["imap"])
    m.login(USER, PASS)
    t = time.monotonic()
    typ, d = m.select("INBOX")
    r["exists"] = int(d[0])
    r["select_s"] = round(time.monotonic() - t, 3)
    t = time.monotonic()
    typ, d = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE ENVELOPE)")
    r["meta_s"] = round(time.monotonic() - t, 3)
    t = time.monotonic()
    typ, d = m.uid("FETCH", "1:*", "(BODY[])")
    bodies = [x[1] for x in d if isinstance(x, tuple)]
    r["body_s"] = round(time.monotonic() - t, 3)
    r["body_msgs"] = len(bodies)
    r["body_bytes"] = sum(len(b) for b in bodies)
    m.logout()
    return r


def pop3_run(s):
    p = poplib.POP3("127.0.0.1", s["pop3"])
    p.user(USER)
    p.pass_(PASS)
    count, _ = p.stat()
    octets = 0
    for i in range(1, count + 1):
        octets += p.retr(i)[2]
    p.quit()
    return dict(msgs=count, octets=octets)


async def _line_with(reader, prefix):
    while True:
        line = await reader.readline()
        if not line:
            raise EOFError("connection closed")
        if line.startswith(prefix):
            return line


async def _login(s, sem, idle, conns):
    async with sem:
        r, w = await asyncio.open_connection("127.0.0.1", s["imap"])
        await r.readline()
        w.write(("a1 LOGIN %s %s\r\n" % (USER, PASS)).encode())
        line = await _line_with(r, b"a1 ")
        if not line.startswith(b"a1 OK"):
            raise RuntimeError(line)
        if idle:
            w.write(b"a2 SELECT INBOX\r\n")
            await _line_with(r, b"a2 ")
            w.write(b"a3 IDLE\r\n")
            await _line_with(r, b"+ ")
            conns.append((r, w))
        else:
            w.write(b"a2 LOGOUT\r\n")
            await _line_with(r, b"a2 ")
            w.close()


async def _close(r, w):
    try:
        w.write(b"DONE\r\na4 LOGOUT\r\n")
        await asyncio.wait_for(_line_with(r, b"a4 "), 30)
    except Exception:
        pass
    w.close()


def many(s, n, par, idle):
    async def go():
        sem = asyncio.Semaphore(par)
        conns = []
        pids = benchlib.tree_pids(master_pid(s))
        before = benchlib.pss_kib(pids)
        t0 = time.monotonic()
        res = await asyncio.gather(*[_login(s, sem, idle, conns) for _ in range(n)],
                                   return_exceptions=True)
        elapsed = time.monotonic() - t0
        errors = [repr(x) for x in res if isinstance(x, Exception)]
        out = dict(n=n, errors=len(errors), first_errors=errors[:3],
                   seconds=round(elapsed, 2), logins_per_s=round((n - len(errors)) / elapsed, 1))
        if idle:
            await asyncio.sleep(3)
            pids = benchlib.tree_pids(master_pid(s))
            after = benchlib.pss_kib(pids)
            out.update(procs=len(pids), pss_before_kib=before, pss_after_kib=after,
                       pss_per_conn_kib=round((after - before) / max(1, len(conns)), 1))
            await asyncio.gather(*[_close(r, w) for r, w in conns])
        return out
    return asyncio.run(go())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("what", choices=["seed", "imap", "pop3", "logins", "idle"])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--par", type=int, default=50)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--direct", action="store_true",
                    help="seed: write into new/, not through SMTP")
    ap.add_argument("--only", choices=["facteur", "dovecot"])
    ap.add_argument("--facteur-ports", help="IMAP,POP3 (default 1144,1111)")
    ap.add_argument("--dovecot-ports", help="IMAP,POP3 (default 1143,1110)")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.what == "seed":
        a.n = a.n or 5000
        return seed(a, a.base)
    runs = []
    if a.what in ("imap", "pop3"):
        fn = imap_run if a.what == "imap" else pop3_run
        for rep in range(a.reps):
            for s in servers(a.base, a):
                if a.cold:
                    restore(a.base, s)
                r = measured(s, fn)
                r.update(server=s["name"], rep=rep + 1)
                n = r.get("exists") or r.get("msgs") or 1
                r["msg_per_s"] = round(n / r["total_s"], 1)
                print(json.dumps(r), flush=True)
                runs.append(r)
        keys = ["msg_per_s", "server_cpu_s"]
    else:
        for s in servers(a.base, a):
            r = many(s, a.n or (1000 if a.what == "idle" else 2000), a.par, a.what == "idle")
            r["server"] = s["name"]
            print(json.dumps(r), flush=True)
            runs.append(r)
        keys = ["logins_per_s"] + (["pss_per_conn_kib"] if a.what == "idle" else [])
    label = a.what + (" cold" if a.cold else "")
    for k in keys:
        side = {}
        for name in ("dovecot", "facteur"):
            vals = [r[k] for r in runs if r["server"] == name]
            side[name] = statistics.median(vals) if vals else 0
        d, f = side["dovecot"], side["facteur"]
        print("| %s | %s | Dovecot %.1f | Facteur %.1f | ratio %.2f× |"
              % (label, k, d, f, f / d if d else 0))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
