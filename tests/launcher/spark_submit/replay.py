"""A real HTTP server on 127.0.0.1 that answers with recorded ResourceManager / Kubernetes
answers (``recorded/``) in a scripted order and keeps every request it got.

It stands in for YARN and Kubernetes only, which cannot run here; the adapter's own HTTP client
code runs unchanged against it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def recorded(name: str, status: int = 200) -> Answer:
    path = RECORDED / name
    return Answer(status, path.read_bytes(), "application/json" if name.endswith(".json") else "text/plain")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Replay:
    """``script[(METHOD, path)]``: answers in order; the last one repeats."""

    script: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                replay.requests.append(Request(self.command, url.path, parse_qs(url.query),
                                               dict(self.headers), self.rfile.read(length)))
                answers = replay.script.get((self.command, url.path))
                if not answers:
                    answer = Answer(404, b'{"message": "not scripted"}')
                else:
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.script[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
