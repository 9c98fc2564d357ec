"""Helpers shared by the integration tests.

Each test builds a private instance: a config directory with main.cf and
master.cf, its own queue and data directories, all under a temporary
directory, services on high loopback ports, logs in maillog_file.  It runs as
whoever runs the tests (root or not): Facteur then runs everything as the
invoking user.

Tests exit 0 on success, 1 on failure and 77 when skipped (automake's
convention), and print one "N passed, N failed" line at the end.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BUILDDIR = os.environ.get("FACTEUR_BUILDDIR", os.getcwd())
SRCDIR = os.environ.get("FACTEUR_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FACTEUR = os.path.join(BUILDDIR, "cli", "facteur")
MASTER = os.path.join(BUILDDIR, "master", "master")
TESTSVC = os.path.join(BUILDDIR, "tests", "integration", "testsvc")
AUTH = os.path.join(BUILDDIR, "auth", "auth")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


class Instance:
    """A private Facteur instance under a temporary directory."""

    def __init__(self, main_cf="", master_cf="", name="facteur-test"):
        self.top = tempfile.mkdtemp(prefix=name + "-")
        self.config_dir = os.path.join(self.top, "etc")
        self.queue_dir = os.path.join(self.top, "spool")
        self.data_dir = os.path.join(self.top, "data")
        self.maillog = os.path.join(self.top, "maillog")
        os.makedirs(self.config_dir)
        self.write_main_cf(main_cf)
        self.write_master_cf(master_cf)

    def base_main_cf(self):
        return (
            "queue_directory = %s\n"
            "data_directory = %s\n"
            "daemon_directory = %s\n"
            "maillog_file = %s\n"
            "inet_interfaces = loopback-only\n"
            "myhostname = mail.example.test\n"
            % (self.queue_dir, self.data_dir, os.path.join(BUILDDIR, "master"), self.maillog)
        )

    def write_main_cf(self, extra=""):
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(self.base_main_cf() + extra)

    def write_master_cf(self, text, userdb=True):
        """Write master.cf.  When main.cf names an auth_passwd_file and
        text runs no userdb service, a userdb line (the auth program) is
        added unless userdb is False: smtpd, local and the imapd/pop3d
        dispatchers ask it about passwd-file users instead of reading
        the file."""
        try:
            with open(os.path.join(self.config_dir, "main.cf")) as f:
                main_cf = f.read()
        except FileNotFoundError:
            main_cf = ""
        if (userdb and "\nauth_passwd_file = " in "\n" + main_cf
                and not any(line.split()[:1] == ["userdb"]
                            for line in text.splitlines())):
            text += "userdb unix - - n - - %s\n" % AUTH
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(text)

    def facteur(self, *args, check=False, timeout=60, input=None):
        """Run the facteur CLI on this instance; returns CompletedProcess."""
        proc = subprocess.run(
            [FACTEUR, "-c", self.config_dir] + list(args),
            capture_output=True, text=True, timeout=timeout, input=input,
        )
        if check and proc.returncode != 0:
            raise AssertionError("facteur %s failed (%d): %s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def master_pid(self):
        """The running master's pid, or None."""
        try:
            with open(os.path.join(self.data_dir, "master.pid")) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid <= 0:
            return None
        # A zombie is not running: where PID 1 does not reap orphans
        # (containers), an exited master can linger as one.
        return pid if process_alive(pid) else None

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        return self.facteur("start", check=True)

    def stop(self):
        return self.facteur("stop")

    def cleanup(self):
        pid = self.master_pid()
        if pid:
            self.facteur("stop")
            pid = self.master_pid()
            if pid:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.top, ignore_errors=True)


def children_of(pid):
    """Pids of the direct children of pid (from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def process_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_tests(tests):
    """Run test functions in order; print a summary; exit like automake."""
    passed = failed = skipped = 0
    for test in tests:
        name = test.__name__
        try:
            test()
        except SkipTest as e:
            skipped += 1
            print("SKIP: %s: %s" % (name, e))
        except Exception:
            failed += 1
            print("FAIL: %s" % name)
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("PASS: %s" % name)
        sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        sys.exit(1)
    sys.exit(77 if passed == 0 else 0)


class SkipTest(Exception):
    pass
