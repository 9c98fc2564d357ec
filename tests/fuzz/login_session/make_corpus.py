#!/usr/bin/env python3
"""Write the seed corpus of fuzz_login_session: frame payloads."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def payload(attrs):
    out = b""
    for name, value in attrs:
        if isinstance(value, str):
            value = value.encode()
        out += bytes([len(name)]) + name.encode()
        out += struct.pack(">I", len(value)) + value
    return out


SESSION = [("protocol", "imap"), ("user", "bob@example.com"),
           ("client", "192.0.2.7"), ("client_port", "54321"),
           ("local_port", "993"), ("tls", "yes"), ("tag", "a001"),
           ("sasl_method", "PLAIN")]
USER = [("maildir", "/var/vmail/example.com/bob/"), ("home", ""),
        ("uid", "5000"), ("gid", "5000"), ("is_system", "0")]
SEEDS = {
    "imap": [("proto", "session/1")] + SESSION,
    "pop3": [("proto", "session/1"), ("protocol", "pop3"), ("user", "u"),
             ("client", "::1"), ("client_port", "1"),
             ("local_port", "110"), ("tls", "no"), ("tag", ""),
             ("sasl_method", "LOGIN")],
    "mail": [("proto", "mail-session/1")] + SESSION + USER,
    "extra": [("proto", "session/1")] + SESSION + [("password", "x")],
    "badtag": [("proto", "session/1")] + SESSION[:6]
    + [("tag", "a+b"), ("sasl_method", "PLAIN")],
}

os.makedirs(HERE, exist_ok=True)
for name, attrs in SEEDS.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(payload(attrs))
