#!/usr/bin/env python3
"""Delay from the 250 reply to the file in Maildir/new, at light load.

For each target (interleaved by repetition, as bench_smtp_in.py does):
empty user1's Maildir, wait for an empty queue and a quiet machine, open
one SMTP session and send N messages of 4 KB one at a time, pausing
between them; for each message, note the time the client reads the 250
after the final "." and the time inotify reports the new name in
Maildir/new (IN_CREATE for a link() as Postfix's virtual does,
IN_MOVED_TO for a rename()).  The next message is only sent once the
file is there, so there is never more than one in flight and every event
belongs to the message just sent.

One single-threaded loop waits on both the socket and the inotify
descriptor with poll() and stamps whichever is ready with
time.monotonic(), so no thread switch (and no GIL hand-over) sits between
an event and its time stamp.  A delay of 0 or less means the file was in
new/ by the time the client read the 250 (the server may deliver before
the client is scheduled; when both are ready in one wake-up they get the
same stamp); it is kept as measured and counted ("file there at 250").
Besides the delay, each message's "accept" time is reported: from the
end of the data written by the client to the 250 read.

Prints one JSON object per run (its p50, p90, min and max, in ms; --out
keeps every message's figures), then p50, p90 and max per target over
all repetitions.

usage: bench_delay.py BASE [--n 200] [--pause 0.02] [--reps 3] [--out F]
                      [--only facteur|postfix] [--facteur-port 2526]
                      [--quiet-wait 300] [--timeout 10]
BASE as for bench_smtp_in.py (bench/run.sh starts both servers there).
"""

import argparse
import ctypes
import ctypes.util
import json
import math
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from bench_smtp_in import queued, targets  # noqa: E402

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Inotify:
    """Names appearing in one directory, through the inotify syscalls."""

    def __init__(self, path):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, os.fsencode(path), IN_CREATE | IN_MOVED_TO) < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, "inotify_add_watch " + path)

    def names(self):
        """The names of the events queued now (none when nothing is)."""
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        out, i = [], 0
        while i < len(buf):
            _, _, _, n = EVENT.unpack_from(buf, i)
            name = buf[i + EVENT.size:i + EVENT.size + n].rstrip(b"\0")
            i += EVENT.size + n
            out.append(name.decode(errors="replace"))
        return out

    def close(self):
        os.close(self.fd)


