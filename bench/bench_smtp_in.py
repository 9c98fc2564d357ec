#!/usr/bin/env python3
"""Inbound SMTP: Facteur beside Postfix, the same load in the same run.

For each target, concurrency and repetition (interleaved, so that drift
hits both alike): set user1's Maildir aside (benchlib.set_aside()), wait for an
empty queue and a quiet machine, then

    smtp-source [-d] -s C -m N -l 4096 -f bench@example.test
                -t user1@example.test 127.0.0.1:PORT

and measure the acceptance rate (N / smtp-source's wall time: every 250
means an fsynced queue file), the delivery rate (N / time until N files
are in Maildir/new) and the CPU used by the server's whole process tree
per message, and the peak memory of that tree during the run (from the
start of smtp-source until the last file is in new/): the largest sum of
Pss over the tree's processes, sampled every 100 ms from
/proc/PID/smaps_rollup (benchlib.PeakMem; summed Rss beside it, the
tree's Pss before the run in pss_before_kib, and the peak sample split by
program in peak_pss_by_program).  Prints
one JSON object per run, then medians and the Facteur/Postfix ratios.

usage: bench_smtp_in.py BASE [--n 5000] [--conc 1,10,50] [--reps 3]
                        [--mode persist|perconn] [--out FILE]
                        [--only facteur|postfix] [--facteur-port 2526]
                        [--quiet-wait 300] [--mem-interval 0.1]
BASE holds the anchors' Postfix (bench/run.sh starts it) and Facteur
(bench/facteur_up.sh).  --only runs one of them (the ratios are then not
printed); --facteur-port matches facteur_up.sh's SMTP_PORT.  Each run
also reports the CPU per message of each program in the tree ("programs",
by process name; a reaped child's CPU counts for its parent).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def targets(a):
    base = a.base
    ts = []
    if a.only in (None, "postfix"):
        pf_pid = int(open(os.path.join(base, "postfix/queue/pid/master.pid")).read().split()[0])
        ts.append(dict(name="postfix", port=2525, pid=pf_pid,
                       maildir=os.path.join(base, "mail/example.test/user1"),
                       queue=os.path.join(base, "postfix/queue")))
    if a.only in (None, "facteur"):
        fa_pid = int(open(os.path.join(base, "facteur/var/lib/facteur/master.pid")).read().split()[0])
        ts.append(dict(name="facteur", port=a.facteur_port, pid=fa_pid,
                       maildir=os.path.join(base, "facteur/mail/example.test/user1"),
                       queue=os.path.join(base, "facteur/var/spool/facteur")))
    return ts


def per_program(s0, s1, root):
    """CPU ms per message of each program in the tree (by process name)."""
    out = {}
    for pid in benchlib._tree(s1, root):
        c0, cc0 = (s0[pid][1], s0[pid][2]) if pid in s0 else (0.0, 0.0)
        d = (s1[pid][1] - c0) + (s1[pid][2] - cc0)
        name = benchlib.comm(pid) or "?"
        out[name] = out.get(name, 0.0) + d
    return out


def queued(qdir):
    n = 0
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _, _, files in os.walk(os.path.join(qdir, sub)):
            n += len(files)
    return n


def one_run(a, t, conc):
    new = os.path.join(t["maildir"], "new")
    benchlib.set_aside(a.base, t["maildir"])
    deadline = time.monotonic() + 60
    while queued(t["queue"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    subprocess.run(["sync"])
    quiet = benchlib.wait_quiet(max_wait=a.quiet_wait)
    cmd = ["smtp-source"] + (["-d"] if a.mode == "persist" else []) + [
        "-s", str(conc), "-m", str(a.n), "-l", "4096", "-M", "client.example.test",
        "-f", "bench@example.test", "-t", "user1@example.test", "127.0.0.1:%d" % t["port"]]
    mem = benchlib.PeakMem(t["pid"], a.mem_interval).start()
    s0 = benchlib.snapshot()
    t0 = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.monotonic()
    if proc.returncode != 0:
        sys.exit("smtp-source failed (%d): %s" % (proc.returncode,
                 proc.stderr.decode(errors="replace")[-300:]))
    count = 0
    while time.monotonic() < t1 + 600:
        count = len(os.listdir(new))
        if count >= a.n:
            break
        time.sleep(0.02)
    t2 = time.monotonic()
    s1 = benchlib.snapshot()
    m = mem.stop()
    cpu = benchlib.tree_cpu(s0, s1, t["pid"])
    progs = {k: round(1000 * v / a.n, 3) for k, v in per_program(s0, s1, t["pid"]).items()
             if v > 0}
    return dict(programs=progs, target=t["name"], conc=conc, mode=a.mode, n=a.n, rc=proc.returncode,
                err=proc.stderr.decode(errors="replace")[-300:], delivered=count,
                accept_mps=round(a.n / (t1 - t0), 1), deliver_mps=round(a.n / (t2 - t0), 1),
                cpu_s=round(cpu, 2), cpu_ms_per_msg=round(1000 * cpu / a.n, 3),
                quiet=quiet, **m)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--conc", default="1,10,50")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mode", default="persist", choices=["persist", "perconn"])
    ap.add_argument("--out")
    ap.add_argument("--quiet-wait", type=float, default=300,
                    help="seconds to wait at most for a quiet machine")
    ap.add_argument("--mem-interval", type=float, default=0.1,
                    help="seconds between two samples of the tree's memory")
    ap.add_argument("--only", choices=["facteur", "postfix"])
    ap.add_argument("--facteur-port", type=int, default=2526)
    a = ap.parse_args()
    concs = [int(c) for c in a.conc.split(",")]
    runs = []
    for rep in range(a.reps):
        for conc in concs:
            for t in targets(a):
                r = one_run(a, t, conc)
                r["rep"] = rep + 1
                print(json.dumps(r), flush=True)
                runs.append(r)


    def med(name, conc, key):
        return statistics.median(r[key] for r in runs
                                 if r["target"] == name and r["conc"] == conc)

    def mib(kib):
        return kib / 1024.0

    if a.only:
        print("\n| mode | C | %s msg/s (delivered) | CPU ms/msg | peak PSS MiB |" % a.only)
        print("|---|---|---|---|---|")
        for conc in concs:
            print("| %s | %d | %.0f | %.2f | %.1f |" % (
                a.mode, conc, med(a.only, conc, "deliver_mps"),
                med(a.only, conc, "cpu_ms_per_msg"), mib(med(a.only, conc, "peak_pss_kib"))))
    else:
        print("\n| mode | C | Postfix msg/s (delivered) | Facteur msg/s (delivered) | ratio | "
              "Postfix CPU ms/msg | Facteur CPU ms/msg | ratio | "
              "Postfix peak PSS MiB | Facteur peak PSS MiB | ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for conc in concs:
            pm, fm = med("postfix", conc, "deliver_mps"), med("facteur", conc, "deliver_mps")
            pc, fc = med("postfix", conc, "cpu_ms_per_msg"), med("facteur", conc, "cpu_ms_per_msg")
            pp, fp = med("postfix", conc, "peak_pss_kib"), med("facteur", conc, "peak_pss_kib")
            print("| %s | %d | %.0f | %.0f | %.2f× | %.2f | %.2f | %.2f× | %.1f | %.1f | %.2f× |"
                  % (a.mode, conc, pm, fm, fm / pm, pc, fc, fc / pc if pc else 0,
                     mib(pp), mib(fp), fp / pp if pp else 0))
    print("\npeak PSS: the largest sum of Pss over the server's process tree, sampled "
          "every %g s during the run (median of %d runs)" % (a.mem_interval, a.reps))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)

if __name__ == "__main__":
    main()
