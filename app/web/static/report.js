// The session report page: fetches the full report once and draws it; charts are inline SVG.
import {
  BAND_LABEL,
  api,
  bandBadge,
  el,
  evidenceSpans,
  fmt,
  highlightedAnswer,
  metricLabel,
  rememberInterview,
  scoreCard,
  setupKeyForm,
  speechMetrics,
  svg,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const root = $("report");
const interviewId = root.dataset.interviewId;
const base = `/v1/interviews/${encodeURIComponent(interviewId)}`;

// The band cut-offs come with the report (`band_cutoffs`), so the page and the scorer never disagree.
let cutoffs = {};

function bandOf(value) {
  const above = Object.entries(cutoffs)
    .sort((a, b) => b[1] - a[1])
    .find(([, cut]) => value >= cut);
  return above ? above[0] : "weak";
}

function summary(report) {
  const cell = (label, ...value) =>
    el("div", { className: "stat" }, el("span", { className: "stat-label" }, label), el("span", { className: "stat-value" }, ...value));
  const started = new Date(report.created_at);
  $("summary").replaceChildren(
    cell("Overall", el("strong", { className: "big" }, fmt(report.overall)), el("small", {}, "/10"), " ", bandBadge(report.band)),
    cell("Answered", `${report.answered} of ${report.total}`),
    cell("Status", report.ended_early ? "Ended early" : report.status === "completed" ? "Completed" : "In progress"),
    cell("Started", Number.isNaN(started.getTime()) ? "" : started.toLocaleString()),
  );
  if (report.degraded_turns) {
    $("summary").append(
      el(
        "p",
        { className: "notice notice-warn", role: "note" },
        `Feedback for ${report.degraded_turns} answer(s) came from the offline rubric because the AI interviewer was unavailable.`,
      ),
    );
  }
}

/** Horizontal bars, one per topic, on a 0–10 axis with band cut-offs. */
function topicChart(topics) {
  const box = $("topic-chart");
  if (!topics.length) {
    box.replaceChildren(el("p", { className: "muted" }, "No answers yet."));
    return;
  }
  // Drawn at the container's own width, so text keeps its real pixel size on a phone; each topic's
  // name sits above its bar, whole, instead of being squeezed (and clipped) into a left margin.
  const width = Math.round(Math.max(280, Math.min(640, box.clientWidth || 560)));
  const row = 46;
  const left = 8;
  const plot = width - left - 48;
  const top = 6;
  const height = top + topics.length * row + 28;
  const x = (v) => left + (v / 10) * plot;
  const maxLabel = Math.floor((width - left) / 7.5); // about 7 px per character at 13 px
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-labelledby": "chart-title chart-desc",
    class: "bar-chart",
    id: "topic-chart-svg",
    preserveAspectRatio: "xMinYMin meet",
  });
  chart.append(
    svg("title", { id: "chart-title" }, "Score by topic, out of 10"),
    svg("desc", { id: "chart-desc" }, topics.map((t) => `${t.title}: ${fmt(t.value)}`).join("; ")),
  );
  for (const tick of [0, 2, 4, 6, 8, 10]) {
    chart.append(
      svg("line", { x1: x(tick), x2: x(tick), y1: top, y2: height - 24, class: "grid" }),
      svg("text", { x: x(tick), y: height - 8, class: "tick", "text-anchor": "middle" }, String(tick)),
    );
  }
  for (const cut of Object.values(cutoffs)) {
    chart.append(svg("line", { x1: x(cut), x2: x(cut), y1: top, y2: height - 24, class: "cut" }));
  }
  topics.forEach((t, i) => {
    const y = top + i * row;
    const label = t.title.length > maxLabel ? `${t.title.slice(0, maxLabel - 1)}…` : t.title;
    chart.append(
      svg("text", { x: left, y: y + 14, class: "bar-label", "text-anchor": "start" }, label),
      svg(
        "rect",
        {
          x: left,
          y: y + 20,
          width: Math.max(2, x(t.value) - left),
          height: 18,
          rx: 3,
          class: `bar band-${t.band}`,
          "data-topic": t.topic,
        },
        svg("title", {}, `${t.title}: ${fmt(t.value)} (${BAND_LABEL[t.band] || t.band}, ${t.questions} question(s))`),
      ),
      svg("text", { x: x(t.value) + 6, y: y + 34, class: "bar-value" }, fmt(t.value)),
    );
  });
  box.replaceChildren(chart);
}

