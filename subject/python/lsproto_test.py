"""Tests of lsproto (standard library only): python3 -m unittest lsproto_test (from this directory)."""

import io
import json
import os
import threading
import unittest

import lsproto


class Pipe:
    """A pair of OS pipes standing in for the harness: lines in, lines out."""

    def __init__(self):
        r, self.w = os.pipe()
        self.rout, w2 = os.pipe()
        self.site_in = os.fdopen(r, "rb")
        self.site_out = os.fdopen(w2, "wb")
        self.to_site = os.fdopen(self.w, "wb")
        self.from_site = os.fdopen(self.rout, "rb")

    def send(self, obj):
        self.to_site.write(json.dumps(obj).encode() + b"\n")
        self.to_site.flush()

    def recv(self):
        return json.loads(self.from_site.readline())


class SiteTest(unittest.TestCase):
    def setUp(self):
        self.p = Pipe()
        self.site = lsproto.Site(stdin=self.p.site_in, stdout=self.p.site_out)

    def test_init_and_version(self):
        self.p.send({"type": "init", "protocol": 1, "role": "receiver", "site": "r1"})
        self.assertEqual(self.site.wait_init(5)["site"], "r1")
        self.site.init_ok()
        self.assertEqual(self.p.recv(), {"type": "init_ok", "protocol": 1})

    def test_unknown_version_is_refused(self):
        self.p.send({"type": "init", "protocol": 7})
        with self.assertRaises(lsproto.ProtocolError):
            self.site.wait_init(5)
        line = self.p.recv()
        self.assertEqual(line["type"], "error")
        self.assertIn("protocol 7", line["text"])

    def test_request_matches_out_of_order_replies(self):
        results = {}

        def ask(name):
            results[name] = self.site.request(name, {"q": name}, timeout=5, meta={"kind": "data"})

        threads = [threading.Thread(target=ask, args=(n,)) for n in ("r1", "r2")]
        for t in threads:
            t.start()
        sends = [self.p.recv(), self.p.recv()]
        by_to = {s["to"]: s for s in sends}
        # Answer r2 first.
        self.p.send({"type": "reply", "id": by_to["r2"]["id"], "from": "r2", "body": {"a": 2}})
        self.p.send({"type": "reply", "id": by_to["r1"]["id"], "from": "r1", "body": {"a": 1}})
        for t in threads:
            t.join(5)
        self.assertEqual(results, {"r1": (True, {"a": 1}), "r2": (True, {"a": 2})})

    def test_request_times_out(self):
        self.assertEqual(self.site.request("r1", {}, timeout=0.05), (False, None))

    def test_deliver_replies_once_with_meta(self):
        self.site.on("deliver", lambda line: ({"echo": line["body"]}, {"rc": "OK"}))
        self.p.send({"type": "deliver", "id": 9, "from": "sender", "body": 5})
        self.assertEqual(self.p.recv(), {"type": "reply", "id": 9, "body": {"echo": 5}, "meta": {"rc": "OK"}})

    def test_no_reply(self):
        self.site.on("deliver", lambda line: lsproto.NO_REPLY if line["id"] == 1 else "ok")
        self.p.send({"type": "deliver", "id": 1, "from": "sender", "body": 1})
        self.p.send({"type": "deliver", "id": 2, "from": "sender", "body": 2})
        self.assertEqual(self.p.recv(), {"type": "reply", "id": 2, "body": "ok"})

    def test_fire_and_forget_delivery_gets_no_reply(self):
        got = threading.Event()
        self.site.on("deliver", lambda line: got.set())
        self.p.send({"type": "deliver", "id": 3, "from": "sender", "body": 1, "reply": False})
        self.assertTrue(got.wait(5))
        self.site.chunk("s1", 0, b"hi")
        self.assertEqual(self.p.recv(), {"type": "chunk", "stream": "s1", "offset": 0, "data": "aGk="})

    def test_control_line_before_its_handler(self):
        self.p.send({"type": "stop"})
        self.p.send({"type": "init", "protocol": 1})
        self.site.wait_init(5)
        got = threading.Event()
        self.site.on("stop", lambda line: got.set())
        self.assertTrue(got.wait(5))

    def test_unknown_type_is_an_error(self):
        self.p.send({"type": "gossip"})
        line = self.p.recv()
        self.assertEqual(line["type"], "error")
        self.assertIn("gossip", line["text"])
        self.assertTrue(self.site.exited.wait(5))


if __name__ == "__main__":
    unittest.main()
