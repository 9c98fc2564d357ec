"""facteur conf: postconf(1)'s queries and in-place edits of main.cf and
master.cf.  No running master is needed: every test works on the files of
a private instance (facteur_test.Instance).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

# Lines that Instance.base_main_cf() writes before the test's own text.
BASE_LINES = 6


def conf(inst, *args, **kw):
    return inst.facteur("conf", *args, **kw)


def table():
    """{name: (type, default, doc)} from `facteur conf --table`."""
    inst = ft.Instance()
    try:
        out = conf(inst, "--table", check=True).stdout
    finally:
        inst.cleanup()
    rows = {}
    for line in out.splitlines():
        name, typ, default, doc = line.split("\t")
        rows[name] = (typ, default, doc)
    return rows


def parse(out):
    """"name = value" lines into a list of (name, value)."""
    pairs = []
    for line in out.splitlines():
        if " = " in line:
            name, value = line.split(" = ", 1)
        else:
            assert line.endswith(" ="), line
            name, value = line[:-2], ""
        pairs.append((name, value))
    return pairs


def read(inst, name="main.cf"):
    with open(os.path.join(inst.config_dir, name)) as f:
        return f.read()


def write(inst, text, name="main.cf"):
    with open(os.path.join(inst.config_dir, name), "w") as f:
        f.write(text)


def with_instance(main_cf="", master_cf=""):
    """Decorator: run the test with a fresh instance, clean up after."""
    def wrap(fn):
        def run():
            inst = ft.Instance(main_cf=main_cf, master_cf=master_cf)
            try:
                fn(inst)
            finally:
                inst.cleanup()
        run.__name__ = fn.__name__
        return run
    return wrap


# ------------------------------------------------------------ queries

@with_instance()
def test_table(inst):
    rows = table()
    assert "queue_directory" in rows and "message_size_limit" in rows
    for name, (typ, default, doc) in rows.items():
        assert typ in ("string", "int", "bool", "time", "size", "list"), name
        assert doc, name
    assert list(rows) == sorted(rows), "table not sorted"


@with_instance()
def test_defaults(inst):
    r = conf(inst, "-d", check=True)
    pairs = parse(r.stdout)
    names = [n for n, _ in pairs]
    assert names == sorted(names), names
    got = dict(pairs)
    rows = table()
    assert set(got) == set(rows), set(got) ^ set(rows)
    for name, (typ, default, doc) in rows.items():
        if default == "(computed)" or name.endswith("_directory"):
            continue  # host- or build-dependent
        assert got[name] == default, (name, got[name], default)
    # main.cf's settings do not show through -d.
    assert got["myhostname"] != "mail.example.test"
    assert got["maillog_file"] == ""
    r = conf(inst, "-d", "message_size_limit", check=True)
    assert r.stdout == "message_size_limit = %s\n" % rows["message_size_limit"][1]


@with_instance(main_cf="my_custom_knob = 42\nmessage_size_limit = 20m\n")
def test_all(inst):
    r = conf(inst, check=True)
    pairs = parse(r.stdout)
    names = [n for n, _ in pairs]
    assert names == sorted(names), names
    got = dict(pairs)
    assert set(table()) <= set(got)
    assert got["my_custom_knob"] == "42"
    assert got["message_size_limit"] == "20m"
    assert got["queue_directory"] == inst.queue_dir
    assert got["myorigin"] == "$myhostname"  # raw, unexpanded
    assert "unknown parameter my_custom_knob" in r.stderr


@with_instance(main_cf="message_size_limit = 20m\nmy_custom_knob = 42\n")
def test_only_set(inst):
    r = conf(inst, "-n", check=True)
    pairs = parse(r.stdout)
    expected = sorted([
        ("queue_directory", inst.queue_dir),
        ("data_directory", inst.data_dir),
        ("daemon_directory", os.path.join(ft.BUILDDIR, "master")),
        ("maillog_file", inst.maillog),
        ("inet_interfaces", "loopback-only"),
        ("myhostname", "mail.example.test"),
        ("message_size_limit", "20m"),
        ("my_custom_knob", "42"),
    ])
    assert pairs == expected, pairs


@with_instance()
def test_names(inst):
    r = conf(inst, "myhostname", "inet_interfaces", "maillog_file",
             check=True)
    assert r.stdout == (
        "myhostname = mail.example.test\n"
        "inet_interfaces = loopback-only\n"
        "maillog_file = %s\n" % inst.maillog), r.stdout
    assert r.stderr == ""
    r = conf(inst, "-h", "myhostname", "myorigin", check=True)
    assert r.stdout == "mail.example.test\n$myhostname\n", r.stdout
    r = conf(inst, "-h", "smtpd_tls_cert_file", check=True)
    assert r.stdout == "\n"
    r = conf(inst, "smtpd_tls_cert_file", check=True)
    assert r.stdout == "smtpd_tls_cert_file =\n"
    r = conf(inst, "-n", "smtpd_tls_cert_file", "myhostname", check=True)
    assert r.stdout == "myhostname = mail.example.test\n", r.stdout


@with_instance(main_cf=(
    "foo_a = alpha\n"
    "foo_b = $foo_a and ${foo_a}/$(foo_a) $$ ${foo_a?set} ${foo_none:unset}\n"
    "mydomain = example.test\n"))
def test_expand(inst):
    r = conf(inst, "foo_b", "myorigin", "mydestination", check=True)
    assert r.stdout == (
        "foo_b = $foo_a and ${foo_a}/$(foo_a) $$ ${foo_a?set} ${foo_none:unset}\n"
        "myorigin = $myhostname\n"
        "mydestination = $myhostname, localhost.$mydomain, localhost\n"
    ), r.stdout
    r = conf(inst, "-x", "foo_b", "myorigin", "mydestination", check=True)
    assert r.stdout == (
        "foo_b = alpha and alpha/alpha $ set unset\n"
        "myorigin = mail.example.test\n"
        "mydestination = mail.example.test, localhost.example.test, localhost\n"
    ), r.stdout
    r = conf(inst, "-xh", "myorigin", check=True)
    assert r.stdout == "mail.example.test\n"
    # -x on every parameter expands them all.
    got = dict(parse(conf(inst, "-x", check=True).stdout))
    assert got["myorigin"] == "mail.example.test"


@with_instance()
def test_unknown_name(inst):
    r = conf(inst, "no_such_parameter", "myhostname")
    assert r.returncode == 0, r
    assert r.stdout == "myhostname = mail.example.test\n", r.stdout
    assert r.stderr == "facteur: warning: no_such_parameter: unknown parameter\n", r.stderr
    r = conf(inst, "-d", "no_such_parameter")
    assert r.returncode == 0 and r.stdout == "", r
    assert "no_such_parameter: unknown parameter" in r.stderr


@with_instance(main_cf="message_size_limit = 10x\n")
def test_bad_main_cf(inst):
    path = os.path.join(inst.config_dir, "main.cf")
    r = conf(inst)
    assert r.returncode == 1, r
    assert r.stdout == ""
    prefix = "facteur: fatal: %s:%d: message_size_limit: bad size value '10x'" % (
        path, BASE_LINES + 1)
    assert r.stderr.startswith(prefix), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    r = conf(inst, "-n")
    assert r.returncode == 1 and r.stderr.startswith(prefix), r
    # -d reads the table only, so a broken main.cf does not hide it.
    r = conf(inst, "-d", "message_size_limit")
    assert r.returncode == 0, r


@with_instance(main_cf="\nfoo_bar_baz = 1\n")
def test_unknown_in_main_cf(inst):
    path = os.path.join(inst.config_dir, "main.cf")
    r = conf(inst, "-n")
    assert r.returncode == 0, r
    assert ("facteur: warning: %s:%d: unknown parameter foo_bar_baz\n"
            % (path, BASE_LINES + 2)) in r.stderr, r.stderr
    assert "foo_bar_baz = 1\n" in r.stdout


@with_instance()
def test_usage(inst):
    r = conf(inst, "-e", "-X", "a")
    assert r.returncode == 1
    r = conf(inst, "-Q")
    assert r.returncode == 1 and "usage" in r.stderr
    r = conf(inst, "-e")
    assert r.returncode == 1


# ------------------------------------------------------------ main.cf edits

EDIT_BEFORE = """\
# Facteur test configuration
#   with an indented comment
queue_directory = {q}
myhostname = mail.example.test

