"""A real headless Chromium driven over its DevTools protocol (websockets): open a page,
click a button as a user would, read where it went and what it says. The pages under
test have no JavaScript of their own; the click comes from outside, like a user's."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)


class Browser:
    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self._process = subprocess.Popen(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._process.stderr is not None
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = self._process.stderr.readline()
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        assert port is not None, "Chromium did not open its DevTools port"
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(p for p in pages if p["type"] == "page")
        self._ws = connect(page["webSocketDebuggerUrl"], max_size=None)
        self._ids = itertools.count(1)

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=30))
            if message.get("id") == call_id:
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self._call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str) -> str:
        """Navigate and wait for the page; returns its text."""
        self._call("Page.navigate", url=url)
        return self._wait_for(lambda: self.evaluate("location.href") == url)

    def click(self, selector: str) -> str:
        """Click an element (a form's submit button) and wait for the next page."""
        before = self.evaluate("document.body.innerText")
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        return self._wait_for(lambda: self.evaluate("document.body.innerText") != before)

    def _wait_for(self, ready: Any) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if ready() and self.evaluate("document.readyState") == "complete":
                return str(self.evaluate("document.body.innerText"))
            time.sleep(0.1)
        raise AssertionError("the page did not load in 30 s")

    def close(self) -> None:
        self._ws.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
