"""facteur check, start, stop, reload and status against a private instance.

Runs as root or as an ordinary user.  As root, the queue belongs to
mail_owner: when the default one ("facteur") does not exist on this host,
the instance uses "nobody" instead.  Skipped (77) until master is built.
"""

import grp
import os
import pwd
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
QUEUE_SUBDIRS = {
    "private": 0o700, "public": 0o711, "maildrop": 0o700, "incoming": 0o700,
    "active": 0o700, "deferred": 0o700, "hold": 0o700, "corrupt": 0o700,
    "bounce": 0o700, "defer": 0o700,
}
# As root, local users reach maildrop/ and public/ through setgid_group
# ("nogroup" in these instances), as with Postfix's postdrop.
DROP_GROUP = "nogroup"
if ROOT:
    QUEUE_SUBDIRS.update({"public": 0o710, "maildrop": 0o1730})


def mail_owner_cf():
    """main.cf text choosing a mail_owner that exists (root only)."""
    if not ROOT:
        return ""
    text = "setgid_group = %s\n" % DROP_GROUP
    try:
        pwd.getpwnam("facteur")
        return text
    except KeyError:
        return text + "mail_owner = nobody\n"


def instance(extra="", master_cf=""):
    return ft.Instance(main_cf=mail_owner_cf() + extra, master_cf=master_cf)


def owner_uid(inst):
    if not ROOT:
        return os.geteuid()
    name = inst.facteur("conf", "-h", "mail_owner", check=True).stdout.strip()
    return pwd.getpwnam(name).pw_uid


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_creates_dirs():
    inst = instance()
    try:
        os.umask(0o022)
        r = inst.facteur("check")
        assert r.returncode == 0, r
        assert r.stdout == "" and r.stderr == "", r
        uid = owner_uid(inst)
        st = os.stat(inst.queue_dir)
        assert stat.S_IMODE(st.st_mode) == 0o755, oct(st.st_mode)
        assert st.st_uid == (0 if ROOT else os.geteuid())
        for name, want in QUEUE_SUBDIRS.items():
            path = os.path.join(inst.queue_dir, name)
            assert mode(path) == want, (name, oct(mode(path)))
            assert os.stat(path).st_uid == uid, name
            if ROOT and name in ("public", "maildrop"):
                assert os.stat(path).st_gid == grp.getgrnam(DROP_GROUP).gr_gid

        assert mode(inst.data_dir) == 0o700
        assert os.stat(inst.data_dir).st_uid == uid
        # A second run finds everything in place and says nothing.
        r = inst.facteur("check")
        assert r.returncode == 0 and r.stderr == "", r
        # The umask does not weaken the modes.
        os.umask(0o077)
        os.rmdir(os.path.join(inst.queue_dir, "public"))
        inst.facteur("check", check=True)
        assert mode(os.path.join(inst.queue_dir, "public")) == QUEUE_SUBDIRS["public"]
    finally:
        os.umask(0o022)
        inst.cleanup()


def test_check_bad_main_cf():
    inst = instance()
    try:
        path = os.path.join(inst.config_dir, "main.cf")
        with open(path) as f:
            lineno = len(f.read().splitlines()) + 1
        with open(path, "a") as f:
            f.write("message_size_limit = 10x\n")
        r = inst.facteur("check")
        assert r.returncode == 1, r
        assert r.stderr == (
            "facteur: fatal: %s:%d: message_size_limit: bad size value "
            "'10x': bad size unit (use k, m or g)\n" % (path, lineno)), r.stderr
        assert not os.path.exists(inst.queue_dir)
    finally:
        inst.cleanup()


def test_check_bad_master_cf():
    inst = instance(master_cf="# services\nalpha unix - - n - -\n")
    try:
        r = inst.facteur("check")
        assert r.returncode == 1, r
        path = os.path.join(inst.config_dir, "master.cf")
        assert r.stderr.startswith("facteur: fatal: %s:2: " % path), r.stderr
    finally:
        inst.cleanup()


def test_check_mail_owner():
    inst = instance("mail_owner = no_such_user_here\n")
    try:
        r = inst.facteur("check")
        if ROOT:
            assert r.returncode == 1, r
            assert r.stderr.startswith(
                'facteur: fatal: mail_owner: user "no_such_user_here" does '
                'not exist'), r.stderr
        else:
            # Unprivileged, the instance runs as its invoking user.
            assert r.returncode == 0 and r.stderr == "", r
    finally:
        inst.cleanup()


