"""The man pages: facteur.conf(5) lists exactly the parameter table (as
`facteur conf --table` prints it, with the same defaults), facteur(1)
documents every command and conf option, and every page is clean mdoc
(groff -ww and, when installed, mandoc -T lint).

When the table changes, regenerate the list:
    python3 man/gen-params.py BUILDDIR/cli/facteur
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402

MAN = os.path.join(ft.SRCDIR, "man")
PAGES = ["facteur.1", "facteur.conf.5", "master.8", "master.cf.5"]
# Must match man/gen-params.py.
ENTRY = re.compile(r'^\.It Va (\S+) Pq Default: (?:Li "(.*)"|(empty)|(computed at run time))$')
HINT = "run: python3 man/gen-params.py BUILDDIR/cli/facteur"


def page(name):
    with open(os.path.join(MAN, name)) as f:
        return f.read()


def table():
    r = subprocess.run([ft.FACTEUR, "conf", "--table"], capture_output=True,
                       text=True, check=True)
    rows = {}
    for line in r.stdout.splitlines():
        name, typ, default, doc = line.split("\t")
        rows[name] = (typ, default, doc)
    return rows


def unescape(text):
    return text.replace("\\(dq", '"').replace("\\e", "\\")


def parse_page():
    """{name: default} from the PARAMETERS list of facteur.conf(5)."""
    documented = {}
    for line in page("facteur.conf.5").splitlines():
        if not line.startswith(".It Va "):
            continue
        m = ENTRY.match(line)
        assert m, "facteur.conf.5: malformed parameter entry: %r" % line
        name = m.group(1)
        if m.group(3):
            default = ""
        elif m.group(4):
            default = "(computed)"
        else:
            default = unescape(m.group(2))
        assert name not in documented, "facteur.conf.5: %s listed twice" % name
        documented[name] = default
    return documented


def test_parameters_documented():
    rows = table()
    documented = parse_page()
    problems = []
    for name, (typ, default, doc) in sorted(rows.items()):
        if name not in documented:
            problems.append("%s: missing from facteur.conf.5" % name)
        elif documented[name] != default:
            problems.append("%s: facteur.conf.5 says default %r, the table %r"
                            % (name, documented[name], default))
    for name in sorted(set(documented) - set(rows)):
        problems.append("%s: documented in facteur.conf.5 but not in the table" % name)
    assert not problems, "\n".join(problems + [HINT])


def test_parameter_docs_match():
    """The doc lines are the table's too (so the generator was run)."""
    rows = table()
    lines = page("facteur.conf.5").splitlines()
    for i, line in enumerate(lines):
        m = ENTRY.match(line)
        if m and m.group(1) in rows:
            doc = rows[m.group(1)][2]
            got = unescape(lines[i + 1])
            if got.startswith("\\&"):
                got = got[2:]
            assert got == doc, "%s: doc line differs\n%s" % (m.group(1), HINT)


def commands():
    """The subcommands, from the usage message of facteur itself."""
    r = subprocess.run([ft.FACTEUR], capture_output=True, text=True)
    found = re.findall(r"^\s+facteur (\w+)", r.stderr, re.M)
    assert found, r.stderr
    return found


def test_commands_documented():
    text = page("facteur.1")
    missing = [c for c in commands() if not re.search(r"^\.It Cm %s\b" % c, text, re.M)]
    assert not missing, "facteur.1 does not document: %s" % ", ".join(missing)
    for opt in "dehnxX#M":
        assert re.search(r"Fl (\w*)%s" % re.escape(opt), text) or \
            ("Fl %s" % opt) in text, "facteur.1: conf -%s undocumented" % opt
    for section in ("EXIT STATUS", "EXAMPLES", "FILES", "SEE ALSO"):
        assert ".Sh %s" % section in text, "facteur.1: no %s section" % section


def test_master_pages():
    text = page("master.8")
    for word in ("SIGHUP", "SIGTERM", "Fl c", "Fl w", "FILES"):
        assert word in text, "master.8: %s missing" % word
    text = page("master.cf.5")
    for field in ("service", "type", "private", "unpriv", "chroot", "wakeup",
                  "maxproc", "command"):
        assert ".It Ar %s" % field in text, "master.cf.5: field %s" % field


def test_groff():
    if not shutil.which("groff"):
        raise ft.SkipTest("groff is not installed")
    for name in PAGES:
        r = subprocess.run(["groff", "-mandoc", "-ww", "-z", os.path.join(MAN, name)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", "%s: groff:\n%s" % (name, r.stderr)


def test_mandoc():
    if not shutil.which("mandoc"):
        raise ft.SkipTest("mandoc is not installed")
    for name in PAGES:
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                            os.path.join(MAN, name)],
                           capture_output=True, text=True)
        assert r.returncode == 0, "%s: mandoc:\n%s%s" % (name, r.stdout, r.stderr)


if __name__ == "__main__":
    if not os.path.exists(ft.FACTEUR):
        print("SKIP: %s not built" % ft.FACTEUR)
        sys.exit(77)
    if not (shutil.which("groff") or shutil.which("mandoc")):
        print("note: neither groff nor mandoc is installed: the pages are not linted")
    ft.run_tests([
        test_parameters_documented, test_parameter_docs_match,
        test_commands_documented, test_master_pages, test_groff, test_mandoc,
    ])
