"""An unfinished interview is resumed from the start page: its turns so far, the question it waits on,
and answering goes on with it (at 1280 and 375 px)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .conftest import Console, LiveServer, new_page
from .test_pages import DESKTOP, PHONE, _good_answer, _interview_id, _no_horizontal_scroll, _send

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [pytest.param(DESKTOP, id="1280"), pytest.param(PHONE, id="375")])
def test_resume_unfinished_interview(
    browser: Browser, live_server: LiveServer, artifacts: Path, console: Console, size: dict[str, Any]
) -> None:
    width = size["viewport"]["width"]
    page = new_page(browser, console, **size)
    page.goto(live_server.url + "/")
    expect(page.locator("#topic-list input").first).to_be_visible()
    page.get_by_label("Number of questions").fill("2")
    page.get_by_role("button", name="Start interview").click()
    expect(page.locator(".msg.question")).to_have_count(1)
    iid = _interview_id(page)
    first_question = page.locator(".msg.question .text").first.inner_text()
    answer = _good_answer(live_server, iid)
    _send(page, answer)
    score = page.locator(".msg.candidate .score-value").first.inner_text()

    # Leave, and come back to the start page: the interview is listed as unfinished, with Resume.
    page.goto("about:blank")
    page.goto(live_server.url + "/")
    entry = page.locator("#history-list li").first
    expect(entry).to_contain_text("unfinished")
    resume = entry.get_by_role("link", name="Resume this interview")
    expect(resume).to_be_visible()
    box = resume.bounding_box()
    assert box is not None and box["height"] >= 44  # a touch target on a phone too
    _no_horizontal_scroll(page)
    page.screenshot(path=artifacts / f"resume-{width}-1-history.png", full_page=True)

    resume.click()
    expect(page).to_have_url(re.compile(rf"/\?resume={re.escape(iid)}$"))
    state = httpx.get(f"{live_server.url}/v1/interviews/{iid}").json()
    current = state["current_question"]
    # The earlier turn as it was: question, answer with its score, feedback; then the waiting question.
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#setup")).to_be_hidden()
    expect(page.locator(".msg.candidate")).to_have_count(1)
    expect(page.locator(".msg.candidate .answer-text")).to_have_text(answer)
    expect(page.locator(".msg.candidate .score-value")).to_have_text(score)
    expect(page.locator(".msg.feedback .text")).to_have_text(state["turns"][0]["feedback"])
    expect(page.locator(".msg.question .text").first).to_have_text(first_question)
    expect(page.locator(".msg.question")).to_have_count(2)
    expect(page.locator(".msg.question .text").last).to_have_text(current["text"])
    expect(page.locator("#progress")).to_have_text(f"Question {state['position'] + 1} of 2")
    expect(page.locator("#answer")).to_be_focused()
    _no_horizontal_scroll(page)
    page.screenshot(path=artifacts / f"resume-{width}-2-resumed.png", full_page=True)

    # Answering goes on with the same interview, at the turn it waited on.
    _send(page, _good_answer(live_server, iid))
    after = httpx.get(f"{live_server.url}/v1/interviews/{iid}").json()
    assert len(after["turns"]) == 2
    assert after["turns"][1]["question"] == current["text"]
    expect(page.locator(".msg.candidate .score-card")).to_have_count(2)
    # ... and the chat moves on: the next question, or the end with the report link.
    expect(page.locator(".msg.question, #report-link")).to_have_count(3)
    page.screenshot(path=artifacts / f"resume-{width}-3-answered.png", full_page=True)
    assert console.errors == []
