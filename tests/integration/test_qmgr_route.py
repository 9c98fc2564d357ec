"""qmgr's side of outbound mail: routing, batching, concurrency, dead
destinations, remote failures and delay notices.

The delivery agent is tests/integration/testagent (never installed), run by
master as the services "testagent" and "lmtp": it answers deliver/1 as a
rule file says (sent, deferred or bounced, with the remote reply as
diagnostic and remote_mta; or a sleep) and logs every request it got as
one JSON line, which the tests read: the transport (service) and next hop
of each recipient, the batches, how many requests overlapped.  Messages go
in with tests/integration/qinject; notices go to alice's Maildir through
local.  Run as root, master and the agents stay root, qmgr runs as
mail_owner and the mailbox belongs to "nobody"; as another user everything
runs as that user.
"""

import glob
import json
import os
import pwd
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsserver  # noqa: E402
import facteur_test as ft  # noqa: E402
import smtpsink  # noqa: E402

ROOT = os.geteuid() == 0
QINJECT = os.path.join(ft.BUILDDIR, "tests", "integration", "qinject")
TESTAGENT = os.path.join(ft.BUILDDIR, "tests", "integration", "testagent")
QMGR = os.path.join(ft.BUILDDIR, "qmgr", "qmgr")
LOCAL = os.path.join(ft.BUILDDIR, "local", "local")
SMTPD = os.path.join(ft.BUILDDIR, "smtpd", "smtpd")
SMTP = os.path.join(ft.BUILDDIR, "smtp", "smtp")
AUTH = os.path.join(ft.BUILDDIR, "auth", "auth")

if ROOT:
    try:
        pwd.getpwnam("facteur")
        MAIL_OWNER = "facteur"
    except KeyError:
        MAIL_OWNER = "nobody"
    _nb = pwd.getpwnam("nobody")
    MB_UID, MB_GID = _nb.pw_uid, _nb.pw_gid
else:
    MAIL_OWNER, MB_UID, MB_GID = None, os.getuid(), os.getgid()

RULES = """\
@slow.test sleep 700
@many.test sleep 10
@dead.test deferred 4.4.1 - connect to mx.dead.test[192.0.2.1]:25: Connection refused
@busy.test deferred 4.2.0 450 Mailbox busy, try later
@reject.test bounced 5.1.1 550 User unknown
@late.test deferred 4.2.0 450 Greylisted, try again later
"""

TRANSPORT = """\
user@map.test testagent:[addr.example]:2526
map.test testagent:domain-hop.example
.sub.test lmtp:unix:/run/lmtp.sock
exact.test lmtp:inet:127.0.0.1:24
err.test error:5.1.1 No such mailbox here
disc.test discard:dropped by policy
nohop.test testagent:
loc.test local:
badtr.test ../../etc:x
soft.test error:4.7.1 Try again tomorrow
recycle.test recycle:
"""


