"""A real Chat Completions server on 127.0.0.1 for tests, with scripted behaviours.

The `openai` client talks to it over a socket, so the tests exercise the real protocol path: HTTP
status codes, headers (Retry-After), timeouts, response_format, usage. Each request takes the next
scripted behaviour; when the script is empty the server answers with a good verdict built from the
prompt (every rubric criterion met, quoting the answer's first sentence).

Run it by hand for a demo: `python tests/chat_server.py --port 8765`, then
`OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=x evaluate examples/answer.txt --judge openai`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = re.compile(r"<<<ANSWER id=([0-9a-f]+)>>>")
CRITERION_LINE = re.compile(r"^- ([a-z0-9]+(?:-[a-z0-9]+)*) · 权重 ", re.M)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] == "system"), "")

    @property
    def user(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] == "user"), "")

    @property
    def response_format(self) -> str | None:
        rf = self.body.get("response_format")
        return rf.get("type") if isinstance(rf, dict) else None


Behaviour = Callable[[Recorded], Reply]


# -- reading the prompt ---------------------------------------------------------------------------
def answer_block(rec: Recorded) -> str:
    """The answer between the markers whose id the system prompt names (the real ones)."""
    found = MARKER.search(rec.system)
    if not found:
        raise ValueError("no answer marker in the system prompt")
    start, end = f"<<<ANSWER id={found.group(1)}>>>\n", f"\n<<<END ANSWER id={found.group(1)}>>>"
    user = rec.user
    i = user.index(start) + len(start)
    return user[i : user.index(end, i)]


def criterion_ids(rec: Recorded) -> list[str]:
    return CRITERION_LINE.findall(rec.user)


def first_sentence(answer: str) -> str:
    return re.split(r"(?<=[。！？.!?])|\n", answer.strip(), maxsplit=1)[0].strip()


# -- behaviours -----------------------------------------------------------------------------------
def completion(rec: Recorded, content: str, finish_reason: str = "stop") -> dict[str, Any]:
    prompt_tokens = sum(len(m.get("content") or "") for m in rec.messages) // 4 + 1
    completion_tokens = len(content) // 4 + 1
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": rec.body.get("model", "test-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def verdict_dict(
    rec: Recorded,
    level: str = "met",
    evidence: str | None = None,
    extra_ids: tuple[str, ...] = (),
    drop_ids: tuple[str, ...] = (),
    ignored: tuple[str, ...] = (),
) -> dict[str, Any]:
    quote = first_sentence(answer_block(rec)) if evidence is None else evidence
    ids = [cid for cid in criterion_ids(rec) if cid not in drop_ids] + list(extra_ids)
    return {
        "feedback": "回答覆盖了主要要点。",
        "criteria": [
            {"criterion_id": cid, "evidence": quote, "comment": "测试服务器的判定", "level": level} for cid in ids
        ],
        "errors": [],
        "ignored_instructions": list(ignored),
    }


def good(**kwargs: Any) -> Behaviour:
    """A valid verdict for the rubric in the prompt (kwargs as in verdict_dict)."""
    return lambda rec: Reply(body=completion(rec, json.dumps(verdict_dict(rec, **kwargs), ensure_ascii=False)))


def content(text: str, finish_reason: str = "stop") -> Behaviour:
    """A reply whose content is `text`, verbatim (malformed JSON, prose, ...)."""
    return lambda rec: Reply(body=completion(rec, text, finish_reason))


def error(
    status: int, message: str = "error", headers: dict[str, str] | None = None, code: str | None = None
) -> Behaviour:
    body = {"error": {"message": message, "type": "test_error", "code": code}}
    return lambda rec: Reply(status=status, body=body, headers=dict(headers or {}))


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Answer only after `seconds` (longer than the client's timeout: a timeout)."""
    inner = then or good()

    def run(rec: Recorded) -> Reply:
        reply = inner(rec)
        reply.delay = seconds
        return reply

    return run


def echo_key_401(rec: Recorded) -> Reply:
    """Like a real provider: the 401 message quotes the key it was given."""
    key = rec.headers.get("authorization", "").removeprefix("Bearer ")
    body = {"error": {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error"}}
    return Reply(status=401, body=body)


# -- the server -----------------------------------------------------------------------------------
class ChatServer:
    """Start with `with ChatServer() as server:` (or start()/stop()); `server.url` is the base URL."""

    def __init__(self, port: int = 0):
        self.script: deque[Behaviour] = deque()
        self.requests: list[Recorded] = []
        self.default: Behaviour = good()
        self.supports_json_schema = True
        self.json_schema_status = 400  # how a server without json_schema refuses it (llama-cpp-python: 500)
        self.accepts_object_schema = True  # response_format {"type": "json_object", "schema": ...}
        self.delay = 0.0  # added to every request (for the concurrency test)
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.script.clear()
            self.requests.clear()
            self.default = good()
            self.supports_json_schema = True
            self.json_schema_status = 400
            self.accepts_object_schema = True
            self.delay = 0.0
            self.in_flight = self.max_in_flight = 0

    def then(self, *behaviours: Behaviour) -> None:
        self.script.extend(behaviours)

    def respond(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            behaviour = self.script.popleft() if self.script else self.default
            schema_ok, status, object_schema_ok = (
                self.supports_json_schema, self.json_schema_status, self.accepts_object_schema
            )  # fmt: skip
        if rec.path.rstrip("/") != "/v1/chat/completions":
            return Reply(status=404, body={"error": {"message": f"no route {rec.path}"}})
        if not schema_ok and rec.response_format == "json_schema":
            message = (
                "1 validation error: {'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be "
                "'text' or 'json_object'\", 'input': 'json_schema'}"
            )
            return Reply(status=status, body={"error": {"message": message, "code": None}})
        if not object_schema_ok and rec.response_format == "json_object" and "schema" in rec.body["response_format"]:
            return Reply(status=400, body={"error": {"message": "Unknown parameter: 'response_format.schema'."}})
        return behaviour(rec)


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            rec = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                reply = server.respond(rec)
                time.sleep(reply.delay + server.delay)
                data = json.dumps(reply.body, ensure_ascii=False).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)
            finally:
                with server._lock:
                    server.in_flight -= 1

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted Chat Completions test server (good verdicts).")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = ChatServer(args.port)
    print(f"serving Chat Completions at {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever()


if __name__ == "__main__":
    main()
