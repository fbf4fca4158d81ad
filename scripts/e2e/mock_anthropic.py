#!/usr/bin/env python3
"""A loopback stand-in for the Anthropic Messages API, for scripts/e2e-claude-code.sh.

Answers POST /v1/messages with a short assistant reply (SSE when the request asks to stream,
plain JSON otherwise) and the unified rate-limit headers a Pro/Max account gets, so Claude Code
puts `rate_limits` into its statusLine stdin. Every other path gets `{}` with 200. Every request
line is appended to the log file so you can see what the client calls.

The utilizations start at MOCK_5H_UTILIZATION / MOCK_7D_UTILIZATION (fractions, default 0.42 and
0.18) and can be changed while it runs: `POST /_mock/ratelimits` with e.g. `{"5h": 0.86}` sets
the numbers every later reply carries and answers with the current ones. `{"reject": true}` makes
every later POST /v1/messages the 429 a subscription at its 5-hour cap gets (until `{"reject":
false}`): `rate_limit_error` body, `anthropic-ratelimit-unified-status: rejected`.

GET /api/oauth/usage answers a `limits[]` body (session and weekly from the same numbers, plus an
Opus weekly row at MOCK_OPUS_UTILIZATION, default 91 %), so `ccmeter refresh` can fill the store
with a per-model window the way the real endpoint does.

usage: mock_anthropic.py PORT_FILE LOG_FILE   (binds 127.0.0.1 on a free port, writes it to PORT_FILE)
"""
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2]
REPLY = "Hello from the mock."
LIMITS = {
    "5h": float(os.environ.get("MOCK_5H_UTILIZATION", "0.42")),
    "7d": float(os.environ.get("MOCK_7D_UTILIZATION", "0.18")),
    "opus": float(os.environ.get("MOCK_OPUS_UTILIZATION", "0.91")),
    "reject": False,
}
LIMITS_LOCK = threading.Lock()
# Fixed for the mock's lifetime and on the hour, as the real service's are: a window's reset time
# names its period (ccmeter's hook announces once per period), so it must not move per request.
_HOUR = int(time.time()) // 3600 * 3600
RESET_5H = _HOUR + 2 * 3600
RESET_7D = _HOUR + 3 * 86400


def ratelimit_headers():
    with LIMITS_LOCK:
        five, seven = LIMITS["5h"], LIMITS["7d"]
    return {
        "anthropic-ratelimit-unified-status": "allowed",
        "anthropic-ratelimit-unified-5h-status": "allowed",
        "anthropic-ratelimit-unified-5h-utilization": f"{five:g}",
        "anthropic-ratelimit-unified-5h-reset": str(RESET_5H),
        "anthropic-ratelimit-unified-7d-status": "allowed",
        "anthropic-ratelimit-unified-7d-utilization": f"{seven:g}",
        "anthropic-ratelimit-unified-7d-reset": str(RESET_7D),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-fallback-percentage": "0.5",
        "anthropic-ratelimit-unified-reset": str(RESET_5H),
        "request-id": "req_mock_" + uuid.uuid4().hex[:12],
    }


def rejected_headers():
    """What a Pro/Max account at its 5-hour cap gets with its 429. Header names and values as
    Claude Code reads them (its `anthropic-ratelimit-unified-*` parser, 2.1.197/2.1.332 binaries;
    the header family listed from the 2.1.191 bundle in manaflow-ai/subrouter#24): overall status
    `rejected`, the 5-hour window at 1.0 and `rejected`, the representative claim `five_hour`,
    extra usage (overage) not available."""
    h = ratelimit_headers()
    h.update({
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-utilization": "1",
        "anthropic-ratelimit-unified-overage-status": "rejected",
        "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
        "retry-after": str(max(0, RESET_5H - int(time.time()))),
    })
    return h


# The body of a subscription-cap 429 as Claude Code logged it (anthropics/claude-code#71670,
# client 2.1.114): `Error: 429 {"type":"error","error":{"type":"rate_limit_error",...}}`.
REJECTED_BODY = {
    "type": "error",
    "error": {"type": "rate_limit_error",
              "message": "This request would exceed your account's rate limit. Please try again later."},
}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def usage_body():
    with LIMITS_LOCK:
        five, seven, opus = LIMITS["5h"], LIMITS["7d"], LIMITS["opus"]
    return {
        "limits": [
            {"kind": "session", "percent": round(five * 100), "resets_at": iso(RESET_5H), "scope": None},
            {"kind": "weekly_all", "percent": round(seven * 100), "resets_at": iso(RESET_7D), "scope": None},
            {"kind": "weekly_scoped", "percent": round(opus * 100), "resets_at": iso(RESET_7D),
             "severity": "warning", "scope": {"model": {"id": None, "display_name": "Opus"}}},
        ],
        "extra_usage": None,
    }


def log(line):
    with open(LOG_FILE, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def send(self, code, payload, headers=(), ctype="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log(f"GET {self.path}")
        if self.path.split("?")[0] == "/api/oauth/usage":
            return self.send(200, usage_body())
        self.send(200, {})

    def do_HEAD(self):
        log(f"HEAD {self.path}")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        req = self.body()
        path = self.path.split("?")[0]
        log(f"POST {self.path} stream={req.get('stream')} model={req.get('model')}")
        if path == "/_mock/ratelimits":
            with LIMITS_LOCK:
                for key in ("5h", "7d", "opus"):
                    if key in req:
                        LIMITS[key] = float(req[key])
                if "reject" in req:
                    LIMITS["reject"] = bool(req["reject"])
                current = dict(LIMITS)
            log(f"    limits now {json.dumps(current)}")
            return self.send(200, current)
        if path == "/v1/messages/count_tokens":
            return self.send(200, {"input_tokens": 10})
        if path != "/v1/messages":
            return self.send(200, {})
        with LIMITS_LOCK:
            reject = LIMITS["reject"]
        if reject:
            log("    answered 429 rate_limit_error (unified-status rejected)")
            body = dict(REJECTED_BODY, request_id="req_mock_" + uuid.uuid4().hex[:12])
            return self.send(429, body, list(rejected_headers().items()))
        model = req.get("model") or "claude-sonnet-4-5"
        msg_id = "msg_mock_" + uuid.uuid4().hex[:12]
        usage = {"input_tokens": 10, "output_tokens": 6, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        headers = list(ratelimit_headers().items())
        if not req.get("stream"):
            return self.send(200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": REPLY}],
                "stop_reason": "end_turn", "stop_sequence": None, "usage": usage,
            }, headers)
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": REPLY}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 6}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        data = b"".join(f"event: {name}\ndata: {json.dumps(ev)}\n\n".encode() for name, ev in events)
        self.send(200, data, headers, ctype="text/event-stream")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
