"""The session report as a Markdown document a candidate can keep or share."""

from __future__ import annotations

import re

from app.web.report import KeyPointLine, SessionReport, numeric_metrics

__all__ = ["render_markdown"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|])")


def _inline(text: str) -> str:
    """User or bank text on one line: Markdown and HTML metacharacters neutralised."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _quote(text: str) -> str:
    """A multi-line answer as a block quote, keeping its line breaks."""
    lines = [_inline(line) for line in text.strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}/10"


_METRIC_LABELS = {
    "duration_s": "Recording length (s)",
    "speaking_s": "Speaking time (s)",
    "word_count": "Words",
    "words_per_minute": "Words per minute",
    "filler_count": "Filler words",
    "long_pause_count": "Long pauses",
    "longest_pause_s": "Longest pause (s)",
}


def _label(key: str) -> str:
    return _METRIC_LABELS.get(key) or key.removesuffix("_s").replace("_", " ").capitalize()


def _point(k: KeyPointLine) -> str:
    evidence = f' — "{_inline(k.evidence)}"' if k.evidence and k.covered else ""
    return f"- {_inline(k.text)} (turn {k.turn}, {_inline(k.topic)}, similarity {k.similarity:.2f}){evidence}"


def render_markdown(report: SessionReport) -> str:
    out: list[str] = [f"# Mock interview report `{report.id}`", ""]
    out.append(
        f"- Status: {report.status}; {report.answered} of {report.total} questions answered"
        f"\n- Overall: **{_score(report.overall)}**"
        + (f" ({report.band})" if report.band else "")
        + f"\n- Started: {report.created_at:%Y-%m-%d %H:%M} UTC"
        + ("\n- Ended early with End interview" if report.ended_early else "")
    )
    if report.degraded_turns:
        out.append(
            f"- Note: feedback for {report.degraded_turns} answer(s) came from the offline rubric fallback"
        )
    out.append("")

    out += ["## Topics", "", "| Topic | Questions | Score | Band |", "|---|---:|---:|---|"]
    out += [f"| {_inline(t.title)} | {t.questions} | {t.value:.1f} | {t.band} |" for t in report.topics]
    if not report.topics:
        out.append("| (no answers yet) | | | |")
    out.append("")

    if any(len(p.points) > 1 for p in report.progress):
        out += ["## Progress over earlier sessions", ""]
        for p in report.progress:
            values = " → ".join(f"{pt.value:.1f}" for pt in p.points)
            out.append(f"- {_inline(p.title)}: {values}")
        out.append("")

    out += ["## Strongest key points", ""]
    out += [_point(k) for k in report.strongest] or ["- none covered yet"]
    out += ["", "## Weakest key points", ""]
    out += [_point(k) for k in report.weakest] or ["- none missed"]
    out.append("")

    if report.speaking is not None:
        out += ["## Speaking", "", f"Spoken answers: {report.speaking.answers}", ""]
        out += [f"- {_label(k)}: {v:g}" for k, v in report.speaking.metrics.items()]
        out.append("")

    out += ["## Answers", ""]
    for t in report.turns:
        kind = "Follow-up" if t.is_follow_up else "Question"
        out += [f"### {t.number}. {kind} ({_inline(t.topic_title)})", "", f"**{_inline(t.question)}**", ""]
        if t.kind != "answered":
            out += ["_Skipped_" if t.kind == "skipped" else "_I don't know_", ""]
        else:
            out += [_quote(t.answer), ""]
        spoken = " · spoken" if t.spoken else ""
        first = " (first attempt)" if t.best is not None else ""
        out += [f"Score{first}: **{t.score.value:.1f}/10** ({t.score.band}){spoken}", ""]
        if t.best is not None:
            out += [
                f"Best attempt: **{t.best.score.value:.1f}/10** (attempt {t.best.attempt} of {t.attempts})",
                "",
                _quote(t.best.answer),
                "",
            ]
        for k in t.score.key_points:
            mark = "x" if k.covered else " "
            evidence = f' — "{_inline(k.evidence)}"' if k.covered and k.evidence else ""
            out.append(f"- [{mark}] {_inline(k.text)}{evidence}")
        for m in t.score.misconceptions:
            out.append(f"- ⚠ Misconception: {_inline(m.text)} — {_inline(m.correction)}")
        if t.score.flags:
            out.append(f"- Flags: {', '.join(t.score.flags)}")
        out += ["", f"Feedback: {_inline(t.feedback)}", ""]
        if t.degraded:
            out += [f"_Offline fallback: {_inline(t.degraded_reason or 'LLM unavailable')}_", ""]
        heard = t.transcript.get("raw") if t.transcript else None
        if isinstance(heard, str) and heard:
            edited = " (edited before sending)" if t.transcript and t.transcript.get("edited") is True else ""
            out += [f"Heard by the speech model{edited}:", "", _quote(heard), ""]
        if t.speech:
            metrics = ", ".join(f"{_label(k)} {v:g}" for k, v in numeric_metrics(t.speech).items())
            if metrics:
                out += [f"Speaking: {metrics}", ""]
    return "\n".join(out).rstrip() + "\n"