# the networks we trust
mynetworks = 127.0.0.0/8,
    [::1]/128,
  # a comment inside the continuation
    192.0.2.0/24
message_size_limit = 20m
\t
alpha_knob=1
# trailing comment
"""


def edit_instance():
    inst = ft.Instance()
    text = EDIT_BEFORE.format(q=inst.queue_dir)
    write(inst, text)
    return inst, text


def test_edit_replace():
    inst, before = edit_instance()
    try:
        r = conf(inst, "-e", "mynetworks = 10.0.0.0/8", "alpha_knob=2",
                 " myhostname= other.example.test ", check=True)
        assert r.stdout == "" and r.stderr == "", r
        expected = before.replace(
            "mynetworks = 127.0.0.0/8,\n    [::1]/128,\n"
            "  # a comment inside the continuation\n    192.0.2.0/24\n",
            "mynetworks = 10.0.0.0/8\n"
            "  # a comment inside the continuation\n").replace(
            "alpha_knob=1\n", "alpha_knob = 2\n").replace(
            "myhostname = mail.example.test\n",
            "myhostname = other.example.test\n")
        assert read(inst) == expected, read(inst)
        r = conf(inst, "-h", "mynetworks", "myhostname", check=True)
        assert r.stdout == "10.0.0.0/8\nother.example.test\n"
        # An edit that changes nothing leaves the same bytes.
        conf(inst, "-e", "alpha_knob=2", check=True)
        assert read(inst) == expected
        assert not os.path.exists(os.path.join(inst.config_dir, "main.cf.tmp"))
    finally:
        inst.cleanup()


def test_edit_append():
    inst, before = edit_instance()
    try:
        conf(inst, "-e", "zeta_knob = last", "beta_knob=", "message_size_limit=1m",
             check=True)
        expected = before.replace("message_size_limit = 20m\n",
                                  "message_size_limit = 1m\n")
        expected += "beta_knob =\nzeta_knob = last\n"
        assert read(inst) == expected, read(inst)
        # A file without a final newline gets one before the new line.
        write(inst, before.rstrip("\n"))
        conf(inst, "-e", "new_knob=yes", check=True)
        assert read(inst) == before + "new_knob = yes\n", read(inst)
    finally:
        inst.cleanup()


def test_edit_keeps_mode():
    inst, before = edit_instance()
    try:
        path = os.path.join(inst.config_dir, "main.cf")
        os.chmod(path, 0o640)
        conf(inst, "-e", "alpha_knob=3", check=True)
        assert os.stat(path).st_mode & 0o7777 == 0o640
    finally:
        inst.cleanup()


def test_edit_refused():
    inst, before = edit_instance()
    path = os.path.join(inst.config_dir, "main.cf")
    try:
        # A value the table refuses: nothing is written.
        r = conf(inst, "-e", "message_size_limit=10x", "alpha_knob=9")
        assert r.returncode == 1, r
        assert r.stderr.startswith(
            "facteur: fatal: %s:%d: message_size_limit: bad size value '10x'"
            % (path, 11)), r.stderr
        assert read(inst) == before
        # An expansion loop.
        r = conf(inst, "-e", "loop_a=$loop_b", "loop_b=$loop_a",
                 "myorigin=$loop_a")
        assert r.returncode == 1 and "loop" in r.stderr, r
        assert read(inst) == before
        # Bad names, comments and multi-line input.
        for bad in ("bad name=1", "=1", "no_equals", "# x=1", "a=b\nc=d",
                    "bad$name=1"):
            r = conf(inst, "-e", bad)
            assert r.returncode == 1, (bad, r)
            assert r.stderr.startswith("facteur: fatal: "), (bad, r.stderr)
            assert read(inst) == before, bad
        r = conf(inst, "-X", "alpha_knob=1")
        assert r.returncode == 1 and read(inst) == before
        # Removing an assignment that others refer to is fine with main.cf
        # (an undefined $name expands to nothing), so -X of a table value
        # whose removal is harmless succeeds.
        assert not os.path.exists(path + ".tmp")
    finally:
        inst.cleanup()


def test_edit_remove():
    inst, before = edit_instance()
    try:
        conf(inst, "-X", "mynetworks", "alpha_knob", "not_there", check=True)
        expected = before.replace(
            "mynetworks = 127.0.0.0/8,\n    [::1]/128,\n"
            "  # a comment inside the continuation\n    192.0.2.0/24\n",
            "  # a comment inside the continuation\n").replace(
            "alpha_knob=1\n", "")
        assert read(inst) == expected, read(inst)
        r = conf(inst, "-n", check=True)
        assert "mynetworks" not in r.stdout and "alpha_knob" not in r.stdout
    finally:
        inst.cleanup()


def test_edit_comment_out():
    inst, before = edit_instance()
    try:
        conf(inst, "-#", "mynetworks", "message_size_limit", check=True)
        expected = before.replace(
            "mynetworks = 127.0.0.0/8,\n    [::1]/128,\n"
            "  # a comment inside the continuation\n    192.0.2.0/24\n",
            "#mynetworks = 127.0.0.0/8,\n#    [::1]/128,\n"
            "  # a comment inside the continuation\n#    192.0.2.0/24\n").replace(
            "message_size_limit = 20m\n", "#message_size_limit = 20m\n")
        assert read(inst) == expected, read(inst)
        r = conf(inst, "-n", check=True)
        assert "mynetworks" not in r.stdout
    finally:
        inst.cleanup()


def test_edit_concurrent():
    """Concurrent editors take turns: no edit is lost, no temp file left."""
    inst = ft.Instance()
    try:
        procs = [ft.subprocess.Popen(
            [ft.FACTEUR, "-c", inst.config_dir, "conf", "-e",
             "knob_%02d=%d" % (i, i)],
            stdout=ft.subprocess.PIPE, stderr=ft.subprocess.PIPE)
            for i in range(16)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
        got = dict(parse(conf(inst, "-n", check=True).stdout))
        for i in range(16):
            assert got.get("knob_%02d" % i) == str(i), (i, read(inst))
        assert not os.path.exists(os.path.join(inst.config_dir, "main.cf.tmp"))
    finally:
        inst.cleanup()


def test_edit_creates_main_cf():
    inst = ft.Instance()
    try:
        os.unlink(os.path.join(inst.config_dir, "main.cf"))
        conf(inst, "-e", "myhostname=new.example.test", check=True)
        assert read(inst) == "myhostname = new.example.test\n"
    finally:
        inst.cleanup()


# ------------------------------------------------------------ master.cf

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
#
alpha      unix  -       -       n       -       -       testsvc
beta       unix  n       -       n       60      1       testsvc
  # a comment inside the continuation
    -o foo_knob=1
    -v
gamma      fifo  n       -       n       -       1       testsvc
"""


