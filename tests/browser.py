"""What the browser tests share: the real server (``streamlit run serve.py``) on a free port, and Debian's Chromium
driven by Playwright.

The server is started as datasette's Playwright tests start theirs, and waited for by its own words (the "URL:"
line it prints once it listens), never by polling. Chromium is the system's (``apt-get install -y chromium``);
Playwright's own browser download is never used. A missing Chromium fails the test, never skips it: CI must run it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from patience import HANG_MS, HANG_S

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "pages"
STEP_MS = HANG_MS  # Playwright's wait for each step: a hang guard, never a race
PASSWORD = "e2e-password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, url: str) -> None:
    """Read the server's output until it says where it listens (it binds its port first, then prints the URL), then
    check that it answers. No polling: its own words are the signal."""
    said = []
    for line in proc.stdout:
        said.append(line)
        if "URL: http" in line:
            break
    else:
        raise AssertionError(f"streamlit exited with {proc.wait()}:\n{''.join(said)}")
    # Keep reading what it prints, so a full pipe never blocks it.
    threading.Thread(target=lambda: all(True for _ in proc.stdout), daemon=True).start()
    with urllib.request.urlopen(url, timeout=HANG_S) as response:
        assert response.status == 200


def serve(tmp_path: Path, **env):
    """Run the app over ``tmp_path/ws.duckdb`` (exports in ``tmp_path/exports``) until the generator is closed.

    Yields:
        (base URL, tmp_path).
    """
    port = free_port()
    env = {
        **os.environ,
        "WINNOW_DB": str(tmp_path / "ws.duckdb"),
        "WINNOW_EXPORT_DIR": str(tmp_path / "exports"),
        "WINNOW_USER": "e2e",
        "PYTHONUNBUFFERED": "1",  # the URL line must arrive when it is printed
        **env,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "serve.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_listening(proc, f"http://127.0.0.1:{port}/_stcore/health")
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(*, height: int = 1000):
    """A browser in Debian's Chromium, with generous waits; yields ``new_page()``, which opens a page in a context of
    its own (its own cookies: another person)."""
    from playwright.sync_api import expect, sync_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is not installed (apt-get install -y chromium); this test must run, not skip"
    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:

            def new_page():
                page = browser.new_context(viewport={"width": 1400, "height": height}).new_page()
                page.set_default_timeout(STEP_MS)
                return page

            yield new_page
        finally:
            browser.close()


@contextmanager
def chromium_page(*, height: int = 1000):
    """One page in Debian's Chromium (see ``chromium``)."""
    with chromium(height=height) as new_page:
        yield new_page()


def sign_in(page, name: str, password: str, *, first_admin: bool = False) -> None:
    """Fill the app's sign-in form (or, on a workspace without accounts, the first-admin form), and wait until the
    browser keeps the sign-in in its cookie (the page hands it a code right after)."""
    from playwright.sync_api import expect

    heading = "Create the first admin" if first_admin else "Sign in"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(lambda r: r.url.endswith("/winnow/session") and r.status == 204):
        if first_admin:
            page.get_by_label("Password again").fill(password)
            page.get_by_role("button", name="Create admin and sign in").click()
        else:
            page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {name}")).to_be_visible()
    idle(page)


def idle(page) -> None:
    """Wait until the page's script run has ended (Streamlit marks its app element ``notRunning``). A key pressed
    while a run still draws the page can be lost: its shortcut's button is drawn anew. Call it after observing
    something the run drew, so the run it waits for is the one that drew it."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
