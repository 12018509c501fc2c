"""The real app in a real browser: import a file, accept a sample in Review, export it, find it on disk.

Starts the real server on a free port and drives it with the system's Chromium (tests/browser.py). It fails, rather
than skips, when Chromium is missing: CI must run it.
"""

from __future__ import annotations

import json

import pytest
from browser import DATA, PASSWORD, chromium_page, serve, sign_in


@pytest.fixture
def server(tmp_path):
    yield from serve(tmp_path)


@pytest.fixture
def mapped_server(tmp_path):
    """The app over a workspace that already has embeddings and a map (tests/map_workspace.py: 16 samples, 3
    groups), built before the server opens the file (DuckDB allows one writer process)."""
    from map_workspace import build

    from core.map.workspace import build_map
    from core.store import Store
    from core.team import accounts

    with Store(tmp_path / "ws.duckdb") as store:
        build(store, user="e2e")
        build_map(store, k=3, user="e2e")
        accounts.add_user(store, "e2e", "admin", PASSWORD, by="e2e")  # the first account must be an admin
    yield from serve(tmp_path)


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
        expect(page.get_by_text("will be written to")).to_contain_text("1 samples")
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


@pytest.mark.e2e
def test_map_lasso_selection_and_bulk_reject_in_chromium(mapped_server):
    from playwright.sync_api import expect

    base, _ = mapped_server
    with chromium_page() as page:
        page.goto(f"{base}/explore")  # a link, through the sign-in
        sign_in(page, "e2e", PASSWORD)
        expect(page.get_by_text("Showing all 16 samples")).to_be_visible()

        # The lasso tool, then a loop drawn around the whole plot area, corner by corner.
        plot = page.locator(".js-plotly-plot").first
        plot.hover()
        plot.locator('.modebar-btn[data-title="Lasso Select"]').click()
        box = plot.locator(".nsewdrag").first.bounding_box()
        left, top = box["x"] + 3, box["y"] + 3
        right, bottom = box["x"] + box["width"] - 3, box["y"] + box["height"] - 3
        page.mouse.move(left, top)
        page.mouse.down()
        for x, y in ((right, top), (right, bottom), (left, bottom), (left, top + 5)):
            page.mouse.move(x, y, steps=8)
        page.mouse.up()
        expect(page.get_by_text("16 selected")).to_be_visible()

        page.get_by_role("button", name="Reject", exact=True).click()
        expect(page.get_by_text("Rejected 16 samples.")).to_be_visible()
        expect(page.get_by_text("16 of 16 reviewed").first).to_be_visible()


@pytest.mark.e2e
def test_a_click_on_a_balance_bar_drills_down_to_its_samples_in_chromium(mapped_server):
    from playwright.sync_api import expect

    base, _ = mapped_server
    with chromium_page() as page:
        page.goto(f"{base}/balance")
        sign_in(page, "e2e", PASSWORD)
        chart = page.locator(".js-plotly-plot").filter(has_text="Language (h_prompt_lang)")
        expect(chart).to_be_visible()
        drill = page.get_by_test_id("stExpander").filter(has_text="Drill down: the samples behind a bar")
        expect(drill.get_by_text("samples; the first")).not_to_be_visible()  # folded until a bar is clicked

        # The workspace's first language, English: a click where the bar is drawn (Plotly's drag layer lies over the
        # bars and takes the click, as it does a person's).
        bar = chart.locator(".trace.bars .point path").first.bounding_box()
        page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)

        expect(drill.get_by_text("11 samples; the first 11 shown.")).to_be_visible()  # 10 English and a duplicate
        expect(drill.get_by_role("combobox", name="Value")).to_have_value("en")
        expect(
            drill.get_by_text("What is 12 times 7?").first
        ).to_be_attached()  # a cell of the table (drawn on a canvas)