class Env:
    def __init__(self, extra=""):
        self.inst = ft.Instance(name="facteur-route")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.home = os.path.join(top, "home")
        os.makedirs(os.path.join(self.home, "alice"))
        os.chmod(self.home, 0o777 if ROOT else 0o755)
        os.chown(os.path.join(self.home, "alice"), MB_UID, MB_GID)
        self.alice = os.path.join(self.home, "alice", "Maildir")
        ids = "%d:%d" % (MB_UID, MB_GID) if ROOT else ":"
        with open(os.path.join(top, "passwd"), "w") as f:
            f.write("alice@example.test:{PLAIN}x:%s::%s/alice::\n" % (ids, self.home))
        self.rules = os.path.join(top, "rules")
        with open(self.rules, "w") as f:
            f.write(RULES)
        self.requests = os.path.join(top, "requests.json")
        self.transport = os.path.join(top, "transport")
        with open(self.transport, "w") as f:
            f.write(TRANSPORT)
        self.inst.write_main_cf(
            "mydestination = example.test\n"
            "alias_maps =\n"
            "auth_passwd_file = %s/passwd\n"
            "default_transport = testagent\n"
            "recipient_delimiter = +\n"
            "transport_maps = texthash:%s\n"
            "queue_run_delay = 1s\n"
            % (top, self.transport) + extra
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        agent = "%s rules=%s log=%s" % (TESTAGENT, self.rules, self.requests)
        self.inst.write_master_cf(
            "qmgr unix n - n 300 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "local unix - n n - 4 %s\n"
            "testagent unix - n n - 20 %s\n"
            "lmtp unix - n n - 20 %s\n"
            "recycle unix - n n - 20 %s -o max_use=1\n" % (QMGR, LOCAL, agent, agent, agent))
        self.inst.start()
        ft.wait_for(lambda: os.path.exists(
            os.path.join(self.inst.queue_dir, "public", "qmgr")), what="qmgr socket")

    def inject(self, sender, rcpts, subject, opts=()):
        kw = {"user": MAIL_OWNER} if ROOT else {}
        content = ("From: alice@example.test\r\nTo: someone\r\nSubject: %s\r\n"
                   "\r\nHello.\r\n" % subject).encode()
        proc = subprocess.run(
            [QINJECT] + list(opts) + [self.inst.queue_dir, sender] + list(rcpts),
            input=content, capture_output=True, check=True, **kw)
        return proc.stdout.decode().strip()

    def reqs(self, qid=None):
        try:
            with open(self.requests) as f:
                out = [json.loads(line) for line in f]
        except FileNotFoundError:
            return []
        return [r for r in out if qid is None or r["queue_id"] == qid]

    def wait_log(self, pattern, timeout=20):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)

    def mails(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.alice, "new", "*"))):
            with open(p, "rb") as f:
                out.append(f.read().decode(errors="replace"))
        return out

    def wait_mail(self, needle, timeout=20):
        return ft.wait_for(lambda: [m for m in self.mails() if needle in m],
                           timeout=timeout, what="mail with %r" % needle)


