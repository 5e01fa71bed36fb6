"""lsproto: speak the logstream-sim subject protocol (subject/PROTOCOL.md, version 1).

Standard library only. A FLARE or Flower integration imports this module to run one
site of a black-box run: the harness starts one process per site, writes JSON lines
to its stdin and reads JSON lines from its stdout; stderr is for logs.

    import lsproto
    site = lsproto.Site()                 # reads stdin on a thread of its own
    init = site.wait_init()               # the init line: role, targets, options...
    site.init_ok()
    reply = site.request("r1", body, timeout=0.2, meta={"kind": "data", "seq": 0})
    site.fire_and_forget("r1", body, meta={"kind": "abort"})
    site.chunk(stream, offset, data)      # receiver: one chunk callback
    site.done(stream, "OK")               # receiver: the done callback
    site.result("OK", {"r1": "OK"})       # sender: how the stream ended

Incoming deliver, register, stop, abort, shutdown and exit lines go to handlers
registered with site.on(type, fn); each deliver runs on a pool thread, so a handler
that blocks (or deadlocks) never stops the site from reading its input. A deliver
handler returns the reply body (any JSON value), or a tuple (body, meta) where meta
labels the reply for the record ({"rc": "NOT_READY"}: the engine's answer code).
"""

import base64
import concurrent.futures
import json
import os
import sys
import threading

VERSION = 1
MAX_LINE = 4 << 20

# A deliver handler returns NO_REPLY to leave a delivery unanswered, as an engine
# that is gone (shut down) would.
NO_REPLY = object()


def b64(data):
    """Encode bytes for a JSON body."""
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    """Decode bytes from a JSON body."""
    return base64.b64decode(text) if text else b""


class ProtocolError(Exception):
    """The harness wrote a line this site cannot accept."""


class Site:
    """One site of the protocol: a reader thread, a lock for writes, replies matched by id."""

    def __init__(self, stdin=None, stdout=None, workers=8):
        self._in = stdin if stdin is not None else sys.stdin.buffer
        self._out = stdout if stdout is not None else sys.stdout.buffer
        self._wlock = threading.Lock()
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiters = {}  # send id -> [event, reply line]
        self._handlers = {}
        self._early = []  # control lines that came before their handler
        self._init = None
        self._init_ready = threading.Event()
        self.exited = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lsproto")
        self._reader = threading.Thread(target=self._read, name="lsproto-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ output
    def emit(self, obj):
        """Write one line (a dict) to the harness."""
        line = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        with self._wlock:
            try:
                self._out.write(line)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                self.exited.set()

    def init_ok(self):
        self.emit({"type": "init_ok", "protocol": VERSION})

    def error(self, text):
        self.emit({"type": "error", "text": str(text)})

    def open(self, stream):
        self.emit({"type": "open", "stream": str(stream)})

    def chunk(self, stream, offset, data):
        self.emit({"type": "chunk", "stream": str(stream), "offset": int(offset), "data": b64(data)})

    def done(self, stream, rc):
        self.emit({"type": "done", "stream": str(stream), "rc": str(rc)})

    def result(self, rc, results=None):
        self.emit({"type": "result", "rc": str(rc), "results": {k: str(v) for k, v in (results or {}).items()}})

    def _new_id(self):
        with self._lock:
            self._next_id += 1
            return self._next_id

    def request(self, to, body, timeout, meta=None):
        """Send body to site `to` and wait up to timeout seconds for its reply body.
        Returns (True, reply body) or (False, None) on timeout."""
        sid = self._new_id()
        ev = threading.Event()
        slot = [ev, None]
        with self._lock:
            self._waiters[sid] = slot
        self.emit({"type": "send", "id": sid, "to": to, "body": body, "meta": meta or {}})
        got = ev.wait(timeout)
        with self._lock:
            self._waiters.pop(sid, None)
        if not got:
            return False, None
        return True, slot[1]

    def fire_and_forget(self, to, body, meta=None):
        """Send body to site `to`; no reply is expected."""
        self.emit({"type": "send", "id": self._new_id(), "to": to, "body": body, "reply": False, "meta": meta or {}})

    # ------------------------------------------------------------------ input
    def on(self, typ, fn):
        """Handle incoming lines of type typ: deliver, register, stop, abort, shutdown, exit.
        Control lines that came before their handler was set are handed to it now, in order."""
        with self._lock:
            self._handlers[typ] = fn
            early = [line for line in self._early if line.get("type") == typ]
            self._early = [line for line in self._early if line.get("type") != typ]
        for line in early:
            fn(line)

    def wait_init(self, timeout=None):
        """Return the init line (a dict) once it arrived."""
        if not self._init_ready.wait(timeout):
            raise ProtocolError("no init line")
        init = self._init
        if init.get("protocol") != VERSION:
            self.error(f"harness speaks protocol {init.get('protocol')}, this site {VERSION}")
            raise ProtocolError(f"protocol version {init.get('protocol')}")
        return init

    def _read(self):
        try:
            for raw in self._in:
                if len(raw) > MAX_LINE:
                    raise ProtocolError(f"line of {len(raw)} bytes")
                line = json.loads(raw)
                typ = line.get("type")
                if typ == "init":
                    self._init = line
                    self._init_ready.set()
                elif typ == "reply":
                    with self._lock:
                        slot = self._waiters.pop(line.get("id"), None)
                    if slot is not None:
                        slot[1] = line.get("body")
                        slot[0].set()
                elif typ == "deliver":
                    self.pool.submit(self._deliver, line)
                elif typ == "exit":
                    break
                elif typ in ("register", "stop", "abort", "shutdown"):
                    with self._lock:
                        fn = self._handlers.get(typ)
                        if fn is None:
                            self._early.append(line)
                    if fn is not None:
                        fn(line)
                else:
                    raise ProtocolError(f"unexpected line type {typ!r}")
        except Exception as ex:  # noqa: BLE001 - reported to the harness
            self.error(f"lsproto reader: {ex!r}")
        finally:
            self.exited.set()
            fn = self._handlers.get("exit")
            if fn:
                fn({})

    def _deliver(self, line):
        fn = self._handlers.get("deliver")
        meta = None
        try:
            body = fn(line) if fn else None
            if body is NO_REPLY:
                return
            if isinstance(body, tuple):  # (reply body, reply meta)
                body, meta = body
        except Exception as ex:  # noqa: BLE001 - the handler's failure becomes an error line
            self.error(f"deliver {line.get('id')}: {ex!r}")
            return
        if line.get("reply", True):
            out = {"type": "reply", "id": line["id"], "body": body}
            if meta:
                out["meta"] = meta
            self.emit(out)

    def run_until_exit(self):
        """Block until the harness says exit or closes stdin, then leave the process at once
        (os._exit: stuck non-daemon threads, such as a deadlocked handler, cannot hold it)."""
        self.exited.wait()
        try:
            self._out.flush()
        except Exception:  # noqa: BLE001
            pass
        os._exit(0)