def test_master_show():
    inst = ft.Instance(master_cf=MASTER_CF)
    try:
        r = conf(inst, "-M", check=True)
        lines = r.stdout.splitlines()
        assert [l.split() for l in lines] == [
            "alpha unix - - n - - testsvc".split(),
            "beta unix n - n 60 1 testsvc -o foo_knob=1 -v".split(),
            "gamma fifo n - n - 1 testsvc".split(),
        ], r.stdout
        # Columns are aligned as postconf -M aligns them.
        assert lines[0].startswith("alpha      unix  -       -       n"), lines
        r = conf(inst, "-M", "beta/unix", check=True)
        assert r.stdout.split() == "beta unix n - n 60 1 testsvc -o foo_knob=1 -v".split()
        r = conf(inst, "-M", "gamma", "alpha/unix", check=True)
        assert [l.split()[0] for l in r.stdout.splitlines()] == ["alpha", "gamma"]
        r = conf(inst, "-M", "beta/inet", "nosuch")
        assert r.returncode == 0 and r.stdout == "", r
        assert r.stderr == ('facteur: warning: unmatched request: "beta/inet"\n'
                            'facteur: warning: unmatched request: "nosuch"\n'), r.stderr
        r = conf(inst, "-M", "beta/nosuchtype")
        assert r.returncode == 1, r
    finally:
        inst.cleanup()


