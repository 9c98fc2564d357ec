#!/usr/bin/env python3
"""gen-params.py - regenerate the PARAMETERS list of facteur.conf(5).

    python3 man/gen-params.py BUILDDIR/cli/facteur [man/facteur.conf.5]

Runs `facteur conf --table` (one "name TAB type TAB default TAB doc" line
per parameter) and rewrites the lines between the markers
'.\\" BEGIN PARAMETERS' and '.\\" END PARAMETERS' of the page in place, one
entry per parameter:

    .It Va name Pq Default: Li "value"
    Doc line.
    .No Type: Cm type .

An empty default reads "Pq Default: empty", a computed one (shown as
"(computed)" by --table) "Pq Default: computed at run time".  The page is committed;
tests/integration/test_man.py parses the same format back (see
parse_page() there) and fails when the page and the table disagree, so run
this script after changing lib/global/params.c.
"""

import os
import subprocess
import sys

BEGIN = '.\\" BEGIN PARAMETERS'
END = '.\\" END PARAMETERS'
# What --table prints for a default computed at run time (the host name).
COMPUTED = "(computed)"


def table(facteur):
    """[(name, type, default, doc)] from the binary."""
    out = subprocess.run([facteur, "conf", "--table"], check=True,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) != 4:
            raise SystemExit("gen-params: bad --table line: %r" % line)
        rows.append(tuple(fields))
    return rows


def escape(text):
    """Text safe inside a quoted mdoc argument or on a text line."""
    return text.replace("\\", "\\e").replace('"', "\\(dq")


def text_line(text):
    """A text line: one starting with '.' or "'" would be a request."""
    text = escape(text)
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def entries(rows):
    lines = [".Bl -tag -width Ds"]
    for name, typ, default, doc in rows:
        if default == "":
            lines.append(".It Va %s Pq Default: empty" % name)
        elif default == COMPUTED:
            lines.append(".It Va %s Pq Default: computed at run time" % name)
        else:
            lines.append('.It Va %s Pq Default: Li "%s"' % (name, escape(default)))
        lines.append(text_line(doc))
        lines.append(".No Type: Cm %s ." % typ)
    lines.append(".El")
    return lines


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    facteur = sys.argv[1]
    page = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "facteur.conf.5")
    with open(page) as f:
        lines = f.read().split("\n")
    try:
        start = lines.index(BEGIN)
        end = lines.index(END)
    except ValueError:
        raise SystemExit("gen-params: %s: missing %s / %s markers" % (page, BEGIN, END))
    if end < start:
        raise SystemExit("gen-params: %s: markers out of order" % page)
    new = lines[:start + 1] + entries(table(facteur)) + lines[end:]
    tmp = page + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(new))
    os.replace(tmp, page)


if __name__ == "__main__":
    main()
