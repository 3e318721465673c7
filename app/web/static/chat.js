// The chat page: set up an interview, then question → answer (typed or recorded) → score → streamed
// feedback → follow-up or next question, until the report link.
import {
  ApiError,
  api,
  apiError,
  bandBadge,
  el,
  evidenceSpans,
  fmt,
  headers,
  highlightedAnswer,
  recentInterviews,
  rememberInterview,
  scoreCard,
  setupKeyForm,
} from "./common.js";
import { setCoachBusy, setupCoach, turnClosed } from "./coach.js";

const $ = (id) => document.getElementById(id);

const state = {
  id: null,
  total: 0,
  answered: 0, // main questions finished
  busy: false,
  finished: false, // the last answer is in: every input stays off
  recorder: null,
  recording: null, // {stream, chunks, started, timer}
  speech: null, // transcription result for the text now in the box
  questionId: null, // the main question being discussed: transcripts are corrected toward its vocabulary
  followUp: null, // {id, text} while a follow-up is asked: its spoken answer is decoded with its words
};

const TITLES = new Map();

// ---- setup -----------------------------------------------------------------------------------

async function loadTopics() {
  const box = $("topic-list");
  try {
    const topics = await (await api("/v1/topics")).json();
    box.replaceChildren(
      ...topics.map((t) => {
        TITLES.set(t.topic, t.title);
        const id = `topic-${t.topic}`;
        return el(
          "div",
          { className: "topic" },
          el("input", { type: "checkbox", id, name: "topics", value: t.topic }),
          el("label", { htmlFor: id }, t.title, el("span", { className: "count" }, ` (${t.questions})`)),
        );
      }),
    );
  } catch (err) {
    box.replaceChildren(el("p", { className: "error" }, `Topics could not be loaded: ${err.message}`));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

function showHistory() {
  const list = recentInterviews();
  if (!list.length) return;
  $("history-list").replaceChildren(
    ...list.slice(0, 8).map((e) => {
      const when = e.started ? new Date(e.started).toLocaleString() : "";
      const what = e.topics && e.topics.length ? e.topics.map((t) => TITLES.get(t) || t).join(", ") : "all topics";
      const scored = typeof e.score === "number";
      return el(
        "li",
        {},
        el("a", { href: `/interviews/${encodeURIComponent(e.id)}/report` }, `${when} — ${what}`),
        " ",
        scored
          ? el("span", { className: "history-score" }, el("strong", {}, `${fmt(e.score)}/10`), " ", bandBadge(e.band))
          : unfinishedEntry(e),
      );
    }),
  );
  $("history").hidden = false;
}

/** An unscored history entry: "unfinished" and a way back into it (finished ones just link the report). */
function unfinishedEntry(e) {
  if (e.status === "completed") return el("span", { className: "muted" }, "");
  return el(
    "span",
    { className: "history-unfinished" },
    el("span", { className: "muted" }, "unfinished"),
    " ",
    el(
      "a",
      { className: "button resume", href: `/?resume=${encodeURIComponent(e.id)}`, "aria-label": "Resume this interview" },
      "Resume",
    ),
  );
}

async function start(body) {
  const error = $("setup-error");
  error.hidden = true;
  const buttons = [$("start"), $("surprise")];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const created = await (await api("/v1/interviews", { method: "POST", json: body })).json();
    state.id = created.id;
    state.total = created.num_questions || body.num_questions || 0;
    rememberInterview({ id: created.id, started: new Date().toISOString(), topics: body.topics || [] });
    $("setup").hidden = true;
    $("chat").hidden = false;
    updateProgress();
    askQuestion(created.question, false);
    $("answer").focus();
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function setupForm() {
  const form = $("setup-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const topics = [...form.querySelectorAll("input[name=topics]:checked")].map((i) => i.value);
    const n = Number.parseInt($("num-questions").value, 10);
    const max = Number.parseInt($("num-questions").max, 10);
    if (!Number.isFinite(n) || n < 1 || n > max) {
      const error = $("setup-error");
      error.textContent = `Choose between 1 and ${max} questions.`;
      error.hidden = false;
      $("num-questions").focus();
      return;
    }
    const body = { num_questions: n };
    if (topics.length) body.topics = topics;
    if ($("level").value) body.level = $("level").value;
    start(body);
  });
  $("surprise").addEventListener("click", () => {
    // All topics, any level, the chosen length: the engine interleaves topics at random.
    const n = Number.parseInt($("num-questions").value, 10);
    const max = Number.parseInt($("num-questions").max, 10);
    const fallback = Number.parseInt($("num-questions").defaultValue, 10) || 5;
    start({ num_questions: Number.isFinite(n) && n >= 1 && n <= max ? n : fallback });
  });
}

// ---- the conversation --------------------------------------------------------------------------

function updateProgress() {
  const n = Math.min(state.answered + 1, state.total);
  $("progress").textContent =
    state.answered >= state.total ? `All ${state.total} questions answered` : `Question ${n} of ${state.total}`;
}

function addMessage(node) {
  $("log").append(node);
  node.scrollIntoView({ block: "nearest", behavior: "smooth" });
  return node;
}

function askQuestion(q, isFollowUp) {
  if (q.id) state.questionId = q.id;
  if (q.turn) state.turn = q.turn; // sent back with the answer: it applies to this turn only
  // a spoken answer to a follow-up is decoded with the follow-up's own words (issue 19)
  state.followUp = isFollowUp ? { id: q.follow_up_id || "", text: q.text } : null;
  const meta = isFollowUp
    ? "Follow-up"
    : `${TITLES.get(q.topic) || q.topic} · ${q.level}`;
  addMessage(
    el(
      "li",
      { className: "msg interviewer question", dataset: { questionId: q.id } },
      el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, ` · ${meta}`)),
      el("p", { className: "text" }, q.text),
    ),
  );
}

