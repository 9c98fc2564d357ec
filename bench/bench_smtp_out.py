#!/usr/bin/env python3
"""Outbound SMTP: Facteur's smtp client beside Postfix's, in the same run.

A fast sink (smtp-sink from Debian's postfix package) listens on
127.0.0.1:2600.  Both servers route the domains dest1.test .. dest50.test
to it through transport_maps ("destN.test smtp:[127.0.0.1]:2600"; the
script writes the table and reloads both).  For each target and
repetition: inject N messages of 4 KB with smtp-source from 127.0.0.1
(mynetworks: relaying allowed), to one destination (dest1.test) or spread
over 50 (one smtp-source per domain, N/50 messages each), and measure the
time from the first connection until the queue is empty again (every
message handed to the sink), and the CPU of the server's process tree per
message.  Ratios are Facteur / Postfix.

usage: bench_smtp_out.py BASE [--n 5000] [--dests 1,50] [--reps 3] [--out F]
	[--only facteur|postfix] [--facteur-port 2526] [--sink 127.0.0.1:2600]
	[--no-wait-quiet]

--only runs one server (the table then has its column only);
--facteur-port and --sink move Facteur's listener and the sink, for an
instance started with SMTP_PORT (bench/facteur_up.sh).
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
from bench_smtp_in import queued  # noqa: E402

SINK = "127.0.0.1:2600"


def targets(base, only=None, facteur_port=2526):
    return [t for t in [
        dict(name="postfix", port=2525, conf=os.path.join(base, "postfix/etc"),
             pidfile=os.path.join(base, "postfix/queue/pid/master.pid"),
             queue=os.path.join(base, "postfix/queue")),
        dict(name="facteur", port=facteur_port, conf=os.path.join(base, "facteur/etc/facteur"),
             pidfile=os.path.join(base, "facteur/var/lib/facteur/master.pid"),
             queue=os.path.join(base, "facteur/var/spool/facteur"),
             cli=os.path.join(base, "facteur/usr/sbin/facteur")),
    ] if only is None or t["name"] == only]


def configure(t, sink):
    table = os.path.join(t["conf"], "transport")
    host, port = sink.rsplit(":", 1)
    with open(table, "w") as f:
        for i in range(1, 51):
            f.write("dest%d.test smtp:[%s]:%s\n" % (i, host, port))
    if t["name"] == "postfix":
        subprocess.run(["postconf", "-c", t["conf"], "-e",
                        "transport_maps = texthash:" + table], check=True)
        subprocess.run(["postfix", "-c", t["conf"], "reload"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        subprocess.run([t["cli"], "-c", t["conf"], "conf", "-e",
                        "transport_maps = texthash:" + table], check=True)
        subprocess.run([t["cli"], "-c", t["conf"], "reload"], check=True)
    time.sleep(2)


def one_run(a, t, dests):
    if a.wait_quiet:
        benchlib.wait_quiet()
    with open(t["pidfile"]) as f:
        pid = int(f.read().split()[0])
    per = a.n // dests
    s0 = benchlib.snapshot()
    t0 = time.monotonic()
    procs = [subprocess.Popen(
        ["smtp-source", "-d", "-s", "2", "-m", str(per), "-l", "4096",
         "-M", "client.example.test", "-f", "bench@example.test",
         "-t", "user@dest%d.test" % (i + 1), "127.0.0.1:%d" % t["port"]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(dests)]
    for p in procs:
        p.wait()
    t1 = time.monotonic()
    deadline = t1 + 600
    while queued(t["queue"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    t2 = time.monotonic()
    cpu = benchlib.tree_cpu(s0, benchlib.snapshot(), pid)
    n = per * dests
    return dict(target=t["name"], dests=dests, n=n, accept_s=round(t1 - t0, 2),
                total_s=round(t2 - t0, 2), msg_per_s=round(n / (t2 - t0), 1),
                cpu_ms_per_msg=round(1000 * cpu / n, 3), left=queued(t["queue"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--dests", default="1,50")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--only", choices=["facteur", "postfix"])
    ap.add_argument("--facteur-port", type=int, default=2526)
    ap.add_argument("--sink", default=SINK)
    ap.add_argument("--no-wait-quiet", dest="wait_quiet", action="store_false")
    a = ap.parse_args()
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", a.sink, "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = []
    try:
        for t in targets(a.base, a.only, a.facteur_port):
            configure(t, a.sink)
        for rep in range(a.reps):
            for dests in [int(d) for d in a.dests.split(",")]:
                for t in targets(a.base, a.only, a.facteur_port):
                    r = one_run(a, t, dests)
                    r["rep"] = rep + 1
                    print(json.dumps(r), flush=True)
                    runs.append(r)
    finally:
        sink.terminate()
    if a.only is not None:
        name = a.only
        print("\n| destinations | %s msg/s | %s CPU ms/msg |" % (name, name))
        print("|---|---|---|")
        for dests in [int(d) for d in a.dests.split(",")]:
            sel = [r for r in runs if r["dests"] == dests]
            print("| %d | %.0f | %.2f |" % (
                dests, statistics.median(r["msg_per_s"] for r in sel),
                statistics.median(r["cpu_ms_per_msg"] for r in sel)))
    else:
        print("\n| destinations | Postfix msg/s | Facteur msg/s | ratio | "
              "Postfix CPU ms/msg | Facteur CPU ms/msg | ratio |")
        print("|---|---|---|---|---|---|---|")
        for dests in [int(d) for d in a.dests.split(",")]:
            def med(name, key):
                return statistics.median(r[key] for r in runs
                                         if r["target"] == name and r["dests"] == dests)
            pm, fm = med("postfix", "msg_per_s"), med("facteur", "msg_per_s")
            pc, fc = med("postfix", "cpu_ms_per_msg"), med("facteur", "cpu_ms_per_msg")
            print("| %d | %.0f | %.0f | %.2f× | %.2f | %.2f | %.2f× |"
                  % (dests, pm, fm, fm / pm, pc, fc, fc / pc if pc else 0))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
