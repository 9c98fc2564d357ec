"""The smtp/lmtp delivery agent against sink servers on loopback.

One private instance runs only the agent's services (no qmgr): each test
puts a message into the queue with tests/integration/qinject, moves it to
active/ as qmgr would, connects to private/SERVICE and sends the deliver/1
frame of docs/architecture.md ("Outbound: smtp and lmtp"), then checks the
result/1 frames, the maillog lines and the exact bytes the sink
(smtpsink.py) received.  MX data comes from dnsserver.py through
dns_servers.  Sinks listen on 127.0.0.2 and up, so that MX hosts of one
domain can share a port.

The second part runs the whole path: a user authenticates on a submission
smtpd (STARTTLS + AUTH), qmgr routes the outside recipient to relayhost
[relay.test]:PORT, and smtp hands it to a sink that requires AUTH over
STARTTLS (smtp_tls_security_level = verify against the sink's self-signed
certificate); refusals come back as delivery status notifications in the
sender's Maildir (local), with Remote-MTA and Diagnostic-Code.

Run as root the agent runs as mail_owner (facteur or nobody); as another
user everything runs as that user.
"""

import glob
import os
import pwd
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402
import dnsserver  # noqa: E402
from smtpsink import Sink  # noqa: E402
from agentproto import frame, read_frames, read_qfile  # noqa: E402

ROOT = os.geteuid() == 0
QINJECT = os.path.join(ft.BUILDDIR, "tests", "integration", "qinject")
SMTP = os.path.join(ft.BUILDDIR, "smtp", "smtp")
SMTPD = os.path.join(ft.BUILDDIR, "smtpd", "smtpd")
QMGR = os.path.join(ft.BUILDDIR, "qmgr", "qmgr")
LOCAL = os.path.join(ft.BUILDDIR, "local", "local")
AUTH = os.path.join(ft.BUILDDIR, "auth", "auth")
ANVIL = os.path.join(ft.BUILDDIR, "anvil", "anvil")


def mail_owner():
    if not ROOT:
        return None
    try:
        pwd.getpwnam("facteur")
        return "facteur"
    except KeyError:
        return "nobody"


MAIL_OWNER = mail_owner()
PORT = ft.free_port()

ZONE = {
    "example.test": {"MX": [[10, "mx.example.test"]]},
    "mx.example.test": {"A": ["127.0.0.2"]},
    "fallback.test": {"MX": [[30, "mx3.fallback.test"], [10, "mx1.fallback.test"],
                             [20, "mx2.fallback.test"]]},
    "mx1.fallback.test": {"A": ["127.0.0.3"]},
    "mx2.fallback.test": {"A": ["127.0.0.4"]},
    "mx3.fallback.test": {"A": ["127.0.0.5"]},
    "implicit.test": {"A": ["127.0.0.6"]},
    "null.test": {"MX": [[0, "."]]},
    "relay.test": {"A": ["127.0.0.7"]},
    "v6.test": {"MX": [[10, "mx6.v6.test"]]},
    "mx6.v6.test": {"AAAA": ["::1"]},
    "broken.test": "SERVFAIL",
}


def make_cert(top, name):
    """A self-signed certificate for name: (cert, key)."""
    cert, key = os.path.join(top, name + ".crt"), os.path.join(top, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj",
                    "/CN=" + name, "-addext", "subjectAltName=DNS:" + name],
                   check=True, capture_output=True)
    for f in (cert, key):
        os.chmod(f, 0o644)
    return cert, key


