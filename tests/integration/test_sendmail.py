"""Local submission and queue administration: sendmail (and mailq,
newaliases by name), the pickup daemon, `facteur map` and `facteur queue`.

sendmail writes into maildrop/ while the daemons are stopped; the files are
parsed here with a reader of the queue file format (qfile.h).  Then an
instance runs pickup, which moves them into incoming/ (qmgr is not needed:
pickup's wakeup of qmgr may fail).  Runs as root or as an ordinary user; as
root, mail_owner is nobody and the services run unprivileged "n" because
the test directory is root's.
"""

import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

ROOT = os.geteuid() == 0
SENDMAIL = os.path.join(ft.BUILDDIR, "cli", "sendmail")
PICKUP = os.path.join(ft.BUILDDIR, "pickup", "pickup")
EX_USAGE = 64

QUEUE_DIRS = ("maildrop", "incoming", "active", "deferred", "hold",
              "corrupt", "defer", "bounce")


def parse_qfile(data):
    """The records of a queue file as a dict (see lib/global/qfile.h)."""
    q = {"attrs": {}, "rcpts": [], "content": b""}
    pos = 0
    while pos < len(data):
        typ = chr(data[pos])
        (length,) = struct.unpack(">I", data[pos + 1:pos + 5])
        body = data[pos + 5:pos + 5 + length]
        assert len(body) == length, "truncated record"
        pos += 5 + length
        if typ == "V":
            assert body == b"facteur-qfile/1"
        elif typ == "T":
            q["time"] = struct.unpack(">QI", body)
        elif typ == "S":
            q["sender"] = body.decode()
        elif typ == "A":
            name, value = body.decode().split("=", 1)
            q["attrs"][name] = value
        elif typ == "R":
            status, notify, alen = struct.unpack(">BBH", body[:4])
            q["rcpts"].append((chr(status), body[4:4 + alen].decode()))
        elif typ == "M":
            q["content"] += body
        elif typ == "E":
            size, count = struct.unpack(">QI", body)
            assert size == len(q["content"]) and count == len(q["rcpts"])
            q["end"] = True
    assert q.get("end"), "no end record"
    return q


def files_in(path):
    """Queue files under path (hashed subdirectories included)."""
    found = []
    for top, dirs, names in os.walk(path):
        found += [os.path.join(top, n) for n in names if not n.startswith("tmp.")]
    return found


class Inst(ft.Instance):
    def __init__(self, master_cf="", extra=""):
        super().__init__(main_cf=("mail_owner = nobody\n" if ROOT else "")
                         + "command_directory = %s\n" % os.path.join(ft.BUILDDIR, "cli")
                         + "alias_database = hash:%s\n" % "ALIASES"
                         + extra, master_cf=master_cf)
        # alias_database needs the temporary directory's name.
        self.aliases = os.path.join(self.top, "aliases")
        with open(os.path.join(self.config_dir, "main.cf")) as f:
            text = f.read().replace("ALIASES", self.aliases)
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(text)
        self.facteur("check", check=True)

    def sendmail(self, *args, input="", prog=SENDMAIL):
        return subprocess.run([prog, "-C", self.config_dir] + list(args),
                              input=input.encode() if isinstance(input, str) else input,
                              capture_output=True, timeout=30)

    def dir(self, name):
        return os.path.join(self.queue_dir, name)

    def only(self, name):
        files = files_in(self.dir(name))
        assert len(files) == 1, "%s: %r" % (name, files)
        with open(files[0], "rb") as f:
            return os.path.basename(files[0]), parse_qfile(f.read())


def header_of(content):
    return content.split(b"\r\n\r\n", 1)[0].decode()


def test_sendmail_basic():
    inst = Inst()
    try:
        msg = "Subject: test\nTo: bob@example.org\n\nline one\n.\nnot seen\n"
        r = inst.sendmail("-f", "alice@example.org", "bob@example.org", "carol",
                          input=msg)
        assert r.returncode == 0, r.stderr
        qid, q = inst.only("maildrop")
        assert q["sender"] == "alice@example.org"
        assert q["rcpts"] == [("P", "bob@example.org"),
                              ("P", "carol@mail.example.test")]
        c = q["content"]
        assert b"\n" not in c.replace(b"\r\n", b""), c
        assert c.startswith(b"Subject: test\r\nTo: bob@example.org\r\n")
        hdr = header_of(c)
        assert "\r\nDate: " in hdr
        assert "\r\nMessage-ID: <" in hdr and qid in hdr
        assert "\r\nFrom: alice@example.org" in hdr
        assert c.endswith(b"\r\n\r\nline one\r\n"), c
        assert b"not seen" not in c
    finally:
        inst.cleanup()