class OutEnv:
    """smtpd (submission, STARTTLS + AUTH), auth, qmgr and the real smtp
    agent; a DNS server with an MX for outside.example and two sinks."""

    def __init__(self):
        self.sink = smtpsink.Sink(host="127.0.0.1", name="mx.outside.example", rcpt={
            "bad@outside.example":
                "550 5.1.1 <bad@outside.example>: Recipient address rejected",
            "busy@outside.example": "450 4.2.0 <busy@outside.example>: Mailbox busy",
        }).start()
        self.relay = smtpsink.Sink(host="127.0.0.1", name="relay.example").start()
        self.dns = dnsserver.Server({
            "outside.example": {"MX": [[10, "mx.outside.example"]]},
            "mx.outside.example": {"A": ["127.0.0.1"]},
        }).start()
        self.p587 = ft.free_port()
        self.inst = ft.Instance(name="facteur-route-out")
        top = self.top = self.inst.top
        os.chmod(top, 0o755)
        self.cert, self.key = os.path.join(top, "cert.pem"), os.path.join(top, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=mail.example.test"], check=True, capture_output=True)
        for f in (self.cert, self.key):
            os.chmod(f, 0o644)
        self.passwd = os.path.join(top, "passwd")
        with open(os.path.join(top, "transport"), "w") as f:
            f.write("outside.example smtp:outside.example:%d\n" % self.sink.port)
        self.inst.write_main_cf(
            "mydestination = example.test\n"
            "virtual_mailbox_domains = virtual.test\n"
            "alias_maps =\n"
            "auth_passwd_file = %s\n"
            "auth_failure_delay = 0s\n"
            "smtpd_tls_cert_file = %s\n"
            "smtpd_tls_key_file = %s\n"
            "dns_servers = 127.0.0.1:%d\n"
            "transport_maps = texthash:%s/transport\n"
            "relayhost = [127.0.0.1]:%d\n"
            "smtp_tls_security_level = none\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            "queue_run_delay = 1s\n"
            % (self.passwd, self.cert, self.key, self.dns.port, top, self.relay.port)
            + ("mail_owner = %s\n" % MAIL_OWNER if ROOT else ""))
        self.inst.write_master_cf(
            "127.0.0.1:%d inet n - n - - %s -o smtpd_tls_security_level=encrypt"
            " -o smtpd_sasl_auth_enable=yes -o smtpd_add_missing_headers=yes"
            " -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
            "qmgr unix n - n 300 1 %s -o max_idle=3600 -o max_use=1000000\n"
            "smtp unix - - n - 4 %s\n"
            "local unix - n n - 4 %s\n"
            "auth unix - - n - - %s\n" % (self.p587, SMTPD, QMGR, SMTP, LOCAL, AUTH))
        self.vhome = os.path.join(top, "vhome")
        os.makedirs(self.vhome)
        os.chown(self.vhome, MB_UID, MB_GID)
        ids = ["-u", str(MB_UID), "-g", str(MB_GID)] if ROOT else []
        self.inst.facteur("user", "add", "vuser@virtual.test", "-p", "s3cret-Pw",
                          "-d", self.vhome, *ids, check=True)
        os.chmod(self.passwd, 0o644)
        self.inst.start()
        for name in ("public/qmgr", "private/smtp", "private/auth"):
            ft.wait_for(lambda: os.path.exists(os.path.join(self.inst.queue_dir, name)),
                        what=name)

    def cleanup(self):
        self.inst.cleanup()
        self.sink.stop()
        self.relay.stop()

    def wait_log(self, pattern, timeout=30):
        return ft.wait_for(lambda: re.search(pattern, self.inst.log(), re.M),
                           timeout=timeout, what="log /%s/" % pattern)


def submit(port, rcpts, content):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        s.ehlo("client.example")
        s.starttls(context=ctx)
        s.ehlo("client.example")
        s.login("vuser@virtual.test", "s3cret-Pw")
        s.mail("vuser@virtual.test")
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        code, text = s.data(content)
        assert code == 250, (code, text)
        s.quit()
        return re.search(rb"queued as (\S+)", text).group(1).decode()
    finally:
        s.close()


def test_remote_failures_through_smtp():
    """The real agent's 5xx and 4xx: a notice quoting the remote reply, a
    deferral showing it in the queue listing."""
    if not all(os.access(p, os.X_OK) for p in (SMTPD, SMTP, AUTH)):
        raise ft.SkipTest("smtpd, smtp or auth is not built")
    env = OutEnv()
    try:
        content = b"Subject: fail\r\n\r\nbody\r\n"
        qid = submit(env.p587, ["bad@outside.example", "busy@outside.example"], content)
        env.wait_log(r"%s: to=<bad@outside\.example>, .*dsn=5\.1\.1, status=bounced" % qid)
        env.wait_log(r"%s: to=<busy@outside\.example>, .*dsn=4\.2\.0, status=deferred" % qid)
        env.wait_log(r"%s: sender non-delivery notification: \w+" % qid)
        path = ft.wait_for(lambda: glob.glob(os.path.join(env.vhome, "Maildir", "new", "*")),
                           what="the notice")[0]
        with open(path, "rb") as f:
            notice = f.read().decode()
        assert re.search(r"\nFinal-Recipient: rfc822; bad@outside\.example\n"
                         r"Action: failed\nStatus: 5\.1\.1\n"
                         r"Remote-MTA: dns; mx\.outside\.example\n"
                         r"Diagnostic-Code: smtp; 550 5\.1\.1 <bad@outside\.example>: "
                         r"Recipient address rejected\n", notice), notice
        assert "busy@outside.example" not in notice.split("message/delivery-status")[1] \
            .split("message/rfc822")[0], notice
        out = ft.wait_for(lambda: qid in env.inst.facteur("queue", "-p").stdout
                          and "Mailbox busy" in env.inst.facteur("queue", "-p").stdout
                          and env.inst.facteur("queue", "-p").stdout, what="queue listing")
        assert re.search(r"^\s*\(.*450 4\.2\.0 <busy@outside\.example>: Mailbox busy.*\)\n"
                         r"\s+busy@outside\.example$", out, re.M), out
    finally:
        env.cleanup()


def sink_transactions(sink):
    return [t for sess in sink.sessions for t in sess.transactions if t.data]


def test_end_to_end_through_smtp():
    """Submission with AUTH -> qmgr -> smtp -> a sink found by MX."""
    if not all(os.access(p, os.X_OK) for p in (SMTPD, SMTP, AUTH)):
        raise ft.SkipTest("smtpd, smtp or auth is not built")
    env = OutEnv()
    try:
        content = (b"From: <vuser@virtual.test>\r\nTo: <someone@outside.example>\r\n"
                   b"Subject: out\r\nMessage-ID: <out-1@virtual.test>\r\n"
                   b"Date: Sun, 22 Nov 2026 08:00:00 +0000\r\n\r\n"
                   b"Line one.\r\n.leading dot\r\n8-bit: \xc3\xa9t\xc3\xa9\r\n")
        qid = submit(env.p587, ["someone@outside.example", "far@elsewhere.example"],
                     content)
        env.wait_log(r"%s: to=<someone@outside\.example>, relay=mx\.outside\.example"
                     r"\[127\.0\.0\.1\]:%d, .*status=sent" % (qid, env.sink.port))
        env.wait_log(r"%s: to=<far@elsewhere\.example>, relay=127\.0\.0\.1"
                     r"\[127\.0\.0\.1\]:%d, .*status=sent" % (qid, env.relay.port))
        env.wait_log(r"%s: removed" % qid)
        for sink, rcpt in ((env.sink, "someone@outside.example"),
                           (env.relay, "far@elsewhere.example")):
            ts = sink_transactions(sink)
            assert len(ts) == 1, ts
            t = ts[0]
            assert re.match(r"MAIL FROM:<vuser@virtual\.test>( |$)", t.mail), t.mail
            assert len(t.rcpts) == 1 and re.match(r"RCPT TO:<%s>( |$)" % re.escape(rcpt),
                                                   t.rcpts[0]), t.rcpts
            # The queued message: smtpd's Received: header, then the
            # client's bytes exactly, dot-stuffed on the wire.
            wire = content.replace(b"\r\n.", b"\r\n..") + b".\r\n"
            assert t.data.startswith(b"Received: from client.example"), t.data
            assert t.data.endswith(b"\r\n" + wire), t.data
            head = t.data[:-len(wire)]
            assert re.fullmatch(rb"Received: [^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n", head), head
            assert b"id " + qid.encode() in head, head
    finally:
        env.cleanup()


ENV = None
ENV2 = None


def routes(qid):
    """{recipient: (service, nexthop)} from the agent's requests."""
    out = {}
    for r in ENV.reqs(qid):
        for a in r["rcpts"]:
            out[a] = (r["service"], r["nexthop"])
    return out


def test_default_route_and_batching():
    qid = ENV.inject("alice@example.test",
                     ["a@one.test", "c@two.test", "b@one.test"], "batch")
    ENV.wait_log(r"%s: removed" % qid)
    reqs = sorted(ENV.reqs(qid), key=lambda r: r["nexthop"])
    assert [(r["service"], r["nexthop"], r["rcpts"]) for r in reqs] == [
        ("testagent", "one.test", ["a@one.test", "b@one.test"]),
        ("testagent", "two.test", ["c@two.test"]),
    ], reqs
    assert all(r["sender"] == "alice@example.test" for r in reqs)


def test_recipient_limit():
    rcpts = ["r%d@many.test" % i for i in range(7)]
    qid = ENV.inject("alice@example.test", rcpts, "limit")
    ENV.wait_log(r"%s: removed" % qid)
    sizes = sorted(len(r["rcpts"]) for r in ENV.reqs(qid))
    assert sizes == [1, 3, 3], sizes  # default_destination_recipient_limit = 3
    assert sorted(a for r in ENV.reqs(qid) for a in r["rcpts"]) == sorted(rcpts)


def test_transport_maps():
    rcpts = ["user@map.test", "other@map.test", "x@deep.sub.test", "x@sub.test",
             "x@exact.test", "x@nohop.test", "User+ext@Map.Test"]
    qid = ENV.inject("alice@example.test", rcpts, "maps")
    ENV.wait_log(r"%s: removed" % qid)
    got = routes(qid)
    assert got == {
        "user@map.test": ("testagent", "[addr.example]:2526"),      # address
        "User+ext@Map.Test": ("testagent", "[addr.example]:2526"),  # sans extension
        "other@map.test": ("testagent", "domain-hop.example"),      # domain
        "x@deep.sub.test": ("lmtp", "unix:/run/lmtp.sock"),         # .parent
        "x@sub.test": ("testagent", "sub.test"),   # .sub.test: subdomains only
        "x@exact.test": ("lmtp", "inet:127.0.0.1:24"),
        "x@nohop.test": ("testagent", "nohop.test"),  # empty nexthop: domain
    }, got


def test_error_and_discard():
    qid = ENV.inject("alice@example.test", ["x@err.test", "y@disc.test"], "errdisc")
    ENV.wait_log(r"%s: to=<x@err\.test>, relay=none, .*dsn=5\.1\.1, "
                 r"status=bounced \(No such mailbox here\)$" % qid)
    ENV.wait_log(r"%s: to=<y@disc\.test>, relay=none, .*dsn=2\.0\.0, "
                 r"status=sent \(dropped by policy\)$" % qid)
    ENV.wait_log(r"%s: removed" % qid)
    assert ENV.reqs(qid) == [], ENV.reqs(qid)  # no agent involved
    notice = ENV.wait_mail("X-Facteur-Queue-ID: %s" % qid)[0]
    assert "Final-Recipient: rfc822; x@err.test" in notice, notice
    assert "Status: 5.1.1" in notice and "Action: failed" in notice, notice
    assert "Diagnostic-Code: X-Facteur; No such mailbox here" in notice, notice
    assert "disc.test" not in notice.split("Content-Type: message/rfc822")[0]


def test_bad_entries_defer():
    # A transport becomes private/NAME: "../../etc" is refused, deferred.
    qid = ENV.inject("alice@example.test", ["x@badtr.test", "y@soft.test"], "badtr")
    ENV.wait_log(r"%s: to=<x@badtr\.test>, relay=none, .*dsn=4\.3\.0, status=deferred "
                 r"\(transport_maps: invalid transport in \"\.\./\.\./etc:x\"\)$" % qid)
    # error: with a 4.x.y status defers.
    ENV.wait_log(r"%s: to=<y@soft\.test>, relay=none, .*dsn=4\.7\.1, status=deferred "
                 r"\(Try again tomorrow\)$" % qid)
    assert ENV.reqs(qid) == []


def test_local_transport_in_map():
    qid = ENV.inject("alice@example.test", ["alice@loc.test"], "loc")
    ENV.wait_log(r"%s: to=<alice@loc\.test>, relay=local, " % qid)
    assert ENV.reqs(qid) == []


def test_concurrency_cap():
    qids = [ENV.inject("alice@example.test", ["x%d@slow.test" % i], "slow%d" % i)
            for i in range(6)]
    for q in qids:
        ENV.wait_log(r"%s: removed" % q, timeout=40)
    reqs = [r for q in qids for r in ENV.reqs(q)]
    assert len(reqs) == 6, reqs
    events = sorted([(r["start"], 1) for r in reqs] + [(r["end"], -1) for r in reqs],
                    key=lambda e: (e[0], e[1]))
    busy = peak = 0
    for _, d in events:
        busy += d
        peak = max(peak, busy)
    # default_destination_concurrency_limit = 2: parallel, never more.
    assert peak == 2, (peak, reqs)


def test_agent_connection_kept():
    """Requests one after the other share one agent connection (done/1
    reuse=1, qmgr's pool); one idle for QMGR_AGENT_IDLE_TIME (5 s) is
    closed, so the next request makes a new one."""
    qids = []
    for i in range(3):
        q = ENV.inject("alice@example.test", ["k%d@keep.test" % i], "keep%d" % i)
        ENV.wait_log(r"%s: removed" % q)
        qids.append(q)
    conns = {(r["pid"], r["conn"]) for q in qids for r in ENV.reqs(q)}
    assert len(conns) == 1, [ENV.reqs(q) for q in qids]
    time.sleep(6.5)
    q = ENV.inject("alice@example.test", ["k3@keep.test"], "keep3")
    ENV.wait_log(r"%s: removed" % q)
    (r,) = ENV.reqs(q)
    assert (r["pid"], r["conn"]) not in conns, (r, conns)


def test_agent_recycled_after_requests():
    """An agent takes at most 10 x max_use requests (max_use = 1 here),
    then says reuse=0 and exits: the 11th request goes to a new one."""
    qids = []
    for i in range(11):
        q = ENV.inject("alice@example.test", ["r%d@recycle.test" % i], "recycle%d" % i)
        ENV.wait_log(r"%s: removed" % q)
        qids.append(q)
    reqs = [ENV.reqs(q)[0] for q in qids]
    assert all(r["service"] == "recycle" for r in reqs), reqs
    assert len({r["pid"] for r in reqs[:10]}) == 1, reqs
    assert reqs[10]["pid"] != reqs[0]["pid"], reqs


def test_many_active_messages():
    """Hundreds in active/ at once, finishing oldest first: each leaves
    qmgr's table of held messages, none is lost or done twice."""
    qids = [ENV.inject("alice@example.test", ["m%d@many.test" % i], "many%d" % i)
            for i in range(200)]
    for q in qids:
        ENV.wait_log(r"%s: removed" % q, timeout=60)
    for q in qids:
        assert len(ENV.reqs(q)) == 1, ENV.reqs(q)
    log = ENV.inst.log()
    assert all(log.count("%s: removed" % q) == 1 for q in qids)


def test_dead_destination_suspended():
    q1 = ENV.inject("alice@example.test", ["a@dead.test"], "dead1")
    ENV.wait_log(r"%s: to=<a@dead\.test>.*dsn=4\.4\.1, status=deferred" % q1)
    ENV.wait_log(r"testagent\[dead\.test\]: delivery temporarily suspended for 5s: "
                 r"connect to mx\.dead\.test\[192\.0\.2\.1\]:25: Connection refused")
    q2 = ENV.inject("alice@example.test", ["b@dead.test", "c@dead.test"], "dead2")
    ENV.wait_log(r"%s: to=<b@dead\.test>, relay=none, .*dsn=4\.4\.1, status=deferred "
                 r"\(delivery temporarily suspended: connect to mx\.dead\.test" % q2)
    ENV.wait_log(r"%s: to=<c@dead\.test>, relay=none, .*status=deferred "
                 r"\(delivery temporarily suspended: " % q2)
    # The second message never reached the agent: no connection attempt.
    assert ENV.reqs(q2) == [], ENV.reqs(q2)
    assert len(ENV.reqs(q1)) == 1
    # After minimal_backoff_time (5 s) the destination is probed again.
    ft.wait_for(lambda: len(ENV.reqs(q1)) + len(ENV.reqs(q2)) >= 2, timeout=30,
                what="a probe after the suspension")


def test_remote_deferral_in_mailq():
    qid = ENV.inject("alice@example.test", ["x@busy.test"], "busy")
    ENV.wait_log(r"%s: to=<x@busy\.test>.*dsn=4\.2\.0, status=deferred" % qid)
    ft.wait_for(lambda: any(qid in p for p in glob.glob(
        os.path.join(ENV.inst.queue_dir, "deferred", "*", "*"))), what="deferred file")
    out = ENV.inst.facteur("queue", "-p", check=True).stdout
    assert re.search(r"^%s\s.*alice@example\.test\n\s*\(450 4\.2\.0 Mailbox busy, "
                     r"try later\)\n\s+x@busy\.test$" % qid, out, re.M), out
    # Not a connection failure: the destination stays open.
    assert "testagent[busy.test]: delivery temporarily suspended" not in ENV.inst.log()


def test_remote_bounce_notice():
    qid = ENV.inject("alice@example.test", ["who@reject.test"], "reject")
    ENV.wait_log(r"%s: removed" % qid)
    notice = ENV.wait_mail("X-Facteur-Queue-ID: %s" % qid)[0]
    assert "Subject: Undelivered Mail Returned to Sender" in notice, notice
    assert "<who@reject.test>: 550 5.1.1 User unknown" in notice, notice
    report = notice.split("Content-Type: message/delivery-status", 1)[1]
    assert re.search(r"\nFinal-Recipient: rfc822; who@reject\.test\n"
                     r"Action: failed\nStatus: 5\.1\.1\n"
                     r"Remote-MTA: dns; mx\.reject\.test\n"
                     r"Diagnostic-Code: smtp; 550 5\.1\.1 User unknown\n", report), report


def test_wildcard():
    # A new table (new inode): qmgr reopens it within a second.
    tmp = ENV.transport + ".new"
    with open(tmp, "w") as f:
        f.write(TRANSPORT + "* testagent:[wild.example]\n")
    os.rename(tmp, ENV.transport)
    time.sleep(1.5)
    qid = ENV.inject("alice@example.test", ["x@any.test", "y@map.test"], "wild")
    ENV.wait_log(r"%s: removed" % qid)
    assert routes(qid) == {"x@any.test": ("testagent", "[wild.example]"),
                           "y@map.test": ("testagent", "domain-hop.example")}, routes(qid)
    # Local domains too: the wildcard applies to every address.
    qid = ENV.inject("alice@example.test", ["alice@example.test"], "wild-local")
    ENV.wait_log(r"%s: removed" % qid)
    assert routes(qid) == {"alice@example.test": ("testagent", "[wild.example]")}


def test_relayhost():
    qid = ENV2.inject("alice@example.test", ["r@any.test", "s@other.test"], "relay")
    ENV2.wait_log(r"%s: removed" % qid)
    reqs = ENV2.reqs(qid)
    # One destination, the relayhost: one request for both domains.
    assert [(r["service"], r["nexthop"], sorted(r["rcpts"])) for r in reqs] == [
        ("testagent", "[127.0.0.1]:2525", ["r@any.test", "s@other.test"])], reqs
    # transport_maps wins over relayhost.
    qid = ENV2.inject("alice@example.test", ["x@map.test"], "relay-map")
    ENV2.wait_log(r"%s: removed" % qid)
    assert [r["nexthop"] for r in ENV2.reqs(qid)] == ["domain-hop.example"]


def test_delay_warning_once():
    qid = ENV2.inject("alice@example.test", ["x@late.test"], "late")
    never = ENV2.inject("alice@example.test", ["y@late.test"], "late-never",
                        opts=["-N", "failure"])
    null = ENV2.inject("", ["z@late.test"], "late-null")
    ENV2.wait_log(r"%s: sender delay notification: \w+" % qid)
    # More attempts go by (backoff 1-2 s) without a second notice.
    ft.wait_for(lambda: ENV2.inst.log().count("%s: to=<x@late.test>" % qid) >= 4,
                timeout=30, what="four attempts")
    log = ENV2.inst.log()
    assert log.count("%s: sender delay notification" % qid) == 1, log
    assert "%s: sender delay notification" % never not in log
    assert "%s: sender delay notification" % null not in log
    notice = ENV2.wait_mail("X-Facteur-Queue-ID: %s" % qid)
    assert len(notice) == 1, notice
    n = notice[0]
    assert "Subject: Delayed Mail (still being retried)" in n, n
    assert "THIS IS A WARNING ONLY" in n, n
    assert re.search(r"\nFinal-Recipient: rfc822; x@late\.test\nAction: delayed\n"
                     r"Status: 4\.2\.0\nRemote-MTA: dns; mx\.\[127\.0\.0\.1\]:2525\n"
                     r"Diagnostic-Code: smtp; 450 4\.2\.0 Greylisted, try again later\n"
                     r"Will-Retry-Until: ", n), n
    assert "Content-Type: text/rfc822-headers" in n and "Subject: late\n" in n, n
    assert "Hello." not in n.split("text/rfc822-headers", 1)[1], n
    # Still queued, still retried: the warning does not end anything.
    assert ENV2.inst.facteur("queue", "-p", check=True).stdout.count(qid) == 1
    # The flag is in the queue file: a new qmgr does not warn again.
    pids = [p for p in ft.children_of(ENV2.inst.master_pid())
            if open("/proc/%d/cmdline" % p, "rb").read().startswith(QMGR.encode())]
    assert pids
    for p in pids:
        os.kill(p, signal.SIGKILL)
    seen = ENV2.inst.log().count("%s: to=<x@late.test>" % qid)
    ENV2.inject("alice@example.test", ["wake@up.test"], "wake")  # starts qmgr
    ft.wait_for(lambda: ENV2.inst.log().count("%s: to=<x@late.test>" % qid) >= seen + 2,
                timeout=30, what="two attempts by the new qmgr")
    assert ENV2.inst.log().count("%s: sender delay notification" % qid) == 1


def test_no_errors_logged():
    # Stopped: qmgr's exit runs the leak checker in sanitizer builds.
    for env in (ENV, ENV2):
        env.inst.stop()
        ft.wait_for(lambda: env.inst.master_pid() is None, what="master gone")
        log = env.inst.log()
        for bad in ("panic:", "fatal:", "AddressSanitizer", "LeakSanitizer",
                    "runtime error:", "bad result", "bad request"):
            assert bad not in log, (bad, log)


def main():
    global ENV, ENV2
    for path in (ft.MASTER, QMGR, LOCAL, QINJECT, TESTAGENT):
        if not os.access(path, os.X_OK):
            print("SKIP: %s not built" % path)
            sys.exit(77)
    ENV = Env("default_destination_concurrency_limit = 2\n"
              "default_destination_recipient_limit = 3\n"
              "minimal_backoff_time = 5s\n"
              "maximal_backoff_time = 10s\n")
    try:
        ENV2 = Env("relayhost = [127.0.0.1]:2525\n"
                   "delay_warning_time = 1s\n"
                   "minimal_backoff_time = 1s\n"
                   "maximal_backoff_time = 2s\n")
        try:
            ft.run_tests([
                test_default_route_and_batching,
                test_recipient_limit,
                test_transport_maps,
                test_error_and_discard,
                test_bad_entries_defer,
                test_local_transport_in_map,
                test_concurrency_cap,
                test_agent_connection_kept,
                test_many_active_messages,
                test_agent_recycled_after_requests,
                test_dead_destination_suspended,
                test_remote_deferral_in_mailq,
                test_remote_bounce_notice,
                test_wildcard,
                test_relayhost,
                test_delay_warning_once,
                test_no_errors_logged,
                test_end_to_end_through_smtp,
                test_remote_failures_through_smtp,
            ])
        finally:
            ENV2.inst.cleanup()
    finally:
        ENV.inst.cleanup()


if __name__ == "__main__":
    main()