def test_check_warnings():
    inst = instance("smtpd_tls_cert_file = /nonexistent/cert.pem\n",
                    master_cf="alpha unix - - n - - no_such_program\n")
    try:
        r = inst.facteur("check")
        assert r.returncode == 0, r
        assert ("facteur: warning: smtpd_tls_cert_file: cannot read "
                "/nonexistent/cert.pem: No such file or directory\n") in r.stderr, r.stderr
        mcf = os.path.join(inst.config_dir, "master.cf")
        assert ("facteur: warning: %s:1: service alpha/unix: command %s: "
                % (mcf, os.path.join(ft.BUILDDIR, "master", "no_such_program"))
                ) in r.stderr, r.stderr
    finally:
        inst.cleanup()


def add_main_cf(inst, text):
    with open(os.path.join(inst.config_dir, "main.cf"), "a") as f:
        f.write(text)


def test_check_auth_secrets():
    """With auth_passwd_file: a master.cf without userdb draws a warning;
    as root, so does a password file mail_owner can read, and nothing
    is said once only auth_owner can read it."""
    inst = instance()
    try:
        passwd = os.path.join(inst.top, "passwd")
        with open(passwd, "w") as f:
            f.write("alice@example.test:{PLAIN}secret::::::\n")
        add_main_cf(inst, "auth_passwd_file = %s\n" % passwd)
        inst.write_master_cf("auth unix - - n - - %s\n" % ft.AUTH, userdb=False)
        mcf = os.path.join(inst.config_dir, "master.cf")
        r = inst.facteur("check")
        assert r.returncode == 0, r
        assert "facteur: warning: %s: no userdb service:" % mcf in r.stderr, r.stderr
        inst.write_master_cf("auth unix - - n - - %s\n" % ft.AUTH)
        if not ROOT:
            assert inst.facteur("check").stderr == ""
            return
        owner = pwd.getpwnam(inst.facteur("conf", "-h", "mail_owner").stdout.strip())
        add_main_cf(inst, "auth_owner = no_such_user_here\n")
        r = inst.facteur("check")
        assert r.returncode == 1 and r.stderr.startswith(
            'facteur: fatal: auth_owner: user "no_such_user_here" does not '
            'exist'), r
        add_main_cf(inst, "auth_owner =\n")
        os.chmod(passwd, 0o644)
        r = inst.facteur("check")
        assert "facteur: warning: auth_owner is empty: auth runs as mail_owner" \
            in r.stderr, r.stderr
        add_main_cf(inst, "auth_owner = daemon\n")
        r = inst.facteur("check")
        assert ("facteur: warning: %s: readable by every user (mode 0644): "
                "only auth_owner daemon should read it\n" % passwd) in r.stderr, r.stderr
        os.chmod(passwd, 0o640)
        os.chown(passwd, pwd.getpwnam("daemon").pw_uid, owner.pw_gid)
        r = inst.facteur("check")
        assert ("facteur: warning: %s: readable by mail_owner %s: only "
                "auth_owner daemon should read it\n" % (passwd, owner.pw_name)) \
            in r.stderr, r.stderr
        os.chown(passwd, pwd.getpwnam("daemon").pw_uid,
                 pwd.getpwnam("daemon").pw_gid)
        r = inst.facteur("check")
        assert r.returncode == 0 and r.stderr == "", r
    finally:
        inst.cleanup()


def test_start_status_reload_stop():
    inst = instance()
    try:
        r = inst.facteur("status")
        assert r.returncode == 1, r
        assert r.stderr == "facteur: the Facteur mail system is not running\n"

        r = inst.facteur("start")
        assert r.returncode == 0, r
        assert "facteur: starting the Facteur mail system\n" in r.stderr, r.stderr
        pid = inst.master_pid()
        assert pid and ft.process_alive(pid), pid

        r = inst.facteur("status")
        assert r.returncode == 0, r
        assert r.stderr == (
            "facteur: the Facteur mail system is running: PID: %d\n" % pid), r.stderr

        r = inst.facteur("start")
        assert r.returncode == 1, r
        assert r.stderr == "facteur: fatal: the Facteur mail system is already running\n", r.stderr
        assert inst.master_pid() == pid

        r = inst.facteur("reload")
        assert r.returncode == 0, r
        assert r.stderr == "facteur: refreshing the Facteur mail system\n", r.stderr
        ft.wait_for(lambda: "reload" in inst.log().split(
            "refreshing the Facteur mail system", 1)[-1],
            what="master to log the reload")
        assert ft.process_alive(pid)

        r = inst.facteur("stop")
        assert r.returncode == 0, r
        assert r.stderr == "facteur: stopping the Facteur mail system\n", r.stderr
        assert not ft.process_alive(pid), "master still running"
        r = inst.facteur("status")
        assert r.returncode == 1, r
        log = inst.log()
        for text in ("starting the Facteur mail system",
                     "refreshing the Facteur mail system",
                     "stopping the Facteur mail system"):
            assert text in log, (text, log)

        # A stale master.pid left behind does not count as running.
        with open(os.path.join(inst.data_dir, "master.pid"), "w") as f:
            f.write("%d\n" % os.getpid())
        r = inst.facteur("status")
        assert r.returncode == 1, r
        # (Instance.cleanup trusts master.pid: do not let it kill us.)
        os.unlink(os.path.join(inst.data_dir, "master.pid"))
    finally:
        inst.cleanup()


