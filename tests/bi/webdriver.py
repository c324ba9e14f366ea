"""A minimal W3C WebDriver client (standard library) for Debian's chromium-driver.

Why not Selenium or Playwright: the main venv has neither, Playwright downloads its own browser (no
network here), and the handful of WebDriver commands a dashboard test needs (open a page, type, click,
run a script, take a screenshot) are plain JSON over HTTP to chromedriver.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.bi.browser import FLAGS, chromium

ELEMENT = "element-6066-11e4-a4c6-4a6f37e3e2b0"  # the W3C key of an element reference


def chromedriver() -> str:
    found = shutil.which("chromedriver")
    if not found:
        raise AssertionError("chromedriver is needed: apt-get install -y chromium-driver (see .ci/run)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One headless Chromium session driven through chromedriver; use as a context manager."""

    def __init__(self, profile: Path, width: int = 1600, height: int = 2400):
        self.port = _free_port()
        self.driver = subprocess.Popen(
            [chromedriver(), f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["value"].get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.driver.poll() is not None:
                self.driver.kill()
                raise AssertionError("chromedriver did not start")
            time.sleep(0.2)
        args = [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": {"binary": chromium(), "args": args},
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 120) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"webdriver {method} {path}: {exc.read().decode()[:500]}") from None

    def _s(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)["value"]

    def open(self, url: str) -> None:
        self._s("POST", "/url", {"url": url})

    def refresh(self) -> None:
        self._s("POST", "/refresh", {})

    def url(self) -> str:
        return self._s("GET", "/url")

    def run(self, script: str, *args):
        """Run a function body in the page (`return ...` gives the value back)."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        found = self._s("POST", "/element", {"using": "css selector", "value": css})
        return found.get(ELEMENT) or found.get("ELEMENT") or next(iter(found.values()))

    def type(self, css: str, text: str) -> None:
        self._s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self._s("POST", f"/element/{self.find(css)}/click", {})

    def wait(self, script: str, timeout_s: float, what: str, interval_s: float = 0.5):
        """Poll a page script until it returns something truthy; fail with `what` after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            time.sleep(interval_s)

    def screenshot(self, png: Path) -> Path:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(self._s("GET", "/screenshot")))
        return png

    def close(self) -> None:
        with contextlib.suppress(OSError, AssertionError):
            self._call("DELETE", f"/session/{self.session}", timeout=30)
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
