#!/usr/bin/env python3
"""smtpsink.py - configurable SMTP and LMTP sink servers for the tests.

A Sink listens on a loopback TCP address (or a UNIX socket for LMTP) and
plays a server that accepts, refuses, drops or stalls at any stage, and
advertises what a test asks for.  Everything a client sends is recorded,
byte for byte, so that a test can assert the exact envelope and content
(dot-stuffing included).

    sink = Sink(host="127.0.0.2", port=port,
                ext=["PIPELINING", "SIZE 1000", "8BITMIME", "DSN"],
                rcpt={"bad@example.test": "550 5.1.1 <bad@example.test>: no"},
                data_end="250 2.0.0 Ok: queued as SINK1")
    sink.start()
    ...
    sink.sessions[0].transactions[0].data   # the wire bytes after DATA
    sink.stop()

Stages for greeting_reply/ehlo_reply/mail_reply/data_reply and for
stall=/drop=: "greeting", "ehlo", "starttls", "auth", "mail", "rcpt",
"data", "dot".  stall keeps the connection open without answering until
the client gives up; drop closes it without a reply.

tls=(certfile, keyfile) offers STARTTLS; auth={"user": "password"}
offers AUTH PLAIN LOGIN (and requires it before MAIL when
auth_required); lmtp=True speaks LMTP (LHLO, one reply per accepted
recipient after the dot, taken from lmtp_replies or data_end).
"""

import base64
import os
import socket
import ssl
import threading
import time


class Transaction:
    def __init__(self, mail):
        self.mail = mail          # the MAIL command line, without CRLF
        self.rcpts = []           # RCPT command lines (every one sent)
        self.accepted = []        # addresses that got 2xx
        self.data = None          # wire bytes after 354, up to and
                                  # including the final ".\r\n"


class Session:
    def __init__(self, peer):
        self.peer = peer
        self.helo = None
        self.tls = False
        self.auth = None          # (mechanism, user) after success
        self.commands = []        # every command line, in order
        self.raw = b""            # every byte received (after TLS)
        self.reads = []           # the same bytes, one item per recv()
        self.transactions = []
        self.closed = False