function notice(text, kind = "warn") {
  return addMessage(el("li", { className: `msg notice notice-${kind}`, role: "status" }, text));
}

function degradedNotice(reason) {
  notice(
    `The AI interviewer was unavailable, so this feedback comes from the offline rubric` +
      (reason ? ` (${reason}).` : "."),
  );
}

/** Server-Sent Events from a fetch() body: yields {event, data}. */
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

/** A fresh random key per answer (crypto.randomUUID needs a secure context; this does not). */
function idempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sendAnswer() {
  const box = $("answer");
  const text = box.value.trim();
  if (state.busy || !state.id) return;
  if (!text) {
    $("record-status").textContent = "Type or record an answer first.";
    box.focus();
    return;
  }
  setBusy(true);
  const answerMsg = addMessage(
    el(
      "li",
      { className: "msg candidate" },
      el("p", { className: "who" }, "You", state.speech ? el("span", { className: "meta" }, " · spoken") : null),
      el("p", { className: "answer-text" }, text),
      state.speech ? speakingLine(state.speech.speech) : null,
    ),
  );
  const spoken = state.speech;
  box.value = "";
  state.speech = null;
  $("record-status").textContent = "";

  let feedbackMsg = null;
  let feedbackText = null;
  let result = null;
  try {
    const body = { text, turn: state.turn };
    // speech (issue 19): a transcribed answer travels with its transcript and speaking metrics
    if (spoken) body.spoken = { transcript: spoken.transcript, speech: spoken.speech, provider: spoken.provider };
    const once = { "Idempotency-Key": idempotencyKey() }; // a resent request gets the stored response
    const response = await fetch(`/v1/interviews/${encodeURIComponent(state.id)}/answers?stream=true`, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream", ...once }),
      body: JSON.stringify(body),
    }).catch(() => {
      throw new ApiError(0, "network", "The server could not be reached. Your answer is back in the box.");
    });
    if (!response.ok) throw await apiError(response);
    for await (const { event, data } of readEvents(response)) {
      if (event === "score") {
        showScore(answerMsg, text, data);
        feedbackText = el("p", { className: "text" });
        feedbackMsg = addMessage(
          el(
            "li",
            { className: "msg interviewer feedback", "aria-busy": "true" },
            el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, " · feedback")),
            feedbackText,
          ),
        );
      } else if (event === "feedback") {
        feedbackText.append(document.createTextNode(data.text));
      } else if (event === "restart") {
        feedbackText.textContent = ""; // the provider fell back mid-stream: the text starts again
        degradedNotice(data.reason);
      } else if (event === "done") {
        result = data;
      } else if (event === "error") {
        throw new ApiError(409, data.error.code, data.error.message);
      }
    }
    if (!result) throw new ApiError(0, "stream", "The answer stream ended early; reload to see where you are.");
    feedbackMsg.removeAttribute("aria-busy");
    if (result.feedback && feedbackText.textContent !== result.feedback) feedbackText.textContent = result.feedback;
    if (result.degraded && !feedbackMsg.dataset.degraded) {
      feedbackMsg.dataset.degraded = "true";
      degradedNotice(result.degraded_reason);
    }
    turnClosed(answerMsg, result.turn); // Show model answer, Try again
    advance(result);
  } catch (err) {
    if (feedbackMsg) feedbackMsg.removeAttribute("aria-busy");
    if (!result && !answerMsg.querySelector(".score-card")) {
      answerMsg.remove();
      box.value = text;
      state.speech = spoken;
    }
    notice(err.message, "error");
    if (err.code === "interview_finished") finish();
  } finally {
    setBusy(false);
    if (!$("answer").disabled) $("answer").focus();
  }
}

