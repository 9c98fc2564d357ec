"""lib/dns against a real (tiny) DNS server: tests/integration/dnsq asks
tests/integration/dnsserver.py, running in this process on a free loopback
port, and prints the route it finds.

Covers RFC 5321 §5.1 routing: MX preference order, randomization among equal
preferences, the implicit MX, inet_protocols filtering, the RFC 7505 null MX,
NXDOMAIN (permanent), SERVFAIL and no answer (temporary, with a short
timeout), CNAME chains, the additional section, and TCP after truncation.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facteur_test as ft  # noqa: E402
import dnsserver  # noqa: E402

DNSQ = os.path.join(ft.BUILDDIR, "tests", "integration", "dnsq")

ZONE = {
    "example.test": {"MX": [[20, "mx2.example.test"], [10, "mx1.example.test"],
                            [30, "mx3.example.test"]]},
    "mx1.example.test": {"A": ["192.0.2.1"]},
    "mx2.example.test": {"A": ["192.0.2.2"], "AAAA": ["2001:db8::2"]},
    "mx3.example.test": {"AAAA": ["2001:db8::3"]},
    "equal.test": {"MX": [[10, "a.equal.test"], [10, "b.equal.test"],
                          [10, "c.equal.test"], [5, "first.equal.test"]]},
    "a.equal.test": {"A": ["192.0.2.11"]},
    "b.equal.test": {"A": ["192.0.2.12"]},
    "c.equal.test": {"A": ["192.0.2.13"]},
    "first.equal.test": {"A": ["192.0.2.10"]},
    "implicit.test": {"A": ["192.0.2.20"], "AAAA": ["2001:db8::20"]},
    "v6only.test": {"MX": [[10, "mx3.example.test"]]},
    "nothing.test": {"TXT": ["x"]},
    "null.test": {"MX": [[0, "."]]},
    "broken.test": "SERVFAIL",
    "slow.test": "TIMEOUT",
    "alias.test": {"CNAME": "alias2.test"},
    "alias2.test": {"CNAME": "example.test"},
    "mxcname.test": {"MX": [[10, "host.mxcname.test"]]},
    "host.mxcname.test": {"CNAME": "mx1.example.test"},
    "glue.test": {"MX": [[10, "mx.glue.test"]], "additional": True},
    "mx.glue.test": {"A": ["192.0.2.30"]},
    "literal.test": {"MX": [[10, "192.0.2.40"]]},
    "deadmx.test": {"MX": [[10, "gone.test"], [20, "slow.test"]]},
    "nxmx.test": {"MX": [[10, "gone.test"]]},
    "big.test": {"MX": [[10, "mx1.example.test"]], "truncate": True},
    "loop.test": {"CNAME": "loop2.test"},
    "loop2.test": {"CNAME": "loop.test"},
}

SERVER = None


def dnsq(*args, expect=0):
    cmd = [DNSQ, "-s", "127.0.0.1:%d" % SERVER.port, "-t", "300", "-r", "1"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == expect, "%s: exit %d, expected %d\n%s%s" % (
        " ".join(args), r.returncode, expect, r.stdout, r.stderr)
    return r.stdout.splitlines()


def test_mx_preference_order():
    out = dnsq("mx", "example.test")
    assert out == ["ok",
                   "host 10 mx1.example.test 192.0.2.1",
                   "host 20 mx2.example.test 2001:db8::2 192.0.2.2",
                   "host 30 mx3.example.test 2001:db8::3"], out


def test_mx_equal_preference_random():
    firsts = set()
    for _ in range(40):
        out = dnsq("mx", "equal.test")
        assert out[1] == "host 5 first.equal.test 192.0.2.10", out
        assert sorted(out[2:]) == ["host 10 a.equal.test 192.0.2.11",
                                   "host 10 b.equal.test 192.0.2.12",
                                   "host 10 c.equal.test 192.0.2.13"], out
        firsts.add(out[2])
        if len(firsts) == 3:
            break
    assert len(firsts) == 3, firsts


def test_implicit_mx():
    assert dnsq("mx", "implicit.test") == [
        "ok implicit", "host 0 implicit.test 2001:db8::20 192.0.2.20"]
    assert dnsq("-4", "mx", "implicit.test") == [
        "ok implicit", "host 0 implicit.test 192.0.2.20"]


def test_inet_protocols_filter():
    assert dnsq("-4", "mx", "example.test") == [
        "ok", "host 10 mx1.example.test 192.0.2.1", "host 20 mx2.example.test 192.0.2.2"]
    assert dnsq("-6", "mx", "example.test") == [
        "ok", "host 20 mx2.example.test 2001:db8::2", "host 30 mx3.example.test 2001:db8::3"]
    # The only MX host has no IPv4 address: permanent, no address.
    out = dnsq("-4", "mx", "v6only.test", expect=3)
    assert out[0].startswith("notfound 5.1.2 "), out


def test_null_mx():
    out = dnsq("mx", "null.test", expect=3)
    assert out == ["nullmx 5.1.10 null.test: Domain does not accept mail (null MX)"], out


def test_nxdomain_permanent():
    out = dnsq("mx", "nowhere.test", expect=3)
    assert out == ["notfound 5.1.2 nowhere.test/MX: Host or domain name not found"], out
    out = dnsq("mx", "nothing.test", expect=3)  # no MX, no address
    assert out[0].startswith("notfound 5.1.2 nothing.test: no MX and no address"), out


def test_servfail_temporary():
    out = dnsq("mx", "broken.test", expect=2)
    assert out == ["tempfail 4.4.3 broken.test/MX: lookup error: server failure"], out


def test_timeout_temporary():
    out = dnsq("mx", "slow.test", expect=2)
    assert out == ["tempfail 4.4.3 slow.test/MX: lookup error: timeout"], out


def test_cname_chain():
    out = dnsq("mx", "alias.test")
    assert out[0] == "ok" and out[1] == "host 10 mx1.example.test 192.0.2.1", out
    out = dnsq("mx", "mxcname.test")  # MX host is a CNAME: accepted
    assert out == ["ok", "host 10 host.mxcname.test 192.0.2.1"], out
    out = dnsq("mx", "loop.test", expect=2)
    assert out[0].startswith("tempfail 4.4.3 "), out


def test_additional_section_used():
    before = len(SERVER.zone.queries)
    out = dnsq("-4", "mx", "glue.test")
    assert out == ["ok", "host 10 mx.glue.test 192.0.2.30"], out
    asked = SERVER.zone.queries[before:]
    assert asked == [("glue.test", "MX")], asked


def test_address_literal_mx():
    assert dnsq("mx", "literal.test") == ["ok", "host 10 192.0.2.40 192.0.2.40"]


def test_mx_hosts_without_address():
    out = dnsq("mx", "nxmx.test", expect=3)
    assert out == ["notfound 5.1.2 nxmx.test: no address for any MX host"], out
    out = dnsq("mx", "deadmx.test", expect=2)  # one MX host times out
    assert out[0].startswith("tempfail 4.4.3 deadmx.test: MX host lookup failed"), out


def test_truncated_retries_over_tcp():
    assert dnsq("-4", "mx", "big.test") == ["ok", "host 10 mx1.example.test 192.0.2.1"]


def test_lookup_addrs_no_mx():
    assert dnsq("addr", "example.test", expect=3)[0].startswith("notfound")
    assert dnsq("addr", "mx2.example.test") == [
        "ok", "host 0 mx2.example.test 2001:db8::2 192.0.2.2"]
    assert dnsq("addr", "[192.0.2.9]") == ["ok", "host 0 [192.0.2.9] 192.0.2.9"]


def test_invalid_names():
    out = dnsq("mx", "bad..name", expect=3)
    assert out[0].startswith("invalid 5.1.2 "), out
    out = dnsq("-s", "1.2.3.4:99999", "mx", "example.test", expect=64)


if __name__ == "__main__":
    if not os.path.exists(DNSQ):
        print("SKIP: %s not built" % DNSQ)
        sys.exit(77)
    SERVER = dnsserver.Server(ZONE).start()
    try:
        ft.run_tests([
            test_mx_preference_order,
            test_mx_equal_preference_random,
            test_implicit_mx,
            test_inet_protocols_filter,
            test_null_mx,
            test_nxdomain_permanent,
            test_servfail_temporary,
            test_timeout_temporary,
            test_cname_chain,
            test_additional_section_used,
            test_address_literal_mx,
            test_mx_hosts_without_address,
            test_truncated_retries_over_tcp,
            test_lookup_addrs_no_mx,
            test_invalid_names,
        ])
    finally:
        SERVER.stop()
