#!/usr/bin/env python3
"""Integration tests for smtpd: a real instance (master + smtpd on a
loopback port), driven with smtplib and raw sockets.  Messages stay in
incoming/ (qmgr need not run); a small reader of the queue file format
(lib/global/qfile.h) checks envelope and content byte for byte.

Runs as root or as an ordinary user: services are unpriv "n", so they run
as whoever runs the test and can write the temporary queue.
"""

import os
import re
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

SMTPD = os.path.join(ft.BUILDDIR, "smtpd", "smtpd")
HOST = "mail.example.test"
LOCAL_RCPT = "postmaster@" + HOST
MAIN_CF = (
    "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
    "master_stop_timeout = 3s\n"
    # The tests' client (127.0.0.1) is not in mynetworks, so relaying is
    # refused and local recipients are checked.
    "mynetworks = 192.0.2.0/24\n"
    "smtpd_error_sleep_time = 0\n"
    # No aliases file in a test instance: system accounts only.
    "alias_maps =\n"
    # As root, the default mail_owner ("facteur") may not exist here.
    + ("mail_owner = nobody\n" if os.geteuid() == 0 else "")
)


# ------------------------------------------------------------ queue files

def read_qfile(path):
    """Parse a queue file: dict with sender, attrs, rcpts, content."""
    with open(path, "rb") as f:
        data = f.read()
    pos, q = 0, {"attrs": {}, "rcpts": [], "content": b"", "end": None}
    while pos < len(data):
        typ = chr(data[pos])
        (n,) = struct.unpack(">I", data[pos + 1:pos + 5])
        body = data[pos + 5:pos + 5 + n]
        pos += 5 + n
        if typ == "V":
            assert body == b"facteur-qfile/1"
        elif typ == "S":
            q["sender"] = body.decode()
        elif typ == "A":
            k, v = body.decode().split("=", 1)
            q["attrs"][k] = v
        elif typ == "R":
            alen = struct.unpack(">H", body[2:4])[0]
            q["rcpts"].append({"status": chr(body[0]), "notify": body[1],
                               "addr": body[4:4 + alen].decode(),
                               "orcpt": body[4 + alen:].decode()})
        elif typ == "M":
            q["content"] += body
        elif typ == "E":
            q["end"] = struct.unpack(">QI", body)
    assert q["end"] is not None, "no end record"
    assert q["end"][0] == len(q["content"])
    return q


class Smtpd:
    """An instance running smtpd on a loopback port (plus TLS ports)."""

    def __init__(self, main_cf="", services=None):
        if not os.access(SMTPD, os.X_OK):
            raise ft.SkipTest("smtpd not built")
        self.port = ft.free_port()
        lines = "127.0.0.1:%d inet n n n - - %s\n" % (self.port, SMTPD)
        for port, opts in (services or []):
            lines += "127.0.0.1:%d inet n n n - - %s %s\n" % (
                port, SMTPD, opts)
        self.inst = ft.Instance(main_cf=MAIN_CF + main_cf, master_cf=lines,
                                name="facteur-smtpd")
        os.makedirs(os.path.join(self.inst.queue_dir, "incoming"),
                    exist_ok=True)
        self.inst.start()

    def incoming(self):
        d = os.path.join(self.inst.queue_dir, "incoming")
        return sorted(f for f in os.listdir(d) if not f.startswith("tmp."))

    def all_files(self):
        d = os.path.join(self.inst.queue_dir, "incoming")
        return sorted(os.listdir(d))

    def qfile(self, qid):
        return read_qfile(os.path.join(self.inst.queue_dir, "incoming", qid))

    def wait_log(self, pattern, timeout=5.0):
        rx = re.compile(pattern, re.M)
        return ft.wait_for(lambda: rx.search(self.inst.log()), timeout,
                           what="log /%s/" % pattern)

    def stop(self):
        self.inst.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