/** Pace, fillers and pauses of a recorded answer, from /v1/transcribe. */
function speakingLine(speech) {
  if (!speech) return null;
  const parts = [];
  if (typeof speech.words_per_minute === "number") parts.push(`${Math.round(speech.words_per_minute)} words/min`);
  if (typeof speech.filler_count === "number") {
    const which = Object.entries(speech.fillers || {})
      .map(([w, n]) => `${w} ×${n}`)
      .join(", ");
    parts.push(`${speech.filler_count} filler word(s)${which ? ` (${which})` : ""}`);
  }
  if (typeof speech.long_pause_count === "number") {
    const longest =
      speech.long_pause_count > 0 && typeof speech.longest_pause_s === "number"
        ? `, longest ${speech.longest_pause_s.toFixed(1)} s`
        : "";
    parts.push(`${speech.long_pause_count} long pause(s)${longest}`);
  }
  if (!parts.length) return null;
  return el("p", { className: "speaking" }, el("span", { className: "visually-hidden" }, "Speaking: "), parts.join(" · "));
}

function showScore(answerMsg, text, score) {
  answerMsg.querySelector(".answer-text").replaceWith(highlightedAnswer(text, evidenceSpans(score)));
  answerMsg.append(scoreCard(score));
  answerMsg.classList.add(`band-${score.band}`);
}

function advance(result) {
  if (result.next_question) state.turn = result.next_question.turn;
  if (result.follow_up && result.status !== "completed") {
    const followUpId = result.next_question ? result.next_question.follow_up_id : "";
    askQuestion({ id: "", text: result.follow_up, topic: "", level: "", follow_up_id: followUpId }, true);
    return;
  }
  state.answered += 1;
  if (result.status === "completed" || !result.next_question) {
    finish();
    return;
  }
  updateProgress();
  askQuestion(result.next_question, Boolean(result.next_question.follow_up_id));
}

function finish(text = "That was the last question. Thank you!") {
  const id = state.id;
  state.answered = state.total;
  state.finished = true;
  state.id = null;
  updateProgress();
  const link = el(
    "a",
    { href: `/interviews/${encodeURIComponent(id)}/report`, className: "button primary", id: "report-link" },
    "See your session report",
  );
  const summary = el("div", { className: "summary", id: "summary" });
  addMessage(
    el(
      "li",
      { className: "msg interviewer done" },
      el("p", { className: "who" }, "Interviewer"),
      el("p", { className: "text" }, text),
      summary,
      el("p", {}, link),
    ),
  );
  setBusy(false); // with the interview finished, this leaves every input off
  link.focus();
  showSummary(id, summary);
}

