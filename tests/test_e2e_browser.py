"""The real app in a real browser: import a file, accept a sample in Review, export it, find it on disk.

Starts ``streamlit run app.py`` on a free port (as datasette's Playwright tests start their server) and drives it with
the system's Chromium. It fails, rather than skips, when Chromium is missing: CI must run it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
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


@pytest.fixture
def server(tmp_path):
    yield from _serve(tmp_path)


@pytest.fixture
def mapped_server(tmp_path):
    """The app over a workspace that already has embeddings and a map (tests/map_workspace.py: 16 samples, 3
    groups), built before the server opens the file (DuckDB allows one writer process)."""
    from map_workspace import build

    from core import auth
    from core.store import Store
    from core.workspace_map import build_map

    with Store(tmp_path / "ws.duckdb") as store:
        build(store, user="e2e")
        build_map(store, k=3, user="e2e")
        auth.add_user(store, "e2e", "admin", PASSWORD, by="e2e")  # the first account must be an admin
    yield from _serve(tmp_path)


def _serve(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "WINNOW_DB": str(tmp_path / "ws.duckdb"),
        "WINNOW_EXPORT_DIR": str(tmp_path / "exports"),
        "WINNOW_USER": "e2e",
        "PYTHONUNBUFFERED": "1",  # the URL line must arrive when it is printed
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
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
def chromium_page():
    """A page in Debian's Chromium, with generous waits. Fails, never skips, when Chromium is missing: CI must run it."""
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is not installed (apt-get install -y chromium); this test must run, not skip"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)
            expect.set_options(timeout=STEP_MS)
            yield page
        finally:
            browser.close()


def sign_in(page, name: str, password: str, *, first_admin: bool = False) -> None:
    """Fill the app's sign-in form (or, on a workspace without accounts, the first-admin form)."""
    from playwright.sync_api import expect

    heading = "Create the first admin" if first_admin else "Sign in"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    if first_admin:
        page.get_by_label("Password again").fill(password)
        page.get_by_role("button", name="Create admin and sign in").click()
    else:
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


@pytest.mark.e2e
def test_import_review_export_in_chromium(server):
    from playwright.sync_api import expect

    base, tmp_path = server
    with chromium_page() as page:
        page.goto(base)
        # A new workspace has no accounts: the first person to open it creates its admin.
        sign_in(page, "e2e", PASSWORD, first_admin=True)

        # Import a fixture file by its path on the server.
        expect(page.get_by_role("heading", name="Import")).to_be_visible()
        page.get_by_text("A file on the server").click()
        path_box = page.get_by_label("Path on the server")
        path_box.fill(str(DATA / "chats_openai.jsonl"))
        path_box.press("Enter")
        expect(page.get_by_text("Detected format:")).to_be_visible()
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_text("Imported 4 records from chats_openai.jsonl")).to_be_visible()

        # Accept the first sample in Review.
        page.get_by_role("link", name="Review").click()
        expect(page.get_by_text("What is the capital of Peru?").first).to_be_visible()
        page.get_by_role("button", name="Accept").click()
        expect(page.get_by_text("1 of 4 reviewed").first).to_be_visible()
        expect(page.get_by_text("Name a prime number above 10.").first).to_be_visible()

        # Export the accepted samples as Alpaca (the default format and status).
        page.get_by_role("link", name="Export").click()
        expect(page.get_by_text("1 samples match")).to_be_visible()
        page.get_by_role("button", name="Export", exact=True).click()
        expect(page.get_by_text("Wrote 1 records")).to_be_visible()
        expect(page.get_by_role("button", name="Download winnow-alpaca.jsonl")).to_be_visible()

    lines = (tmp_path / "exports" / "winnow-alpaca.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "instruction": "What is the capital of Peru?",
            "input": "",
            "output": "Lima.",
            "system": "You are a terse assistant.",
        }
    ]


@pytest.mark.e2e
def test_map_box_selection_and_bulk_accept_in_chromium(mapped_server):
    from playwright.sync_api import expect

    base, _ = mapped_server
    with chromium_page() as page:
        page.goto(base)
        sign_in(page, "e2e", PASSWORD)
        page.get_by_role("link", name="Explore").click()
        expect(page.get_by_text("Showing all 16 samples")).to_be_visible()

        # Choose the box-select tool in the modebar, then drag a box over the whole plot area.
        plot = page.locator(".js-plotly-plot").first
        plot.hover()
        plot.locator('.modebar-btn[data-title="Box Select"]').click()
        box = plot.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + 3, box["y"] + 3)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
        page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3, steps=5)
        page.mouse.up()
        expect(page.get_by_text("16 selected")).to_be_visible()

        page.get_by_role("button", name="Accept", exact=True).click()
        expect(page.get_by_text("Accepted 16 samples.")).to_be_visible()
        expect(page.get_by_text("16 of 16 reviewed").first).to_be_visible()
