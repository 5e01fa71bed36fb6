#!/usr/bin/env python3
"""NVIDIA FLARE 2.8's own LogStreamer, on FLARE's own ObjectStreamer, as a subject of the
logstream-sim protocol (subject/PROTOCOL.md): one process per site.

The harness's network is put at FLARE's transport seam and nowhere else: the cell object
that AuxRunner._send_to_cell gets from engine.get_cell() (broadcast_request and
fire_and_forget) sends each fobs-encoded request through the harness, and the receiving
site hands what the harness delivers to AuxRunner.dispatch. FLARE's LogStreamer,
ObjectStreamer, AuxRunner, threads, timeouts and watchdog run as shipped.

FLARE comes from NVFLARE_FIXTURE (the fixture tarball or a directory holding nvflare/),
else from an installed `nvflare` package. Needs: python3-msgpack python3-grpcio
python3-psutil python3-yaml python3-cryptography (Debian), /usr/bin/python3.

FLARE 2.8 has no NOT_READY: a receiver with nothing registered answers
EXECUTION_EXCEPTION, so the harness's not-ready is a late registration here.
"""
import atexit
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import lsproto  # noqa: E402

# ---------------------------------------------------------------- FLARE location
fixture = os.environ.get("NVFLARE_FIXTURE", "")
if fixture:
    if os.path.isdir(fixture):
        sys.path.insert(0, os.path.abspath(fixture))
    else:
        root = tempfile.mkdtemp(prefix="nvflare-fixture-")
        atexit.register(shutil.rmtree, root, True)
        with tarfile.open(fixture) as tf:
            tf.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        sys.path.insert(0, root)
os.environ.setdefault("NVFLARE_CELL_WAIT_TIMEOUT", "1.0")
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

from nvflare.apis.fl_constant import ProcessType, ReservedKey  # noqa: E402
from nvflare.apis.fl_context import FLContextManager  # noqa: E402
from nvflare.apis.signal import Signal  # noqa: E402
from nvflare.apis.streaming import ConsumerFactory, StreamableEngine, StreamContextKey  # noqa: E402
from nvflare.app_common.streamers.log_streamer import LogStreamer  # noqa: E402
from nvflare.app_common.streamers import streamer_base as sb  # noqa: E402
from nvflare.fuel.f3.cellnet.defs import MessageHeaderKey  # noqa: E402
from nvflare.fuel.f3.cellnet.defs import ReturnCode as CellRC  # noqa: E402
from nvflare.fuel.f3.message import Message  # noqa: E402
from nvflare.fuel.utils import fobs  # noqa: E402
from nvflare.private.aux_runner import AuxMsgTarget, AuxRunner  # noqa: E402
from nvflare.private.stream_runner import HeaderKey, ObjectStreamer  # noqa: E402

JOB_ID = "job-1"
site = lsproto.Site()


def site_name(fqcn):
    """'r1.job-1' -> 'r1' (AuxRunner appends the job id to a site's name)."""
    return fqcn[: -len("." + JOB_ID)] if fqcn.endswith("." + JOB_ID) else fqcn


def meta_of(topic, shareable):
    """Describe a request for the harness's record (kind, seq, bytes); the body stays opaque."""
    if topic.endswith("Abort"):
        return {"kind": "abort"}
    m = {"seq": int(shareable.get_header(HeaderKey.SEQ, 0) or 0)}
    data = shareable.get(sb.KEY_DATA)
    if shareable.get(sb.KEY_EOF):
        m["kind"] = "eof"
    elif shareable.get(sb.KEY_HEARTBEAT):
        m["kind"] = "heartbeat"
    elif data:
        m["kind"] = "data"
        m["len"] = len(data)
    else:
        m["kind"] = "other"
    return m