def test_master_bad_file():
    inst = ft.Instance(master_cf="alpha unix - - n - -\n")
    try:
        r = conf(inst, "-M")
        assert r.returncode == 1, r
        path = os.path.join(inst.config_dir, "master.cf")
        assert r.stderr.startswith("facteur: fatal: %s:1: " % path), r.stderr
    finally:
        inst.cleanup()


def test_master_edit():
    inst = ft.Instance(master_cf=MASTER_CF)
    try:
        conf(inst, "-M", "beta/unix=beta unix - - n - 2 testsvc -o bar_knob=2",
             check=True)
        expected = MASTER_CF.replace(
            "beta       unix  n       -       n       60      1       testsvc\n"
            "  # a comment inside the continuation\n"
            "    -o foo_knob=1\n    -v\n",
            "beta unix - - n - 2 testsvc -o bar_knob=2\n"
            "  # a comment inside the continuation\n")
        assert read(inst, "master.cf") == expected, read(inst, "master.cf")
        # Absent: appended.  "name/type = entry" works too (-e optional).
        conf(inst, "-Me", "delta/unix = delta unix - - n - - testsvc",
             check=True)
        expected += "delta unix - - n - - testsvc\n"
        assert read(inst, "master.cf") == expected, read(inst, "master.cf")
        r = conf(inst, "-M", "delta/unix", check=True)
        assert r.stdout.split() == "delta unix - - n - - testsvc".split()
    finally:
        inst.cleanup()