class Raw:
    """A raw SMTP connection: send bytes, read replies."""

    def __init__(self, port, sock=None):
        self.s = sock or socket.create_connection(("127.0.0.1", port), 10)
        self.s.settimeout(10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply as (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), "\n".join(l[4:] for l in lines)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.s.recv(100) == b""
        except (ConnectionResetError, socket.timeout):
            return True

    def close(self):
        self.s.close()


def expect(got, code, text=None):
    assert got[0] == code, "expected %d, got %r" % (code, got)
    if text is not None:
        assert text in got[1], "expected %r in %r" % (text, got)


def greet(port, ehlo="client.example"):
    r = Raw(port)
    expect(r.reply(), 220, HOST + " ESMTP Facteur")
    expect(r.cmd("EHLO " + ehlo), 250)
    return r


# ------------------------------------------------------------ tests

def test_basic_transaction():
    with Smtpd() as d:
        r = greet(d.port)
        expect(r.cmd("MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME "
                     "RET=HDRS ENVID=abc+2Bd"), 250, "2.1.0 Ok")
        expect(r.cmd("RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;pm+40x" % LOCAL_RCPT), 250, "2.1.5 Ok")
        expect(r.cmd("DATA"), 354, "End data with <CR><LF>.<CR><LF>")
        r.send(b"Subject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\n"
               b"..dot line\r\nbody\r\n.\r\n")
        code, text = r.reply()
        assert code == 250 and "2.0.0 Ok: queued as " in text, text
        qid = text.split()[-1]
        expect(r.cmd("QUIT"), 221, "2.0.0 Bye")
        r.close()
        assert d.incoming() == [qid], d.all_files()
        q = d.qfile(qid)
        assert q["sender"] == "alice@example.org"
        assert q["attrs"]["client_address"] == "127.0.0.1"
        assert q["attrs"]["helo_name"] == "client.example"
        assert q["attrs"]["protocol"] == "ESMTP"
        assert q["attrs"]["ret"] == "HDRS"
        assert q["attrs"]["envid"] == "abc+d"
        assert q["attrs"]["body"] == "8BITMIME"
        assert q["attrs"]["size"] == "100"
        assert q["rcpts"] == [{"status": "P", "notify": 3,
                               "addr": LOCAL_RCPT, "orcpt": "rfc822;pm@x"}]
        c = q["content"]
        m = re.match(rb"Received: from client\.example \(unknown "
                     rb"\[127\.0\.0\.1\]\)\r\n\tby mail\.example\.test "
                     rb"\(Facteur\) with ESMTP id " + qid.encode() +
                     rb"\r\n\tfor <" + LOCAL_RCPT.encode() +
                     rb">; [A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} "
                     rb"\d\d:\d\d:\d\d [+-]\d{4} \([^)]*\)\r\n", c)
        assert m, c
        assert c[m.end():] == (b"Subject: hi\r\nMessage-ID: <m1@example.org>"
                               b"\r\n\r\n.dot line\r\nbody\r\n"), c
        d.wait_log(r"smtpd\[\d+\]: connect from unknown\[127\.0\.0\.1\]")
        d.wait_log(r": %s: client=unknown\[127\.0\.0\.1\]$" % qid)
        d.wait_log(r": %s: message-id=<m1@example\.org>$" % qid)
        d.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 "
                   r"rcpt=1 data=1 quit=1 commands=5$")


def test_smtplib_and_sequence_errors():
    with Smtpd() as d:
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=10)
        code, msg = s.ehlo("me.example")
        text = msg.decode()
        for kw in ("PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8",
                   "ENHANCEDSTATUSCODES", "DSN", "CHUNKING"):
            assert kw in text, text
        assert "STARTTLS" not in text and "AUTH" not in text
        expect(s.docmd("RCPT TO:<%s>" % LOCAL_RCPT), 503,
               b"5.5.1 Error: need MAIL command".decode() and None)
        expect(s.docmd("DATA"), 503)
        expect(s.docmd("VRFY root"), 252)
        expect(s.docmd("NOOP"), 250)
        expect(s.docmd("FOO"), 500)
        expect(s.docmd("MAIL FROM:<bad"), 501)
        s.sendmail("a@example.org", [LOCAL_RCPT], b"Subject: x\r\n\r\nhi\r\n")
        s.quit()
        assert len(d.incoming()) == 1


