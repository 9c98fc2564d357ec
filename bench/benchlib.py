"""What every benchmark needs: CPU and memory of a process tree, a quiet machine."""

import os
import tempfile
import threading
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


def mem_kib(pid):
    """(Pss, Rss) of one process in KiB from /proc/PID/smaps_rollup, or None
    (gone, or a kernel thread).  One os.read, no line iteration: the
    sampler calls this for every process of the tree ten times a second."""
    try:
        fd = os.open("/proc/%d/smaps_rollup" % pid, os.O_RDONLY)
    except OSError:
        return None
    try:
        b = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    i, j = b.find(b"\nRss:"), b.find(b"\nPss:")
    if i < 0 or j < 0:
        return None
    return int(b[j + 5:b.index(b"kB", j)]), int(b[i + 5:b.index(b"kB", i)])


class PeakMem:
    """Peak memory of a process tree, sampled by a thread while a run lasts.

    Every interval seconds, sum Pss and Rss (/proc/PID/smaps_rollup) over
    the tree under root, and keep the largest sums.  Pss is the figure to
    read: a page shared by k processes counts 1/k in each, so the sum is
    what the tree as a whole holds (shared libraries included, divided
    with whatever else maps them); summed Rss counts shared pages once per
    process and overstates a tree of many small processes.  The two peaks
    may come from different samples.  A process that lives less than one
    interval can be missed.

    The tree is found without reading every /proc/PID/stat each time
    (the kernel here lacks /proc/PID/task/TID/children): a pid's parent
    is read once and cached; the cache is dropped every rescan samples,
    so a reused pid is not followed for long.  The sampler's own CPU time
    is reported (cpu_s) so that its cost beside the server is visible."""

    def __init__(self, root, interval=0.1, rescan=20):
        self.root, self.interval, self.rescan = root, interval, rescan
        self.peak_pss = self.peak_rss = self.procs_at_peak = 0
        self.first_pss = None
        self._at_peak = {}
        self.samples = 0
        self.cpu_s = 0.0
        self._ppid = {}
        self._stop = threading.Event()
        self._thread = None

    def _members(self):
        if self.samples % self.rescan == 0:
            self._ppid = {}
        live = set()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            pid = int(p)
            live.add(pid)
            if pid not in self._ppid:
                st = _stat(pid)
                if st:
                    self._ppid[pid] = st[0]
        for pid in list(self._ppid):
            if pid not in live:
                del self._ppid[pid]
        kids = {}
        for pid, ppid in self._ppid.items():
            kids.setdefault(ppid, []).append(pid)
        seen, todo = set(), [self.root]
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.add(pid)
                todo.extend(kids.get(pid, []))
        return seen

    def sample(self):
        pss = rss = 0
        each = {}
        for pid in self._members():
            m = mem_kib(pid)
            if m:
                pss += m[0]
                rss += m[1]
                each[pid] = m[0]
        self.samples += 1
        if self.first_pss is None:
            self.first_pss = pss
        if pss > self.peak_pss:
            # names now, while the processes live (a new peak is rare after
            # the first seconds of a run)
            names = {}
            for pid, kib in each.items():
                name = comm(pid) or "?"
                names[name] = names.get(name, 0) + kib
            self.peak_pss, self.procs_at_peak, self._at_peak = pss, len(each), names
        self.peak_rss = max(self.peak_rss, rss)
        return pss

    def by_program(self):
        """Pss in KiB of each program (by process name) in the peak sample."""
        return dict(self._at_peak)

    def _run(self):
        c0 = time.thread_time()
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                break
        self.cpu_s = time.thread_time() - c0

    def start(self):
        self.sample()  # the tree before the load, in this thread
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        return dict(peak_pss_kib=self.peak_pss, peak_rss_kib=self.peak_rss,
                    procs_at_peak=self.procs_at_peak, pss_before_kib=self.first_pss,
                    peak_pss_by_program=self.by_program(),
                    mem_samples=self.samples, mem_sampler_cpu_s=round(self.cpu_s, 3))


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


def set_aside(base, maildir):
    """Empty maildir's new/ and cur/ without unlinking a file: move the
    directories into BASE/bench-trash and make fresh ones; bench/run.sh
    deletes the trash after the last benchmark.  On
    ext4 without a journal, a new inode is never one freed in the last
    minute, or in the last six minutes while its inode table block is
    dirty (recently_deleted() in fs/ext4/ialloc.c): the allocator skips
    them one by one, so every deletion slows down each file created in
    the same block group for minutes, whichever server creates it.  A
    harness that deletes its last run's files loads the next runs with
    its own cleanup."""
    trash = os.path.join(base, "bench-trash")
    os.makedirs(trash, exist_ok=True)
    for d in ("new", "cur"):
        path = os.path.join(maildir, d)
        st = os.stat(path)
        os.rename(path, os.path.join(tempfile.mkdtemp(dir=trash), d))
        os.mkdir(path)
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, st.st_mode & 0o7777)
