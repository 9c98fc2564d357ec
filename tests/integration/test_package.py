#!/usr/bin/env python3
"""The Debian package, installed and run as root, with privilege separation.

Builds the facteur package from a copy of the source tree
(dpkg-buildpackage -b, nocheck; FACTEUR_TEST_DEB=file.deb uses one built
before), checks it with lintian, installs it with
dpkg -i, starts it with `facteur start` (what the systemd unit runs;
systemd is absent in containers and CI), creates a system user and a
virtual user, sends mail to both over SMTP on port 25 and over
submission (587, STARTTLS + AUTH), reads it back over IMAP and POP3 when
the installed master.cf runs those services, and checks the claims of
the security design through /proc and stat(2):

- master is the only process that stays root but for the services that
  master.cf starts as root (unpriv = n): local, which switches its
  effective ids to each mailbox's owner per delivery, and the post-login
  dispatchers pop3d and imapd, which fork one worker per mailbox owner;
  auth (the auth and userdb services) runs as auth_owner
  (facteur-auth), every other process under master with mail_owner's
  uids and group and no capabilities, and the workers are not root;
- delivered files belong to the recipient (system user) or vmail;
- queue files and directories are mail_owner's and closed to others; the
  TLS key is root's, mode 0600; the passwd-file is root:facteur-auth
  0640, so smtpd (mail_owner) cannot read it;
- an ordinary user's sendmail (set-gid facteur-drop) queues mail, and
  that user can neither list maildrop/ nor read queued files.

It reinstalls the package over the running system (an upgrade: the
queue, the configuration and the key stay, master is restarted), stops
the system, starts it again and purges the package while it runs: prerm stops it, nothing stays running, and purge removes the
queue, the state directory and the generated certificate.  What purge
keeps on purpose (the accounts, /etc/aliases) the test removes itself when
it was not there before, leaving the machine as it found it.

Runs only as root with dpkg-buildpackage, debhelper and lintian present
(tests/deps installs them), on a machine where no other MTA is installed
and ports 25 and 587 are free; it skips otherwise (exit 77), also on a
read-only source tree (make distcheck).  The package build takes one to two
minutes on 2 cores, so it is not part of make check: tests/run-all runs it
as its own step, as root, after the first make check:

  FACTEUR_SRCDIR=/path/to/checkout python3 tests/integration/test_package.py
"""

import fcntl
import imaplib
import os
import poplib
import pwd
import grp
import shutil
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from facteur_test import SRCDIR, SkipTest, process_alive, run_tests, wait_for  # noqa: E402

PKG = "facteur"
CONF = "/etc/facteur"
QUEUE = "/var/spool/facteur"
DATA = "/var/lib/facteur"
DAEMONS = "/usr/lib/facteur"
FACTEUR = "/usr/sbin/facteur"
SENDMAIL = "/usr/sbin/sendmail"
KEY = CONF + "/tls/facteur.key"
CERT = CONF + "/tls/facteur.pem"
SYS_USER = "fpkg-sys"
VIRT_USER = "vuser@virt.test"
VIRT_PASS = "virt-secret"

work = None           # temporary directory: source copy, .deb, vhosts
deb = None            # the built package
state = {}            # what one step leaves for the next


def run(*args, check=True, timeout=120, **kw):
    proc = subprocess.run(list(args), capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(args), proc.returncode, proc.stdout[-3000:],
            proc.stderr[-3000:]))
    return proc


def facteur(*args, check=True):
    return run(FACTEUR, *args, check=check)


def installed(package):
    proc = run("dpkg-query", "-W", "-f=${Status}", package, check=False)
    return proc.returncode == 0 and "ok installed" in proc.stdout