def test_stop_with_services():
    """stop leaves neither master nor any of its children behind."""
    if not os.path.exists(ft.TESTSVC):
        raise ft.SkipTest("%s not built" % ft.TESTSVC)
    port = ft.free_port()
    inst = instance(master_cf="127.0.0.1:%d inet n n n - 2 %s\n"
                    % (port, ft.TESTSVC))
    try:
        inst.start()
        pid = inst.master_pid()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            greeting = s.makefile("rb").readline()
            assert greeting.startswith(b"testsvc "), greeting
            kids = ft.children_of(pid)
            assert kids, "no service process"
        r = inst.facteur("stop")
        assert r.returncode == 0, r
        for p in [pid] + kids:
            assert not ft.process_alive(p), "process %d still running" % p
        # The port is free again: a new start can have it.
        r = inst.facteur("start")
        assert r.returncode == 0, r
        inst.facteur("stop", check=True)
    finally:
        inst.cleanup()


def test_start_fails():
    """start reports master's failure (a port in use) and exits 1."""
    if not os.path.exists(ft.TESTSVC):
        raise ft.SkipTest("%s not built" % ft.TESTSVC)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        inst = instance(master_cf="127.0.0.1:%d inet n n n - 1 %s\n"
                        % (port, ft.TESTSVC))
        try:
            r = inst.facteur("start")
            assert r.returncode == 1, r
            assert "fatal" in r.stderr, r.stderr
            r = inst.facteur("status")
            assert r.returncode == 1, r
        finally:
            inst.cleanup()


def test_not_running():
    inst = instance()
    try:
        for cmd in ("stop", "reload"):
            r = inst.facteur(cmd)
            assert r.returncode == 1, (cmd, r)
            assert r.stderr == (
                "facteur: fatal: the Facteur mail system is not running\n"), (cmd, r.stderr)
    finally:
        inst.cleanup()


def test_start_bad_config():
    inst = instance("message_size_limit = 10x\n")
    try:
        r = inst.facteur("start")
        assert r.returncode == 1, r
        assert r.stderr.startswith("facteur: fatal: "), r.stderr
        assert "message_size_limit" in r.stderr
        time.sleep(0.2)
        assert inst.master_pid() is None
    finally:
        inst.cleanup()


def test_reload_bad_config():
    inst = instance()
    try:
        inst.start()
        pid = inst.master_pid()
        with open(os.path.join(inst.config_dir, "master.cf"), "w") as f:
            f.write("alpha unix - -\n")
        r = inst.facteur("reload")
        assert r.returncode == 1, r
        assert r.stderr.startswith("facteur: fatal: "), r.stderr
        assert inst.master_pid() == pid
    finally:
        inst.cleanup()


def test_usage():
    inst = instance()
    try:
        r = inst.facteur("nosuchcommand")
        assert r.returncode == 1, r
        assert "facteur: error: unknown command: nosuchcommand" in r.stderr
        r = inst.facteur("status", "extra")
        assert r.returncode == 1, r
        r = subprocess.run([ft.FACTEUR], capture_output=True, text=True)
        assert r.returncode == 1 and "usage:" in r.stderr, r
    finally:
        inst.cleanup()


if __name__ == "__main__":
    if not os.path.exists(ft.FACTEUR):
        print("SKIP: %s not built" % ft.FACTEUR)
        sys.exit(77)
    if not os.path.exists(ft.MASTER):
        print("SKIP: %s not built yet" % ft.MASTER)
        sys.exit(77)
    ft.run_tests([
        test_check_creates_dirs, test_check_bad_main_cf,
        test_check_bad_master_cf, test_check_mail_owner, test_check_warnings,
        test_check_auth_secrets,
        test_start_status_reload_stop, test_stop_with_services,
        test_start_fails, test_not_running, test_start_bad_config,
        test_reload_bad_config, test_usage,
    ])
