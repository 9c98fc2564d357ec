#!/usr/bin/env python3
"""Integration tests for master: start, demand spawning, limits, crashes,
throttling, wakeup timers, reload, single instance, clean stop.

Each test runs its own master (`master -c DIR -w`) on a private instance
whose services are the test service (tests/integration/testsvc) on
127.0.0.1 high ports.  When run as root, master stays root and services
with unpriv "-" drop to mail_owner = nobody; services that must write into
the (root-only) test directory are marked unpriv "n".
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0

MAIN_CF = (
    "service_throttle_time = 4s\n"
    "master_stop_timeout = 3s\n"
    "max_idle = 30s\n"
    "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
    + ("mail_owner = nobody\n" if ROOT else "")
)


def need_binaries():
    for path in (ft.MASTER, ft.TESTSVC):
        if not os.access(path, os.X_OK):
            raise ft.SkipTest("%s is not built" % path)


def inet(port, maxproc="-", args="", unpriv="-"):
    """A master.cf line running testsvc on 127.0.0.1:port."""
    return "127.0.0.1:%d inet n %s n - %s %s %s\n" % (
        port, unpriv, maxproc, ft.TESTSVC, args)


class Master:
    """An instance with master started by `master -w`."""

    def __init__(self, master_cf):
        need_binaries()
        self.inst = ft.Instance(main_cf=MAIN_CF, master_cf=master_cf,
                                name="facteur-master")
        self.pid = None

    def start(self):
        proc = subprocess.run([ft.MASTER, "-c", self.inst.config_dir, "-w"],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise AssertionError("master -w failed (%d): %s%s\n%s" % (
                proc.returncode, proc.stdout, proc.stderr, self.inst.log()))
        self.pid = ft.wait_for(self.inst.master_pid, 5, what="master.pid")
        return self

    def log(self):
        return self.inst.log()

    def wait_log(self, pattern, timeout=5.0, count=1):
        rx = re.compile(pattern, re.M)
        return ft.wait_for(lambda: len(rx.findall(self.log())) >= count,
                           timeout, what="log line /%s/ x%d" % (pattern, count))

    def stop(self):
        """SIGTERM via the pid file; returns the pids that were running."""
        pid = self.inst.master_pid()
        if not pid:
            return []
        procs = [pid] + ft.children_of(pid)
        os.kill(pid, signal.SIGTERM)
        return procs

    def cleanup(self):
        procs = self.stop()
        deadline = time.monotonic() + 8
        while procs and time.monotonic() < deadline:
            procs = [p for p in procs if ft.process_alive(p)]
            time.sleep(0.05)
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if os.environ.get("FACTEUR_TEST_SHOWLOG"):
            sys.stdout.write(self.log())
        shutil.rmtree(self.inst.top, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False


class Client:
    """A line-oriented TCP client of testsvc."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def readline(self, timeout=5.0):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().rstrip("\r")

    def greeting(self, timeout=5.0):
        line = self.readline(timeout)
        m = re.fullmatch(r"testsvc (\d+) ready", line)
        assert m, "bad greeting %r" % line
        return int(m.group(1))

    def echo(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.readline()

    def quit(self):
        try:
            self.sock.sendall(b"quit\r\n")
            self.readline()
        except (OSError, EOFError):
            pass
        self.close()

    def close(self):
        self.sock.close()


def cpu_ticks(pid):
    """utime + stime of pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_ids(pid):
    """(uids, gids) lines of /proc/PID/status, as lists of ints."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = [int(v) for v in value.split()]
    return ids["Uid"], ids["Gid"]


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_start_echo_and_log():
    port = ft.free_port()
    with Master(inet(port)) as m:
        c = Client(port)
        pid = c.greeting()
        assert c.echo("hello") == "%d: hello" % pid
        c.quit()
        assert pid in ft.children_of(m.pid), "service is not master's child"
        if ROOT:
            # unpriv "-": the child dropped to mail_owner = nobody for good.
            uids, gids = proc_ids(pid)
            assert set(uids) == {65534}, "uids %r" % uids
            assert proc_ids(m.pid)[0][0] == 0
        stamp = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ "
        m.wait_log(stamp + r"facteur/master\[%d\]: daemon started" % m.pid)
        m.wait_log(stamp + r"facteur/testsvc\[%d\]: connect from "
                   r"\S*\[127\.0\.0\.1\]$" % pid)
        for d, mode in (("private", 0o700), ("public", 0o711)):
            st = os.stat(os.path.join(m.inst.queue_dir, d))
            assert st.st_mode & 0o7777 == mode, "%s mode %o" % (d, st.st_mode)


def test_log_collector_bursts():
    """Lines from several children at once, many per wakeup of master's
    collector: each lands once, whole, as one line; a datagram with a
    newline inside cannot forge a second line."""
    port = ft.free_port()
    with Master(inet(port, maxproc="3")) as m:
        clients = [Client(port) for _ in range(3)]
        pids = [c.greeting() for c in clients]
        for c in clients:
            c.sock.sendall(b"log 400\r\n")
        for c in clients:
            assert c.readline().endswith(": log 400")
        clients[0].echo("rawlog evil\\nMar  1 00:00:00 h forged: line")
        for c in clients:
            c.quit()
        m.wait_log(r"evil\?Mar  1 00:00:00 h forged: line$")
        for pid in set(pids):
            want = 400 * pids.count(pid)
            m.wait_log(r"testsvc\[%d\]: burst line \d+ of 400$" % pid,
                       count=want)
        log = m.log()
        stamp = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ \S+: ")
        for line in log.splitlines():
            # The raw datagram is not in syslog's shape: it is its own line.
            assert stamp.match(line) or line.startswith("evil?"), \
                "not a whole line: %r" % line
        for pid in set(pids):
            for i in (1, 200, 400):
                got = log.count("testsvc[%d]: burst line %d of 400\n"
                                % (pid, i))
                assert got == pids.count(pid), (pid, i, got)
        assert "\nMar  1 00:00:00 h forged" not in log


def test_maxproc():
    port = ft.free_port()
    with Master(inet(port, maxproc=2)) as m:
        clients = [Client(port) for _ in range(4)]
        greeted, waiting = [], []
        for c in clients:
            try:
                greeted.append((c, c.greeting(timeout=1.5)))
            except socket.timeout:
                waiting.append(c)
        assert len(greeted) == 2, "%d greeted, want 2" % len(greeted)
        assert len({pid for _, pid in greeted}) == 2
        assert len(ft.children_of(m.pid)) == 2
        # Connections wait and no process may take them: master must idle.
        before = cpu_ticks(m.pid)
        time.sleep(1)
        spent = cpu_ticks(m.pid) - before
        assert spent < 20, "master busy while full: %d ticks/s" % spent
        # One leaves: a waiting client is served by the freed process.
        first, first_pid = greeted[0]
        first.quit()
        served = [c.greeting(timeout=5) for c in waiting[:1]]
        assert served[0] in {pid for _, pid in greeted}, \
            "a third process served: %r" % served
        assert len(ft.children_of(m.pid)) == 2
        for c in clients:
            c.close()


def test_kill_child_restarts():
    port = ft.free_port()
    with Master(inet(port)) as m:
        c = Client(port)
        pid = c.greeting()
        os.kill(pid, signal.SIGKILL)
        c.close()
        m.wait_log(r"warning: process \S*testsvc pid %d killed by signal 9"
                   % pid)
        c = Client(port)
        pid2 = c.greeting(timeout=8)
        assert pid2 != pid
        assert c.echo("again") == "%d: again" % pid2
        c.quit()
        assert ft.process_alive(m.pid)


def test_crash_loop_throttled():
    good, bad = ft.free_port(), ft.free_port()
    with Master(inet(good) + inet(bad, maxproc=1, args="crash")) as m:
        # A pending connection keeps asking for a process.
        pending = socket.create_connection(("127.0.0.1", bad), timeout=5)
        time.sleep(5)
        attempts = len(re.findall(r"crashing as requested", m.log()))
        assert 2 <= attempts <= 5, "%d spawn attempts in 5s" % attempts
        assert re.search(r"warning: service 127\.0\.0\.1:%d: throttling for "
                         r"\d+ seconds" % bad, m.log())
        assert ft.process_alive(m.pid)
        c = Client(good)
        c.greeting()
        c.quit()
        pending.close()


def test_max_use_and_idle():
    use1, idle = ft.free_port(), ft.free_port()
    with Master(inet(use1, args="-o max_use=1") +
                inet(idle, args="-o max_idle=1s")) as m:
        pids = []
        for _ in range(3):
            c = Client(use1)
            pids.append(c.greeting())
            c.quit()
            ft.wait_for(lambda: not ft.process_alive(pids[-1]), 5,
                        what="exit after max_use")
        assert len(set(pids)) == 3, "max_use=1 but pids %r" % pids
        c = Client(idle)
        pid = c.greeting()
        c.quit()
        time.sleep(0.3)
        assert ft.process_alive(pid), "exited before max_idle"
        ft.wait_for(lambda: not ft.process_alive(pid), 4,
                    what="exit after max_idle")
        c = Client(idle)
        assert c.greeting() != pid
        c.quit()
        assert "warning: process" not in m.log(), m.log()


def test_start_failure_reported():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    m = Master("early unix - - n - - %s\n" % ft.TESTSVC + inet(port))
    try:
        proc = subprocess.run([ft.MASTER, "-c", m.inst.config_dir, "-w"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1
        assert "fatal:" in proc.stderr and "Address already in use" in \
            proc.stderr, "stderr: %r" % proc.stderr
        assert not os.path.exists(
            os.path.join(m.inst.queue_dir, "private", "early")), \
            "socket left behind by a failed start"
        t = subprocess.run([ft.MASTER, "-c", m.inst.config_dir, "-t"])
        assert t.returncode == 0, "a master still holds the lock"
    finally:
        busy.close()
        m.cleanup()


def test_wakeup():
    m = Master("")
    wlog = os.path.join(m.inst.top, "wakeup.log")
    m.inst.write_master_cf(
        "wk unix - n n 1 1 %s wakeup-log=%s\n" % (ft.TESTSVC, wlog))
    with m:

        def lines():
            try:
                with open(wlog) as f:
                    return len(f.readlines()) >= 2
            except FileNotFoundError:
                return False
        ft.wait_for(lines, 4, what="two wakeups")
        with open(wlog) as f:
            assert re.match(r"wakeup \d+ \d+$", f.readline())
        assert os.path.exists(os.path.join(m.inst.queue_dir, "private", "wk"))


def test_wakeup_stream():
    """A wakeup-stream/1 connection carries many wakeups and does not use
    up the client limit: with client_limit 1 and one process (maxproc 1),
    a plain wakeup/1 connection is still served while the stream is open.
    """
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import agentproto
    m = Master("")
    wlog = os.path.join(m.inst.top, "wakeup.log")
    m.inst.write_master_cf(
        "wk unix - n n - 1 %s wakeup-log=%s\n" % (ft.TESTSVC, wlog))
    sock = os.path.join(m.inst.queue_dir, "private", "wk")

    def wakeups():
        try:
            with open(wlog) as f:
                return [l.split()[1] for l in f]
        except FileNotFoundError:
            return []

    def connect(proto):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect(sock)
        c.sendall(agentproto.frame([("proto", proto)]))
        return c

    with m:
        ft.wait_for(lambda: os.path.exists(sock), 5, what="private/wk")
        stream = connect("wakeup-stream/1")
        ft.wait_for(lambda: len(wakeups()) >= 1, 5, what="stream's wakeup")
        # The stream stays open; the only slot must still be free.
        connect("wakeup/1").close()
        ft.wait_for(lambda: len(wakeups()) >= 2, 5,
                    what="one-shot wakeup beside the stream")
        stream.sendall(b"W")
        ft.wait_for(lambda: len(wakeups()) >= 3, 5, what="wakeup over the stream")
        time.sleep(0.2)
        stream.sendall(b"W")
        ft.wait_for(lambda: len(wakeups()) >= 4, 5, what="second stream wakeup")
        # One process did it all, and it never said it was busy.
        assert len(set(wakeups())) == 1, wakeups()
        stream.close()


def test_reload():
    keep, gone, new = ft.free_port(), ft.free_port(), ft.free_port()
    with Master(inet(keep) + inet(gone)) as m:
        c = Client(keep)
        pid = c.greeting()
        assert not refused(gone)

        refusals = []
        stop = threading.Event()

        def probe():
            while not stop.is_set():
                try:
                    socket.create_connection(("127.0.0.1", keep),
                                             timeout=2).close()
                except OSError as e:
                    refusals.append(e)
                time.sleep(0.02)
        t = threading.Thread(target=probe)
        t.start()
        try:
            m.inst.write_master_cf(inet(keep) + inet(new))
            os.kill(m.pid, signal.SIGHUP)
            m.wait_log(r"master\[%d\]: reload -- version \S+, configuration "
                       % m.pid)
            c2 = Client(new)
            c2.greeting()
            c2.quit()
            ft.wait_for(lambda: refused(gone), 5, what="removed port closed")
            # The connection from before the reload still works.
            assert c.echo("still there") == "%d: still there" % pid
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
        assert not refusals, "kept port refused: %r" % refusals[:3]
        c.quit()

        # A broken master.cf is refused; everything keeps running.
        m.inst.write_master_cf("this is not a master.cf line\n")
        os.kill(m.pid, signal.SIGHUP)
        m.wait_log(r"error: reload refused")
        for port in (keep, new):
            c = Client(port)
            c.greeting()
            c.quit()
        assert refused(gone)


def test_single_instance():
    port = ft.free_port()
    with Master(inet(port)) as m:
        proc = subprocess.run([ft.MASTER, "-c", m.inst.config_dir, "-w"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0
        assert "already running" in proc.stderr and str(m.pid) in \
            proc.stderr, "stderr: %r" % proc.stderr
        t = subprocess.run([ft.MASTER, "-c", m.inst.config_dir, "-t"])
        assert t.returncode == 1
        assert m.inst.master_pid() == m.pid


def test_sigterm_cleans_up():
    port = ft.free_port()
    with Master(inet(port) + "wk unix - n n 60 1 %s\n" % ft.TESTSVC) as m:
        c = Client(port)
        c.greeting()
        sock_path = os.path.join(m.inst.queue_dir, "private", "wk")
        ft.wait_for(lambda: len(ft.children_of(m.pid)) >= 2, 5,
                    what="two children")
        procs = m.stop()
        assert len(procs) >= 3
        ft.wait_for(lambda: not any(ft.process_alive(p) for p in procs), 5,
                    what="master and children gone")
        c.close()
        assert not os.path.exists(sock_path), "unix socket left behind"
        m.wait_log(r"master\[%d\]: terminating on signal 15" % m.pid)
        t = subprocess.run([ft.MASTER, "-c", m.inst.config_dir, "-t"])
        assert t.returncode == 0, "pid file still locked"
        assert refused(port)


if __name__ == "__main__":
    ft.run_tests([
        test_start_echo_and_log,
        test_log_collector_bursts,
        test_maxproc,
        test_kill_child_restarts,
        test_max_use_and_idle,
        test_start_failure_reported,
        test_crash_loop_throttled,
        test_wakeup,
        test_wakeup_stream,
        test_reload,
        test_single_instance,
        test_sigterm_cleans_up,
    ])