class Env:
    def __init__(self):
        self.dns = DNS
        self.inst = ft.Instance(name="facteur-smtp-out")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.cert, self.key = make_cert(top, "relay.test")
        self.other_cert, self.other_key = make_cert(top, "other.test")
        with open(os.path.join(top, "sasl_passwd"), "w") as f:
            f.write("[relay.test]:%d alice:s3cret\n" % PORT)
        os.chmod(os.path.join(top, "sasl_passwd"), 0o644)
        self.inst.write_main_cf(
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
            "dns_servers = 127.0.0.1:%d\n"
            # Generous for loaded CI machines; smtp-fast has short ones
            # for the stall tests.
            "smtp_connect_timeout = 10s\n"
            "smtp_helo_timeout = 10s\n"
            "smtp_starttls_timeout = 10s\n"
            "smtp_mail_timeout = 10s\n"
            "smtp_rcpt_timeout = 10s\n"
            "smtp_data_init_timeout = 10s\n"
            "smtp_data_xfer_timeout = 10s\n"
            "smtp_data_done_timeout = 10s\n"
            "smtp_rset_timeout = 10s\n"
            "smtp_quit_timeout = 2s\n"
            "smtp_helo_name = client.example.test\n"
            % self.dns.port
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        sasl = "texthash:%s/sasl_passwd" % top
        self.inst.write_master_cf(
            "smtp unix - - n - 1 %(smtp)s\n"
            "smtp-enc unix - - n - 1 %(smtp)s -o smtp_tls_security_level=encrypt\n"
            "smtp-verify unix - - n - 1 %(smtp)s -o smtp_tls_security_level=verify"
            " -o smtp_tls_CAfile=%(ca)s\n"
            "smtp-fast unix - - n - 1 %(smtp)s -o smtp_helo_timeout=2s"
            " -o smtp_data_done_timeout=2s\n"
            "smtp-nocache unix - - n - 1 %(smtp)s -o smtp_connection_cache_time_limit=0\n"
            "smtp-reuse2 unix - - n - 1 %(smtp)s -o smtp_connection_reuse_count_limit=2\n"
            "relay unix - - n - 1 %(smtp)s -o smtp_tls_security_level=verify"
            " -o smtp_tls_CAfile=%(ca)s -o smtp_sasl_auth_enable=yes"
            " -o smtp_sasl_password_maps=%(sasl)s\n"
            "relay-plain unix - - n - 1 %(smtp)s -o smtp_tls_security_level=none"
            " -o smtp_sasl_auth_enable=yes -o smtp_sasl_password_maps=%(sasl)s\n"
            "relay-plainok unix - - n - 1 %(smtp)s -o smtp_tls_security_level=none"
            " -o smtp_sasl_auth_enable=yes -o smtp_sasl_auth_plaintext=yes"
            " -o smtp_sasl_password_maps=%(sasl)s\n"
            "lmtp unix - - n - 1 %(smtp)s\n"
            % {"smtp": SMTP, "ca": self.cert, "sasl": sasl})
        self.inst.start()
        ft.wait_for(lambda: os.path.exists(self.sock("smtp")), what="smtp socket")
        self.active = os.path.join(self.inst.queue_dir, "active")
        if not os.path.isdir(self.active):
            os.makedirs(self.active, mode=0o700)
            if ROOT:
                pw = pwd.getpwnam(MAIL_OWNER)
                os.chown(self.active, pw.pw_uid, pw.pw_gid)

    def sock(self, service):
        return os.path.join(self.inst.queue_dir, "private", service)

    def inject(self, sender, rcpts, content, opts=()):
        """qinject -t, then move the file to active/ as qmgr does: its id."""
        kw = {"user": MAIL_OWNER} if ROOT else {}
        proc = subprocess.run(
            [QINJECT, "-t"] + list(opts) + [self.inst.queue_dir, sender] + list(rcpts),
            input=content, capture_output=True, check=True, **kw)
        qid = proc.stdout.decode().strip()
        src = glob.glob(os.path.join(self.inst.queue_dir, "incoming", "*", qid))
        assert len(src) == 1, src
        os.rename(src[0], os.path.join(self.active, qid))
        return qid

    def deliver(self, qid, nexthop, rcpts=None, sender=None, service="smtp",
                timeout=30):
        """Send deliver/1 for the queue file's recipients; the results."""
        return request(self.sock(service),
                       self.deliver_frame(qid, nexthop, rcpts, sender), timeout)

    def deliver_frame(self, qid, nexthop, rcpts=None, sender=None):
        """The deliver/1 frame for the queue file's recipients."""
        path = os.path.join(self.active, qid)
        q = read_qfile(path)
        if sender is None:
            sender = q["sender"]
        recs = q["rcpts"] if rcpts is None else [r for r in q["rcpts"] if r[0] in rcpts]
        attrs = [("proto", "deliver/1"), ("queue_id", qid),
                 ("queue_file", "active/" + qid), ("sender", sender),
                 ("nexthop", nexthop), ("rcpt_count", str(len(recs)))]
        for i, (addr, orcpt, off) in enumerate(recs):
            attrs += [("rcpt_%d" % i, addr), ("rcpt_%d_orcpt" % i, ""),
                      ("rcpt_%d_offset" % i, str(off))]
        return frame(attrs)

    def wait_log(self, pattern, timeout=10):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)

    def cleanup(self):
        self.inst.cleanup()