def test_relay_denied_and_unknown_user():
    with Smtpd() as d:
        r = greet(d.port, "h.example")
        expect(r.cmd("MAIL FROM:<a@example.org>"), 250)
        code, text = r.cmd("RCPT TO:<x@other.example>")
        assert code == 554 and text == "5.7.1 <x@other.example>: Relay " \
            "access denied", (code, text)
        code, text = r.cmd("RCPT TO:<nosuchuser9z@%s>" % HOST)
        assert code == 550 and text.startswith(
            "5.1.1 <nosuchuser9z@%s>: Recipient address rejected: User "
            "unknown in local recipient table" % HOST), (code, text)
        expect(r.cmd("DATA"), 554, "5.5.1 Error: no valid recipients")
        r.cmd("QUIT")
        d.wait_log(r"reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 "
                   r"<x@other\.example>: Relay access denied; "
                   r"from=<a@example\.org> to=<x@other\.example> "
                   r"proto=ESMTP helo=<h\.example>")
        d.wait_log(r"rcpt=0/2 data=0/1 quit=1 commands=3/6")
        assert d.all_files() == []


def test_pipelining_one_write():
    with Smtpd() as d:
        r = Raw(d.port)
        expect(r.reply(), 220)
        r.send(b"EHLO p.example\r\nMAIL FROM:<a@example.org>\r\n"
               b"RCPT TO:<%s>\r\nRCPT TO:<root@%s>\r\nDATA\r\n"
               % (LOCAL_RCPT.encode(), HOST.encode()))
        expect(r.reply(), 250)
        expect(r.reply(), 250, "2.1.0")
        expect(r.reply(), 250, "2.1.5")
        expect(r.reply(), 250, "2.1.5")
        expect(r.reply(), 354)
        r.send(b"Subject: p\r\n\r\nx\r\n.\r\nQUIT\r\n")
        expect(r.reply(), 250, "queued as")
        expect(r.reply(), 221)
        qid = d.incoming()[0]
        assert [x["addr"] for x in d.qfile(qid)["rcpts"]] == [
            LOCAL_RCPT, "root@" + HOST]


def send_raw_message(d, payload):
    r = greet(d.port)
    expect(r.cmd("MAIL FROM:<a@example.org>"), 250)
    expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
    expect(r.cmd("DATA"), 354)
    r.send(payload)
    return r


def content_after_received(d, qid):
    c = d.qfile(qid)["content"]
    return c[c.index(b"\r\n", c.index(b"\tby ")) + 2:] if b"\tfor" not in c \
        else c[c.index(b"\r\n", c.index(b"\tfor ")) + 2:]


