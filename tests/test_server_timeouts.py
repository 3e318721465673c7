"""Issue 20: a client that opens a connection and sends its headers slowly (or nothing) is answered
408 and disconnected after HEADER_TIMEOUT_S, by a real uvicorn server started the way
`mockinterview serve` starts it; normal and kept-alive requests are untouched, and an idle
kept-alive connection is closed by uvicorn's own keep-alive timeout."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from support import make_settings

from app.main import create_app
from app.scoring.scorer import Scorer
from app.server import http_protocol, uvicorn_config

HEADER_TIMEOUT_S = 1.0
KEEP_ALIVE_S = 3
# Generous bounds: only "the server closed the connection", never how fast.
CLOSED_WITHIN_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["httptools", "h11"])
def address(
    request: pytest.FixtureRequest, scorer: Scorer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    db: Path = tmp_path_factory.mktemp("header-timeout") / "db.sqlite"
    settings = make_settings(database_url=f"sqlite:///{db}", header_timeout_s=HEADER_TIMEOUT_S)
    port = _free_port()
    config = uvicorn_config(
        create_app(settings, scorer=scorer),
        settings=settings,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=http_protocol(settings, implementation=request.param),
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield ("127.0.0.1", port)
    server.should_exit = True
    thread.join(timeout=15)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    sock.settimeout(CLOSED_WITHIN_S)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open; received {data!r}")
    return data


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response with a Content-Length body: status, headers, body."""
    sock.settimeout(CLOSED_WITHIN_S)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "closed inside the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def _assert_408(raw: bytes) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), raw
    assert b"connection: close" in head.lower(), head
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout", error
    assert "MOCKINTERVIEW_HEADER_TIMEOUT_S" in error["message"], error


def test_a_partial_request_line_is_answered_408_and_closed(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /heal")  # then nothing
        _assert_408(_until_closed(sock))


def test_a_silent_connection_is_answered_408_and_closed(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        _assert_408(_until_closed(sock))


def test_headers_trickled_a_byte_at_a_time_do_not_keep_the_connection(address: tuple[str, int]) -> None:
    """Each byte arrives well within the timeout, but the headers as a whole never finish: the
    deadline runs from the request's first byte, so more bytes do not extend it."""
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        start = time.monotonic()
        while time.monotonic() - start < CLOSED_WITHIN_S:
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                break
            try:
                sock.sendall(b"a")
            except OSError:  # closed under us: the answer is already waiting
                break
        _assert_408(_until_closed(sock))


def test_normal_and_kept_alive_requests_still_work(address: tuple[str, int]) -> None:
    """Two requests on one connection with a pause longer than the header timeout (but shorter than
    the keep-alive timeout) between them; then the idle connection is closed by the keep-alive
    timeout, without a 408."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(address) as sock:
        sock.sendall(request)
        status, headers, body = _response(sock)
        assert status == 200, body
        assert headers.get("connection", "keep-alive") != "close"
        time.sleep(HEADER_TIMEOUT_S * 1.5)  # idle between requests is the keep-alive timeout's job
        sock.sendall(request)
        status, _, body = _response(sock)
        assert status == 200, body
        assert json.loads(body)["status"] == "ok"
        assert _until_closed(sock) == b""  # closed for idleness: no 408 on a connection at rest


def test_a_body_sent_promptly_after_its_headers_is_read(address: tuple[str, int]) -> None:
    """The header deadline stops at the end of the headers: a request whose body follows later
    than the header timeout is governed by BODY_TIMEOUT_S (30 s) instead, and answered normally."""
    body = b'{"question_id": "no-such-question", "answer": "x"}'
    head = (
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(address) as sock:
        sock.sendall(head)
        time.sleep(HEADER_TIMEOUT_S * 1.5)
        sock.sendall(body)
        status, _, answer = _response(sock)
        assert status == 404, answer
        assert json.loads(answer)["error"]["code"] == "question_not_found", answer


def test_serve_uses_uvicorns_default_parser_with_the_deadline() -> None:
    """`mockinterview serve` starts uvicorn through uvicorn_config: with httptools installed (as
    uvicorn[standard] installs it) that is uvicorn's default parser, with the setting's deadline."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn_config(
        object(), settings=make_settings(header_timeout_s=7.5), host="127.0.0.1", port=_free_port()
    )
    assert isinstance(config.http, type) and issubclass(config.http, HttpToolsProtocol)
    assert config.http.header_timeout_s == 7.5  # type: ignore[attr-defined]
