#!/usr/bin/env python3
"""make_corpus.py - write the seed frames of tests/fuzz/attr/corpus.

Each seed is one chunk-size byte (fuzz_attr.c feeds the rest to an
attr_reader in chunks of that size) followed by frames in the wire format
of lib/global/attr.h.  Run from this directory: python3 make_corpus.py
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
    "status": b"\x07" + frame("status/1", ("pid", "4242"), ("avail", "1")),
    "wakeup": b"\x01" + frame("wakeup/1"),
    "two_frames": b"\x03" + frame("status/1", ("pid", "1"), ("avail", "0"))
    + frame("status/1", ("pid", "2"), ("avail", "1")),
    "binary": b"\x10" + frame("deliver/1", ("data", bytes(range(256))),
                              ("empty", b""), ("nul", b"a\x00b")),
    "ints": b"\xff" + frame("test/1", ("min", "-9223372036854775808"),
                            ("max", "9223372036854775807"), ("zero", "0")),
    "oversize": b"\x04" + struct.pack(">I", 5000) + b"\x05proto",
    "truncated": b"\x02" + frame("status/1", ("pid", "7"))[:-3],
    "duplicate": b"\x20" + frame("status/1", ("pid", "1"), ("pid", "2")),
    # A bare payload, for the attr_decode() path.
    "payload": attr("proto", "status/1") + attr("pid", "99"),
}

os.makedirs("corpus", exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join("corpus", name), "wb") as f:
        f.write(data)