def test_smuggling_attempts():
    for sep in (b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r"):
        with Smtpd() as d:
            smuggled = (b"Subject: s\r\n\r\nhello" + sep +
                        b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<" +
                        LOCAL_RCPT.encode() + b">\r\nDATA\r\nevil\r\n")
            r = send_raw_message(d, smuggled + b".\r\n")
            code, text = r.reply()
            assert code == 250, (sep, code, text)
            expect(r.cmd("QUIT"), 221)
            files = d.incoming()
            assert len(files) == 1, (sep, files)
            body = content_after_received(d, files[0])
            # One message that holds the smuggled commands as content.
            assert b"MAIL FROM:<evil@example.org>\r\n" in body, (sep, body)
            assert body.endswith(b"evil\r\n"), body
            assert b"\n" not in body.replace(b"\r\n", b""), (sep, body)


def test_bare_lf_normalized_and_dot_unstuffing():
    with Smtpd() as d:
        r = send_raw_message(d, b"Subject: n\n\nline1\nline2\r\n..x\r\n"
                             b"...\r\n.\r\n")
        expect(r.reply(), 250)
        r.cmd("QUIT")
        body = content_after_received(d, d.incoming()[0])
        assert body == b"Subject: n\r\n\r\nline1\r\nline2\r\n.x\r\n..\r\n", body


def test_bare_lf_rejected_when_forbidden():
    with Smtpd("smtpd_forbid_bare_newline = yes\n") as d:
        r = send_raw_message(d, b"Subject: n\n\nx\r\n.\r\n")
        expect(r.reply(), 550, "5.5.2 Error: bare <LF> received")
        expect(r.cmd("NOOP"), 250)
        r.send(b"NOOP\n")
        expect(r.reply(), 521)
        assert r.closed()
        assert d.all_files() == []


def test_disconnect_mid_data_leaves_nothing():
    with Smtpd() as d:
        r = send_raw_message(d, b"Subject: x\r\n\r\npartial")
        time.sleep(0.3)
        assert len(d.all_files()) == 1  # the temporary file exists
        r.close()
        d.wait_log(r"lost connection after DATA from unknown\[127\.0\.0\.1\]")
        ft.wait_for(lambda: d.all_files() == [], 5, what="tmp file removed")


def test_size_limits():
    with Smtpd("message_size_limit = 2000\nheader_size_limit = 1024\n") as d:
        r = greet(d.port)
        expect(r.cmd("MAIL FROM:<a@example.org> SIZE=2001"), 552,
               "5.3.4 Message size exceeds fixed limit")
        expect(r.cmd("MAIL FROM:<a@example.org> SIZE=1000"), 250)
        expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
        expect(r.cmd("DATA"), 354)
        r.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 0 +
               (b"y" * 78 + b"\r\n") * 100 + b".\r\n")
        expect(r.reply(), 552, "5.3.4 Error: message file too big")
        # Header over header_size_limit.
        expect(r.cmd("MAIL FROM:<a@example.org>"), 250)
        expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
        expect(r.cmd("DATA"), 354)
        r.send((b"X-H: " + b"h" * 70 + b"\r\n") * 20 + b"\r\nb\r\n.\r\n")
        expect(r.reply(), 552, "5.3.4 Error: message header size exceeds")
        expect(r.cmd("NOOP"), 250)
        r.cmd("QUIT")
        assert d.all_files() == []


def test_too_many_recipients():
    with Smtpd("smtpd_recipient_limit = 3\n") as d:
        r = greet(d.port)
        expect(r.cmd("MAIL FROM:<a@example.org>"), 250)
        for _ in range(3):
            expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
        expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 452,
               "4.5.3 Error: too many recipients")
        expect(r.cmd("DATA"), 354)
        r.send(b"\r\nx\r\n.\r\n")
        expect(r.reply(), 250)
        assert len(d.qfile(d.incoming()[0])["rcpts"]) == 3


def test_error_limit_disconnects():
    with Smtpd("smtpd_hard_error_limit = 5\nsmtpd_soft_error_limit = 2\n") as d:
        r = greet(d.port)
        for _ in range(4):
            expect(r.cmd("BOGUS"), 500, "5.5.2")
        r.send(b"BOGUS\r\n")
        expect(r.reply(), 500)
        expect(r.reply(), 421, "4.7.0 %s Error: too many errors" % HOST)
        assert r.closed()
        d.wait_log(r"too many errors after UNKNOWN from unknown\[127")


def test_long_line_and_nul():
    with Smtpd() as d:
        r = greet(d.port)
        expect(r.cmd("NOOP " + "x" * 2000), 500, "5.5.2 Error: line too long")
        expect(r.cmd("NOOP"), 250)
        r.send(b"MAIL FROM:<a\x00b@example.org>\r\n")
        expect(r.reply(), 500, "5.5.2")
        r.send(b"\x00\xff\xfe\x01junk\r\n")
        expect(r.reply(), 500)
        expect(r.cmd("RSET"), 250, "2.0.0 Ok")
        expect(r.cmd("QUIT"), 221)


