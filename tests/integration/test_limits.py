#!/usr/bin/env python3
"""Connection limits of smtpd: what a client past a limit sees.

Process limits (master.cf maxproc and smtpd_process_session_limit): a
client past them waits in the listen queue and is greeted as soon as a
session ends; it is never reset, and no reply is cut in the middle.
Per-client limits (smtpd_client_connection_count_limit and
smtpd_client_connection_rate_limit, counted by the anvil service across
every smtpd process): a client past them gets "421 4.7.0 ... Error: too
many connections from ADDR" and is disconnected; the server keeps serving
everyone else.  Runs as root or as an ordinary user.
"""
import os
import re
import smtplib
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

SMTPD = os.path.join(ft.BUILDDIR, "smtpd", "smtpd")
ANVIL = os.path.join(ft.BUILDDIR, "anvil", "anvil")
MAIN_CF = (
    "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
    "master_stop_timeout = 3s\n"
    "mynetworks = 192.0.2.0/24\n"
    "smtpd_error_sleep_time = 0\n"
    "alias_maps =\n"
    # As root, the default mail_owner ("facteur") may not exist here.
    + ("mail_owner = nobody\n" if os.geteuid() == 0 else "")
)


class Env:
    def __init__(self, main_cf="", maxproc="-", anvil=True):
        if not os.access(SMTPD, os.X_OK):
            raise ft.SkipTest("smtpd not built")
        self.port = ft.free_port()
        lines = "127.0.0.1:%d inet n n n - %s %s\n" % (
            self.port, maxproc, SMTPD)
        if anvil:
            lines += "anvil unix - n n - 1 %s\n" % ANVIL
        self.inst = ft.Instance(main_cf=MAIN_CF + main_cf, master_cf=lines,
                                name="facteur-limits")
        os.makedirs(os.path.join(self.inst.queue_dir, "incoming"),
                    exist_ok=True)
        self.inst.start()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), 10)
        s.settimeout(10)
        return s

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern, re.M)
        return ft.wait_for(lambda: rx.search(self.inst.log()), timeout,
                           what="log /%s/" % pattern)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.inst.cleanup()


def read_reply(s, timeout=10):
    """One whole reply (all its lines), or b"" at end of file."""
    s.settimeout(timeout)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and re.match(rb"^\d{3} ", lines[-2]):
            return data


def greeting_or_none(s, timeout):
    """The greeting, or None when none came within timeout (queued)."""
    try:
        return read_reply(s, timeout)
    except socket.timeout:
        return None


def assert_served(env):
    """A normal session with a message, start to end."""
    with smtplib.SMTP("127.0.0.1", env.port, timeout=10) as c:
        code, _ = c.ehlo("client.test")
        assert code == 250
        c.sendmail("a@example.org", ["postmaster@mail.example.test"],
                   b"Subject: t\r\n\r\nhello\r\n")


def session(s):
    """EHLO and QUIT on a greeted socket; every reply whole."""
    s.sendall(b"EHLO client.test\r\n")
    r = read_reply(s)
    assert r.startswith(b"250-") and r.endswith(b"\r\n"), r
    s.sendall(b"QUIT\r\n")
    r = read_reply(s)
    assert r.startswith(b"221 2.0.0"), r
    assert s.recv(100) == b""


# ----------------------------------------------------------------- process


def test_process_limits_queue_clients():
    """maxproc 1 x smtpd_process_session_limit 3: the 4th..6th wait."""
    with Env("smtpd_process_session_limit = 3\n", maxproc="1",
             anvil=False) as env:
        first = [env.connect() for _ in range(3)]
        for s in first:
            g = read_reply(s)
            assert g.startswith(b"220 "), g
        extra = [env.connect() for _ in range(3)]
        for s in extra:
            # Queued, not refused, not reset: nothing arrives yet.
            assert greeting_or_none(s, 0.5) is None
        for s in first:
            session(s)
        for s in extra:
            g = read_reply(s)
            assert g.startswith(b"220 "), g
            session(s)
        assert_served(env)


def test_many_clients_past_limits():
    """40 clients at once, room for 4: every one served whole in turn."""
    with Env("smtpd_process_session_limit = 2\n", maxproc="2",
             anvil=False) as env:
        socks = [env.connect() for _ in range(40)]
        for s in socks:
            g = read_reply(s, timeout=30)
            assert g.startswith(b"220 "), g
            session(s)
        assert_served(env)
        assert "panic" not in env.inst.log()


# ------------------------------------------------------------------- anvil


def test_count_limit():
    """smtpd_client_connection_count_limit = 2: the third gets 421."""
    with Env("smtpd_client_connection_count_limit = 2\n"
             "smtpd_client_event_limit_exceptions =\n") as env:
        a, b = env.connect(), env.connect()
        assert read_reply(a).startswith(b"220 ")
        assert read_reply(b).startswith(b"220 ")
        c = env.connect()
        r = read_reply(c)
        assert r == (b"421 4.7.0 mail.example.test Error: too many "
                     b"connections from 127.0.0.1\r\n"), r
        assert c.recv(100) == b""
        env.wait_log(r"warning: Connection concurrency limit exceeded: 3 "
                     r"from unknown\[127\.0\.0\.1\] for service "
                     r"127\.0\.0\.1:%d" % env.port)
        # One leaves: room for the next.
        session(a)
        time.sleep(0.3)
        d = env.connect()
        assert read_reply(d).startswith(b"220 ")
        session(d)
        session(b)
        assert_served(env)