# ---------------------------------------------------------------- the seam
class HarnessCell:
    """The two methods of nvflare.fuel.f3.cellnet.cell.Cell that AuxRunner._send_to_cell calls,
    carried by the harness. The wait for each reply is bounded by `timeout`, as the cell's is;
    a reply that does not come in time is the cellnet rc `timeout`."""

    def broadcast_request(
        self, channel, topic, targets, request, timeout=None, secure=False, optional=False, abort_signal=None
    ):
        targets = [targets] if isinstance(targets, str) else list(targets)
        data = fobs.dumps(request.payload)
        meta = meta_of(topic, request.payload)
        body = {"channel": channel, "topic": topic, "data": lsproto.b64(data)}
        futs = {
            t: site.pool.submit(site.request, site_name(t), body, timeout if timeout else 5.0, meta) for t in targets
        }
        replies = {}
        for t, fut in futs.items():
            ok, rbody = fut.result()
            if not ok or rbody is None:
                rc, payload = CellRC.TIMEOUT, None
            else:
                rc = rbody.get("rc", CellRC.OK)
                payload = fobs.loads(lsproto.unb64(rbody["data"])) if rbody.get("data") else None
            replies[t] = Message(headers={MessageHeaderKey.RETURN_CODE: rc}, payload=payload)
        return replies

    def fire_and_forget(self, channel, topic, targets, message, secure=False, optional=False):
        targets = [targets] if isinstance(targets, str) else list(targets)
        data = fobs.dumps(message.payload)
        body = {"channel": channel, "topic": topic, "data": lsproto.b64(data)}
        for t in targets:
            site.fire_and_forget(site_name(t), body, meta_of(topic, message.payload))
        return {t: CellRC.OK for t in targets}


class Site(StreamableEngine):
    """The thinnest StreamableEngine (as in FLARE's demo): FLContextManager + AuxRunner +
    ObjectStreamer, with the harness as its cell."""

    def __init__(self, name, process_type):
        self.name = name
        self.abort_signal = Signal()
        self.fl_ctx_mgr = FLContextManager(
            engine=self,
            identity_name=name,
            job_id=JOB_ID,
            private_stickers={ReservedKey.RUN_ABORT_SIGNAL: self.abort_signal, ReservedKey.PROCESS_TYPE: process_type},
        )
        self.cell = HarnessCell()
        self.aux_runner = AuxRunner(self)
        self.object_streamer = ObjectStreamer(self.aux_runner)

    def new_context(self):
        return self.fl_ctx_mgr.new_context()

    def get_cell(self):
        return self.cell

    def handle_aux_message(self, topic, data):
        """The receiving end: a fresh FLContext, then AuxRunner.dispatch (as the engines'
        _handle_aux_message does)."""
        request = fobs.loads(data)
        with self.new_context() as fl_ctx:
            reply = self.aux_runner.dispatch(topic=topic, request=request, fl_ctx=fl_ctx)
        return fobs.dumps(reply)

    def stream_objects(self, channel, topic, stream_ctx, targets, producer, fl_ctx, optional=False, secure=False):
        msg_targets = [AuxMsgTarget(t, t) for t in targets]
        return self.object_streamer.stream(
            channel=channel, topic=topic, stream_ctx=stream_ctx, targets=msg_targets, producer=producer,
            fl_ctx=fl_ctx, secure=secure, optional=optional,
        )

    def register_stream_processing(self, channel, topic, factory, stream_done_cb=None, consumed_cb=None, **cb_kwargs):
        self.object_streamer.register_stream_processing(
            channel=channel, topic=topic, factory=OpenReporting(factory), stream_done_cb=stream_done_cb,
            consumed_cb=consumed_cb, **cb_kwargs,
        )


    def shutdown_streamer(self):
        self.object_streamer.shutdown()


class OpenReporting(ConsumerFactory):
    """Wraps the consumer factory LogStreamer registers, to report each stream it creates."""

    def __init__(self, factory):
        self.factory = factory

    def get_consumer(self, stream_ctx, fl_ctx):
        c = self.factory.get_consumer(stream_ctx, fl_ctx)
        if c is not None:
            site.open(stream_id(stream_ctx))
        return c

    def return_consumer(self, consumer, stream_ctx, fl_ctx):
        return self.factory.return_consumer(consumer, stream_ctx, fl_ctx)

    def __getattr__(self, name):
        return getattr(self.factory, name)