def test_idle_timeout():
    with Smtpd("smtpd_timeout = 1s\n") as d:
        r = Raw(d.port)
        expect(r.reply(), 220)
        t0 = time.monotonic()
        expect(r.reply(), 421, "4.4.2 %s Error: timeout exceeded" % HOST)
        assert time.monotonic() - t0 < 5
        assert r.closed()
        d.wait_log(r"timeout after CONNECT from unknown\[127\.0\.0\.1\]")


def test_bdat_chunking():
    with Smtpd() as d:
        r = greet(d.port)
        expect(r.cmd("MAIL FROM:<a@example.org>"), 250)
        expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
        part1 = b"Subject: b\r\n\r\n.no unstuffing\r\n"
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        expect(r.reply(), 250)
        part2 = b"end\r\n"
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        expect(r.reply(), 250, "queued as")
        body = content_after_received(d, d.incoming()[0])
        assert body == part1 + part2, body


def test_concurrent_sessions():
    with Smtpd("smtpd_process_session_limit = 200\n") as d:
        n = 120
        socks = []
        for _ in range(n):
            socks.append(Raw(d.port))
        t0 = time.monotonic()
        for r in socks:
            expect(r.reply(), 220)
        for r in socks:
            r.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
                   b"RCPT TO:<" + LOCAL_RCPT.encode() + b">\r\nDATA\r\n")
        for r in socks:
            for code in (250, 250, 250, 354):
                expect(r.reply(), code)
            r.send(b"Subject: c\r\n\r\nx\r\n.\r\nQUIT\r\n")
        for r in socks:
            expect(r.reply(), 250)
            expect(r.reply(), 221)
            r.close()
        assert time.monotonic() - t0 < 30
        assert len(d.incoming()) == n


# ------------------------------------------------------------ TLS

def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + HOST], check=True, capture_output=True)
    return cert, key


def tls_main_cf(top):
    cert, key = make_cert(top)
    return ("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
            % (cert, key))


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_instance(extra="", services=None):
    import tempfile
    top = tempfile.mkdtemp(prefix="facteur-cert-")
    return Smtpd(tls_main_cf(top) + extra, services)


def test_starttls_and_injection():
    with tls_instance("smtpd_tls_security_level = may\n") as d:
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=10)
        s.ehlo("t.example")
        assert s.has_extn("starttls")
        s.starttls(context=client_ctx())
        code, msg = s.ehlo("t.example")
        assert not s.has_extn("starttls")
        s.sendmail("a@example.org", [LOCAL_RCPT], b"Subject: t\r\n\r\nx\r\n")
        s.quit()
        q = d.qfile(d.incoming()[0])
        assert q["attrs"]["protocol"] == "ESMTPS"
        assert re.search(rb"\t\(using TLSv1\.[23] with cipher \S+ "
                         rb"\(\d+/\d+ bits\)\)\r\n\tby ", q["content"])
        d.wait_log(r"Anonymous TLS connection established from "
                   r"unknown\[127\.0\.0\.1\]: TLSv1\.[23] with cipher")
        # Injection: a command pipelined behind STARTTLS is discarded.
        r = greet(d.port)
        r.send(b"STARTTLS\r\nRSET\r\n")
        expect(r.reply(), 220, "2.0.0 Ready to start TLS")
        assert r.buf == b""
        tls = client_ctx().wrap_socket(r.s)
        r2 = Raw(d.port, sock=tls)
        # The first reply over TLS answers our EHLO, not the RSET.
        expect(r2.cmd("EHLO after.example"), 250, HOST)
        # The session was reset to before EHLO: MAIL needs nothing more.
        expect(r2.cmd("QUIT"), 221)
        d.wait_log(r"discarding 6 bytes of plaintext pipelined after "
                   r"STARTTLS")


