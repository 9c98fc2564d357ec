#!/usr/bin/env python3
"""dnsserver.py - a tiny authoritative DNS server for the tests (stdlib only).

Answers A, AAAA, MX and CNAME questions from a zone given as a dict (or a
JSON file on the command line), over UDP and TCP on one 127.0.0.1 port:

    zone = {
        "example.test": {"MX": [[10, "mx1.example.test"]], "additional": True},
        "mx1.example.test": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]},
        "null.test": {"MX": [[0, "."]]},                # RFC 7505 null MX
        "alias.test": {"CNAME": "example.test"},        # followed, as a
                                                        # recursive server does
        "broken.test": "SERVFAIL",
        "slow.test": "TIMEOUT",                         # never answers
        "big.test": {"MX": [...], "truncate": True},    # TC over UDP
    }

A name not in the zone is NXDOMAIN; a name without records of the type asked
is NOERROR with an empty answer (NODATA).  "additional": True adds the
addresses of the MX hosts to the additional section.  Owner names equal to
the question are compressed (a pointer to offset 12), so clients exercise
RFC 1035 §4.1.4.

    python3 dnsserver.py ZONE.json [PORT]     # prints the port, serves
"""

import json
import socket
import struct
import sys
import threading

T_A, T_CNAME, T_MX, T_AAAA = 1, 5, 15, 28
TYPES = {T_A: "A", T_AAAA: "AAAA", T_MX: "MX", T_CNAME: "CNAME"}


def encode_name(name):
    name = name.rstrip(".")
    out = b""
    if name:
        for label in name.split("."):
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def decode_question(msg):
    """(id, flags, qname, qtype, end offset of the question)."""
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        raise ValueError("qdcount")
    pos, labels = 12, []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii"))
        pos += 1 + n
    qtype, _ = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return qid, flags, ".".join(labels).lower(), qtype, pos + 5


class Zone:
    def __init__(self, zone):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.queries = []  # (name, type name) for the tests
        self.lock = threading.Lock()

    def rdata(self, rtype, value):
        if rtype == T_A:
            return socket.inet_pton(socket.AF_INET, value)
        if rtype == T_AAAA:
            return socket.inet_pton(socket.AF_INET6, value)
        if rtype == T_MX:
            return struct.pack("!H", value[0]) + encode_name(value[1])
        return encode_name(value)  # CNAME

    def rr(self, owner, qname, rtype, value):
        name = b"\xc0\x0c" if owner == qname else encode_name(owner)
        data = self.rdata(rtype, value)
        return name + struct.pack("!HHIH", rtype, 1, 300, len(data)) + data

    def records(self, name, rtype):
        entry = self.zone.get(name)
        if not isinstance(entry, dict):
            return []
        value = entry.get(TYPES[rtype])
        if value is None:
            return []
        return [value] if rtype == T_CNAME else list(value)

    def answer(self, msg, tcp=False):
        """The reply bytes, or None to stay silent."""
        qid, flags, qname, qtype, qend = decode_question(msg)
        with self.lock:
            self.queries.append((qname, TYPES.get(qtype, str(qtype))))
        entry = self.zone.get(qname)
        rcode, answers, additional, tc = 0, [], [], False
        if entry == "TIMEOUT":
            return None
        if entry == "SERVFAIL":
            rcode = 2
        elif entry is None:
            rcode = 3
        else:
            name = qname
            for _ in range(10):
                cname = self.records(name, T_CNAME) if qtype != T_CNAME else []
                if not cname:
                    break
                answers.append(self.rr(name, qname, T_CNAME, cname[0]))
                name = cname[0].lower().rstrip(".")
                if name not in self.zone:
                    break
            for value in self.records(name, qtype):
                answers.append(self.rr(name, qname, qtype, value))
            if qtype == T_MX and isinstance(entry, dict) and entry.get("additional"):
                for _, host in self.records(name, T_MX):
                    host = host.lower().rstrip(".")
                    for t in (T_A, T_AAAA):
                        for value in self.records(host, t):
                            additional.append(self.rr(host, qname, t, value))
            if isinstance(entry, dict) and entry.get("truncate") and not tcp:
                answers, additional, tc = [], [], True
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | (0x0200 if tc else 0) | rcode
        head = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, len(additional))
        return head + msg[12:qend] + b"".join(answers) + b"".join(additional)


class Server:
    """UDP and TCP on one loopback port, each in a daemon thread."""

    def __init__(self, zone, port=0):
        self.zone = zone if isinstance(zone, Zone) else Zone(zone)
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port:
                    raise
        self.tcp.listen(16)
        self.stopping = False

    def start(self):
        for target in (self.serve_udp, self.serve_tcp):
            threading.Thread(target=target, daemon=True).start()
        return self

    def serve_udp(self):
        while not self.stopping:
            try:
                msg, peer = self.udp.recvfrom(4096)
                reply = self.zone.answer(msg)
            except (OSError, ValueError, IndexError, struct.error):
                if self.stopping:
                    return
                continue
            if reply is not None:
                self.udp.sendto(reply, peer)

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self.tcp_conn, args=(conn,), daemon=True).start()

    def tcp_conn(self, conn):
        with conn:
            try:
                conn.settimeout(10)
                head = conn.recv(2, socket.MSG_WAITALL)
                (n,) = struct.unpack("!H", head)
                msg = conn.recv(n, socket.MSG_WAITALL)
                reply = self.zone.answer(msg, tcp=True)
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, ValueError, IndexError, struct.error):
                pass

    def stop(self):
        self.stopping = True
        self.udp.close()
        self.tcp.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: dnsserver.py ZONE.json [PORT]")
    with open(sys.argv[1]) as f:
        srv = Server(json.load(f), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(srv.port, flush=True)
    srv.start()
    threading.Event().wait()