_streams = {}
_streams_lock = threading.Lock()


def stream_id(ctx):
    with _streams_lock:
        return _streams.setdefault(id(ctx), f"s{len(_streams) + 1}")


# ---------------------------------------------------------------- receiver
def run_receiver(init):
    engine = Site(init["site"], ProcessType.SERVER_JOB)
    opts = init.get("options") or {}
    idle = float(opts.get("idle_timeout_ms", 30000.0)) / 1000.0
    offsets = {}

    def on_chunk(data, stream_ctx, fl_ctx, **kw):
        sid = stream_id(stream_ctx)
        off = offsets.get(sid, 0)
        offsets[sid] = off + len(data)
        site.chunk(sid, off, data)

    def on_done(stream_ctx, fl_ctx, **kw):
        site.done(stream_id(stream_ctx), stream_ctx.get(StreamContextKey.RC))

    def register(_line=None):
        with engine.new_context() as fl_ctx:
            LogStreamer.register_stream_processing(
                fl_ctx, init["channel"], init["topic"], chunk_received_cb=on_chunk, stream_done_cb=on_done,
                idle_timeout=idle,
            )

    shut = threading.Event()

    def deliver(line):
        if shut.is_set():
            return lsproto.NO_REPLY  # the receiving job is gone: nothing answers
        body = line["body"]
        reply = engine.handle_aux_message(body["topic"], lsproto.unb64(body["data"]))
        return {"rc": CellRC.OK, "data": lsproto.b64(reply)}, {"rc": fobs.loads(reply).get_return_code()}

    site.on("deliver", deliver)
    site.on("register", register)
    def shutdown(_line):
        # As when the receiving job ends: ObjectStreamer.shutdown, as FLARE's
        # engines call it, and no cell to answer further messages.
        shut.set()
        engine.shutdown_streamer()

    site.on("shutdown", shutdown)
    if init.get("register", True):
        register()
    site.init_ok()


# ---------------------------------------------------------------- sender
def run_sender(init):
    engine = Site("sender", ProcessType.CLIENT_JOB)
    opts = init.get("options") or {}
    stop_event = threading.Event()
    site.on("stop", lambda _l: stop_event.set())
    site.on("abort", lambda _l: engine.abort_signal.trigger(True))
    site.init_ok()

    def sec(key, default):
        v = opts.get(key)
        return float(v) / 1000.0 if v else default

    def stream():
        rc, results = "ERROR", {}
        try:
            with engine.new_context() as fl_ctx:
                rc, res = LogStreamer.stream_log(
                    channel=init["channel"], topic=init["topic"], stream_ctx={}, targets=init["targets"],
                    file_name=init["file"], fl_ctx=fl_ctx, stop_event=stop_event,
                    poll_interval=sec("poll_interval_ms", 0.5), liveness_interval=sec("liveness_interval_ms", 10.0),
                    chunk_size=int(opts.get("chunk_size") or 0) or None, chunk_timeout=sec("chunk_timeout_ms", 5.0),
                )
            for t in init["targets"]:
                r = res.get(t) if isinstance(res, dict) else None
                results[t] = r.get_return_code() if r is not None else rc
        except Exception as ex:  # noqa: BLE001 - FLARE raised: the stream ended in error
            logging.exception("stream_log raised")
            rc = "ERROR"
            results = {t: f"EXCEPTION {ex!r}"[:80] for t in init["targets"]}
        site.result(rc, results)

    threading.Thread(target=stream, name="stream_log", daemon=True).start()


def main():
    try:
        init = site.wait_init(timeout=60)
        if init.get("role") == "sender":
            run_sender(init)
        else:
            run_receiver(init)
    except Exception as ex:  # noqa: BLE001 - reported to the harness, then exit at once
        logging.exception("site failed")
        site.error(f"flare_site: {ex!r}")
        sys.stderr.flush()
        os._exit(1)
    site.run_until_exit()


if __name__ == "__main__":
    main()
