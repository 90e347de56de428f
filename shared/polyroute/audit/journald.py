"""The journal process: writes intent journal rows for its parent (ahead.py), one at a time.

Run as `python -I -S journald.py DATABASE`: standard library only, no site-packages, nothing of
Polyroute imported, so it starts in a few ms and holds a few MB. A process of its own has its own
interpreter lock, so the row is written while the parent's event loop builds the provider request.

Protocol (stdin → stdout, binary): it answers `r` once connected; then for each row — four 4-byte
big-endian lengths, then the id, time, token and template (UTF-8) — it answers `k` once the row is
durable, `b` when another connection holds the write lock (nothing written), or `e` followed by a
2-byte length and a UTF-8 message. It stops at the end of its input (the parent closed it, or died).
"""

import os
import signal
import sqlite3
import struct
import sys

HEADER = struct.Struct(">4I")


def exact(size: int) -> bytes:
    """`size` bytes of input; exits at its end."""
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = os.read(0, left)
        if not chunk:
            sys.exit(0)
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def answer(data: bytes) -> None:
    while data:
        data = data[os.write(1, data) :]


def refused(error: sqlite3.Error) -> bytes:
    if isinstance(error, sqlite3.OperationalError) and error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
        return b"b"  # as polyroute.sqlitefile.is_busy
    message = str(error).encode("utf-8", "replace")[:4000]
    return b"e" + struct.pack(">H", len(message)) + message


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the parent's to handle
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA busy_timeout = 0")  # never wait: the parent chains the intent instead
    db.execute("PRAGMA synchronous = FULL")
    answer(b"r")
    while True:
        lengths = HEADER.unpack(exact(HEADER.size))
        blob, at = exact(sum(lengths)), 0
        fields: list[str] = []
        for length in lengths:
            fields.append(blob[at : at + length].decode("utf-8"))
            at += length
        try:
            db.execute("INSERT INTO journal (id, written, token, template) VALUES (?, ?, ?, ?)", fields)
        except sqlite3.Error as error:
            answer(refused(error))
        else:
            answer(b"k")


if __name__ == "__main__":
    main()
