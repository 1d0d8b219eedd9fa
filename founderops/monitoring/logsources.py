"""Where log lines come from besides the API: a followed file and a syslog UDP listener.

`FileTail` follows a file like `tail -F`: it survives rotation (the path names a new file: the
old one is read to its end first) and truncation (the file got shorter: read again from the
start), and remembers its offset (and the file's inode) in a small JSON file, committed only
after the lines were stored, so a restart neither skips nor repeats lines.

`SyslogListener` receives RFC 5424 and RFC 3164 datagrams on UDP (asyncio, in its own thread);
the service is the app-name (or the tag), the level the severity. Its queue is bounded: past
MAX_QUEUE waiting lines, datagrams are counted as dropped, never buffered without end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from founderops.core import clock
from founderops.monitoring.logs import MAX_SERVICE_CHARS, LogLine

READ_CHUNK = 1 << 20
MAX_QUEUE = 100_000
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


@dataclass
class _Position:
    inode: int
    offset: int


class FileTail:
    """Follow one file; `poll()` returns the complete lines written since the last call."""

    def __init__(
        self, path: Path, service: str, offsets: Path, from_start: bool, max_line_chars: int
    ) -> None:
        self.path, self.service, self.offsets = path, service, offsets
        self.from_start, self.max_line_chars = from_start, max_line_chars
        self._file: IO[bytes] | None = None
        self._inode = 0
        self._partial = b""

    def poll(self) -> list[LogLine]:
        if self._file is None and not self._open():
            return []
        assert self._file is not None
        if os.fstat(self._file.fileno()).st_size < self._file.tell():
            self._file.seek(0)  # truncated in place (copytruncate): start again
            self._partial = b""
        lines = self._read()
        if self._rotated():
            lines += self._read()  # the old file's last lines, then the new file
            self._file.close()
            self._file, self._partial = None, b""
            if self._open(rotated=True):
                lines += self._read()
        return lines

    def commit(self) -> None:
        """Remember how far the stored lines go (call after they are flushed)."""
        if self._file is None:
            return
        done = self._file.tell() - len(self._partial)
        saved = _read_offsets(self.offsets)
        saved[str(self.path.resolve())] = {"inode": self._inode, "offset": done}
        temporary = self.offsets.with_suffix(".tmp")
        temporary.write_text(json.dumps(saved))
        temporary.replace(self.offsets)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self, rotated: bool = False) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            self.from_start = True  # once it appears, all of it is new (as tail -F does)
            return False
        stat = os.fstat(handle.fileno())
        remembered = _read_offsets(self.offsets).get(str(self.path.resolve()))
        if rotated or self.from_start:
            start = 0
        elif remembered and remembered.get("inode") == stat.st_ino:
            start = int(remembered.get("offset", 0))
            start = start if start <= stat.st_size else 0
        elif remembered:
            start = 0  # rotated while we were stopped: the new file is all unread
        else:
            start = stat.st_size
        handle.seek(start)
        self._file, self._inode, self.from_start = handle, stat.st_ino, False
        return True

    def _rotated(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            return False  # moved away, not yet replaced: keep the old one

    def _read(self) -> list[LogLine]:
        assert self._file is not None
        lines: list[LogLine] = []
        while chunk := self._file.read(READ_CHUNK):
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            lines += [self._line(raw) for raw in complete if raw.strip()]
            if len(self._partial) > self.max_line_chars * 4:
                # A "line" that never ends (binary junk): cut it rather than hold it all.
                lines.append(self._line(self._partial))
                self._partial = b""
        return lines

    def _line(self, raw: bytes) -> LogLine:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")[: self.max_line_chars]
        return structured(text, self.service) or LogLine(self.service, text, clock.now())


def structured(text: str, service: str) -> LogLine | None:
    """A JSON log line ({"message"|"msg", "level"|"severity"}) as its message and level."""
    if not text.startswith("{"):
        return None
    try:
        item = json.loads(text)
    except ValueError:
        return None
    if not isinstance(item, dict):
        return None
    message = item.get("message", item.get("msg"))
    level = item.get("level", item.get("severity", ""))
    if not isinstance(message, str) or not isinstance(level, str):
        return None
    return LogLine(service, message, clock.now(), level=level[:20])


def _read_offsets(path: Path) -> dict[str, dict[str, int]]:
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        return {}  # a damaged offsets file: start from the end again, as on a first run
    return saved if isinstance(saved, dict) else {}


# --- syslog -------------------------------------------------------------------------------

_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.DOTALL,
)
_RFC3164 = re.compile(
    r"<(?P<pri>\d{1,3})>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?(?:(?P<host>\S+) )?"
    r"(?P<tag>[^:\[\s]{1,48})(?:\[(?P<pid>[^\]]*)\])?: ?(?P<msg>.*)$",
    re.DOTALL,
)


def parse_syslog(data: bytes, now: datetime, max_line_chars: int) -> LogLine | None:
    """One datagram as a LogLine, or None when it is not syslog at all."""
    text = data.decode("utf-8", errors="replace").strip("\x00\r\n")
    found = _RFC5424.match(text)
    if found is not None:
        service = _service(found["app"], found["host"])
        message = (found["msg"] or "").removeprefix("\ufeff")
    elif (found := _RFC3164.match(text)) is not None:
        service = _service(found["tag"], found["host"])
        message = found["msg"]
    else:
        return None
    pri = int(found["pri"])
    if pri > 191 or not message.strip():
        return None
    return LogLine(service, message[:max_line_chars], now, level=SEVERITIES[pri % 8])


def _service(name: str | None, host: str | None) -> str:
    for candidate in (name, host):
        if candidate and candidate != "-" and candidate.isprintable():
            return candidate[:MAX_SERVICE_CHARS]
    return "syslog"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.listener.receive(data)


class SyslogListener:
    """A UDP syslog server on its own thread; `take()` hands over what arrived."""

    def __init__(self, host: str, port: int, max_line_chars: int) -> None:
        self.host, self.port, self.max_line_chars = host, port, max_line_chars
        self.address: tuple[str, int] | None = None
        self.rejected = 0
        self.overflow = 0
        self._queue: deque[LogLine] = deque()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="syslog", daemon=True)
        self._ready = threading.Event()
        self._error: OSError | None = None

    def start(self) -> tuple[str, int]:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self.address is not None
        return self.address

    def receive(self, data: bytes) -> None:
        line = parse_syslog(data, clock.now(), self.max_line_chars)
        if line is None:
            self.rejected += 1
        elif len(self._queue) >= MAX_QUEUE:
            self.overflow += 1
        else:
            self._queue.append(line)

    def take(self) -> list[LogLine]:
        taken = []
        while self._queue:
            taken.append(self._queue.popleft())
        return taken

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            transport, _ = self._loop.run_until_complete(
                self._loop.create_datagram_endpoint(
                    lambda: _Protocol(self), local_addr=(self.host, self.port)
                )
            )
        except OSError as error:
            self._error = error
            self._ready.set()
            return
        sockname = transport.get_extra_info("sockname")
        self.address = (str(sockname[0]), int(sockname[1]))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            transport.close()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()
