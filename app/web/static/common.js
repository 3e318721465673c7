// Shared by the chat and report pages: API calls, safe DOM building, evidence highlighting, score cards.
// Every piece of user or server text reaches the page through text nodes, never through innerHTML.

const KEY_STORE = "mockinterview.apiKey";
const HISTORY_STORE = "mockinterview.history";
const HISTORY_MAX = 30;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the page still works, without memory
  }
}

export function apiKey() {
  return storage()?.getItem(KEY_STORE) || "";
}

export function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/** fetch() against the API; non-2xx answers become ApiError with the server's message. */
export async function api(path, { method = "GET", json, body, accept = "application/json" } = {}) {
  const init = { method, headers: headers({ Accept: accept }) };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", "The server could not be reached. Is it still running?");
  }
  if (!response.ok) throw await apiError(response);
  return response;
}

export async function apiError(response) {
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const data = await response.json();
    if (data && data.error) {
      code = data.error.code || code;
      message = data.error.message || message;
    }
  } catch {
    // not JSON; keep the status line
  }
  if (response.status === 401) message += " — set the server access key at the bottom of the page.";
  return new ApiError(response.status, code, message);
}

/** Build an element: el("p", {className: "x"}, "text", child). Strings become text nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "className") node.className = v;
    else if (k === "htmlFor") node.htmlFor = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return append(node, children);
}

export function fmt(value, digits = 1) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

export const BAND_LABEL = {
  strong: "Strong",
  acceptable: "Acceptable",
  weak: "Weak",
  off_topic: "Off topic",
};

export function bandBadge(band) {
  if (!band) return el("span", { className: "badge" }, "not answered");
  return el("span", { className: `badge band-${band}` }, BAND_LABEL[band] || band);
}

const FLAG_LABEL = {
  echo: "repeats the question",
  keyword_list: "a list of keywords rather than an explanation",
  off_topic: "off topic",
  too_short: "very short",
  empty: "empty",
  dont_know: "\u201cI don't know\u201d",
  contradiction: "contradicts itself",
  injection: "contains instructions aimed at the grader, which were ignored",
  contradicts_reference: "the judge found a statement that is wrong",
  other_question: "answers a different question",
  judge_degraded: "graded without the correctness judge",
};

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Where `evidence` occurs in `answer`, tolerant of case and whitespace (spans are re-joined sentences). */
export function findSpan(answer, evidence) {
  const words = evidence.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const re = new RegExp(words.map(escapeRegExp).join("[\\s\\-*\u2022]+"), "i");
  const m = re.exec(answer);
  return m ? [m.index, m.index + m[0].length] : null;
}

/**
 * The answer as text nodes with <mark>s over evidence spans.
 * spans: [{text, kind: "hit"|"wrong", label}]; overlapping spans merge (a misconception wins).
 */
export function highlightedAnswer(answer, spans) {
  const ranges = [];
  for (const s of spans) {
    if (!s.text) continue;
    const r = findSpan(answer, s.text);
    if (r) ranges.push({ start: r[0], end: r[1], kind: s.kind, labels: [s.label] });
  }
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.start < last.end) {
      last.end = Math.max(last.end, r.end);
      if (r.kind === "wrong") last.kind = "wrong";
      last.labels.push(...r.labels);
    } else {
      merged.push({ ...r, labels: [...r.labels] });
    }
  }
  const out = el("p", { className: "answer-text" });
  let at = 0;
  for (const r of merged) {
    if (r.start > at) out.append(document.createTextNode(answer.slice(at, r.start)));
    const label = r.labels.filter(Boolean).join("; ");
    const prefix = r.kind === "wrong" ? "Misconception: " : "Evidence for: ";
    out.append(el("mark", { className: `ev ev-${r.kind}`, title: prefix + label }, answer.slice(r.start, r.end)));
    at = r.end;
  }
  if (at < answer.length) out.append(document.createTextNode(answer.slice(at)));
  return out;
}

export function evidenceSpans(score) {
  const spans = [];
  for (const k of score.key_points || []) {
    if (k.covered && k.evidence) spans.push({ text: k.evidence, kind: "hit", label: k.text });
  }
  for (const m of score.misconceptions || []) {
    if (m.evidence) spans.push({ text: m.evidence, kind: "wrong", label: m.text });
  }
  for (const c of score.contradictions || []) {
    spans.push({ text: c.sentence, kind: "wrong", label: "the judge rejects this statement" });
  }
  return spans;
}