def test_sendmail_t_and_i():
    inst = Inst()
    try:
        msg = ("From: Me <me@example.org>\r\nTo: A <a@x.org>, \"b, c\" <b@y.org>\r\n"
               "Cc: undisclosed: c@z.org;\r\nBcc: secret@q.org\r\n"
               "Message-ID: <keep@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
               "\r\nbody\r\n.\r\nmore\nlast line")
        r = inst.sendmail("-t", "-i", "extra@x.org", input=msg)
        assert r.returncode == 0, r.stderr
        _, q = inst.only("maildrop")
        addrs = sorted(a for _, a in q["rcpts"])
        assert addrs == ["a@x.org", "b@y.org", "c@z.org", "extra@x.org",
                         "secret@q.org"], addrs
        c = q["content"]
        assert b"Bcc" not in c and b"secret" not in c
        assert c.count(b"Message-ID") == 1 and c.count(b"Date:") == 1
        assert c.count(b"From:") == 1
        assert c.endswith(b"\r\nbody\r\n.\r\nmore\r\nlast line\r\n"), c
        # the default sender is the invoking user's login name
        import pwd
        assert q["sender"] == pwd.getpwuid(os.getuid()).pw_name + "@mail.example.test"
    finally:
        inst.cleanup()


def test_sendmail_F_oi():
    inst = Inst()
    try:
        r = inst.sendmail("-F", "J. Doe", "-f", "<>", "-oi", "-oem", "x@y.org",
                          input="Subject: s\n\n.\n")
        assert r.returncode == 0, r.stderr
        _, q = inst.only("maildrop")
        assert q["sender"] == ""
        # no From: for the null sender; the lone dot is kept with -oi
        assert b"From:" not in q["content"]
        assert q["content"].endswith(b"\r\n\r\n.\r\n")
        os.unlink(files_in(inst.dir("maildrop"))[0])
        r = inst.sendmail("-F", "J. Doe", "-f", "jd", "x@y.org", input="\n")
        assert r.returncode == 0, r.stderr
        _, q = inst.only("maildrop")
        assert q["sender"] == "jd@mail.example.test"
        assert b'From: "J. Doe" <jd@mail.example.test>\r\n' in q["content"]
    finally:
        inst.cleanup()


def test_sendmail_usage():
    inst = Inst()
    try:
        for args in ([], ["-t"], ["-Z"], ["-bs"], ["-R", "bogus", "a@b"],
                     ["-N", "never,success", "a@b"]):
            r = inst.sendmail(*args, input="Subject: x\n\n")
            assert r.returncode == EX_USAGE, (args, r.returncode, r.stderr)
        assert files_in(inst.dir("maildrop")) == []
        r = subprocess.run([SENDMAIL, "-C", "/nonexistent", "a@b"], input=b"",
                           capture_output=True)
        assert r.returncode == 78, r  # EX_CONFIG
    finally:
        inst.cleanup()


def test_sendmail_size_limit():
    inst = Inst(extra="message_size_limit = 1000\n")
    try:
        r = inst.sendmail("a@b.org", input="x" * 2000 + "\n")
        assert r.returncode == 65, r  # EX_DATAERR
        assert os.listdir(inst.dir("maildrop")) == []
    finally:
        inst.cleanup()


def pickup_master_cf():
    # As root the test directory is root's: pickup must stay root ("n").
    return "pickup unix n %s n 60 1 %s\n" % ("n" if ROOT else "-", PICKUP)


