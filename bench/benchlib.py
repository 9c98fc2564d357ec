"""What every benchmark needs: CPU of a process tree, a quiet machine."""

import os
import time

HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    # ppid, own utime+stime, reaped children's cutime+cstime
    return int(f[1]), (int(f[11]) + int(f[12])) / HZ, (int(f[13]) + int(f[14])) / HZ


def snapshot():
    snap = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            st = _stat(int(p))
            if st:
                snap[int(p)] = st
    return snap


def _tree(snap, root):
    kids = {}
    for pid, (ppid, _, _) in snap.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(kids.get(pid, []))
    return seen


def tree_cpu(a, b, root):
    """CPU seconds the tree under root used between snapshots a and b.

    A process counts its own CPU and that of its reaped children, so
    children that exited in between are counted through their parent;
    what they had used before a is taken off again."""
    members = _tree(a, root) | _tree(b, root)
    total = 0.0
    for pid in members:
        if pid in b:
            _, c1, cc1 = b[pid]
            c0, cc0 = (a[pid][1], a[pid][2]) if pid in a else (0.0, 0.0)
            total += (c1 - c0) + (cc1 - cc0)
        elif pid in a:
            total -= a[pid][1] + a[pid][2]
    return total


def comm(pid):
    """The process's name (/proc/PID/comm), or None once it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def tree_pids(root):
    return _tree(snapshot(), root)


def pss_kib(pids):
    """Proportional set size summed over pids, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def busy_cores(seconds=1.0):
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / HZ
    b0 = busy()
    time.sleep(seconds)
    return (busy() - b0) / seconds


def wait_quiet(threshold=0.15, need=3, max_wait=300):
    """Wait until the machine uses less than threshold cores for need s."""
    ok = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        if busy_cores() < threshold:
            ok += 1
            if ok >= need:
                return True
        else:
            ok = 0
    return False