def request(path, data, timeout):
    """Connect, send, read result frames up to done/1 (or the close)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    frames, done = read_frames(s)
    s.close()
    if done:
        assert frames[-1] == {"proto": "done/1", "reuse": "1"}, frames[-1]
        frames.pop()
    assert all(f["proto"] == "result/1" for f in frames), frames
    return frames


ENV = None
DNS = None


def message(marker, body="Hello.\r\n"):
    return ("From: alice@example.test\r\nTo: bob@example.test\r\n"
            "Subject: %s\r\n\r\n%s" % (marker, body)).encode()


def sink(host="127.0.0.2", **kw):
    return Sink(host=host, port=PORT, **kw).start()


def by_index(results):
    return {int(r["index"]): r for r in results}


# ---------------------------------------------------------------- tests


def test_mx_pipelining_exact_bytes():
    """MX route, PIPELINING in one write, DSN, SIZE, dot-stuffing, CRLF."""
    s = sink(ext=["PIPELINING", "SIZE 100000", "8BITMIME", "DSN",
                  "ENHANCEDSTATUSCODES"])
    try:
        body = ".leading dot\r\nbare LF line\n..two dots\r\nlast line no newline"
        qid = ENV.inject("alice@example.test", ["bob@example.test", "carol@example.test"],
                         message("pipelining", body),
                         ["-R", "HDRS", "-E", "ENV123", "-N", "success,failure"])
        res = by_index(ENV.deliver(qid, "example.test:%d" % PORT))
        for i in (0, 1):
            assert res[i]["status"] == "sent", res
            assert res[i]["dsn"] == "2.0.0", res
            assert res[i]["reason"] == "250 2.0.0 Ok: queued as SINK1", res
            assert res[i]["relay"] == "mx.example.test[127.0.0.2]:%d" % PORT, res
        (t,) = s.transactions()
        size = len(message("pipelining", body))
        assert t.mail == "MAIL FROM:<alice@example.test> SIZE=%d RET=HDRS ENVID=ENV123" % size, t.mail
        assert t.rcpts == ["RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE",
                           "RCPT TO:<carol@example.test> NOTIFY=SUCCESS,FAILURE"], t.rcpts
        expect = (message("pipelining", "") + b"..leading dot\r\nbare LF line\r\n"
                  b"...two dots\r\nlast line no newline\r\n.\r\n")
        assert t.data == expect, t.data
        sess = s.sessions[0]
        assert sess.helo == "client.example.test"
        # MAIL, RCPTs and DATA arrived in one write: before the first reply
        # the raw stream already holds DATA.
        raw = sess.raw.decode("latin-1")
        assert re.search(r"MAIL FROM:.*\r\nRCPT TO:.*\r\nRCPT TO:.*\r\nDATA\r\n", raw), raw
        ENV.wait_log(r"%s: to=<bob@example\.test>, relay=mx\.example\.test\[127\.0\.0\.2\]:%d, "
                     r"delay=[0-9.]+, delays=[0-9.]+/0/[0-9.]+/[0-9.]+, dsn=2\.0\.0, "
                     r"status=sent \(250 2\.0\.0 Ok: queued as SINK1\)" % (qid, PORT))
    finally:
        s.stop()


def test_content_and_dot_in_one_write():
    """The final dot goes out with the content, not in a write of its own
    (which Nagle would hold back until the server's delayed ACK)."""
    s = sink(ext=["PIPELINING"])
    try:
        for i in range(3):
            qid = ENV.inject("alice@example.test", ["x@example.test"],
                             message("one write %d" % i, "x" * 3000 + "\r\n"))
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
            assert r["status"] == "sent", r
        ends = [d for d in s.sessions[0].reads if d.endswith(b"\r\n.\r\n")]
        assert len(ends) == 3, [d[-16:] for d in s.sessions[0].reads]
        for d in ends:
            assert d.startswith(b"From: alice@example.test"), d[:64]
    finally:
        s.stop()


def test_null_sender():
    """A notice (sender <>) goes out as MAIL FROM:<>."""
    s = sink(ext=["PIPELINING", "SIZE 100000"])
    try:
        qid = ENV.inject("", ["x@example.test"], message("null sender"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "sent", r
        (t,) = s.transactions()
        assert t.mail == "MAIL FROM:<> SIZE=%d" % len(message("null sender")), t.mail
    finally:
        s.stop()


def test_large_message_exact_bytes():
    """A message over several 64 KiB queue records arrives byte for byte."""
    s = sink()
    try:
        lines = "".join(".line %05d %s\r\n" % (i, "x" * (i % 97)) for i in range(4000))
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("large", lines))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "sent", r
        (t,) = s.transactions()
        expect = message("large", lines.replace("\r\n.", "\r\n..").replace(".line 00000", "..line 00000", 1))
        assert len(lines) > 3 * 65536
        assert t.data == expect + b".\r\n", (len(t.data), len(expect))
    finally:
        s.stop()


def test_rcpt_replies_each_recipient():
    """5xx RCPT bounced, 4xx deferred, each with the server's text."""
    s = sink(rcpt={"bad@example.test": "550 5.1.1 <bad@example.test>: Recipient address rejected",
                   "later@example.test": "450 4.2.0 <later@example.test>: try later"})
    try:
        qid = ENV.inject("alice@example.test",
                         ["bad@example.test", "good@example.test", "later@example.test"],
                         message("rcpt"))
        res = by_index(ENV.deliver(qid, "example.test:%d" % PORT))
        assert res[0]["status"] == "bounced" and res[0]["dsn"] == "5.1.1", res[0]
        assert res[0]["reason"] == (
            "host mx.example.test[127.0.0.2] said: 550 5.1.1 <bad@example.test>: "
            "Recipient address rejected (in reply to RCPT TO command)"), res[0]
        assert res[0]["diagnostic"] == (
            "smtp; 550 5.1.1 <bad@example.test>: Recipient address rejected"), res[0]
        assert res[0]["remote_mta"] == "dns; mx.example.test", res[0]
        assert res[1]["status"] == "sent", res[1]
        assert res[2]["status"] == "deferred" and res[2]["dsn"] == "4.2.0", res[2]
        (t,) = s.transactions()
        assert t.accepted == ["good@example.test"]
        ENV.wait_log(r"%s: to=<bad@example\.test>, .*status=bounced \(host mx\.example\.test"
                     r"\[127\.0\.0\.2\] said: 550 5\.1\.1" % qid)
    finally:
        s.stop()


def test_data_reply_applies_to_all():
    s = sink(ext=[], data_end="554 5.7.1 Message rejected as spam")
    try:
        qid = ENV.inject("alice@example.test", ["a@example.test", "b@example.test"],
                         message("data"))
        res = by_index(ENV.deliver(qid, "example.test:%d" % PORT))
        for i in (0, 1):
            assert res[i]["status"] == "bounced", res
            assert res[i]["dsn"] == "5.7.1", res
            assert res[i]["reason"].endswith("(in reply to end of DATA command)"), res
        # Without PIPELINING every command waited for its reply.
        assert s.sessions[0].commands[:4] == [
            b"EHLO client.example.test", b"MAIL FROM:<alice@example.test>",
            b"RCPT TO:<a@example.test>", b"RCPT TO:<b@example.test>"], s.sessions[0].commands
    finally:
        s.stop()


def test_mx_fallback_order():
    """Preference order; connection refused and a 4xx greeting: next host."""
    s2 = sink(host="127.0.0.4", greeting_reply="421 4.3.2 busy")
    s3 = sink(host="127.0.0.5")
    try:
        qid = ENV.inject("alice@example.test", ["x@fallback.test"], message("fallback"))
        (r,) = ENV.deliver(qid, "fallback.test:%d" % PORT)
        assert r["status"] == "sent", r
        assert r["relay"] == "mx3.fallback.test[127.0.0.5]:%d" % PORT, r
        assert s2.connections == 1 and len(s3.transactions()) == 1
        log = ENV.inst.log()
        a = log.index("connect to mx1.fallback.test[127.0.0.3]:%d: Connection refused" % PORT)
        b = log.index("host mx2.fallback.test[127.0.0.4] refused to talk to me: 421 4.3.2 busy")
        assert a < b, log
    finally:
        s2.stop()
        s3.stop()


def test_mx_session_limit():
    """smtp_mx_session_limit (2): after two servers that would not talk,
    the third is left alone and the mail is deferred."""
    s1 = sink(host="127.0.0.3", greeting_reply="421 4.3.2 one busy")
    s2 = sink(host="127.0.0.4", ehlo_reply="451 4.3.0 two busy")
    s3 = sink(host="127.0.0.5")
    try:
        qid = ENV.inject("alice@example.test", ["x@fallback.test"], message("sesslimit"))
        (r,) = ENV.deliver(qid, "fallback.test:%d" % PORT)
        assert r["status"] == "deferred" and r["dsn"] == "4.3.0", r
        assert r["reason"] == ("host mx2.fallback.test[127.0.0.4] refused to talk to me: "
                               "451 4.3.0 two busy (in reply to EHLO command)"), r
        assert r["diagnostic"] == "smtp; 451 4.3.0 two busy", r
        assert (s1.connections, s2.connections, s3.connections) == (1, 1, 0)
    finally:
        for x in (s1, s2, s3):
            x.stop()


def test_all_hosts_fail_deferred():
    qid = ENV.inject("alice@example.test", ["x@fallback.test"], message("allfail"))
    (r,) = ENV.deliver(qid, "fallback.test:%d" % PORT)
    assert r["status"] == "deferred" and r["dsn"] == "4.4.1", r
    assert r["reason"] == "connect to mx3.fallback.test[127.0.0.5]:%d: Connection refused" % PORT, r


def test_implicit_mx_and_null_mx():
    s = sink(host="127.0.0.6")
    try:
        qid = ENV.inject("alice@example.test", ["x@implicit.test"], message("implicit"))
        (r,) = ENV.deliver(qid, "implicit.test:%d" % PORT)
        assert r["status"] == "sent" and r["relay"].startswith("implicit.test[127.0.0.6]"), r
    finally:
        s.stop()
    qid = ENV.inject("alice@example.test", ["x@null.test"], message("null"))
    (r,) = ENV.deliver(qid, "null.test")
    assert r["status"] == "bounced" and r["dsn"] == "5.1.10", r
    assert r["reason"] == "Domain null.test does not accept mail (nullMX)", r
    assert r["relay"] == "none", r
    qid = ENV.inject("alice@example.test", ["x@broken.test"], message("servfail"))
    (r,) = ENV.deliver(qid, "broken.test")
    assert r["status"] == "deferred" and r["dsn"] == "4.4.3", r


def test_helo_fallback():
    s = sink(ehlo_reply="502 5.5.2 EHLO not supported")
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("helo"),
                         ["-N", "failure"])
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "sent", r
        cmds = s.sessions[0].commands
        assert cmds[:3] == [b"EHLO client.example.test", b"HELO client.example.test",
                            b"MAIL FROM:<alice@example.test>"], cmds
        assert cmds[3] == b"RCPT TO:<x@example.test>", cmds
    finally:
        s.stop()


def test_size_limit_bounce():
    s = sink(ext=["SIZE 100"])
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"],
                         message("size", "x" * 500 + "\r\n"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "bounced" and r["dsn"] == "5.3.4", r
        assert "exceeds size limit 100 of server mx.example.test[127.0.0.2]" in r["reason"], r
        assert not any(c.startswith(b"MAIL") for c in s.sessions[0].commands)
    finally:
        s.stop()


def test_smtputf8():
    s = sink(ext=["8BITMIME"])
    try:
        qid = ENV.inject("alice@example.test", ["jösé@example.test"], message("utf8"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "bounced" and r["dsn"] == "5.6.7", r
        assert r["reason"] == ("SMTPUTF8 is required, but was not offered by host "
                               "mx.example.test[127.0.0.2]"), r
    finally:
        s.stop()
    s = sink(ext=["8BITMIME", "SMTPUTF8"])
    try:
        qid = ENV.inject("alice@example.test", ["jösé@example.test"], message("utf8ok"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "sent", r
        (t,) = s.transactions()
        assert t.mail.endswith(" SMTPUTF8"), t.mail
        assert t.rcpts == ["RCPT TO:<jösé@example.test>"], t.rcpts
    finally:
        s.stop()


def test_timeouts_and_drops():
    """A stalled greeting times out; a dropped connection is 'lost'."""
    s = sink(stall="greeting", stall_seconds=5)
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("stall"))
        t0 = time.monotonic()
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-fast")
        assert time.monotonic() - t0 < 5
        assert r["status"] == "deferred" and r["dsn"] == "4.4.2", r
        assert r["reason"] == ("conversation with mx.example.test[127.0.0.2] timed out "
                               "while receiving the initial server greeting"), r
    finally:
        s.stop()
    s = sink(ext=[], drop="rcpt")
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("drop"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-fast")
        assert r["status"] == "deferred", r
        assert r["reason"] == ("lost connection with mx.example.test[127.0.0.2] while "
                               "sending RCPT TO"), r
    finally:
        s.stop()
    s = sink(stall="dot", stall_seconds=5)
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("dot"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-fast")
        assert r["status"] == "deferred", r
        assert "timed out while sending end of data -- message may be sent more than once" \
            in r["reason"], r
    finally:
        s.stop()


def test_malformed_and_hostile_replies():
    """Garbage instead of a reply: this host fails (the next is tried);
    control and 8-bit bytes of a reply never reach logs or results raw."""
    s = sink(greeting_reply="hello there")
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("garbage"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "deferred", r
        assert r["reason"].startswith("malformed reply from mx.example.test[127.0.0.2] "
                                      "while receiving the initial server greeting"), r
    finally:
        s.stop()
    s = sink(rcpt={"x@example.test": "550 5.1.1 bad\x1b[31m\x07 r\u00e9ponse"})
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("ctl"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "bounced", r
        assert "\x1b" not in r["reason"] and "\x07" not in r["reason"], r
        assert r["diagnostic"].startswith("smtp; 550 5.1.1 bad?[31m? r??ponse"), r
        log = ENV.inst.log()
        assert "\x1b" not in log and "\x07" not in log
    finally:
        s.stop()


def test_mail_refused():
    s = sink(mail_reply="553 5.7.1 <alice@example.test>: Sender address rejected")
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test", "y@example.test"],
                         message("mail"))
        res = by_index(ENV.deliver(qid, "example.test:%d" % PORT))
        for i in (0, 1):
            assert res[i]["status"] == "bounced" and res[i]["dsn"] == "5.7.1", res
            assert res[i]["reason"].endswith("(in reply to MAIL FROM command)"), res
    finally:
        s.stop()


def test_connection_reuse():
    s = sink()
    try:
        ids = [ENV.inject("alice@example.test", ["x@example.test"], message("reuse%d" % i))
               for i in range(3)]
        for qid in ids:
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
            assert r["status"] == "sent", r
        assert s.connections == 1, s.connections
        assert len(s.transactions()) == 3
        # Each transaction ended with the reply to the dot: no RSET.
        assert b"RSET" not in s.sessions[0].commands, s.sessions[0].commands
        # After smtp_connection_cache_time_limit (2 s) the session ends.
        ft.wait_for(lambda: s.sessions[0].closed, timeout=6, what="cache expiry")
        assert s.sessions[0].commands[-1] == b"QUIT"
    finally:
        s.stop()
    s = sink()
    try:
        for i in range(2):
            qid = ENV.inject("alice@example.test", ["x@example.test"], message("nc%d" % i))
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-nocache")
            assert r["status"] == "sent", r
        assert s.connections == 2, s.connections
    finally:
        s.stop()
    s = sink()
    try:
        for i in range(3):
            qid = ENV.inject("alice@example.test", ["x@example.test"], message("r2%d" % i))
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-reuse2")
            assert r["status"] == "sent", r
        # Two transactions on the first connection, then a new one.
        assert s.connections == 2, s.connections
        assert [len(x.transactions) for x in s.sessions] == [2, 1]
    finally:
        s.stop()


def test_requests_share_one_agent_connection():
    """qmgr sends deliver/1 after deliver/1 on one connection: each ends
    with done/1 reuse=1, and the SMTP session goes on without RSET."""
    s = sink()
    try:
        ids = [ENV.inject("alice@example.test", ["x@example.test"], message("conn%d" % i))
               for i in range(3)]
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(30)
        c.connect(ENV.sock("smtp"))
        for qid in ids:
            c.sendall(ENV.deliver_frame(qid, "example.test:%d" % PORT))
            frames, done = read_frames(c)
            assert done and frames[-1] == {"proto": "done/1", "reuse": "1"}, frames
            (r,) = frames[:-1]
            assert r["proto"] == "result/1" and r["status"] == "sent", r
        c.close()
        assert s.connections == 1, s.connections
        assert len(s.transactions()) == 3
        cmds = [x.split(b" ")[0] for x in s.sessions[0].commands]
        assert cmds[1:] == [b"MAIL", b"RCPT", b"DATA"] * 3, cmds
    finally:
        s.stop()


def test_rset_only_after_an_open_transaction():
    """All recipients refused: MAIL stays open, so the next use of the
    cached session starts with RSET; after a completed one it does not."""
    s = sink(ext=("8BITMIME", "ENHANCEDSTATUSCODES"),
             rcpt={"bad@example.test": "550 5.1.1 <bad@example.test>: no"})
    try:
        q1 = ENV.inject("alice@example.test", ["bad@example.test"], message("open"))
        (r,) = ENV.deliver(q1, "example.test:%d" % PORT)
        assert r["status"] == "bounced", r
        for i in range(2):
            qid = ENV.inject("alice@example.test", ["x@example.test"], message("after%d" % i))
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
            assert r["status"] == "sent", r
        assert s.connections == 1, s.connections
        cmds = [x.split(b" ")[0] for x in s.sessions[0].commands]
        assert cmds[1:] == [b"MAIL", b"RCPT", b"RSET", b"MAIL", b"RCPT", b"DATA",
                            b"MAIL", b"RCPT", b"DATA"], cmds
    finally:
        s.stop()


def test_out_of_step_server_not_reused():
    """A server that sends an unasked-for reply is out of step: its session
    is not cached (the extra reply would answer the next command)."""
    s = sink(data_end="250 2.0.0 Ok: queued as A\r\n250 2.0.0 unasked")
    try:
        for i in range(2):
            qid = ENV.inject("alice@example.test", ["x@example.test"], message("step%d" % i))
            (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
            assert r["status"] == "sent" and r["reason"].endswith("queued as A"), r
        assert s.connections == 2, s.connections
    finally:
        s.stop()


def test_ipv6():
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        raise ft.SkipTest("no IPv6 loopback")
    s = sink(host="::1")
    try:
        qid = ENV.inject("alice@example.test", ["x@v6.test"], message("v6"))
        (r,) = ENV.deliver(qid, "v6.test:%d" % PORT)
        assert r["status"] == "sent" and r["relay"] == "mx6.v6.test[::1]:%d" % PORT, r
    finally:
        s.stop()


def test_tls_encrypt_requires_starttls():
    s = sink()
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("enc"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-enc")
        assert r["status"] == "deferred" and r["dsn"] == "4.7.4", r
        assert r["reason"] == ("TLS is required, but was not offered by host "
                               "mx.example.test[127.0.0.2]"), r
    finally:
        s.stop()


def test_tls_may_untrusted():
    s = sink(tls=(ENV.other_cert, ENV.other_key))
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("may"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT)
        assert r["status"] == "sent", r
        assert s.sessions[0].tls
        ENV.wait_log(r"Untrusted TLS connection established to mx\.example\.test"
                     r"\[127\.0\.0\.2\]:%d: TLSv1\.[23] with cipher \S+" % PORT)
        cmds = s.sessions[0].commands
        assert cmds[1] == b"STARTTLS" and cmds[2].startswith(b"EHLO"), cmds
    finally:
        s.stop()


def test_relayhost_auth_over_starttls_verified():
    s = sink(host="127.0.0.7", tls=(ENV.cert, ENV.key), auth={"alice": "s3cret"},
             auth_required=True)
    try:
        qid = ENV.inject("alice@example.test", ["far@elsewhere.test"], message("relay"))
        (r,) = ENV.deliver(qid, "[relay.test]:%d" % PORT, service="relay")
        assert r["status"] == "sent", r
        assert r["relay"] == "relay.test[127.0.0.7]:%d" % PORT, r
        sess = s.sessions[0]
        assert sess.tls and sess.auth == ("PLAIN", "alice"), (sess.tls, sess.auth)
        ENV.wait_log(r"Verified TLS connection established to relay\.test\[127\.0\.0\.7\]:%d"
                     % PORT)
        assert "s3cret" not in ENV.inst.log()
    finally:
        s.stop()


def test_verify_fails_on_wrong_certificate():
    s = sink(tls=(ENV.other_cert, ENV.other_key))
    try:
        qid = ENV.inject("alice@example.test", ["x@example.test"], message("verify"))
        (r,) = ENV.deliver(qid, "example.test:%d" % PORT, service="smtp-verify")
        assert r["status"] == "deferred" and r["dsn"] == "4.7.5", r
        assert r["reason"].startswith("Server certificate not verified"), r
        assert not s.transactions()
    finally:
        s.stop()


def test_no_auth_in_plaintext():
    """AUTH only over TLS unless smtp_sasl_auth_plaintext = yes."""
    s = sink(host="127.0.0.7", auth={"alice": "s3cret"}, auth_required=True)
    try:
        qid = ENV.inject("alice@example.test", ["far@elsewhere.test"], message("plain"))
        (r,) = ENV.deliver(qid, "[relay.test]:%d" % PORT, service="relay-plain")
        assert r["status"] == "bounced" and r["dsn"] == "5.7.0", r
        assert not any(c.startswith(b"AUTH") for c in s.sessions[0].commands)
        qid = ENV.inject("alice@example.test", ["far@elsewhere.test"], message("plainok"))
        (r,) = ENV.deliver(qid, "[relay.test]:%d" % PORT, service="relay-plainok")
        assert r["status"] == "sent", r
        assert s.sessions[-1].auth == ("PLAIN", "alice")
    finally:
        s.stop()


def test_lmtp_unix_per_recipient():
    path = os.path.join(ENV.top, "lmtp.sock")
    s = Sink(unix_path=path, lmtp=True, ext=["PIPELINING", "ENHANCEDSTATUSCODES"],
             lmtp_replies={"b@example.test": "452 4.2.2 <b@example.test> Mailbox full",
                           "c@example.test": "550 5.1.1 <c@example.test> User unknown"},
             data_end="250 2.0.0 <a@example.test> Saved").start()
    if ROOT:
        os.chmod(path, 0o777)
    try:
        qid = ENV.inject("alice@example.test",
                         ["a@example.test", "b@example.test", "c@example.test"],
                         message("lmtp"))
        res = by_index(ENV.deliver(qid, "unix:" + path, service="lmtp"))
        assert res[0]["status"] == "sent", res
        assert res[1]["status"] == "deferred" and res[1]["dsn"] == "4.2.2", res
        assert res[2]["status"] == "bounced" and res[2]["dsn"] == "5.1.1", res
        assert res[2]["diagnostic"] == "lmtp; 550 5.1.1 <c@example.test> User unknown", res
        assert s.sessions[0].commands[0] == b"LHLO client.example.test"
        ENV.wait_log(r"facteur/lmtp\[\d+\]: %s: to=<c@example\.test>, relay=localhost\[%s\], "
                     r".*status=bounced" % (qid, re.escape(path)))
        (t,) = s.transactions()
        assert t.data == message("lmtp") + b".\r\n", t.data
    finally:
        s.stop()


def test_lmtp_inet():
    s = Sink(host="127.0.0.2", port=0, lmtp=True).start()
    try:
        qid = ENV.inject("alice@example.test", ["a@example.test"], message("lmtpinet"))
        (r,) = ENV.deliver(qid, "inet:127.0.0.2:%d" % s.port, service="lmtp")
        assert r["status"] == "sent", r
        assert r["relay"] == "127.0.0.2[127.0.0.2]:%d" % s.port, r
    finally:
        s.stop()
    # "localhost" is the loopback address without asking DNS (RFC 6761).
    s = Sink(host="127.0.0.1", port=0, lmtp=True).start()
    try:
        qid = ENV.inject("alice@example.test", ["a@example.test"], message("lmtplocal"))
        (r,) = ENV.deliver(qid, "inet:localhost:%d" % s.port, service="lmtp")
        assert r["status"] == "sent", r
        assert r["relay"].startswith("localhost[") and r["relay"].endswith("]:%d" % s.port), r
        assert not any(q[0] == "localhost" for q in DNS.zone.queries), DNS.zone.queries
    finally:
        s.stop()


def test_bad_request_no_reply():
    """A malformed frame is logged and closed without results."""
    out = request(ENV.sock("smtp"), frame([("proto", "deliver/1"), ("queue_id", "x")]), 10)
    assert out == []
    out = request(ENV.sock("smtp"), frame([
        ("proto", "deliver/1"), ("queue_id", "5BM8TN1nH7z1bY58"),
        ("queue_file", "active/../etc/passwd"), ("sender", ""), ("nexthop", "x"),
        ("rcpt_count", "0")]), 10)
    assert out == []
    ENV.wait_log(r"bad deliver request: queue file active/\.\./etc/passwd")


# ------------------------------------------------- end to end through qmgr

VUSER, VPASS = "vuser@virtual.test", "s3cret-Pw"


class E2E:
    """smtpd (submission) + auth + qmgr + local + smtp, relayhost with AUTH."""

    def __init__(self):
        self.p587 = ft.free_port()
        self.inst = ft.Instance(name="facteur-smtp-e2e")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.cert, self.key = make_cert(top, "relay.test")
        self.smtpd_cert, self.smtpd_key = make_cert(top, "mail.example.test")
        self.vhome = os.path.join(top, "vuser")
        os.makedirs(self.vhome)
        if ROOT:
            nb = pwd.getpwnam("nobody")
            os.chown(self.vhome, nb.pw_uid, nb.pw_gid)
        with open(os.path.join(top, "sasl_passwd"), "w") as f:
            f.write("[relay.test]:%d alice:s3cret\n" % PORT)
        os.chmod(os.path.join(top, "sasl_passwd"), 0o644)
        self.passwd = os.path.join(top, "passwd")
        self.inst.write_main_cf(
            "import_environment = TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS\n"
            "dns_servers = 127.0.0.1:%d\n"
            "virtual_mailbox_domains = virtual.test\n"
            "mynetworks = 10.255.255.0/24\n"
            "alias_maps =\n"
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 0s\n"
            "smtpd_tls_cert_file = %s\n"
            "smtpd_tls_key_file = %s\n"
            "smtpd_error_sleep_time = 0\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            "queue_run_delay = 1s\n"
            "relayhost = [relay.test]:%d\n"
            "smtp_tls_security_level = verify\n"
            "smtp_tls_CAfile = %s\n"
            "smtp_sasl_auth_enable = yes\n"
            "smtp_sasl_password_maps = texthash:%s/sasl_passwd\n"
            "smtp_helo_timeout = 5s\n"
            % (DNS.port, self.passwd, self.smtpd_cert, self.smtpd_key, PORT,
               self.cert, top)
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        self.inst.write_master_cf(
            "127.0.0.1:%d inet n - n - - %s\n"
            "  -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
            "qmgr unix n - n 2 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - - %s\n"
            "auth unix - - n - - %s\n"
            "smtp unix - - n - - %s\n"
            "anvil unix - - n - 1 %s\n"
            % (self.p587, SMTPD, QMGR, LOCAL, AUTH, SMTP, ANVIL))
        ids = (["-u", str(pwd.getpwnam("nobody").pw_uid),
                "-g", str(pwd.getpwnam("nobody").pw_gid)] if ROOT else [])
        self.inst.facteur("user", "add", VUSER, "-p", VPASS, "-d", self.vhome,
                          *ids, check=True)
        os.chmod(self.passwd, 0o644)
        self.inst.start()
        for name in ("public/qmgr", "private/smtp", "private/auth"):
            ft.wait_for(lambda: os.path.exists(os.path.join(
                self.inst.queue_dir, name)), what=name)

    def cleanup(self):
        self.inst.cleanup()

    def submit(self, rcpts, msg):
        s = smtplib.SMTP("127.0.0.1", self.p587, timeout=30)
        try:
            s.ehlo("client.example.test")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo("client.example.test")
            s.login(VUSER, VPASS)
            s.sendmail(VUSER, rcpts, msg)
        finally:
            s.quit()

    def maildir(self):
        return sorted(glob.glob(os.path.join(self.vhome, "Maildir", "new", "*")))

    def queue_empty(self):
        for d in ("incoming", "active", "deferred"):
            for _, _, files in os.walk(os.path.join(self.inst.queue_dir, d)):
                if files:
                    return False
        return True

    def wait_log(self, pattern, timeout=20):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)


E2 = None


def relay_sink(**kw):
    return sink(host="127.0.0.7", tls=(E2.cert, E2.key), auth={"alice": "s3cret"},
                auth_required=True, ext=["PIPELINING", "8BITMIME", "DSN", "SIZE 10000000",
                                         "ENHANCEDSTATUSCODES"], **kw)


def test_e2e_submission_relayhost_auth():
    """Submission with AUTH -> qmgr -> smtp -> relayhost with AUTH over TLS."""
    s = relay_sink()
    try:
        body = ("From: %s\r\nTo: someone@outside.test\r\nSubject: e2e\r\n"
                "Message-ID: <e2e-1@virtual.test>\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
                "\r\nHello outside.\r\n.starts with a dot\r\n" % VUSER)
        E2.submit(["someone@outside.test"], body)
        ft.wait_for(lambda: s.transactions() and s.transactions()[0].data,
                    timeout=20, what="delivery to the relay")
        (t,) = s.transactions()
        assert t.mail.startswith("MAIL FROM:<%s> SIZE=" % VUSER), t.mail
        # No NOTIFY or ORCPT was given on submission: none is passed on.
        assert t.rcpts == ["RCPT TO:<someone@outside.test>"], t.rcpts
        sess = s.sessions[0]
        assert sess.tls and sess.auth == ("PLAIN", "alice"), (sess.tls, sess.auth)
        # smtpd put its Received: line first; the rest is the client's bytes,
        # dot-stuffed on the wire.
        assert t.data.startswith(b"Received: "), t.data[:200]
        stuffed = body.replace("\r\n.", "\r\n..").encode()
        assert t.data.endswith(stuffed + b".\r\n"), t.data
        E2.wait_log(r"to=<someone@outside\.test>, relay=relay\.test\[127\.0\.0\.7\]:%d, "
                    r".*status=sent \(250 2\.0\.0 Ok: queued as SINK1\)" % PORT)
        E2.wait_log(r"Verified TLS connection established to relay\.test\[127\.0\.0\.7\]:%d"
                    % PORT)
        ft.wait_for(E2.queue_empty, timeout=10, what="empty queue")
    finally:
        s.stop()


def test_e2e_bounce_with_remote_reply():
    """A 5xx RCPT reply: a notice to the sender with Remote-MTA and
    Diagnostic-Code; the accepted recipient is delivered once."""
    before = len(E2.maildir())
    s = relay_sink(rcpt={"nobody@outside.test":
                         "550 5.1.1 <nobody@outside.test>: Recipient address rejected"})
    try:
        body = ("From: %s\r\nTo: x\r\nSubject: bounce me\r\n"
                "Message-ID: <e2e-2@virtual.test>\r\n\r\nHi.\r\n" % VUSER)
        E2.submit(["nobody@outside.test", "ok@outside.test"], body)
        files = ft.wait_for(lambda: len(E2.maildir()) > before and E2.maildir(),
                            timeout=20, what="the non-delivery notice")
        with open(files[-1], "rb") as f:
            dsn = f.read().decode("utf-8", "replace")
        assert "Final-Recipient: rfc822; nobody@outside.test" in dsn, dsn
        assert "Remote-MTA: dns; relay.test" in dsn, dsn
        assert ("Diagnostic-Code: smtp; 550 5.1.1 <nobody@outside.test>: "
                "Recipient address rejected") in dsn, dsn
        assert "Status: 5.1.1" in dsn, dsn
        ts = s.transactions()
        assert len(ts) == 1 and ts[0].accepted == ["ok@outside.test"], ts
        ft.wait_for(E2.queue_empty, timeout=10, what="empty queue")
    finally:
        s.stop()


def test_e2e_deferred_then_sent():
    """A 4xx at RCPT: deferred with the remote text, sent on the retry."""
    s = relay_sink(rcpt={"later@outside.test": "450 4.2.0 <later@outside.test>: busy"})
    try:
        body = ("From: %s\r\nTo: later@outside.test\r\nSubject: retry\r\n"
                "Message-ID: <e2e-3@virtual.test>\r\n\r\nAgain.\r\n" % VUSER)
        E2.submit(["later@outside.test"], body)
        E2.wait_log(r"to=<later@outside\.test>, relay=relay\.test.*status=deferred "
                    r"\(host relay\.test\[127\.0\.0\.7\] said: 450 4\.2\.0 "
                    r"<later@outside\.test>: busy \(in reply to RCPT TO command\)\)")
        s.rcpt.clear()
        ft.wait_for(lambda: any(t.data for t in s.transactions()), timeout=20,
                    what="the retry")
        m = E2.wait_log(r"(\w+): to=<later@outside\.test>, relay=relay\.test.*status=sent")
        ft.wait_for(E2.queue_empty, timeout=10, what="empty queue")
        # The defer log written by the first attempt goes with the message.
        E2.wait_log(r"%s: removed" % m.group(1))
        assert not os.path.exists(os.path.join(E2.inst.queue_dir, "defer", m.group(1)))
    finally:
        s.stop()


def test_e2e_8bitmime():
    """BODY=8BITMIME passes to a peer that offers 8BITMIME; to one that
    does not, the message goes as it is (Postfix's default)."""
    body = ("From: %s\r\nTo: x\r\nSubject: 8bit\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nd\u00e9j\u00e0 vu\r\n" % VUSER)
    for ext, expect in ((["8BITMIME"], " BODY=8BITMIME"), ([], "")):
        s = sink(host="127.0.0.7", tls=(E2.cert, E2.key), auth={"alice": "s3cret"},
                 auth_required=True, ext=ext)
        try:
            c = smtplib.SMTP("127.0.0.1", E2.p587, timeout=30)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c.starttls(context=ctx)
            c.login(VUSER, VPASS)
            c.sendmail(VUSER, ["eight@outside.test"], body.encode(),
                       mail_options=["BODY=8BITMIME"])
            c.quit()
            ft.wait_for(lambda: any(t.data for t in s.transactions()), timeout=20,
                        what="delivery")
            (t,) = s.transactions()
            assert t.mail == "MAIL FROM:<%s>%s" % (VUSER, expect), t.mail
            assert t.data.endswith(body.encode() + b".\r\n"), t.data
            ft.wait_for(E2.queue_empty, timeout=10, what="empty queue")
        finally:
            s.stop()


def test_no_crash_in_logs():
    """Stop both instances: no panic, fatal error, abnormal exit or
    sanitizer abort (which master logs as an exit status) anywhere."""
    for inst in (ENV.inst, E2.inst):
        inst.stop()
        log = inst.log()
        for bad in ("panic:", "fatal:", "killed by signal", "exited with status",
                    "exit status"):
            assert bad not in log, "%r in the log:\n%s" % (bad, log)


def main():
    global ENV, E2, DNS
    DNS = dnsserver.Server(ZONE).start()
    ENV = Env()
    E2 = E2E()
    try:
        ft.run_tests([
            test_mx_pipelining_exact_bytes,
            test_content_and_dot_in_one_write,
            test_null_sender,
            test_large_message_exact_bytes,
            test_rcpt_replies_each_recipient,
            test_data_reply_applies_to_all,
            test_mx_fallback_order,
            test_mx_session_limit,
            test_all_hosts_fail_deferred,
            test_implicit_mx_and_null_mx,
            test_helo_fallback,
            test_size_limit_bounce,
            test_smtputf8,
            test_timeouts_and_drops,
            test_malformed_and_hostile_replies,
            test_mail_refused,
            test_connection_reuse,
            test_requests_share_one_agent_connection,
            test_rset_only_after_an_open_transaction,
            test_out_of_step_server_not_reused,
            test_ipv6,
            test_tls_encrypt_requires_starttls,
            test_tls_may_untrusted,
            test_relayhost_auth_over_starttls_verified,
            test_verify_fails_on_wrong_certificate,
            test_no_auth_in_plaintext,
            test_lmtp_unix_per_recipient,
            test_lmtp_inet,
            test_bad_request_no_reply,
            test_e2e_submission_relayhost_auth,
            test_e2e_bounce_with_remote_reply,
            test_e2e_deferred_then_sent,
            test_e2e_8bitmime,
            test_no_crash_in_logs,
        ])
    finally:
        if os.environ.get("KEEP"):
            print("kept", ENV.top, E2.top)
        else:
            ENV.cleanup()
            E2.cleanup()
        DNS.stop()


if __name__ == "__main__":
    main()