def test_pickup():
    inst = Inst(master_cf=pickup_master_cf())
    try:
        # submitted while the mail system is down
        r = inst.sendmail("-f", "a@example.org", "b@example.org",
                          input="Subject: one\nMessage-ID: <one@x>\n\nhi\n")
        assert r.returncode == 0, r.stderr
        _, before = inst.only("maildrop")
        # a corrupt file under a queue id name, and a temporary one
        bad = os.path.join(inst.dir("maildrop"), "5BM8TN1nH7z1bY58")
        with open(bad, "wb") as f:
            f.write(b"V\0\0\0\x0fnot-a-queue-fil")
        os.symlink("/etc/passwd", os.path.join(inst.dir("maildrop"),
                                               "5BM8TN1nH7z1bY59"))
        with open(os.path.join(inst.dir("maildrop"), "tmp.1.1"), "wb") as f:
            f.write(b"junk")
        inst.start()
        ft.wait_for(lambda: len(files_in(inst.dir("incoming"))) == 1,
                    what="pickup of the first message")
        ft.wait_for(lambda: os.path.exists(os.path.join(inst.dir("corrupt"),
                                                        "5BM8TN1nH7z1bY58")),
                    what="corrupt file moved aside")
        ft.wait_for(lambda: os.path.islink(os.path.join(inst.dir("corrupt"),
                                                        "5BM8TN1nH7z1bY59")),
                    what="symlink moved aside")
        ft.wait_for(lambda: os.listdir(inst.dir("maildrop")) == ["tmp.1.1"],
                    what="maildrop emptied but for the writer's tmp file")
        qid, q = inst.only("incoming")
        assert q["sender"] == "a@example.org"
        assert q["rcpts"] == [("P", "b@example.org")]
        assert q["attrs"]["protocol"] == "local"
        assert q["attrs"]["uid"] == str(os.getuid())
        assert q["time"] == before["time"]
        assert q["content"].startswith(b"Received: by mail.example.test")
        assert q["content"].endswith(before["content"])
        log = ft.wait_for(lambda: "message-id=<one@x>" in inst.log() and inst.log(),
                          what="message-id log line")
        assert "%s: uid=%d from=<a@example.org>" % (qid, os.getuid()) in log, log
        assert "%s: message-id=<one@x>" % qid in log
        assert "maildrop file is not valid" in log
        # while running: sendmail's trigger wakes pickup at once
        r = inst.sendmail("c@example.org", input="Subject: two\n\n")
        assert r.returncode == 0, r.stderr
        ft.wait_for(lambda: len(files_in(inst.dir("incoming"))) == 2,
                    timeout=10, what="pickup after the trigger")
        # pickup commits into incoming/ first, then removes its source
        ft.wait_for(lambda: os.listdir(inst.dir("maildrop")) == ["tmp.1.1"],
                    what="maildrop file removed after pickup")
    finally:
        inst.cleanup()


def test_map():
    inst = Inst()
    try:
        src = os.path.join(inst.top, "table")
        with open(src, "w") as f:
            f.write("# comment\nKey1 value one\nkey2 value2\n")
        for typ in ("hash", "btree", "lmdb"):
            spec = "%s:%s" % (typ, src)
            inst.facteur("map", spec, check=True)
            r = inst.facteur("map", "-q", "KEY1", spec)
            assert r.returncode == 0 and r.stdout == "value one\n", (typ, r)
            r = inst.facteur("map", "-q", "nokey", spec)
            assert r.returncode == 1 and r.stdout == "", (typ, r)
            r = inst.facteur("map", "-q", "-", spec, input="key2\nnone\nkey1\n")
            assert r.returncode == 0
            assert r.stdout == "key2\tvalue2\nkey1\tvalue one\n", r.stdout
        assert os.path.exists(src + ".db") and os.path.exists(src + ".lmdb")
        # untyped means hash (btree rewrote table.db: build it again)
        inst.facteur("map", src, check=True)
        r = inst.facteur("map", "-q", "key2", src)
        assert r.returncode == 0 and r.stdout == "value2\n"
        # errors
        r = inst.facteur("map", "-q", "x", "hash:" + src + ".missing")
        assert r.returncode == 2, r
        with open(src, "w") as f:
            f.write("novalue\n")
        r = inst.facteur("map", "hash:" + src)
        assert r.returncode == 1 and "expected format" in r.stderr, r
        r = inst.facteur("map")
        assert r.returncode == 1
    finally:
        inst.cleanup()