/** One small line per topic: earlier sessions, then this one. */
function progress(items) {
  const box = $("progress-list");
  if (!items.length) {
    box.replaceChildren(el("p", { className: "muted" }, "No topics answered yet."));
    return;
  }
  const anyHistory = items.some((p) => p.points.length > 1);
  const list = el("ul", { className: "progress-items" });
  for (const p of items) {
    const values = p.points.map((pt) => pt.value);
    const item = el("li", { className: "progress-item" }, el("span", { className: "progress-topic" }, p.title));
    if (values.length > 1) {
      const w = 160;
      const h = 40;
      const step = w / (values.length - 1);
      const y = (v) => h - 4 - (v / 10) * (h - 8);
      const line = svg("svg", {
        viewBox: `0 0 ${w + 8} ${h}`,
        width: w + 8,
        height: h,
        class: "spark",
        role: "img",
        "aria-label": `${p.title}: ${values.map((v) => fmt(v)).join(", then ")}`,
      });
      line.append(
        svg("polyline", {
          points: values.map((v, i) => `${4 + i * step},${y(v)}`).join(" "),
          class: "spark-line",
        }),
      );
      values.forEach((v, i) => {
        line.append(svg("circle", { cx: 4 + i * step, cy: y(v), r: i === values.length - 1 ? 4 : 2.5, class: `spark-dot band-${bandOf(v)}` }));
      });
      const delta = values[values.length - 1] - values[values.length - 2];
      const trend = delta > 0.05 ? `▲ ${fmt(delta)}` : delta < -0.05 ? `▼ ${fmt(-delta)}` : "no change";
      item.append(line, el("span", { className: `trend ${delta > 0.05 ? "up" : delta < -0.05 ? "down" : ""}` }, `${values.map((v) => fmt(v)).join(" → ")} (${trend})`));
    } else {
      item.append(el("span", { className: "muted" }, `${fmt(values[0])} — your first session on this topic`));
    }
    list.append(item);
  }
  box.replaceChildren(list);
  if (!anyHistory) {
    box.append(el("p", { className: "hint" }, "Take more interviews on these topics to see your progress here."));
  }
}

function pointList(id, points, emptyText) {
  $(id).replaceChildren(
    ...(points.length
      ? points.map((k) =>
          el(
            "li",
            {},
            el("span", { className: "kp-text" }, k.text),
            el("span", { className: "muted" }, ` · turn ${k.turn} · match ${Math.round(k.similarity * 100)}%`),
            k.covered && k.evidence ? el("q", { className: "evidence" }, k.evidence) : null,
          ),
        )
      : [el("li", { className: "muted" }, emptyText)]),
  );
}

function metricsTable(entries, caption) {
  return el(
    "table",
    { className: "metrics" },
    el("caption", {}, caption),
    el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, metricLabel(k)), el("td", {}, fmt(v, 2))))),
  );
}

function speaking(report) {
  if (!report.speaking) return;
  $("speaking-panel").hidden = false;
  const entries = speechMetrics(report.speaking.metrics);
  $("speaking").replaceChildren(
    el("p", {}, `${report.speaking.answers} spoken answer(s). Averages:`),
    entries.length ? metricsTable(entries, "Speaking metrics, mean over spoken answers") : el("p", { className: "muted" }, "No metrics recorded."),
  );
}

