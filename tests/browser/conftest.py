"""The app in a uvicorn thread, Debian's Chromium driven by Playwright; screenshots in tests/artifacts."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, Route, sync_playwright

from app.config import Settings
from app.main import create_app
from app.scoring.scorer import Scorer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
BASE_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SPOKEN_ANSWER = (
    "Dropout randomly zeroes activations during training, so the network cannot rely on any single "
    "neuron. It acts as a regulariser and reduces overfitting. At test time all units are kept."
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_keys": [],
        "llm": "rubric",
        "judge": "off",
        "database_url": database_url,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class LiveServer:
    url: str
    app: FastAPI


def _serve(app: FastAPI) -> Iterator[LiveServer]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_server(scorer: Scorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The whole app (real MiniLM scorer, offline rubric LLM) on a fresh SQLite file."""
    db = tmp_path_factory.mktemp("browser-db") / "mockinterview.db"
    yield from _serve(create_app(_settings(f"sqlite:///{db}"), scorer=scorer))


@pytest.fixture(scope="session")
def degraded_server(scorer: Scorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app configured for an OpenAI-compatible LLM that is not there, so every turn falls back."""
    db = tmp_path_factory.mktemp("browser-db-degraded") / "mockinterview.db"
    settings = _settings(
        f"sqlite:///{db}",
        llm="openai",
        llm_base_url=f"http://127.0.0.1:{_free_port()}/v1",
        llm_timeout_s=2.0,
        llm_max_retries=0,
    )
    yield from _serve(create_app(settings, scorer=scorer))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BASE_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spoken answer synthesised by espeak-ng: the fake microphone plays it in a loop."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: apt-get install -y espeak-ng")
    wav = tmp_path_factory.mktemp("speech") / "answer.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(wav), SPOKEN_ANSWER], check=True)
    return wav


@pytest.fixture(scope="session")
def mic_browser(playwright: Playwright, speech_wav: Path) -> Iterator[Browser]:
    """Chromium with a fake microphone that 'hears' the espeak-ng recording, permission pre-granted."""
    args = [
        *BASE_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech_wav}",
    ]
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield b
    b.close()


@dataclass
class Console:
    """Everything the page logged as an error: console.error, uncaught exceptions, failed loads."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type in ("error", "assert"):
                self.errors.append(f"console.{msg.type}: {msg.text} @ {msg.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("requestfailed", self._request_failed)

    def _request_failed(self, request: Request) -> None:
        # Every failed request counts, the streamed answers included (they were ERR_ABORTED while the
        # server sent them `Cache-Control: no-store`; see app/interviews/router.py).
        self.errors.append(f"requestfailed: {request.url} {request.failure}")

    def blocked(self, route: Route) -> None:
        """A request for anything but the app itself: refused, and an error of the page."""
        self.errors.append(f"external request blocked: {route.request.url}")
        route.abort("blockedbyclient")


def _external(url: str) -> bool:
    """Neither the app (127.0.0.1) nor the page's own data: and blob: URLs."""
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob") and parts.hostname != "127.0.0.1"


def new_page(browser: Browser, console: Console, **context_args: Any) -> Page:
    """A page in a fresh context that reaches only the app: any other host is blocked and reported,
    so a page that depends on a CDN fails its test here as it would fail offline."""
    context = browser.new_context(**context_args)
    context.set_default_timeout(30_000)
    context.route(_external, console.blocked)
    page = context.new_page()
    console.watch(page)
    return page


@pytest.fixture
def console() -> Iterator[Console]:
    c = Console()
    yield c
    assert c.errors == [], "the page logged errors:\n" + "\n".join(c.errors)
