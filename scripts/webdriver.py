"""A minimal W3C WebDriver client (standard library only) for Debian's chromium + chromedriver.

Used by tests/browser_test.py and bench/pages.py to load xgrad's HTML pages in a real, headless
browser: navigate, run scripts, hover and click elements, read the console and take screenshots.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
DRIVER_CANDIDATES = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]


def find_browser():
    """(browser, driver) paths, or None when either is missing."""
    browser = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)
    driver = next((p for p in DRIVER_CANDIDATES if os.access(p, os.X_OK)), shutil.which("chromedriver"))
    return (browser, driver) if browser and driver else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One headless chromium session; use as a context manager."""

    def __init__(self, browser, driver, width=1300, height=1600):
        self.port = _free_port()
        self.driver = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            if time.time() > deadline or self.driver.poll() is not None:
                self.driver.kill()
                raise WebDriverError("chromedriver did not start within 30 s")
            time.sleep(0.1)
        options = {"binary": browser, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                               f"--window-size={width},{height}", "--hide-scrollbars"]}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options,
                                                 "goog:loggingPrefs": {"browser": "ALL"}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self._call("DELETE", f"/session/{self.session}")
        except (OSError, WebDriverError):
            pass
        self.driver.terminate()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            self.driver.kill()

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.read().decode(errors='replace')[:500]}") from None

    def _s(self, path):
        return f"/session/{self.session}{path}"

    def open(self, path):
        self._call("POST", self._s("/url"), {"url": "file://" + os.path.abspath(path)})

    def run(self, script, *args):
        """Runs `script` (a function body; arguments in `arguments`) in the page; returns its value."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def wait_for(self, expression, timeout=20):
        deadline = time.time() + timeout
        while not self.run(f"return Boolean({expression});"):
            if time.time() > deadline:
                raise WebDriverError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def find(self, css):
        """The first element matching `css` (a WebDriver element reference)."""
        found = self._call("POST", self._s("/element"), {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def hover(self, css):
        element = self.find(css)
        origin = {"element-6066-11e4-a52e-4f735466cecf": element}
        self._call("POST", self._s("/actions"), {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                                                              "actions": [{"type": "pointerMove", "duration": 0, "origin": origin, "x": 0, "y": 0}]}]})

    def click(self, css):
        self._call("POST", self._s(f"/element/{self.find(css)}/click"), {})

    def console_errors(self):
        """SEVERE entries of the browser's console log since the last call."""
        entries = self._call("POST", self._s("/se/log"), {"type": "browser"}) or []
        return [e["message"] for e in entries if e.get("level") == "SEVERE"]

    def run_async(self, script, *args):
        """Runs `script`, which calls arguments[arguments.length - 1](value) when done; returns the value."""
        return self._call("POST", self._s("/execute/async"), {"script": script, "args": list(args)})

    def colour_count(self, png):
        """How many distinct colours a PNG holds, sampling every 7th pixel (a blank page has one or two).
        Decoded by the browser itself: a canvas reads it faster than a pure-Python PNG decoder."""
        return self.run_async("""
            var done = arguments[arguments.length - 1], img = new Image();
            img.onload = function () {
              var c = document.createElement("canvas");
              c.width = img.width; c.height = img.height;
              var ctx = c.getContext("2d");
              ctx.drawImage(img, 0, 0);
              var d = ctx.getImageData(0, 0, c.width, c.height).data, seen = new Set();
              for (var i = 0; i < d.length; i += 28) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
              done(seen.size);
            };
            img.onerror = function () { done(-1); };
            img.src = "data:image/png;base64," + arguments[0];""", base64.b64encode(png).decode())

    def screenshot(self, path):
        png = base64.b64decode(self._call("GET", self._s("/screenshot")))
        with open(path, "wb") as f:
            f.write(png)
        return png