def test_newaliases():
    inst = Inst()
    try:
        with open(inst.aliases, "w") as f:
            f.write("postmaster: root\nlist: a, b,\n  c\n")
        link = os.path.join(inst.top, "newaliases")
        os.symlink(SENDMAIL, link)
        r = inst.sendmail(prog=link)
        assert r.returncode == 0, r.stderr
        r = inst.facteur("map", "-q", "list", "hash:" + inst.aliases)
        assert r.stdout == "a, b, c\n", r
        os.unlink(inst.aliases + ".db")
        r = inst.sendmail("-bi")
        assert r.returncode == 0 and os.path.exists(inst.aliases + ".db")
    finally:
        inst.cleanup()


def plant(inst, queue, sender, rcpts, hashed=False, reason=None):
    """Submit through sendmail, then move the file into queue."""
    r = inst.sendmail("-f", sender, *rcpts, input="Subject: x\n\nbody\n")
    assert r.returncode == 0, r.stderr
    path = files_in(inst.dir("maildrop"))[0]
    qid = os.path.basename(path)
    target = inst.dir(queue)
    if hashed:
        target = os.path.join(target, qid[9])
        os.makedirs(target, exist_ok=True)
    os.rename(path, os.path.join(target, qid))
    if reason:
        with open(os.path.join(inst.dir("defer"), qid), "w") as f:
            f.write("recipient=<%s> offset=10 dsn=4.4.1 status=deferred reason=%s\n"
                    % (rcpts[0], reason))
    return qid


def test_queue_list():
    inst = Inst()
    try:
        r = inst.facteur("queue", "-p")
        assert r.returncode == 0 and r.stdout == "Mail queue is empty\n", r
        link = os.path.join(inst.top, "mailq")
        os.symlink(SENDMAIL, link)
        r = inst.sendmail(prog=link)
        assert r.returncode == 0 and r.stdout == b"Mail queue is empty\n", r
        d = plant(inst, "deferred", "a@x.org", ["b@y.org", "c@y.org"], hashed=True,
                  reason="connect to y.org: Connection refused")
        h = plant(inst, "hold", "", ["d@y.org"])
        i = plant(inst, "incoming", "e@x.org", ["f@y.org"])
        r = inst.facteur("queue", "-p")
        assert r.returncode == 0, r
        out = r.stdout
        assert out.startswith("-Queue ID-  --Size-- ----Arrival Time---- "
                              "-Sender/Recipient-------\n"), out
        assert "%s!" % h in out and "MAILER-DAEMON" in out
        assert "%s " % d in out and "%s " % i in out
        assert "(connect to y.org: Connection refused)\n" in out
        assert "b@y.org" in out and "c@y.org" in out and "f@y.org" in out
        assert out.rstrip("\n").endswith("in 3 Requests."), out
        r = inst.facteur("queue", "-j")
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        by_id = {row["queue_id"]: row for row in rows}
        assert by_id[d]["queue_name"] == "deferred"
        assert by_id[h]["queue_name"] == "hold" and by_id[h]["sender"] == ""
        assert by_id[d]["recipients"][0] == {
            "address": "b@y.org",
            "delay_reason": "connect to y.org: Connection refused"}
        assert by_id[d]["recipients"][1] == {"address": "c@y.org"}
        assert isinstance(by_id[i]["arrival_time"], int)
        assert by_id[i]["message_size"] > 0
    finally:
        inst.cleanup()