def test_encrypt_level_and_wrappermode():
    port465 = ft.free_port()
    with tls_instance("smtpd_tls_security_level = encrypt\n",
                      [(port465, "-o smtpd_tls_wrappermode=yes "
                                 "-o smtpd_tls_security_level=none")]) as d:
        r = greet(d.port)
        expect(r.cmd("MAIL FROM:<a@example.org>"), 530,
               "5.7.0 Must issue a STARTTLS command first")
        expect(r.cmd("AUTH PLAIN AGEAYg=="), 530,
               "5.7.0 Must issue a STARTTLS command first")
        r.cmd("QUIT")
        s = smtplib.SMTP_SSL("127.0.0.1", port465, timeout=10,
                             context=client_ctx())
        code, msg = s.ehlo("w.example")
        assert b"STARTTLS" not in msg
        s.sendmail("a@example.org", [LOCAL_RCPT], b"Subject: w\r\n\r\nx\r\n")
        s.quit()
        assert len(d.incoming()) == 1


def test_add_missing_headers():
    with Smtpd("smtpd_add_missing_headers = yes\n") as d:
        r = send_raw_message(d, b"Subject: m\r\n\r\nbody\r\n.\r\n")
        expect(r.reply(), 250)
        qid = d.incoming()[0]
        body = content_after_received(d, qid)
        assert re.match(rb"Subject: m\r\nMessage-ID: <" + qid.encode() +
                        rb"@mail\.example\.test>\r\nDate: [^\r\n]+\r\n\r\n"
                        rb"body\r\n$", body), body
        d.wait_log(r"%s: message-id=<%s@mail\.example\.test>" % (qid, qid))


def test_auth_plain_login():
    auth_bin = os.path.join(ft.BUILDDIR, "auth", "auth")
    if not os.access(auth_bin, os.X_OK):
        raise ft.SkipTest("auth not built")
    import base64
    import tempfile
    pwdir = tempfile.mkdtemp(prefix="facteur-pw-")
    passwd = os.path.join(pwdir, "passwd")
    port2 = ft.free_port()
    with Smtpd("smtpd_sasl_auth_enable = yes\nauth_passwd_file = %s\n"
               "auth_failure_delay = 0\n" % passwd,
               [(port2, "-o smtpd_tls_auth_only=no")]) as d:
        with open(os.path.join(d.inst.config_dir, "master.cf"), "a") as f:
            f.write("auth unix - n n - - %s\n" % auth_bin)
        d.inst.facteur("user", "add", "bob@example.com", "-p", "s3cret",
                       "-s", "PLAIN", check=True)
        d.inst.facteur("reload", check=True)
        ft.wait_for(lambda: os.path.exists(os.path.join(
            d.inst.queue_dir, "private", "auth")), what="private/auth")
        # smtpd_tls_auth_only = yes (default): not offered in plaintext.
        r = greet(d.port)
        code, text = r.cmd("EHLO x.example")
        assert "AUTH" not in text, text
        expect(r.cmd("AUTH PLAIN AGJvYgBz"), 503)
        r.cmd("QUIT")
        r = greet(d.port2 if hasattr(d, "port2") else port2)
        code, text = r.cmd("EHLO x.example")
        assert "AUTH PLAIN LOGIN" in text, text
        expect(r.cmd("AUTH LOGIN"), 334, "VXNlcm5hbWU6")
        expect(r.cmd(base64.b64encode(b"bob@example.com").decode()), 334,
               "UGFzc3dvcmQ6")
        expect(r.cmd(base64.b64encode(b"wrong").decode()), 535, "5.7.8")
        expect(r.cmd("AUTH PLAIN"), 334)
        expect(r.cmd("*"), 501, "5.7.0")
        expect(r.cmd("AUTH PLAIN %s" % base64.b64encode(
            b"\0bob@example.com\0s3cret").decode()), 235, "2.7.0")
        expect(r.cmd("AUTH PLAIN AGJvYgBz"), 503)
        # permit_sasl_authenticated: relaying is allowed now.
        expect(r.cmd("MAIL FROM:<bob@example.com>"), 250)
        expect(r.cmd("RCPT TO:<x@other.example>"), 250)
        expect(r.cmd("DATA"), 354)
        r.send(b"Subject: a\r\n\r\nx\r\n.\r\n")
        expect(r.reply(), 250)
        r.cmd("QUIT")
        q = d.qfile(d.incoming()[0])
        assert q["attrs"]["protocol"] == "ESMTPA"
        assert q["attrs"]["sasl_username"] == "bob@example.com"
        d.wait_log(r"client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, "
                   r"sasl_username=bob@example\.com")
        assert "s3cret" not in d.inst.log()