// A closed turn: its answer and score (the first attempt, the one the overall counts) and, after
// Try again, the best attempt beside it; a skipped or "I don't know" turn says so instead of an answer.
function answerParts(t) {
  if (t.kind && t.kind !== "answered") {
    return [el("p", { className: "muted" }, t.kind === "skipped" ? "You skipped this question." : "You said you don't know."), scoreCard(t.score)];
  }
  const parts = [
    el("h4", {}, t.spoken ? "Your answer (spoken, transcribed)" : t.best ? `First attempt (of ${t.attempts})` : "Your answer"),
    highlightedAnswer(t.answer, evidenceSpans(t.score)),
    scoreCard(t.score),
  ];
  if (t.best) {
    const change = t.best.score.value - t.score.value;
    parts.push(
      el(
        "section",
        { className: "best-attempt" },
        el("h4", {}, `Best attempt: attempt ${t.best.attempt} of ${t.attempts} `, el("span", { className: "score-change up" }, `(${change >= 0 ? "+" : ""}${fmt(change)})`)),
        highlightedAnswer(t.best.answer, evidenceSpans(t.best.score)),
        scoreCard(t.best.score),
      ),
    );
  }
  return parts;
}

function turns(report) {
  $("turns").replaceChildren(
    ...report.turns.map((t) => {
      const item = el(
        "li",
        { className: `turn band-${t.score.band}`, id: `turn-${t.number}` },
        el(
          "h3",
          {},
          `${t.is_follow_up ? "Follow-up" : "Question"} · ${t.topic_title}`,
          t.kind && t.kind !== "answered"
            ? el("span", { className: `turn-kind kind-${t.kind}` }, t.kind === "skipped" ? " · Skipped" : " · I don't know")
            : null,
        ),
        el("p", { className: "question" }, t.question),
        ...answerParts(t),
        el("h4", {}, t.best ? "Feedback on the first attempt" : "Feedback"),
        el("p", { className: "feedback" }, t.feedback),
      );
      if (t.degraded) {
        item.append(el("p", { className: "notice notice-warn" }, `Offline rubric feedback${t.degraded_reason ? `: ${t.degraded_reason}` : ""}.`));
      }
      const heard = t.transcript && typeof t.transcript.raw === "string" ? t.transcript.raw : null;
      if (heard) {
        const edited = t.transcript.edited === true ? " (you edited the transcript before sending)" : "";
        item.append(
          el("details", { className: "heard" }, el("summary", {}, `What the speech model heard${edited}`), el("p", {}, heard)),
        );
      }
      const metrics = speechMetrics(t.speech);
      if (metrics.length) item.append(metricsTable(metrics, "Speaking metrics for this answer"));
      return item;
    }),
  );
  if (!report.turns.length) $("turns").append(el("li", { className: "muted" }, "No answers yet."));
}

async function download(kind) {
  const status = $("report-status");
  try {
    const response = await api(`${base}/report.${kind}?download=true`, {
      accept: kind === "md" ? "text/markdown" : "application/json",
    });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: `interview-${interviewId}.${kind}`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = `Downloaded interview-${interviewId}.${kind}`;
  } catch (err) {
    status.textContent = `Export failed: ${err.message}`;
  }
}

async function load() {
  const status = $("report-status");
  status.classList.remove("error");
  status.textContent = "Loading the report…";
  try {
    const report = await (await api(`${base}/report.json`)).json();
    cutoffs = report.band_cutoffs;
    rememberInterview({
      id: report.id,
      started: report.created_at,
      topics: report.topics.map((t) => t.topic),
      score: report.overall,
      band: report.band,
      status: report.status,
    });
    $("report-body").hidden = false; // visible first: the chart measures its container
    summary(report);
    topicChart(report.topics);
    progress(report.progress);
    pointList("strongest", report.strongest, "No key point covered yet.");
    pointList("weakest", report.weakest, "No key point missed. Well done!");
    speaking(report);
    turns(report);
    status.textContent = report.status === "completed" ? "" : "This interview is still in progress.";
  } catch (err) {
    status.textContent = `The report could not be loaded: ${err.message}`;
    status.classList.add("error");
  } finally {
    root.removeAttribute("aria-busy");
  }
}

setupKeyForm(() => load());
$("export-md").addEventListener("click", () => download("md"));
$("export-json").addEventListener("click", () => download("json"));
load();