// The session in one card: overall score and band, strongest and weakest topic.
async function showSummary(id, card) {
  try {
    const report = await (await api(`/v1/interviews/${encodeURIComponent(id)}/report.json`)).json();
    rememberInterview({ id, score: report.overall, band: report.band, status: report.status });
    const topics = [...report.topics].sort((a, b) => b.value - a.value);
    card.append(
      el("p", { className: "summary-overall" }, "Overall ", el("strong", {}, fmt(report.overall)), "/10 ", bandBadge(report.band)),
    );
    if (topics.length > 1) {
      const best = topics[0];
      const worst = topics[topics.length - 1];
      card.append(
        el("p", {}, "Strongest topic: ", el("strong", {}, best.title), ` (${fmt(best.value)})`),
        el("p", {}, "Weakest topic: ", el("strong", {}, worst.title), ` (${fmt(worst.value)})`),
      );
    } else if (topics.length === 1) {
      card.append(el("p", {}, "Topic: ", el("strong", {}, topics[0].title), ` (${fmt(topics[0].value)})`));
    }
  } catch (err) {
    card.append(el("p", { className: "muted" }, `The summary could not be loaded (${err.message}); the report has it.`));
  }
}

function setBusy(busy) {
  state.busy = busy;
  const off = busy || state.finished;
  $("send").disabled = off;
  $("record").disabled = off;
  $("answer").disabled = state.finished;
  $("answer").setAttribute("aria-busy", busy ? "true" : "false");
  setCoachBusy(off);
}

function setupAnswerForm() {
  $("answer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendAnswer();
  });
  $("answer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendAnswer();
    }
  });
  $("answer").addEventListener("input", () => {
    if (!$("answer").value.trim()) state.speech = null;
  });
  $("record").addEventListener("click", toggleRecording);
}

// ---- resuming an unfinished interview (/?resume=ID) -------------------------------------------

/** Open the chat of an unfinished interview: its turns so far, then the question it waits on. */
async function resumeInterview(id) {
  const error = $("setup-error");
  let data;
  try {
    // POST …/resume: the server also prepares its judge for the question waiting here
    data = await (await api(`/v1/interviews/${encodeURIComponent(id)}/resume`, { method: "POST" })).json();
  } catch (err) {
    if (err.code === "interview_finished") {
      rememberInterview({ id, status: "completed" });
      error.replaceChildren(
        "That interview is finished: ",
        el("a", { href: `/interviews/${encodeURIComponent(id)}/report` }, "see its report"),
        ".",
      );
    } else {
      error.textContent = `That interview could not be resumed: ${err.message}`;
    }
    error.hidden = false;
    return;
  }
  // (also when this browser never saw it start: a link from elsewhere)
  rememberInterview({ id: data.id, status: data.status, started: data.created_at, topics: data.config.topics || [] });
  const questions = await questionDetails([...data.turns.map((t) => t.question_id), data.current_question.id]);
  state.id = data.id;
  state.total = data.question_ids.length;
  state.answered = data.position; // main questions finished: the current one is at `position`
  $("setup").hidden = true;
  $("chat").hidden = false;
  for (const t of data.turns) replayTurn(t, questions.get(t.question_id));
  notice(`Resumed: ${data.turns.length} earlier answer${data.turns.length === 1 ? "" : "s"} above.`, "info");
  updateProgress();
  const current = data.current_question;
  const main = questions.get(current.id);
  askQuestion(current, Boolean(current.follow_up_id) || (main !== undefined && main.text !== current.text));
  $("answer").focus();
}

/** id -> {text, topic, level} of the bank questions behind these turns (absent if not readable). */
async function questionDetails(ids) {
  const out = new Map();
  await Promise.all(
    [...new Set(ids)].map(async (qid) => {
      try {
        out.set(qid, await (await api(`/v1/questions/${encodeURIComponent(qid)}`)).json());
      } catch {
        // the turn still shows, without its topic
      }
    }),
  );
  return out;
}

