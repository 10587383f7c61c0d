"""A page in a real headless Chromium, driven over the Chrome DevTools Protocol.

Debian's `chromium` (`.ci/run` installs it) runs with no network: every host name resolves to
nothing and no proxy is used, so a page that needs anything from outside shows it as a failed
request. Its DevTools endpoint listens on 127.0.0.1 only; `websockets` (installed with
Prefect) talks to it. `open_page` loads a file and returns what a person would have seen:
the console's errors, every request the page made, its images, and a full-page screenshot.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    # No name resolves: a page reaching for a CDN fails instead of depending on the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # any free port: Chromium writes it to DevToolsActivePort
)
# Waits for Chromium and the page, not assertions: a slow machine only waits longer.
START_WAIT_S = 60
EVENT_WAIT_S = 60
WIDTH = 1280


def chromium_path() -> str | None:
    return shutil.which(CHROMIUM)


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    images: list[dict[str, Any]] = field(default_factory=list)  # src start, complete, size
    value: Any = None  # what the `check` script returned


class DevTools:
    """One websocket to the browser; commands go to a page through its session id."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=EVENT_WAIT_S))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        """The session's first event `method` not yet seen; other events read are kept."""
        for index, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(index)
        while True:
            event = json.loads(self.socket.recv(timeout=EVENT_WAIT_S))
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)


def _endpoint(profile: Path, process: subprocess.Popen) -> str:
    """The browser's websocket URL, once Chromium has written it into its profile folder."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        lines = port_file.read_text().split() if port_file.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise RuntimeError(f"chromium wrote no {port_file} in {START_WAIT_S} s")


@contextmanager
def browser(profile: Path) -> Iterator[DevTools]:
    """A headless Chromium with a fresh profile in `profile`, stopped afterwards."""
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [chromium_path() or CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_endpoint(profile, process), max_size=None, proxy=None) as socket:
            yield DevTools(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_IMAGES = """Array.from(document.images).map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight
}))"""
# Resolves once `ready` (a JS expression) holds, or with false after `limit` ms.
_WAIT_UNTIL = """new Promise(done => {{
  const start = performance.now();
  (function poll() {{
    if ({ready}) done(true);
    else if (performance.now() - start > {limit}) done(false);
    else setTimeout(poll, 50);
  }})();
}})"""


def _evaluate(tools: DevTools, session: str, expression: str) -> Any:
    result = tools.call(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
    return result["result"].get("value")


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
    return found


def open_page(
    tools: DevTools,
    page: Path,
    screenshot: Path,
    ready: str = "true",
    check: str = "null",
) -> PageResult:
    """Load `page`, wait until the JS expression `ready` holds (at most EVENT_WAIT_S), run
    the JS expression `check`, save a full-page PNG to `screenshot`, and say what happened."""
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Runtime", "Log", "Network", "Page"):
        tools.call(f"{domain}.enable", session=session)
    tools.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session,
    )
    tools.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
    tools.wait_for("Page.loadEventFired", session)
    result = PageResult()
    ready_now = _evaluate(
        tools, session, _WAIT_UNTIL.format(ready=ready, limit=EVENT_WAIT_S * 1000)
    )
    if not ready_now:
        result.errors.append(f"never ready: {ready}")
    result.images = _evaluate(tools, session, _IMAGES)
    result.value = _evaluate(tools, session, check)
    size = tools.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
    shot = tools.call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WIDTH, "height": size["height"], "scale": 1},
        },
        session,
    )
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    events = [e for e in tools.events if e.get("sessionId") == session]
    result.errors += _errors(events)
    result.requests = [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    tools.call("Target.closeTarget", {"targetId": target})
    return result


def outside_requests(requests: list[str]) -> list[str]:
    """The requests that would need a network: anything but the page's own files and data."""
    return [url for url in requests if not url.startswith(("file:", "data:", "about:"))]