/** The grade of one answer: value, band, covered and missed key points, misconceptions, flags. */
export function scoreCard(score) {
  const points = score.key_points || [];
  const covered = points.filter((k) => k.covered);
  const unclear = points.filter((k) => !k.covered && k.status === "unclear");
  const missed = points.filter((k) => !k.covered && k.status !== "unclear");
  const card = el(
    "section",
    { className: "score-card", "aria-label": `Score ${fmt(score.value)} out of 10` },
    el(
      "div",
      { className: "score-line" },
      el("span", { className: "score-value" }, fmt(score.value), el("small", {}, "/10")),
      bandBadge(score.band),
      el(
        "span",
        { className: "muted" },
        `${covered.length} of ${points.length} key points · coverage ${Math.round((score.coverage || 0) * 100)}%`,
      ),
    ),
  );
  if (covered.length) {
    card.append(
      el("h4", {}, "Covered"),
      el(
        "ul",
        { className: "kp kp-covered" },
        covered.map((k) => el("li", {}, el("span", { className: "icon", "aria-hidden": "true" }, "✓"), k.text)),
      ),
    );
  }
  const rejected = score.contradictions || [];
  if (rejected.length) {
    card.append(
      el("h4", {}, "Not right"),
      el(
        "ul",
        { className: "kp kp-wrong" },
        rejected.map((c) => el("li", {}, el("span", { className: "icon", "aria-hidden": "true" }, "!"), c.sentence)),
      ),
    );
  }
  if (unclear.length) {
    card.append(
      el("h4", {}, "Not clearly stated"),
      el(
        "ul",
        { className: "kp kp-unclear" },
        unclear.map((k) => el("li", {}, el("span", { className: "icon", "aria-hidden": "true" }, "?"), k.text)),
      ),
    );
  }
  if (missed.length) {
    card.append(
      el("h4", {}, "Missed"),
      el(
        "ul",
        { className: "kp kp-missed" },
        missed.map((k) => el("li", {}, el("span", { className: "icon", "aria-hidden": "true" }, "✗"), k.text)),
      ),
    );
  }
  const wrong = score.misconceptions || [];
  if (wrong.length) {
    card.append(
      el("h4", {}, "Misconceptions"),
      el(
        "ul",
        { className: "kp kp-wrong" },
        wrong.map((m) =>
          el(
            "li",
            {},
            el("span", { className: "icon", "aria-hidden": "true" }, "!"),
            el("span", {}, m.text, m.correction ? el("span", { className: "correction" }, ` — ${m.correction}`) : null),
          ),
        ),
      ),
    );
  }
  // Misconceptions are listed above; the other flags explain an unusual score.
  const flags = (score.flags || []).filter((f) => f !== "misconception").map((f) => FLAG_LABEL[f] || f);
  if (flags.length) card.append(el("p", { className: "flags" }, `Note: ${flags.join(", ")}.`));
  if (score.degraded && score.degraded_reason) {
    card.append(el("p", { className: "flags" }, `Graded without the judge: ${score.degraded_reason}.`));
  }
  return card;
}

const METRIC_LABEL = {
  duration_s: "Recording length (s)",
  speaking_s: "Speaking time (s)",
  word_count: "Words",
  words_per_minute: "Words per minute",
  filler_count: "Filler words",
  long_pause_count: "Long pauses",
  longest_pause_s: "Longest pause (s)",
};

/** The numeric speaking metrics worth showing (settings such as thresholds are left out). */
export function speechMetrics(speech) {
  if (!speech) return [];
  return Object.entries(speech).filter(
    ([k, v]) => typeof v === "number" && Number.isFinite(v) && !k.includes("threshold"),
  );
}

export function metricLabel(key) {
  if (METRIC_LABEL[key]) return METRIC_LABEL[key];
  const s = key.replace(/_s$/, " (s)").replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Keep an interview in this browser's history; fields not given keep their stored values. */
export function rememberInterview(entry) {
  const store = storage();
  if (!store) return;
  const known = recentInterviews();
  const before = known.find((e) => e.id === entry.id) || {};
  const given = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined && v !== null));
  const list = known.filter((e) => e.id !== entry.id);
  list.unshift({ ...before, ...given });
  store.setItem(HISTORY_STORE, JSON.stringify(list.slice(0, HISTORY_MAX)));
}

export function recentInterviews() {
  try {
    const raw = storage()?.getItem(HISTORY_STORE);
    const list = raw ? JSON.parse(raw) : [];
    return Array.isArray(list) ? list.filter((e) => e && typeof e.id === "string") : [];
  } catch {
    return [];
  }
}

/** The API-key box in the footer of every page. */
export function setupKeyForm(onSave = () => {}) {
  const form = document.getElementById("key-form");
  if (!form) return;
  const input = document.getElementById("api-key");
  const status = document.getElementById("key-status");
  input.value = apiKey();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const store = storage();
    if (!store) {
      status.textContent = "This browser does not allow storing the key.";
      return;
    }
    if (input.value.trim()) store.setItem(KEY_STORE, input.value.trim());
    else store.removeItem(KEY_STORE);
    status.textContent = input.value.trim() ? "Saved." : "Removed.";
    onSave();
  });
}