def port_busy(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def why_skip():
    """None when the test can run here, else the reason."""
    if os.geteuid() != 0:
        return ("needs root: it installs the package with dpkg and checks "
                "privilege separation (CI runs it as root)")
    for tool in ("dpkg-buildpackage", "dh", "fakeroot", "lintian"):
        if shutil.which(tool) is None:
            return "%s is missing: run tests/deps as root" % tool
    if not os.path.isdir(os.path.join(SRCDIR, "debian")):
        return "no debian/ directory in %s" % SRCDIR
    if not os.stat(SRCDIR).st_mode & 0o222:
        return ("read-only source tree (make distcheck): make check "
                "already built and tested the package")
    if installed(PKG):
        return "the facteur package is installed here; not replacing it"
    proc = run("dpkg-query", "-W", "-f=${Package} ${Status} ${Provides}\n",
               check=False)
    for line in proc.stdout.splitlines():
        if "ok installed" in line and "mail-transport-agent" in line:
            return ("another MTA is installed (%s): installing facteur "
                    "would remove it" % line.split()[0])
    for port in (25, 587):
        if port_busy(port):
            return "port %d is in use on this machine" % port
    return None


# ------------------------------------------------------------ /proc

def proc_status(pid):
    """{field: value} of /proc/PID/status, or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        out[key] = value.split()
    return out


def descendants(pid):
    """Every live process under pid, with its parent."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and process_alive(child):
                found.append(child)
                todo.append(child)
    return found


def program(pid):
    """The program a process runs (basename of argv[0])."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return "?"
    return os.path.basename(argv0)


def facteur_processes():
    """Live processes that run an installed Facteur program."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            continue
        if exe.startswith(DAEMONS + "/") and process_alive(pid):
            found.append((pid, exe))
    return found


def master_pid():
    try:
        with open(os.path.join(DATA, "master.pid")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


# ------------------------------------------------------------ helpers

def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # postinst's self-signed certificate
    return ctx


def maildir_new(path):
    new = os.path.join(path, "new")
    return sorted(os.path.join(new, n) for n in os.listdir(new)) \
        if os.path.isdir(new) else []


def wait_mail(path, count, what):
    return wait_for(lambda: len(maildir_new(path)) >= count and
                    maildir_new(path), timeout=20, what=what)


def services():
    """{service name: command} of the installed master.cf."""
    out = {}
    for line in facteur("conf", "-M").stdout.splitlines():
        fields = line.split()
        if len(fields) >= 8:
            out[fields[0]] = fields[7]
    return out


def mail_log():
    try:
        with open(state["maillog"], errors="replace") as f:
            return f.read()
    except (OSError, KeyError):
        return ""


def with_log(fn):
    """Append the mail log to a failure of fn."""
    def wrapped():
        try:
            fn()
        except AssertionError as e:
            raise AssertionError("%s\n--- mail log:\n%s" % (e, mail_log()[-4000:]))
    wrapped.__name__ = fn.__name__
    return wrapped


# ------------------------------------------------------------ tests

def test_build():
    """dpkg-buildpackage -b on a copy of the source tree; lintian: no errors."""
    global deb
    if os.environ.get("FACTEUR_TEST_DEB"):
        # A package built before, to iterate on the rest of the test.
        deb = os.environ["FACTEUR_TEST_DEB"]
        check_package()
        return
    src = os.path.join(work, "facteur")
    os.makedirs(src)
    excludes = ["--exclude=./" + x for x in (
        "build", "build-*", ".git", "demo-instance", "autom4te.cache",
        "facteur-*", "debian/facteur", "debian/.debhelper", "debian/tmp")]
    tar = subprocess.Popen(["tar", "-C", SRCDIR] + excludes +
                           ["--exclude=__pycache__", "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    run("tar", "-C", src, "-xf", "-", stdin=tar.stdout)
    assert tar.wait() == 0
    # A checkout configured in place brings a config.status and Makefile
    # made for other paths: dh_autoreconf and dh_auto_configure redo them.
    for f in ("config.status", "Makefile", "autoconf.h", "config.log"):
        if os.path.exists(os.path.join(src, f)):
            os.unlink(os.path.join(src, f))
    env = dict(os.environ,
               DEB_BUILD_OPTIONS="nocheck noddebs parallel=%d" % (os.cpu_count() or 2),
               DEB_BUILD_PROFILES="nocheck")
    proc = run("dpkg-buildpackage", "-us", "-uc", "-b", cwd=src, env=env,
               check=False, timeout=900)
    assert proc.returncode == 0, "dpkg-buildpackage failed:\n%s%s" % (
        proc.stdout[-4000:], proc.stderr[-4000:])
    debs = [f for f in os.listdir(work) if f.startswith(PKG + "_") and f.endswith(".deb")]
    assert len(debs) == 1, debs
    deb = os.path.join(work, debs[0])
    check_package()


def check_package():
    """Contents, conffiles, relations; lintian: no errors."""
    files = run("dpkg-deb", "-c", deb).stdout
    for path in ("./usr/sbin/facteur", "./usr/sbin/sendmail", "./usr/bin/mailq",
                 "./usr/bin/newaliases", "./usr/lib/facteur/master",
                 "./usr/lib/facteur/smtpd", "./etc/facteur/main.cf",
                 "./etc/facteur/master.cf", "./lib/systemd/system/facteur.service",
                 "./usr/share/man/man8/smtpd.8.gz"):
        assert " " + path in files, "%s is not in the package" % path
    conffiles = run("sh", "-c", "dpkg-deb --ctrl-tarfile '%s' | tar -xO ./conffiles" % deb).stdout
    assert sorted(conffiles.split()) == [CONF + "/main.cf", CONF + "/master.cf"], conffiles
    control = run("dpkg-deb", "-f", deb, "Provides", "Conflicts", "Replaces").stdout
    assert control.count("mail-transport-agent") == 3, control

    lint = run("lintian", "--no-tag-display-limit", deb, check=False, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line.startswith("E: ")]
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    assert lint.returncode in (0, 2), lint.stdout + lint.stderr


def test_install():
    """dpkg -i: users, the queue, modes, certificate, set-gid sendmail."""
    assert deb is not None, "no package (test_build failed)"
    run("dpkg", "-i", deb, timeout=300)
    state["installed"] = True

    owner = pwd.getpwnam("facteur")
    drop = grp.getgrnam("facteur-drop")
    pwd.getpwnam("vmail")
    state["owner"] = owner

    st = os.stat(SENDMAIL)
    assert (st.st_uid, st.st_gid) == (0, drop.gr_gid), "sendmail owner"
    assert stat.S_IMODE(st.st_mode) == 0o2755, oct(st.st_mode)

    st = os.stat(QUEUE)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755), oct(st.st_mode)
    want = {"maildrop": (drop.gr_gid, 0o1730), "public": (drop.gr_gid, 0o710)}
    for name in ("private", "public", "maildrop", "incoming", "active",
                 "deferred", "hold", "corrupt", "bounce", "defer"):
        st = os.stat(os.path.join(QUEUE, name))
        gid, mode = want.get(name, (owner.pw_gid, 0o700))
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (owner.pw_uid, gid, mode), "%s: %d:%d %o" % (
                name, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    st = os.stat(DATA)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (owner.pw_uid, 0o700)

    # The TLS key: root's alone (the servers load it before dropping).
    st = os.stat(KEY)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600), oct(st.st_mode)
    assert os.path.isfile(CERT)
    conf = facteur("conf", "smtpd_tls_cert_file", "smtpd_tls_key_file",
                   "daemon_directory", "queue_directory", "data_directory",
                   "myhostname").stdout
    for line in ("smtpd_tls_cert_file = " + CERT, "smtpd_tls_key_file = " + KEY,
                 "daemon_directory = " + DAEMONS, "queue_directory = " + QUEUE,
                 "data_directory = " + DATA):
        assert line in conf.splitlines(), conf
    myhostname = [l for l in conf.splitlines() if l.startswith("myhostname = ")][0]
    assert "." in myhostname, myhostname
    assert os.path.exists("/etc/aliases.db"), "postinst did not run newaliases"
    # The installed main.cf and master.cf are the package's, unchanged.
    run("dpkg", "--verify", PKG)
    if shutil.which("systemd-analyze"):
        proc = run("systemd-analyze", "verify", "facteur.service", check=False)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


@with_log
def test_start_and_deliver():
    """Start as root; mail to a system user and a virtual user over SMTP."""
    os.chmod(work, 0o755)
    vhosts = os.path.join(work, "vhosts")
    os.mkdir(vhosts, 0o750)
    vmail = pwd.getpwnam("vmail")
    os.chown(vhosts, vmail.pw_uid, vmail.pw_gid)
    state["maillog"] = os.path.join(work, "maillog")
    state["vhosts"] = vhosts
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    facteur("conf", "-e",
            "inet_interfaces = loopback-only",
            "relayhost = [127.0.0.1]:%d" % dead_port,
            "maillog_file = " + state["maillog"],
            "virtual_mailbox_domains = virt.test",
            "virtual_mailbox_base = " + vhosts,
            "virtual_uid_maps = static:vmail",
            "virtual_gid_maps = static:vmail",
            "auth_passwd_file = " + CONF + "/users")
    facteur("user", "add", VIRT_USER, "-p", VIRT_PASS)
    st = os.stat(CONF + "/users")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, pwd.getpwnam("facteur-auth").pw_gid, 0o640), \
        "passwd-file %o" % st.st_mode

    run("useradd", "--create-home", "--shell", "/bin/sh", SYS_USER)
    state["sys_user"] = pwd.getpwnam(SYS_USER)

    facteur("check")
    facteur("start")
    assert master_pid() is not None, "no master after facteur start"
    wait_for(lambda: port_busy(25), what="port 25")

    with smtplib.SMTP("127.0.0.1", 25, timeout=30) as s:
        code, _ = s.ehlo("client.example")
        assert code == 250
        assert s.has_extn("starttls"), "no STARTTLS with postinst's certificate"
        refused = s.sendmail("sender@example.org",
                             [SYS_USER + "@localhost", VIRT_USER],
                             "Subject: over port 25\r\n\r\nhello system and virtual\r\n")
        assert refused == {}, refused

    # Submission: STARTTLS with the root-only key, AUTH through auth
    # (running as facteur) reading the root:facteur 0640 passwd-file.
    with smtplib.SMTP("127.0.0.1", 587, timeout=30) as s:
        s.starttls(context=tls_context())
        s.login(VIRT_USER, VIRT_PASS)
        refused = s.sendmail(VIRT_USER, [SYS_USER + "@localhost"],
                             "Subject: over 587\r\n\r\nsubmitted\r\n")
        assert refused == {}, refused

    sys_maildir = os.path.join(state["sys_user"].pw_dir, "Maildir")
    virt_maildir = os.path.join(vhosts, "virt.test", "vuser")
    state["virt_maildir"] = virt_maildir
    for path in wait_mail(sys_maildir, 2, "system user's mail"):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (state["sys_user"].pw_uid,
                                          state["sys_user"].pw_gid), path
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0, oct(st.st_mode)
    (path,) = wait_mail(virt_maildir, 1, "virtual user's mail")
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (vmail.pw_uid, vmail.pw_gid), path
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0, oct(st.st_mode)
    with open(path, "rb") as f:
        assert b"hello system and virtual" in f.read()


@with_log
def test_imap():
    """Read the virtual user's mail over IMAP (STARTTLS), when installed."""
    svc = services()
    if "imap" not in svc:
        raise SkipTest("the installed master.cf runs no imap service "
                       "(imap-login %s)" % ("is installed" if os.path.exists(
                           DAEMONS + "/imap-login") else "is not built yet"))
    with imaplib.IMAP4("127.0.0.1", 143, timeout=30) as m:
        m.starttls(ssl_context=tls_context())
        m.login(VIRT_USER, VIRT_PASS)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK" and int(data[0]) >= 1, data
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and b"hello system and virtual" in data[0][1], data
        state["imap_checked"] = True
        check_processes("imap session open")
        m.logout()


@with_log
def test_pop3():
    """Read the virtual user's mail over POP3 (STLS), when installed."""
    svc = services()
    if "pop3" not in svc:
        raise SkipTest("the installed master.cf runs no pop3 service "
                       "(pop3-login %s)" % ("is installed" if os.path.exists(
                           DAEMONS + "/pop3-login") else "is not built yet"))
    m = poplib.POP3("127.0.0.1", 110, timeout=30)
    try:
        m.stls(context=tls_context())
        m.user(VIRT_USER)
        m.pass_(VIRT_PASS)
        count, _ = m.stat()
        assert count >= 1, count
        _, lines, _ = m.retr(1)
        assert b"hello system and virtual" in b"\n".join(lines), lines
        check_processes("pop3 session open")
    finally:
        m.quit()


def root_services():
    """Programs that master.cf starts as root (unpriv = n)."""
    out = set()
    for line in facteur("conf", "-M").stdout.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[3] == "n":
            out.add(fields[7])
    return out


def check_processes(when):
    """master alone is root but for unpriv=n services; prints the table.

    Every child of master runs with mail_owner's real, effective, saved
    and file-system uid and gid, mail_owner's group alone and no
    capabilities, unless master.cf says unpriv = n: local (root, switches
    its effective ids to each mailbox's owner per delivery) and the
    post-login dispatchers imapd/pop3d (root, fork one worker per mailbox
    owner).  Their children, the workers, must not be root.
    """
    owner = state["owner"]
    master = master_pid()
    assert master is not None, "master is not running"
    st = proc_status(master)
    assert st["Uid"] == ["0"] * 4, "master: %s" % st["Uid"]
    as_root = root_services()
    table = []
    for pid in descendants(master):
        st = proc_status(pid)
        if st is None:
            continue
        name = program(pid)
        parent = int(st["PPid"][0])
        uids, gids, groups = st["Uid"], st["Gid"], st.get("Groups", [])
        cap = int(st["CapEff"][0], 16)
        role = "worker of %d" % parent if parent != master else (
            "root by master.cf (unpriv=n)" if name in as_root else
            "auth_owner" if name == "auth" else "mail_owner")
        table.append("  %-12s pid %-6d uid %-20s gid %-20s groups %-8s cap %x  %s" % (
            name, pid, "/".join(uids), "/".join(gids), ",".join(groups), cap, role))
        if parent != master:
            assert "0" not in uids and "0" not in gids and cap == 0, \
                "%s %d (child of %d) has root privileges: uid %s gid %s cap %x" % (
                    name, pid, parent, uids, gids, cap)
            continue
        if name in as_root:
            continue
        # auth_owner: the passwd-file's only reader has a uid of its own.
        user = pwd.getpwnam("facteur-auth") if name == "auth" else owner
        assert uids == [str(user.pw_uid)] * 4, "%s %d uids %s" % (name, pid, uids)
        assert gids == [str(user.pw_gid)] * 4, "%s %d gids %s" % (name, pid, gids)
        assert groups == [str(user.pw_gid)], "%s %d groups %s" % (name, pid, groups)
        assert cap == 0, "%s %d has capabilities %x" % (name, pid, cap)
    print("processes under master (pid %d, uid 0), %s:\n%s" % (
        master, when, "\n".join(table)))
    sys.stdout.flush()
    return table


@with_log
def test_privileges():
    """Every process but master (and local, by design) runs as facteur."""
    # Keep an SMTP session open so that an smtpd is there to be checked,
    # and make auth run (it starts on the first login).
    with smtplib.SMTP("127.0.0.1", 587, timeout=30) as s:
        s.starttls(context=tls_context())
        s.login(VIRT_USER, VIRT_PASS)
        table = check_processes("SMTP session open")
    names = {line.split()[0] for line in table}
    for name in ("smtpd", "qmgr", "auth"):
        assert name in names, "%s not running under master:\n%s" % (name, "\n".join(table))


@with_log
def test_queue_files_closed():
    """Queue files belong to facteur and are closed to others."""
    owner = state["owner"]
    # relayhost is a port where nobody listens (test_start_and_deliver):
    # the message waits in deferred/ for the next try, as it does where
    # the smtp client is missing.
    with smtplib.SMTP("127.0.0.1", 25, timeout=30) as s:
        s.sendmail("sender@example.org", ["someone@remote.example"],
                   "Subject: stays queued\r\n\r\nremote\r\n")
    files = wait_for(lambda: [os.path.join(d, f) for d, _, fs in
                              os.walk(os.path.join(QUEUE, "deferred")) for f in fs],
                     timeout=20, what="a deferred queue file")
    for d, dirs, fs in os.walk(QUEUE):
        if d == QUEUE:
            # maildrop/: files of their submitters (0444, in a 1730
            # directory); public/ and private/: sockets.
            dirs[:] = [x for x in dirs if x not in ("maildrop", "public", "private")]
        for f in fs:
            st = os.lstat(os.path.join(d, f))
            assert st.st_uid == owner.pw_uid, os.path.join(d, f)
            assert stat.S_IMODE(st.st_mode) & 0o077 == 0, "%s mode %o" % (
                os.path.join(d, f), st.st_mode)
    proc = run("runuser", "-u", SYS_USER, "--", "cat", files[0], check=False)
    assert proc.returncode != 0 and "Permission denied" in proc.stderr, proc.stderr
    state["deferred"] = files


@with_log
def test_upgrade():
    """Reinstalling over a running system keeps queue, config and key."""
    files = state.get("deferred")
    if not files:
        raise SkipTest("no deferred message (test_queue_files_closed failed)")
    old_master = master_pid()
    with open(KEY, "rb") as f:
        key = f.read()
    # prerm upgrade stops master (no systemd here), postinst starts it.
    run("dpkg", "-i", deb, timeout=300)
    assert master_pid() not in (None, old_master), "master not restarted"
    for path in files:
        assert os.path.exists(path), "%s lost in the upgrade" % path
    assert "virtual_mailbox_domains = virt.test" in facteur("conf", "-n").stdout
    with open(KEY, "rb") as f:
        assert f.read() == key, "postinst replaced the TLS key"
    st = os.stat(SENDMAIL)
    assert stat.S_IMODE(st.st_mode) == 0o2755, "set-gid lost: %o" % st.st_mode
    wait_for(lambda: port_busy(25), what="port 25 after the upgrade")
    facteur("queue", "-d", "ALL")


@with_log
def test_sendmail_ordinary_user():
    """An ordinary user queues mail with sendmail, cannot see others'."""
    for args in (["ls", QUEUE + "/maildrop"], ["ls", QUEUE + "/incoming"],
                 ["cat", QUEUE + "/maildrop/anything"]):
        proc = run("runuser", "-u", SYS_USER, "--", *args, check=False)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr, \
            "%s: %s" % (args, proc.stderr)
    # -C (another configuration) is for root only in a set-gid sendmail.
    proc = run("runuser", "-u", SYS_USER, "--", SENDMAIL, "-C", "/tmp",
               VIRT_USER, input="Subject: x\n\nx\n", check=False)
    assert proc.returncode != 0, "set-gid sendmail accepted -C from a user"

    before = len(maildir_new(state["virt_maildir"]))
    proc = run("runuser", "-u", SYS_USER, "--", SENDMAIL, VIRT_USER,
               input="Subject: from sendmail\n\nqueued by an ordinary user\n",
               check=False)
    assert proc.returncode == 0, proc.stderr
    wait_mail(state["virt_maildir"], before + 1, "mail from sendmail")
    newest = max(maildir_new(state["virt_maildir"]), key=os.path.getmtime)
    with open(newest, "rb") as f:
        assert b"queued by an ordinary user" in f.read()


def test_stop():
    """facteur stop: master and every child are gone, ports closed."""
    assert state.get("installed"), "not installed"
    facteur("stop")
    wait_for(lambda: not facteur_processes(), timeout=15,
             what="no Facteur process left: %s" % facteur_processes())
    assert not port_busy(25), "port 25 still open"


def test_purge_while_running():
    """dpkg --purge of a running system: stopped, queue and state removed."""
    assert state.get("installed"), "not installed"
    facteur("start")
    assert master_pid() is not None
    os.unlink(CONF + "/users")  # the administrator's file, not the package's
    run("dpkg", "--purge", PKG, timeout=300)
    state["installed"] = False
    assert not facteur_processes(), "still running after purge: %s" % facteur_processes()
    assert not port_busy(25), "port 25 still open after purge"
    for path in (QUEUE, DATA, CONF, SENDMAIL, FACTEUR, DAEMONS, "/usr/bin/mailq"):
        assert not os.path.lexists(path), "%s left after purge" % path
    proc = run("dpkg-statoverride", "--list", SENDMAIL, check=False)
    assert proc.returncode != 0, "statoverride left: " + proc.stdout
    # Kept, as Postfix keeps them: the accounts (vmail owns mailboxes).
    pwd.getpwnam("vmail")
    grp.getgrnam("facteur-drop")


# What purge keeps on purpose (Debian practice), and the test removes when
# it was not there before, so that the machine is left as it was found.
KEPT_USERS = ("vmail", "facteur", "facteur-auth")
KEPT_GROUPS = ("facteur-drop", "facteur", "vmail", "facteur-auth")
KEPT_FILES = ("/etc/aliases", "/etc/aliases.db")


def exists_before():
    def user(name):
        try:
            return bool(pwd.getpwnam(name))
        except KeyError:
            return False

    def group(name):
        try:
            return bool(grp.getgrnam(name))
        except KeyError:
            return False
    return ({u for u in KEPT_USERS if user(u)}, {g for g in KEPT_GROUPS if group(g)},
            {f for f in KEPT_FILES if os.path.lexists(f)})


def cleanup():
    if state.get("installed") or installed(PKG):
        if os.path.exists(FACTEUR):
            facteur("stop", check=False)
        run("dpkg", "--purge", PKG, check=False, timeout=300)
    for pid, _ in facteur_processes():
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    if "sys_user" in state:
        run("userdel", "--remove", SYS_USER, check=False)
    if "before" in state:
        users, groups, files = state["before"]
        for name in KEPT_USERS:
            if name not in users:
                run("userdel", name, check=False)
        for name in KEPT_GROUPS:
            if name not in groups:
                run("groupdel", name, check=False)
        for path in KEPT_FILES:
            if path not in files and os.path.lexists(path):
                os.unlink(path)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)


def timed(fn):
    """Say how long each step took: the whole test must stay short."""
    def wrapped():
        start = time.monotonic()
        try:
            fn()
        finally:
            print("%s: %.1f s" % (fn.__name__, time.monotonic() - start))
    wrapped.__name__ = fn.__name__
    return wrapped


def main():
    global work
    # One run at a time on a machine: the package, port 25 and the users
    # are system-wide.  The lock goes when the process does.
    if os.geteuid() == 0:
        state["lock"] = open("/run/facteur-test-package.lock", "a")
        fcntl.flock(state["lock"], fcntl.LOCK_EX)
    reason = why_skip()
    if reason:
        print("SKIP: test_package: " + reason)
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="facteur-pkg-")
    state["before"] = exists_before()
    try:
        run_tests([timed(t) for t in (
            test_build, test_install, test_start_and_deliver, test_imap,
            test_pop3, test_privileges, test_queue_files_closed,
            test_upgrade, test_sendmail_ordinary_user, test_stop, test_purge_while_running)])
    finally:
        cleanup()


if __name__ == "__main__":
    main()