class Session:
    """A minimal SMTP client on a raw socket (replies read by hand)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.expect(b"220")
        self.cmd(b"EHLO client.example.test", b"250")

    def reply(self):
        """One whole (possibly multi-line) reply, or None while incomplete."""
        pos = 0
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i < 0:
                return None
            line, pos = self.buf[pos:i], i + 2
            if line[3:4] != b"-":  # "NNN text" ends a reply, "NNN-text" goes on
                whole, self.buf = self.buf[:pos], self.buf[pos:]
                return whole

    def expect(self, code):
        while True:
            r = self.reply()
            if r is not None:
                if not r.startswith(code):
                    raise RuntimeError("expected %s, got %r" % (code.decode(), r))
                return r
            data = self.s.recv(65536)
            if not data:
                raise RuntimeError("connection closed")
            self.buf += data

    def cmd(self, line, code):
        self.s.sendall(line + b"\r\n")
        return self.expect(code)

    def close(self):
        try:
            self.cmd(b"QUIT", b"221")
        except (OSError, RuntimeError):
            pass
        self.s.close()


def message(i):
    """About 4 KB, like smtp-source -l 4096, dot-safe."""
    head = ("From: <bench@example.test>\r\nTo: <user1@example.test>\r\n"
            "Subject: delay %d\r\nMessage-ID: <delay-%d-%d@client.example.test>\r\n\r\n"
            % (i, os.getpid(), i)).encode()
    line = b"X" * 78 + b"\r\n"
    return head + line * ((4096 - len(head)) // len(line))


def one_run(a, t):
    new = os.path.join(t["maildir"], "new")
    benchlib.set_aside(a.base, t["maildir"])
    deadline = time.monotonic() + 60
    while queued(t["queue"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run(["sync"])
    quiet = benchlib.wait_quiet(max_wait=a.quiet_wait)
    ino = Inotify(new)
    sess = Session(t["port"])
    sock = sess.s
    delays, accepts, missing, early = [], [], 0, 0
    s0 = benchlib.snapshot()
    try:
        for i in range(a.n):
            sess.cmd(b"MAIL FROM:<bench@example.test>", b"250")
            sess.cmd(b"RCPT TO:<user1@example.test>", b"250")
            sess.cmd(b"DATA", b"354")
            stray = ino.names()  # nothing may be pending: one message at a time
            if stray:
                raise RuntimeError("unexpected names in new/: %r" % stray)
            sock.setblocking(False)
            sock.sendall(message(i) + b".\r\n")
            t_sent = time.monotonic()
            t_250 = t_new = None
            p = select.poll()
            p.register(sock, select.POLLIN)
            p.register(ino.fd, select.POLLIN)
            end = t_sent + a.timeout
            while (t_250 is None or t_new is None) and time.monotonic() < end:
                ready = p.poll(max(0, int((end - time.monotonic()) * 1000)))
                now = time.monotonic()
                for fd, _ in ready:
                    if fd == ino.fd and t_new is None:
                        if ino.names():
                            t_new = now
                    elif fd == sock.fileno() and t_250 is None:
                        data = sock.recv(65536)
                        if not data:
                            raise RuntimeError("connection closed after data")
                        sess.buf += data
                        r = sess.reply()
                        if r is not None:
                            if not r.startswith(b"250"):
                                raise RuntimeError("data refused: %r" % r)
                            t_250 = now
                            p.unregister(sock)
            sock.setblocking(True)
            if t_250 is None:
                raise RuntimeError("no 250 within %g s" % a.timeout)
            accepts.append(1000 * (t_250 - t_sent))
            if t_new is None:
                missing += 1
            else:
                delays.append(1000 * (t_new - t_250))
                # stamped in the same poll() wake-up as the 250 (or before it):
                # the file was there by the time the client read the reply
                early += t_new <= t_250
            time.sleep(a.pause)
    finally:
        s1 = benchlib.snapshot()
        sess.close()
        ino.close()
    cpu = benchlib.tree_cpu(s0, s1, t["pid"])
    files = len(os.listdir(new))
    return dict(target=t["name"], n=a.n, pause_s=a.pause, quiet=quiet, files=files,
                missing=missing, early=early, cpu_ms_per_msg=round(1000 * cpu / a.n, 3),
                delay_ms=[round(d, 3) for d in delays], accept_ms=[round(d, 3) for d in accepts])


def pct(xs, q):
    """The q-quantile of xs, nearest rank (no interpolation)."""
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--pause", type=float, default=0.02,
                    help="seconds between a file in new/ and the next MAIL")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=10,
                    help="seconds to wait for one message's 250 and file")
    ap.add_argument("--out")
    ap.add_argument("--quiet-wait", type=float, default=300)
    ap.add_argument("--only", choices=["facteur", "postfix"])
    ap.add_argument("--facteur-port", type=int, default=2526)
    a = ap.parse_args()
    runs = []
    for rep in range(a.reps):
        for t in targets(a):
            r = one_run(a, t)
            r["rep"] = rep + 1
            line = {k: v for k, v in r.items() if k not in ("delay_ms", "accept_ms")}
            for key in ("delay_ms", "accept_ms"):
                if r[key]:
                    line[key] = dict(p50=pct(r[key], 0.5), p90=pct(r[key], 0.9),
                                     max=max(r[key]), min=min(r[key]))
            print(json.dumps(line), flush=True)
            runs.append(r)
    names = [t for t in ("postfix", "facteur") if a.only in (None, t)]
    print("\n| server | messages | 250 -> new/ p50 ms | p90 ms | max ms | "
          "file there at 250 | end of data -> 250 p50 ms | p90 ms |")
    print("|---|---|---|---|---|---|---|---|")
    stats = {}
    for name in names:
        d = [x for r in runs if r["target"] == name for x in r["delay_ms"]]
        c = [x for r in runs if r["target"] == name for x in r["accept_ms"]]
        early = sum(r["early"] for r in runs if r["target"] == name)
        miss = sum(r["missing"] for r in runs if r["target"] == name)
        if not d:
            print("| %s | 0 | - | - | - | - | - | - |" % name)
            continue
        stats[name] = pct(d, 0.5)
        print("| %s | %d%s | %.2f | %.2f | %.2f | %d | %.2f | %.2f |" % (
            name, len(d), " (%d missing)" % miss if miss else "", pct(d, 0.5), pct(d, 0.9),
            max(d), early, pct(c, 0.5), pct(c, 0.9)))
    if len(stats) == 2 and stats["postfix"]:
        print("\np50 ratio Facteur / Postfix: %.2f× (target: Facteur p50 <= 5 ms)"
              % (stats["facteur"] / stats["postfix"]))
    print("\none session, one message at a time, %g s pause after each file appears; "
          "delay = inotify event on Maildir/new minus the 250 read by the client" % a.pause)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