def test_access_maps():
    import tempfile
    mapdir = tempfile.mkdtemp(prefix="facteur-access-")
    senders = os.path.join(mapdir, "senders")
    clients = os.path.join(mapdir, "clients")
    with open(senders, "w") as f:
        f.write("spammer@example.org REJECT go away\n"
                "blocked.example 550 5.7.0 no thanks\n"
                "friend@blocked.example OK\n"
                "<> DUNNO\n"
                "temp.example 450 try later\n")
    with open(clients, "w") as f:
        f.write("127.0.0 DUNNO\n")
    os.chmod(mapdir, 0o755)
    with Smtpd("smtpd_recipient_restrictions = check_client_access "
               "texthash:%s, check_sender_access texthash:%s\n"
               % (clients, senders)) as d:
        r = greet(d.port)
        for sender, code, text in (
                ("spammer@example.org", 554, "5.7.1 <spammer@example.org>: "
                 "Sender address rejected: go away"),
                ("x@sub.blocked.example", 550, "5.7.0 <x@sub.blocked."
                 "example>: Sender address rejected: no thanks"),
                ("y@temp.example", 450, "4.7.1 <y@temp.example>: Sender "
                 "address rejected: try later"),
                ("friend@blocked.example", 250, "2.1.5"),
                ("", 250, "2.1.5"),
                ("ok@example.org", 250, "2.1.5")):
            expect(r.cmd("MAIL FROM:<%s>" % sender), 250)
            expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), code, text)
            expect(r.cmd("RSET"), 250)
        r.cmd("QUIT")
        d.wait_log(r"reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 "
                   r"<spammer@example\.org>: Sender address rejected: go "
                   r"away; from=<spammer@example\.org>")


# ------------------------------------------------------------ async commit