def test_count_limit_across_processes():
    """The count spans processes: one session per process, limit 2."""
    with Env("smtpd_client_connection_count_limit = 2\n"
             "smtpd_process_session_limit = 1\n"
             "smtpd_client_event_limit_exceptions =\n",
             maxproc="5") as env:
        a, b = env.connect(), env.connect()
        assert read_reply(a).startswith(b"220 ")
        assert read_reply(b).startswith(b"220 ")
        c = env.connect()
        r = read_reply(c)
        assert r.startswith(b"421 4.7.0 "), r
        session(a)
        session(b)
        assert_served(env)


def test_rate_limit():
    """smtpd_client_connection_rate_limit = 3 per anvil_rate_time_unit."""
    with Env("smtpd_client_connection_rate_limit = 3\n"
             "anvil_rate_time_unit = 2s\n"
             "smtpd_client_event_limit_exceptions =\n") as env:
        for _ in range(3):
            s = env.connect()
            assert read_reply(s).startswith(b"220 ")
            session(s)
        s = env.connect()
        r = read_reply(s)
        assert r == (b"421 4.7.0 mail.example.test Error: too many "
                     b"connections from 127.0.0.1\r\n"), r
        env.wait_log(r"warning: Connection rate limit exceeded: 4 from "
                     r"unknown\[127\.0\.0\.1\] for service")
        # A new time unit: allowed again.
        time.sleep(2.5)
        assert_served(env)


def test_message_rate_limit():
    """smtpd_client_message_rate_limit = 2: the third MAIL gets 450."""
    with Env("smtpd_client_message_rate_limit = 2\n"
             "smtpd_client_event_limit_exceptions =\n") as env:
        s = env.connect()
        assert read_reply(s).startswith(b"220 ")
        s.sendall(b"EHLO client.test\r\n")
        assert read_reply(s).startswith(b"250-")
        # Pipelined: MAIL waits for anvil, the replies keep their order.
        s.sendall(b"MAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<postmaster@mail.example.test>\r\nDATA\r\n")
        r = b""
        while r.count(b"\r\n") < 3:
            r += s.recv(4096)
        assert r == (b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
                     b"<CR><LF>.<CR><LF>\r\n"), r
        s.sendall(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        assert read_reply(s).startswith(b"250 2.0.0 Ok: queued as ")
        s.sendall(b"MAIL FROM:<a@example.org>\r\n")
        assert read_reply(s) == b"250 2.1.0 Ok\r\n"
        s.sendall(b"RSET\r\nMAIL FROM:<a@example.org>\r\nNOOP\r\n")
        r = b""
        while r.count(b"\r\n") < 3:
            r += s.recv(4096)
        assert r == (b"250 2.0.0 Ok\r\n450 4.7.1 Error: too much mail from "
                     b"127.0.0.1\r\n250 2.0.0 Ok\r\n"), r
        env.wait_log(r"warning: Message delivery request rate limit "
                     r"exceeded: 3 from unknown\[127\.0\.0\.1\] for service")
        session_quit(s)


def session_quit(s):
    s.sendall(b"QUIT\r\n")
    assert read_reply(s).startswith(b"221 ")


def test_exceptions():
    """Clients in smtpd_client_event_limit_exceptions are not limited."""
    with Env("smtpd_client_connection_count_limit = 1\n"
             "smtpd_client_event_limit_exceptions = 127.0.0.0/8\n") as env:
        socks = [env.connect() for _ in range(3)]
        for s in socks:
            assert read_reply(s).startswith(b"220 ")
        for s in socks:
            session(s)


def test_default_exempts_mynetworks():
    """The default exceptions are $mynetworks."""
    with Env("smtpd_client_connection_count_limit = 1\n"
             "mynetworks = 127.0.0.0/8\n") as env:
        socks = [env.connect() for _ in range(2)]
        for s in socks:
            assert read_reply(s).startswith(b"220 ")
            session(s)


def test_anvil_down_allows():
    """No anvil service: the limit cannot be checked; clients pass."""
    with Env("smtpd_client_connection_count_limit = 1\n"
             "smtpd_client_event_limit_exceptions =\n",
             anvil=False) as env:
        socks = [env.connect() for _ in range(2)]
        for s in socks:
            assert read_reply(s).startswith(b"220 ")
        for s in socks:
            session(s)
        env.wait_log(r"warning: .*anvil.*")


def test_anvil_survives_garbage():
    """A bad request is refused and anvil goes on serving."""
    with Env("smtpd_client_connection_count_limit = 1\n"
             "smtpd_client_event_limit_exceptions =\n") as env:
        sock_path = os.path.join(env.inst.queue_dir, "private", "anvil")
        a = env.connect()
        assert read_reply(a).startswith(b"220 ")
        for junk in (b"\x00\x00\x00\x05\x05proto",
                     b"\xff\xff\xff\xff",
                     b"\x00\x00\x00\x0e\x05proto\x00\x00\x00\x03xx/"):
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(sock_path)
            u.sendall(junk)
            u.settimeout(5)
            try:
                while u.recv(100):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
            u.close()
        b = env.connect()
        assert read_reply(b).startswith(b"421 4.7.0 ")
        session(a)
        assert "panic" not in env.inst.log()


if __name__ == "__main__":
    ft.run_tests([
        test_process_limits_queue_clients,
        test_many_clients_past_limits,
        test_count_limit,
        test_count_limit_across_processes,
        test_rate_limit,
        test_message_rate_limit,
        test_exceptions,
        test_default_exempts_mynetworks,
        test_anvil_down_allows,
        test_anvil_survives_garbage,
    ])