class Sink:
    def __init__(self, host="127.0.0.1", port=0, unix_path=None,
                 lmtp=False, name="sink.example.test",
                 ext=("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"),
                 greeting_reply=None, ehlo_reply=None, helo_reply=None,
                 mail_reply="250 2.1.0 Ok", rcpt=None,
                 rcpt_default="250 2.1.5 Ok", data_reply="354 End data with <CR><LF>.<CR><LF>",
                 data_end="250 2.0.0 Ok: queued as SINK1",
                 lmtp_replies=None, tls=None, auth=None,
                 auth_required=False, stall=None, drop=None,
                 stall_seconds=30):
        self.host, self.port, self.unix_path = host, port, unix_path
        self.lmtp, self.name = lmtp, name
        self.ext = list(ext)
        self.greeting_reply = greeting_reply or "220 %s ESMTP sink" % name
        self.ehlo_reply, self.helo_reply = ehlo_reply, helo_reply
        self.mail_reply, self.rcpt = mail_reply, dict(rcpt or {})
        self.rcpt_default, self.data_reply = rcpt_default, data_reply
        self.data_end, self.lmtp_replies = data_end, dict(lmtp_replies or {})
        self.tls, self.auth, self.auth_required = tls, auth, auth_required
        self.stall, self.drop = stall, drop
        self.stall_seconds = stall_seconds
        self.sessions = []
        self.connections = 0
        self._stop = threading.Event()
        self._sock = None
        self._lock = threading.Lock()
        self._ios = []

    # ---- life cycle ----

    def start(self):
        if self.unix_path:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(self.unix_path):
                os.unlink(self.unix_path)
            s.bind(self.unix_path)
        else:
            fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.host, self.port))
            self.port = s.getsockname()[1]
        s.listen(16)
        s.settimeout(0.2)
        self._sock = s
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening (the port is free again on return)."""
        self._stop.set()
        if self._sock:
            # Wait for the accept loop first: a socket closed under a
            # thread polling it stays bound until the poll returns.
            self._thread.join()
            self._sock.close()
        # Cut the sessions still open (a client's cached connection).
        with self._lock:
            ios = list(self._ios)
        for io in ios:
            try:
                io.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn, peer),
                             daemon=True).start()

    def transactions(self):
        """Every transaction of every session, in order."""
        return [t for s in self.sessions for t in s.transactions]

    # ---- one connection ----

    def _serve(self, conn, peer):
        sess = Session(peer)
        with self._lock:
            self.sessions.append(sess)
        io = _Conn(conn, sess)
        with self._lock:
            self._ios.append(io)
        try:
            self._dialogue(io, sess)
        except (OSError, ssl.SSLError, _Closed):
            pass
        finally:
            sess.closed = True
            try:
                io.sock.close()
            except OSError:
                pass

    def _act(self, io, stage):
        """Stall or drop at this stage; True when the session is over."""
        if self.drop == stage:
            io.close()
            return True
        if self.stall == stage:
            end = time.monotonic() + self.stall_seconds
            while time.monotonic() < end and not self._stop.is_set():
                try:
                    io.sock.settimeout(0.2)
                    if io.sock.recv(4096) == b"":
                        break
                except socket.timeout:
                    continue
                except OSError:
                    break
            io.close()
            return True
        return False

    def _dialogue(self, io, sess):
        if self._act(io, "greeting"):
            return
        io.reply(self.greeting_reply)
        if not self.greeting_reply.startswith("2"):
            # Like Postfix's smtpd after a 554 greeting: wait for QUIT.
            pass
        trans = None
        while True:
            line = io.line()
            if line is None:
                return
            sess.commands.append(line)
            word = line.split(b" ", 1)[0].upper()
            if word in (b"EHLO", b"LHLO"):
                if (word == b"LHLO") != self.lmtp:
                    io.reply("500 5.5.1 wrong greeting command")
                    continue
                if self._act(io, "ehlo"):
                    return
                sess.helo = line[5:].decode()
                if self.ehlo_reply:
                    io.reply(self.ehlo_reply)
                    continue
                ext = list(self.ext)
                if self.tls and not sess.tls:
                    ext.append("STARTTLS")
                if self.auth and (sess.tls or not self.tls):
                    ext.append("AUTH PLAIN LOGIN")
                io.reply("250", [self.name] + ext)
            elif word == b"HELO":
                sess.helo = line[5:].decode()
                io.reply(self.helo_reply or "250 %s" % self.name)
            elif word == b"STARTTLS":
                if self._act(io, "starttls"):
                    return
                io.reply("220 2.0.0 Ready to start TLS")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
                io.sock = ctx.wrap_socket(io.sock, server_side=True)
                io.buf = b""
                sess.tls = True
            elif word == b"AUTH":
                if self._act(io, "auth"):
                    return
                self._auth(io, sess, line)
            elif word == b"MAIL":
                if self._act(io, "mail"):
                    return
                if self.auth_required and sess.auth is None:
                    io.reply("530 5.7.0 Authentication required")
                    continue
                io.reply(self.mail_reply)
                if self.mail_reply.startswith("2"):
                    trans = Transaction(line.decode("utf-8", "replace"))
                    sess.transactions.append(trans)
            elif word == b"RCPT":
                if self._act(io, "rcpt"):
                    return
                if trans is None:
                    io.reply("503 5.5.1 Error: need MAIL command")
                    continue
                text = line.decode("utf-8", "replace")
                trans.rcpts.append(text)
                addr = text.split("<", 1)[1].split(">", 1)[0]
                reply = self.rcpt.get(addr, self.rcpt_default)
                if reply.startswith("2"):
                    trans.accepted.append(addr)
                io.reply(reply)
            elif word == b"DATA":
                if self._act(io, "data"):
                    return
                if trans is None or not trans.accepted:
                    io.reply("554 5.5.1 Error: no valid recipients")
                    continue
                io.reply(self.data_reply)
                if not self.data_reply.startswith("354"):
                    continue
                trans.data = io.until_dot()
                if self._act(io, "dot"):
                    return
                if self.lmtp:
                    for addr in trans.accepted:
                        io.reply(self.lmtp_replies.get(addr, self.data_end))
                else:
                    io.reply(self.data_end)
                trans = None
            elif word == b"RSET":
                trans = None
                io.reply("250 2.0.0 Ok")
            elif word == b"NOOP":
                io.reply("250 2.0.0 Ok")
            elif word == b"QUIT":
                io.reply("221 2.0.0 Bye")
                return
            else:
                io.reply("502 5.5.2 Error: command not recognized")

    def _auth(self, io, sess, line):
        parts = line.decode().split()
        mech = parts[1].upper() if len(parts) > 1 else ""
        if not self.auth:
            io.reply("503 5.5.1 Error: authentication not enabled")
            return
        if mech == "PLAIN":
            if len(parts) > 2:
                resp = parts[2]
            else:
                io.reply("334 ")
                resp = io.line().decode()
            try:
                _, user, pw = base64.b64decode(resp).decode().split("\0")
            except ValueError:
                io.reply("501 5.5.2 bad response")
                return
        elif mech == "LOGIN":
            io.reply("334 VXNlcm5hbWU6")
            user = base64.b64decode(io.line()).decode()
            io.reply("334 UGFzc3dvcmQ6")
            pw = base64.b64decode(io.line()).decode()
        else:
            io.reply("504 5.5.4 Unrecognized authentication type")
            return
        if self.auth.get(user) == pw:
            sess.auth = (mech, user)
            io.reply("235 2.7.0 Authentication successful")
        else:
            io.reply("535 5.7.8 Error: authentication failed")


class _Closed(Exception):
    pass


class _Conn:
    """Line I/O over a socket that may turn into TLS."""

    def __init__(self, sock, sess):
        self.sock, self.sess, self.buf = sock, sess, b""
        sock.settimeout(60)

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.sess.raw += data
        self.sess.reads.append(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until_dot(self):
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            self._more()
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    def reply(self, code_or_text, lines=None):
        if lines is None:
            out = code_or_text + "\r\n"
        else:
            out = "".join("%s%s%s\r\n" % (code_or_text,
                                          " " if i == len(lines) - 1 else "-",
                                          l) for i, l in enumerate(lines))
        self.sock.sendall(out.encode())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