/** One stored turn as the chat showed it: the question, the answer with its score, the feedback. */
function replayTurn(t, question) {
  const meta = t.is_follow_up || !question ? "Follow-up" : `${TITLES.get(question.topic) || question.topic} · ${question.level}`;
  addMessage(
    el(
      "li",
      { className: "msg interviewer question", dataset: { questionId: t.question_id, turn: String(t.number) } },
      el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, ` · ${meta}`)),
      el("p", { className: "text" }, t.question),
    ),
  );
  const answerMsg = addMessage(
    el(
      "li",
      { className: "msg candidate", dataset: { turn: String(t.number) } },
      el("p", { className: "who" }, "You", t.transcript ? el("span", { className: "meta" }, " · spoken") : null),
      el("p", { className: "answer-text" }, t.answer),
      t.transcript ? speakingLine(t.speech) : null,
    ),
  );
  showScore(answerMsg, t.answer, t.score);
  addMessage(
    el(
      "li",
      { className: "msg interviewer feedback", dataset: { turn: String(t.number) } },
      el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, " · feedback")),
      el("p", { className: "text" }, t.feedback),
    ),
  );
  if (t.degraded) degradedNotice(t.degraded_reason);
}

function resumeFromLink() {
  const id = new URLSearchParams(window.location.search).get("resume");
  if (id) return resumeInterview(id);
  return undefined;
}

// ---- recording ---------------------------------------------------------------------------------

function pickMime() {
  const options = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
  return options.find((m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m)) || "";
}

function setRecordButton(recording) {
  const button = $("record");
  button.setAttribute("aria-pressed", recording ? "true" : "false");
  button.classList.toggle("recording", recording);
  button.querySelector(".label").textContent = recording ? "Stop recording" : "Record answer";
}

async function toggleRecording() {
  const status = $("record-status");
  if (state.recorder && state.recorder.state === "recording") {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
    status.textContent = "Recording is not supported in this browser; please type your answer.";
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    status.textContent = "The microphone is not available (permission denied or no device).";
    return;
  }
  const mime = pickMime();
  const recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
  const chunks = [];
  const started = Date.now();
  recorder.addEventListener("dataavailable", (e) => {
    if (e.data && e.data.size) chunks.push(e.data);
  });
  recorder.addEventListener("stop", () => {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    setRecordButton(false);
    state.recorder = null;
    upload(new Blob(chunks, { type: recorder.mimeType || mime || "audio/webm" }));
  });
  const timer = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    status.textContent = `Recording… ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 500);
  state.recorder = recorder;
  recorder.start(250);
  setRecordButton(true);
  status.textContent = "Recording… press again to stop.";
}

function extension(type) {
  if (type.includes("ogg")) return "ogg";
  if (type.includes("mp4")) return "m4a";
  return "webm";
}

async function upload(blob) {
  const status = $("record-status");
  if (!blob.size) {
    status.textContent = "Nothing was recorded; try again.";
    return;
  }
  status.textContent = "Transcribing…";
  setBusy(true);
  try {
    const form = new FormData();
    form.append("audio", blob, `answer.${extension(blob.type)}`);
    if (state.questionId) form.append("question_id", state.questionId);
    if (state.questionId && state.followUp) {
      if (state.followUp.id) form.append("follow_up_id", state.followUp.id);
      form.append("follow_up", state.followUp.text);
    }
    const data = await (await api("/v1/transcribe", { method: "POST", body: form })).json();
    const transcript = data.transcript || {};
    const text = (transcript.corrected || transcript.raw || data.text || "").trim();
    if (!text) {
      status.textContent = "No speech was recognised; try again, closer to the microphone.";
      return;
    }
    const box = $("answer");
    box.value = box.value.trim() ? `${box.value.trim()} ${text}` : text;
    state.speech = data;
    status.textContent = "Transcribed: check the text, edit if needed, then send.";
  } catch (err) {
    status.textContent = `Transcription failed: ${err.message}`;
  } finally {
    setBusy(false);
    $("answer").focus();
  }
}

// ---- start -------------------------------------------------------------------------------------

setupKeyForm(() => {
  if (!state.id) loadTopics().then(showHistory).then(resumeFromLink);
});
setupForm();
setupAnswerForm();
setupCoach({ state, addMessage, advance, finish, notice, setBusy });
loadTopics().then(showHistory).then(resumeFromLink);