def test_master_remove():
    inst = ft.Instance(master_cf=MASTER_CF)
    try:
        conf(inst, "-MX", "beta/unix", "alpha/unix", check=True)
        expected = MASTER_CF.replace(
            "alpha      unix  -       -       n       -       -       testsvc\n", ""
        ).replace(
            "beta       unix  n       -       n       60      1       testsvc\n"
            "  # a comment inside the continuation\n"
            "    -o foo_knob=1\n    -v\n",
            "  # a comment inside the continuation\n")
        assert read(inst, "master.cf") == expected, read(inst, "master.cf")
        r = conf(inst, "-MX", "nosuch/unix")
        assert r.returncode == 0, r
        assert 'unmatched request: "nosuch/unix"' in r.stderr
        assert read(inst, "master.cf") == expected
        r = conf(inst, "-MX", "gamma")  # the type is required to edit
        assert r.returncode == 1, r
    finally:
        inst.cleanup()


def test_master_comment_out():
    inst = ft.Instance(master_cf=MASTER_CF)
    try:
        conf(inst, "-M#", "beta/unix", check=True)
        expected = MASTER_CF.replace(
            "beta       unix  n       -       n       60      1       testsvc\n"
            "  # a comment inside the continuation\n"
            "    -o foo_knob=1\n    -v\n",
            "#beta       unix  n       -       n       60      1       testsvc\n"
            "  # a comment inside the continuation\n"
            "#    -o foo_knob=1\n#    -v\n")
        assert read(inst, "master.cf") == expected, read(inst, "master.cf")
        r = conf(inst, "-M", check=True)
        assert [l.split()[0] for l in r.stdout.splitlines()] == ["alpha", "gamma"]
    finally:
        inst.cleanup()


def test_master_edit_refused():
    inst = ft.Instance(master_cf=MASTER_CF)
    try:
        for bad in (
            "alpha/unix=alpha unix - - n -",             # too few fields
            "alpha/unix=other unix - - n - - testsvc",   # another name
            "alpha/unix=alpha inet - - n - - testsvc",   # another type
            "alpha/unix=alpha unix x - n - - testsvc",   # bad private flag
            "alpha/bogus=alpha bogus - - n - - testsvc",  # bad type
            "alpha=alpha unix - - n - - testsvc",        # no type
            "alpha/unix=alpha unix - - n - - testsvc\nx",  # two lines
        ):
            r = conf(inst, "-M", bad)
            assert r.returncode == 1, (bad, r)
            assert r.stderr.startswith("facteur: fatal: "), (bad, r.stderr)
            assert read(inst, "master.cf") == MASTER_CF, bad
        assert not os.path.exists(os.path.join(inst.config_dir, "master.cf.tmp"))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    if not os.path.exists(ft.FACTEUR):
        print("SKIP: %s not built" % ft.FACTEUR)
        sys.exit(77)
    ft.run_tests([
        test_table, test_defaults, test_all, test_only_set, test_names,
        test_expand, test_unknown_name, test_bad_main_cf,
        test_unknown_in_main_cf, test_usage, test_edit_replace,
        test_edit_append, test_edit_keeps_mode, test_edit_refused,
        test_edit_remove, test_edit_comment_out, test_edit_concurrent,
        test_edit_creates_main_cf,
        test_master_show, test_master_bad_file, test_master_edit,
        test_master_remove, test_master_comment_out, test_master_edit_refused,
    ])