def asan_runtime():
    """The AddressSanitizer runtime smtpd is linked with, followed by a
    space, or "": ASan must come first in the preload list."""
    out = subprocess.run(["ldd", os.path.join(ft.BUILDDIR, "smtpd", "smtpd")],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libasan.so") and len(parts) > 2:
            return parts[2] + " "
    return ""


class SlowFsync(Smtpd):
    """Smtpd whose fsyncs under incoming/ sleep ms each and are logged
    (tests/integration/slowfsync.c, preloaded)."""

    def __init__(self, ms):
        import tempfile
        cc = shutil.which("cc")
        if cc is None:
            raise ft.SkipTest("no cc for the fsync shim")
        self.tmp = tempfile.mkdtemp(prefix="slowfsync-")
        so = os.path.join(self.tmp, "slowfsync.so")
        subprocess.run([cc, "-shared", "-fPIC", "-o", so,
                        os.path.join(ft.SRCDIR, "tests/integration/slowfsync.c")],
                       check=True)
        self.fsync_log = os.path.join(self.tmp, "fsync.log")
        os.chmod(self.tmp, 0o777)
        env = {"LD_PRELOAD": asan_runtime() + so,
               "SLOWFSYNC_LOG": self.fsync_log,
               "SLOWFSYNC_MS": str(ms)}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            super().__init__(main_cf="import_environment = TZ ASAN_OPTIONS "
                             "UBSAN_OPTIONS LSAN_OPTIONS LD_PRELOAD "
                             "SLOWFSYNC_LOG SLOWFSYNC_MS\n")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def fsyncs(self):
        try:
            with open(self.fsync_log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def incoming_path(self, name=None):
        d = os.path.realpath(os.path.join(self.inst.queue_dir, "incoming"))
        return d if name is None else os.path.join(d, name)

    def stop(self):
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_message(port):
    r = greet(port)
    expect(r.cmd("MAIL FROM:<alice@example.org>"), 250)
    expect(r.cmd("RCPT TO:<%s>" % LOCAL_RCPT), 250)
    expect(r.cmd("DATA"), 354)
    return r


def fsync_covers_rename(path):
    """Whether smtpd skips the directory fsync under path: on ext4 the
    file's fsync after its rename makes the new name durable
    (lib/util/fsinfo.c); findmnt(8) says what the mount is."""
    out = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", path],
                         capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.strip() == "ext4"


def test_commit_off_the_loop():
    """250 only once the file and (but on ext4) incoming/ are fsynced;
    meanwhile the process answers its other sessions (the commit is not
    in the loop)."""
    with SlowFsync(700) as d:
        r = start_message(d.port)
        other = greet(d.port)
        t0 = time.monotonic()
        r.send(b"Subject: slow\r\n\r\nbody\r\n.\r\n")
        time.sleep(0.2)
        expect(other.cmd("NOOP"), 250)
        noop = time.monotonic() - t0
        code, text = r.reply()
        waited = time.monotonic() - t0
        # The log as it was when the 250 arrived.
        lines = d.fsyncs()
        assert code == 250 and "queued as" in text, text
        qid = text.split()[-1]
        f, dr = d.incoming_path(qid), d.incoming_path()
        want = ["fsync " + f, "done " + f]
        if not fsync_covers_rename(dr):
            want += ["fsync " + dr, "done " + dr]
        assert noop < 0.6, "NOOP waited for the commit: %.2fs" % noop
        assert waited >= 0.65 * len(want) / 2, \
            "250 before the fsyncs %s: %.2fs" % (want, waited)
        assert lines == want, lines
        assert d.incoming() == [qid], d.all_files()
        assert d.qfile(qid)["content"].endswith(b"Subject: slow\r\n\r\nbody\r\n")
        # The session goes on after its commit.
        expect(r.cmd("RSET"), 250)
        expect(r.cmd("QUIT"), 221)
        other.close()
        r.close()


def test_disconnect_during_commit():
    """A client gone while its commit is out: the message is queued once,
    no temporary file is left, the session ends once, the process goes on."""
    with SlowFsync(500) as d:
        r = start_message(d.port)
        r.send(b"Subject: gone\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        r.close()
        m = d.wait_log(r": (\w+): client=unknown\[127\.0\.0\.1\]$")
        qid = m.group(1)
        d.wait_log(r"disconnect from unknown\[127\.0\.0\.1\]")
        # The disconnect was logged after the commit was done.
        last = d.incoming_path(qid)
        if not fsync_covers_rename(d.incoming_path()):
            last = d.incoming_path()
        assert "done " + last in d.fsyncs(), d.fsyncs()
        time.sleep(0.3)
        assert d.all_files() == [qid], d.all_files()
        assert d.qfile(qid)["content"].endswith(b"Subject: gone\r\n\r\nbody\r\n")
        log = d.inst.log()
        assert len(re.findall(r"disconnect from unknown", log)) == 1, log
        assert "queue file" not in log and "commit" not in log, log
        # The same process still serves.
        r = start_message(d.port)
        r.send(b"Subject: next\r\n\r\nbody\r\n.\r\n")
        expect(r.reply(), 250)
        r.close()
        assert len(d.incoming()) == 2, d.all_files()


if __name__ == "__main__":
    ft.run_tests([
        test_basic_transaction,
        test_smtplib_and_sequence_errors,
        test_relay_denied_and_unknown_user,
        test_pipelining_one_write,
        test_smuggling_attempts,
        test_bare_lf_normalized_and_dot_unstuffing,
        test_bare_lf_rejected_when_forbidden,
        test_disconnect_mid_data_leaves_nothing,
        test_size_limits,
        test_too_many_recipients,
        test_error_limit_disconnects,
        test_long_line_and_nul,
        test_idle_timeout,
        test_bdat_chunking,
        test_concurrent_sessions,
        test_starttls_and_injection,
        test_encrypt_level_and_wrappermode,
        test_add_missing_headers,
        test_auth_plain_login,
        test_access_maps,
        test_commit_off_the_loop,
        test_disconnect_during_commit,
    ])
