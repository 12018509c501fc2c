"""A day's work in the browser, with real clicks, keys and reloads: an annotator's, a lead's, and two people editing
one sample. The real server (``streamlit run serve.py``) over tests/day_workspace.py, driven in Debian's Chromium.
"""

from __future__ import annotations

import json
import re

import pytest
from browser import chromium, idle, serve, sign_in
from day_workspace import PASSWORD, build


@pytest.fixture
def day(tmp_path):
    """(base URL, tmp_path, {"ids", "annotator"}): the day's workspace, served."""
    info = build(tmp_path / "ws.duckdb", tmp_path)
    for base, folder in serve(tmp_path):
        yield base, folder, info


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.mark.e2e
def test_an_annotators_day_by_keyboard_and_her_sign_in_survives_a_reload(day):
    from playwright.sync_api import expect

    base, _, info = day
    queue = info["annotator"]
    with chromium() as new_page:
        ann = new_page()
        # A link to one of her samples, opened signed out: the sign-in form, no "page not found" over it; after
        # the sign-in, the sample the link names.
        ann.goto(f"{base}/review?id={queue[2]}")
        expect(ann.get_by_role("heading", name="Sign in")).to_be_visible()
        sign_in(ann, "ann", PASSWORD)
        expect(ann.get_by_role("heading", name=queue[2])).to_be_visible()
        expect(ann.get_by_text("Page not found")).to_have_count(0)
        sidebar = ann.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("0 of 8 of your assignments", exact=True)).to_be_visible()

        # Five samples by keyboard: A accepts, X rejects, each moving on to the next.
        for done, key in enumerate("axaax", start=1):
            ann.keyboard.press(key)
            expect(sidebar.get_by_text(f"{done} of 8 of your assignments", exact=True)).to_be_visible()
            idle(ann)  # the next key goes to the next sample's buttons, once they are drawn
        shown = ann.get_by_role("heading", level=3).first.inner_text()
        assert shown in queue

        # An edit of the next one, with its diff before the save.
        ann.get_by_text("Edit messages").click()
        answer = ann.get_by_label("[2] assistant", exact=True)
        answer.fill("A corrected answer, checked against the survey.")
        answer.press("Control+Enter")
        expect(ann.get_by_text("Your unsaved changes to the messages")).to_be_visible()
        ann.get_by_role("button", name="Save edits").click()
        expect(ann.get_by_text("version 2 · last change by ann")).to_be_visible()

        # A reload (F5) keeps the sign-in: an HttpOnly, SameSite=Strict cookie that scripts cannot read.
        ann.reload()
        expect(sidebar.get_by_text("Signed in as ann")).to_be_visible()
        expect(sidebar.get_by_text("5 of 8 of your assignments", exact=True)).to_be_visible()
        cookie = next(c for c in ann.context.cookies() if c["name"] == "winnow_session")
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)  # http here
        assert "winnow_session" not in ann.evaluate("document.cookie")
        # A page that is not for her role says so, at its own address.
        ann.goto(f"{base}/explore")
        expect(ann.get_by_text("Explore is for other roles; you are signed in as ann (annotator).")).to_be_visible()

        # A password change ends the sign-in: the admin resets hers; her next reload asks to sign in.
        admin = new_page()
        admin.goto(f"{base}/users")
        sign_in(admin, "e2e", PASSWORD)
        expect(admin.get_by_role("heading", name="Users")).to_be_visible()
        choose(admin, "Account", "ann")
        admin.get_by_label("New password (blank: unchanged)").fill("a-new-password")
        admin.get_by_label("New password (blank: unchanged)").press("Enter")
        admin.get_by_role("button", name="Save changes").click()
        expect(admin.get_by_text("Saved ann; their open sessions ended.")).to_be_visible()
        ann.reload()
        expect(ann.get_by_role("heading", name="Sign in")).to_be_visible()

        # Sign-out ends it too, cookie and all.
        sign_in(ann, "ann", "a-new-password")
        with ann.expect_response(lambda r: r.url.endswith("/winnow/sign-out")):
            ann.get_by_role("button", name="Sign out").click()
        assert "winnow_session" not in [c["name"] for c in ann.context.cookies()]
        ann.reload()
        expect(ann.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.mark.e2e
def test_a_leads_day_filter_bulk_accept_select_with_a_small_budget_and_export_the_selection(day):
    from playwright.sync_api import expect

    base, folder, _ = day
    with chromium() as new_page:
        lee = new_page()
        lee.goto(base)
        sign_in(lee, "lee", PASSWORD)

        # Filter, then accept everything the filter matches: the count first, then the second click.
        lee.get_by_role("link", name="Browse").click()
        search = lee.get_by_label("Text in prompt or answer")
        search.fill("volcanoes")
        search.press("Enter")
        expect(lee.get_by_text("3 samples match · page 1 of 1")).to_be_visible()
        lee.get_by_role("button", name="Accept", exact=True).click()
        expect(lee.get_by_text("Accept all 3 samples matching the filter?")).to_be_visible()
        lee.get_by_role("button", name="Accept 3 samples").click()
        expect(lee.get_by_text("Accepted 3 samples.")).to_be_visible()
        expect(lee.get_by_text("3 of 24 reviewed").first).to_be_visible()

        # Select with a budget this small workspace can meet (the preset suggests 1,000).
        lee.get_by_role("link", name="Select").click()
        budget = lee.get_by_role("textbox", name="Budget (samples)")
        expect(budget).to_have_value("24")
        budget.fill("30")
        budget.press("Enter")
        expect(lee.get_by_text("budget 30: give a whole number of samples from 1 to 24")).to_be_visible()
        expect(lee.get_by_role("button", name="Run and save selection")).to_be_disabled()
        budget.fill("4")
        budget.press("Enter")
        expect(lee.get_by_role("textbox", name="Recipe (YAML)")).to_have_value(re.compile(r"budget: 4\b"))
        lee.get_by_role("button", name="Run and save selection").click()
        expect(lee.get_by_text("Saved selection align: 4 of 24 samples.")).to_be_visible()

        # Export the selection: its own samples, counted before the button.
        lee.get_by_role("link", name="Export").click()
        expect(lee.get_by_text("0 match: none of the samples is accepted")).to_have_count(0)  # 3 are accepted
        choose(lee, "Selection", "align")
        expect(lee.get_by_text("will be written to")).to_contain_text("4 samples")
        lee.get_by_role("button", name="Export", exact=True).click()
        expect(lee.get_by_text("Wrote 4 records")).to_be_visible()
        expect(lee.get_by_text("exists in the export folder")).to_have_count(0)  # the file just written

    lines = (folder / "exports" / "winnow-alpaca.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert all(json.loads(line)["instruction"].startswith("Tell me one thing about") for line in lines)


@pytest.mark.e2e
def test_two_people_edit_one_sample_and_the_second_merges(day):
    from playwright.sync_api import expect

    base, _, info = day
    sid = info["ids"][12]  # nobody's assignment: the lead and the admin both review it
    with chromium(height=900) as new_page:
        people = {"lee": new_page(), "e2e": new_page()}
        for name, page in people.items():
            page.goto(f"{base}/review?id={sid}")
            sign_in(page, name, PASSWORD)
            expect(page.get_by_role("heading", name=sid)).to_be_visible()

        def edit(page, text: str) -> None:
            page.get_by_text("Edit messages").click()
            box = page.get_by_label("[2] assistant", exact=True)
            box.fill(text)
            box.press("Control+Enter")
            expect(page.get_by_text("Your unsaved changes to the messages")).to_be_visible()
            page.get_by_role("button", name="Save edits").click()

        lee, admin = people["lee"], people["e2e"]
        edit(lee, "The lead's answer.")
        expect(lee.get_by_text("version 2 · last change by lee")).to_be_visible()
        edit(admin, "The admin's answer.")

        # The conflict, on top and in words that match its buttons; the header says what the workspace holds now.
        expect(admin.get_by_text("Someone saved a newer version: choose below.")).to_be_visible()
        expect(admin.get_by_text("version 2 (your edits: version 1) · last change by lee")).to_be_visible()
        merge = admin.get_by_role("button", name="Save the merge")
        assert merge.bounding_box()["y"] < admin.get_by_role("button", name="Accept").bounding_box()["y"]
        assert merge.bounding_box()["y"] < 900  # above the fold
        merged = admin.get_by_label("[2] merged", exact=True)
        expect(merged).to_have_value(re.compile("<<<<<<< theirs\nThe lead's answer.\n=======\nThe admin's answer."))
        expect(merged).to_be_focused()  # the page jumped to the first marker
        assert merged.evaluate("box => box.scrollHeight <= box.clientHeight + 1")  # every line shows: no scrolling

        merged.fill("The lead's answer, with the admin's wording.")
        merged.press("Control+Enter")
        merge.click()
        expect(admin.get_by_text("version 3 · last change by e2e")).to_be_visible()
        expect(admin.get_by_text("The lead's answer, with the admin's wording.").first).to_be_visible()
        expect(admin.get_by_text("Someone saved a newer version")).to_have_count(0)
