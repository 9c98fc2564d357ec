#!/usr/bin/env python3
"""make_corpus.py - write the seed frames of tests/fuzz/userdb/corpus.

Frames in the wire format of lib/global/attr.h, as userdb/1 clients and
auth's userdb service send them (lib/global/userdb.h).  Run from this
directory: python3 make_corpus.py
"""
import os
import struct


def attr(name, value):
    if isinstance(value, str):
        value = value.encode()
    name = name.encode()
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def frame(proto, *attrs):
    payload = attr("proto", proto) + b"".join(attr(n, v) for n, v in attrs)
    return struct.pack(">I", len(payload)) + payload


SEEDS = {
    "request": frame("userdb/1", ("user", "bob@example.com")),
    "ok": frame("userdb-result/1", ("result", "ok"), ("reason", ""),
                ("user", "bob@example.com"), ("home", "/home/bob"),
                ("uid", "1001"), ("gid", "1001"))
    + frame("done/1", ("reuse", "1")),
    "notfound": frame("userdb-result/1", ("result", "notfound"),
                      ("reason", "")) + frame("done/1", ("reuse", "0")),
    "tempfail": frame("userdb-result/1", ("result", "tempfail"),
                      ("reason", "user database unavailable")),
    "extra": frame("userdb-result/1", ("result", "ok"), ("reason", ""),
                   ("user", "a"), ("home", ""), ("password", "{PLAIN}x")),
    "bad_uid": frame("userdb-result/1", ("result", "ok"), ("reason", ""),
                     ("user", "a"), ("home", "/h"), ("uid", "-1")),
}

os.makedirs("corpus", exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join("corpus", name), "wb") as f:
        f.write(data)
