"""The /review page in Chromium: browse by agreement, edit, what-if, publish, grade from the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from app.bank.models import Bank
from app.main import create_app
from app.scoring.scorer import Scorer

from .conftest import Console, LiveServer, _serve, _settings, new_page  # fixtures come from conftest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def review_server(scorer: Scorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("review-page") / "mockinterview.db"
    yield from _serve(create_app(_settings(f"sqlite:///{db}"), scorer=scorer))


def _answered(server: LiveServer, text: str) -> str:
    """One stored answer (the interview's first question); returns its question id."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/v1/interviews", json={"num_questions": 1}).json()
        http.post(
            f"/v1/interviews/{created['id']}/answers", json={"text": text, "turn": 1}
        ).raise_for_status()
        return str(created["question"]["id"])


def test_review_page_edit_whatif_publish_and_grade(
    review_server: LiveServer, browser: Browser, console: Console, artifacts: Path
) -> None:
    bank: Bank = review_server.app.state.bank
    qid = _answered(
        review_server, "Dropout randomly zeroes units during training so the network cannot co-adapt."
    )
    q = bank.questions[qid]
    page = new_page(browser, console, viewport={"width": 1280, "height": 900})
    page.goto(f"{review_server.url}/review")
    expect(page.locator("#questions tbody tr")).to_have_count(len(bank.questions))
    # The site's header leads back; the queue comes first; headers stay whole words on one line;
    # the key field sits in a form.
    expect(
        page.get_by_role("navigation", name="Site").get_by_role("link", name="New interview")
    ).to_be_visible()
    queue_box = page.locator("#queue-panel").bounding_box()
    table_box = page.locator("#questions-panel").bounding_box()
    assert queue_box is not None and table_box is not None and queue_box["y"] < table_box["y"]
    heights = {round(page.locator("#questions th").nth(i).bounding_box()["height"]) for i in range(6)}  # type: ignore[index]
    assert len(heights) == 1 and max(heights) < 40, heights
    assert page.locator("form #api-key").count() == 1
    # Filters: one topic; then only questions where scorer and graders disagree (none graded yet).
    topic = q.topic
    page.locator("#topic-filter").select_option(topic)
    expect(page.locator("#questions tbody tr")).to_have_count(
        sum(x.topic == topic for x in bank.questions.values())
    )
    page.locator("#disagree-filter").check()
    expect(page.locator("#questions tbody")).to_contain_text("No question matches these filters.")
    page.locator("#disagree-filter").uncheck()
    page.locator("#topic-filter").select_option("")
    expect(page.locator("#questions tbody tr")).to_have_count(len(bank.questions))

    # Grade the stored answer from the queue.
    item = page.locator("#queue li").first
    expect(item).to_contain_text(qid)
    item.locator("input[name=score]").fill("6")
    item.locator("input[name=note]").fill("right idea, thin")
    item.locator("button[type=submit]").click()
    expect(page.locator("#status")).to_contain_text("Graded answer")
    expect(page.locator("#queue")).to_contain_text("Nothing to grade.")

    # Edit the rubric of that question, run the what-if, publish.
    page.locator(f"#questions tbody tr[data-id='{qid}']").click()
    expect(page.locator("#editor-id")).to_have_text(qid)
    expect(page.locator("#editor-version")).to_have_text("current v1")
    page.locator("#key-points .row").first.locator("input[name=kp-weight]").fill("8")
    page.locator("#editor input[name=note]").fill("weigh the first point more")
    page.locator("#save").click()
    expect(page.locator("#editor-version")).to_contain_text("draft v2")
    page.locator("#whatif").click()
    expect(page.locator("#whatif-table tbody tr")).to_have_count(len(q.sample_answers) + 1)
    expect(page.locator("#whatif-summary")).to_contain_text("Human-graded (1)")
    page.screenshot(path=str(artifacts / "review-whatif.png"), full_page=True)
    page.locator("#publish").click()
    expect(page.locator("#status")).to_have_text("Published v2")
    expect(page.locator("#editor-version")).to_have_text("current v2")
    page.locator("#history summary").click()
    expect(page.locator("#versions")).to_contain_text("weigh the first point more")
    page.screenshot(path=str(artifacts / "review-published.png"), full_page=True)

    versions = httpx.get(f"{review_server.url}/v1/review/questions/{qid}/versions").json()
    assert versions[0]["version"] == 2 and versions[0]["status"] == "published"
    assert "weight: 8" in versions[0]["diff"]


def test_review_page_phone_width(
    review_server: LiveServer, browser: Browser, console: Console, artifacts: Path
) -> None:
    page = new_page(
        browser,
        console,
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(f"{review_server.url}/review")
    expect(page.locator("#questions tbody tr").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth")
    page.screenshot(path=str(artifacts / "review-phone.png"), full_page=True)
