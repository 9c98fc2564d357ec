"""The qmgr <-> delivery agent protocol, as the tests speak it: IPC frames
(docs/architecture.md, "IPC framing"), deliver/1 ... done/1, and the
recipient records of a queue file (their status byte offsets)."""

import struct


def frame(attrs):
    payload = b""
    for name, value in attrs:
        n, v = name.encode(), value.encode() if isinstance(value, str) else value
        payload += bytes([len(n)]) + n + struct.pack(">I", len(v)) + v
    return struct.pack(">I", len(payload)) + payload


def parse_frame(payload):
    out, pos = {}, 0
    while pos < len(payload):
        n = payload[pos]
        name = payload[pos + 1:pos + 1 + n].decode()
        pos += 1 + n
        (vlen,) = struct.unpack(">I", payload[pos:pos + 4])
        out[name] = payload[pos + 4:pos + 4 + vlen].decode()
        pos += 4 + vlen
    return out


def read_frames(s):
    """Frames up to done/1 (True) or the agent's close (False)."""
    buf, frames = b"", []
    while True:
        while len(buf) >= 4:
            (n,) = struct.unpack(">I", buf[:4])
            if len(buf) < 4 + n:
                break
            frames.append(parse_frame(buf[4:4 + n]))
            buf = buf[4 + n:]
            if frames[-1]["proto"] == "done/1":
                assert buf == b"", "bytes after done/1"
                return frames, True
        chunk = s.recv(65536)
        if not chunk:
            assert buf == b"", "trailing bytes in the reply"
            return frames, False
        buf += chunk


def read_qfile(path):
    """Sender and (address, orcpt, status offset) of each recipient."""
    with open(path, "rb") as f:
        data = f.read()
    pos, out = 0, {"rcpts": []}
    while pos < len(data):
        t = data[pos:pos + 1]
        (n,) = struct.unpack(">I", data[pos + 1:pos + 5])
        body = data[pos + 5:pos + 5 + n]
        if t == b"S":
            out["sender"] = body.decode()
        elif t == b"R":
            (alen,) = struct.unpack(">H", body[2:4])
            out["rcpts"].append((body[4:4 + alen].decode(),
                                 body[4 + alen:].decode(), pos + 5))
        elif t == b"C":
            break
        pos += 5 + n
    return out