def test_queue_admin():
    inst = Inst()
    try:
        d = plant(inst, "deferred", "a@x.org", ["b@y.org"], hashed=True,
                  reason="later")
        i = plant(inst, "incoming", "a@x.org", ["c@y.org"])
        x = plant(inst, "incoming", "a@x.org", ["e@y.org"])
        # hold
        r = inst.facteur("queue", "-h", d)
        assert r.returncode == 0, r
        assert [os.path.basename(p) for p in files_in(inst.dir("hold"))] == [d]
        # release goes to deferred
        inst.facteur("queue", "-H", "ALL", check=True)
        assert files_in(inst.dir("hold")) == []
        assert [os.path.basename(p) for p in files_in(inst.dir("deferred"))] == [d]
        # flush: deferred to incoming
        inst.facteur("queue", "-f", check=True)
        assert files_in(inst.dir("deferred")) == []
        assert len(files_in(inst.dir("incoming"))) == 3
        # requeue from hold
        inst.facteur("queue", "-h", "ALL", check=True)
        assert len(files_in(inst.dir("hold"))) == 3
        inst.facteur("queue", "-r", i, check=True)
        assert [os.path.basename(p) for p in files_in(inst.dir("incoming"))] == [i]
        # delete one, with its logs, then all
        r = inst.facteur("queue", "-d", d)
        assert r.returncode == 0 and "Deleted: 1 message" in r.stderr, r
        assert not os.path.exists(os.path.join(inst.dir("defer"), d))
        r = inst.facteur("queue", "-d", "ALL")
        assert "Deleted: 2 messages" in r.stderr, r
        for q in ("incoming", "hold", "deferred"):
            assert files_in(inst.dir(q)) == [], q
        # bad ids and usage
        r = inst.facteur("queue", "-d", "../etc")
        assert r.returncode == 1 and "invalid" in r.stderr, r
        r = inst.facteur("queue", "-d", x)  # already gone: not an error
        assert r.returncode == 0 and "Deleted: 0 messages" in r.stderr, r
        r = inst.facteur("queue")
        assert r.returncode == 1
    finally:
        inst.cleanup()


def test_queue_show_and_words():
    inst = Inst()
    try:
        d = plant(inst, "deferred", "a@x.org", ["b@y.org", "c@y.org"],
                  hashed=True)
        r = inst.facteur("queue", "show", d)
        assert r.returncode == 0, r
        lines = r.stdout.splitlines()
        assert lines[0] == "*** ENVELOPE RECORDS deferred/%s ***" % d, lines
        assert "sender: a@x.org" in lines
        assert "recipient: b@y.org (pending)" in lines, lines
        assert "recipient: c@y.org (pending)" in lines, lines
        start = lines.index("*** MESSAGE CONTENTS deferred/%s ***" % d)
        assert lines[-1] == "*** MESSAGE FILE END deferred/%s ***" % d
        body = "\n".join(lines[start + 1:-1])
        assert "Subject: x" in body and body.endswith("\nbody"), body
        assert inst.facteur("queue", "-s", d).stdout == r.stdout
        # an unknown (valid) id, a bad id, extra arguments
        other = plant(inst, "incoming", "a@x.org", ["e@y.org"])
        inst.facteur("queue", "-d", other, check=True)
        r = inst.facteur("queue", "show", other)
        assert r.returncode == 1 and "no such message" in r.stderr, r
        r = inst.facteur("queue", "show", "../etc")
        assert r.returncode == 1 and "invalid" in r.stderr, r
        assert inst.facteur("queue", "show", d, d).returncode == 1
        # the words name the same operations as the options
        r = inst.facteur("queue", "list")
        assert r.returncode == 0 and d in r.stdout, r
        inst.facteur("queue", "hold", d, check=True)
        assert [os.path.basename(p) for p in files_in(inst.dir("hold"))] == [d]
        inst.facteur("queue", "release", "ALL", check=True)
        inst.facteur("queue", "flush", check=True)
        assert len(files_in(inst.dir("incoming"))) == 1
        r = inst.facteur("queue", "delete", "ALL")
        assert r.returncode == 0 and "Deleted: 1 message" in r.stderr, r
        r = inst.facteur("queue", "frobnicate")
        assert r.returncode == 1 and "usage" in r.stderr, r
    finally:
        inst.cleanup()


if __name__ == "__main__":
    for prog in (SENDMAIL, PICKUP, ft.FACTEUR):
        if not os.access(prog, os.X_OK):
            print("SKIP: %s not built" % prog)
            sys.exit(77)
    ft.run_tests([
        test_sendmail_basic, test_sendmail_t_and_i, test_sendmail_F_oi,
        test_sendmail_usage, test_sendmail_size_limit, test_pickup, test_map,
        test_newaliases, test_queue_list, test_queue_admin,
        test_queue_show_and_words,
    ])
