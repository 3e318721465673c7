// The coaching loop of the chat page (issue 21): after each closed turn "Show model answer" and
// "Try again" (the most recent turn only, until the next answer), and always "Skip", "I don't know"
// and "End interview". chat.js hands in what it owns (state, message log, advance, finish).
import { ApiError, api, apiError, el, evidenceSpans, fmt, headers, highlightedAnswer, scoreCard } from "./common.js";

let page = null; // {state, addMessage, advance, finish, notice, setBusy}

function key() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function withKey(path, json) {
  // Idempotency-Key: a resent request gets the stored response, never a second action.
  return fetchJson(`/v1/interviews/${encodeURIComponent(page.state.id)}/${path}`, json);
}

async function fetchJson(url, json) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": key() }),
      body: JSON.stringify(json),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Is it still running?");
  }
  if (!response.ok) throw await apiError(response);
  return response.json();
}

/** The buttons under a closed turn: its model answer, and Try again while it is the latest one. */
export function turnClosed(answerMsg, turn) {
  document.querySelectorAll(".turn-tools [data-retry]").forEach((b) => b.remove()); // earlier turns: done
  const tools = el(
    "div",
    { className: "turn-tools actions", dataset: { turn: String(turn) } },
    el("button", { type: "button", className: "small", dataset: { model: String(turn) }, onclick: (e) => showModel(e.target.closest(".msg"), turn) }, "Show model answer"),
    el(
      "button",
      { type: "button", className: "small", dataset: { retry: String(turn), coach: "input" }, onclick: (e) => openRetry(e.target.closest(".msg"), turn) },
      "Try again",
    ),
  );
  answerMsg.dataset.turn = String(turn);
  answerMsg.dataset.interview = page.state.id;
  answerMsg.append(tools);
}

/** The last message of a turn's block (its answer, feedback, model answer, later attempts): what
 *  comes before the next question, so a turn's messages stay together. */
function turnEnd(msg) {
  let last = msg;
  while (last.nextElementSibling && !last.nextElementSibling.matches(".msg.question, .msg.done")) {
    last = last.nextElementSibling;
  }
  return last;
}

async function showModel(answerMsg, turn) {
  const id = encodeURIComponent(answerMsg.dataset.interview);
  try {
    const shown = await (await api(`/v1/interviews/${id}/turns/${turn}/model-answer`)).json();
    const points = shown.key_points || [];
    const covered = points.filter((k) => k.covered).length;
    const mark = { covered: "✓", unclear: "~", missing: "✗" };
    const block = el(
      "li",
      { className: "msg interviewer model-answer", dataset: { modelFor: String(turn) } },
      el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, ` · model answer, turn ${turn}`)),
      el("p", { className: "text" }, shown.reference_answer),
      el("h4", {}, `Key points — you covered ${covered} of ${points.length}` + (shown.attempt > 1 ? ` (attempt ${shown.attempt})` : "")),
      el(
        "ul",
        { className: "kp model-points" },
        points.map((k) =>
          el(
            "li",
            { className: `kp-${k.status}` },
            el("span", { className: "icon", "aria-hidden": "true" }, mark[k.status] || "•"),
            el("span", { className: "visually-hidden" }, `${k.status}: `),
            k.text,
          ),
        ),
      ),
    );
    const old = document.querySelector(`.model-answer[data-model-for="${turn}"]`);
    if (old) old.replaceWith(block);
    else turnEnd(answerMsg).after(block);
    block.scrollIntoView({ block: "nearest", behavior: "smooth" });
  } catch (err) {
    page.notice(err.message, "error");
  }
}

function openRetry(answerMsg, turn) {
  if (answerMsg.querySelector(".retry-form")) {
    answerMsg.querySelector(".retry-form textarea").focus();
    return;
  }
  const box = el("textarea", { rows: 3, id: `retry-${turn}`, "aria-label": `Your new answer to turn ${turn}` });
  const send = el("button", { type: "submit", className: "primary small", dataset: { coach: "input" } }, "Send new attempt");
  const form = el(
    "form",
    { className: "retry-form" },
    el("label", { htmlFor: `retry-${turn}` }, "Try again"),
    box,
    el("div", { className: "actions" }, el("button", { type: "button", className: "small", onclick: () => form.remove() }, "Cancel"), send),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendRetry(answerMsg, turn, form, box);
  });
  answerMsg.append(form);
  box.focus();
}

async function sendRetry(answerMsg, turn, form, box) {
  const text = box.value.trim();
  if (!text || page.state.busy) return;
  page.setBusy(true);
  try {
    const out = await withKey("retries", { text, turn });
    form.remove();
    const sign = out.change > 0 ? "+" : "";
    const attempt = el(
      "li",
      { className: `msg candidate retry band-${out.score.band}`, dataset: { attempt: String(out.attempt) } },
      el("p", { className: "who" }, "You", el("span", { className: "meta" }, ` · attempt ${out.attempt} at turn ${turn}`)),
      highlightedAnswer(text, evidenceSpans(out.score)),
      el(
        "p",
        { className: `score-change ${out.change > 0 ? "up" : out.change < 0 ? "down" : "same"}`, role: "status" },
        `Score ${fmt(out.previous.value)} → ${fmt(out.score.value)} (${sign}${fmt(out.change)}) · best ${fmt(out.best.value)}`,
      ),
      scoreCard(out.score),
    );
    const feedback = el(
      "li",
      { className: "msg interviewer feedback" },
      el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, ` · feedback on attempt ${out.attempt}`)),
      el("p", { className: "text" }, out.feedback),
    );
    const tools = answerMsg.querySelector(".turn-tools");
    turnEnd(answerMsg).after(attempt);
    attempt.after(feedback);
    if (tools) attempt.append(tools); // the turn's buttons follow its latest attempt
    attempt.dataset.interview = answerMsg.dataset.interview;
    attempt.scrollIntoView({ block: "nearest", behavior: "smooth" });
  } catch (err) {
    page.notice(err.message, "error");
  } finally {
    page.setBusy(false);
  }
}

async function closeTurn(kind) {
  const { state } = page;
  if (state.busy || !state.id) return;
  page.setBusy(true);
  try {
    const out = await withKey(kind === "skip" ? "skip" : "dont-know", { turn: state.turn });
    const msg = page.addMessage(
      el(
        "li",
        { className: `msg candidate ${kind === "skip" ? "skipped" : "dont-know"}` },
        el("p", { className: "who" }, "You"),
        el("p", { className: "answer-text" }, kind === "skip" ? "(skipped)" : "I don't know."),
        el("p", { className: "muted" }, `Scored ${fmt(out.score.value)}/10`),
      ),
    );
    page.addMessage(
      el(
        "li",
        { className: "msg interviewer feedback" },
        el("p", { className: "who" }, "Interviewer", el("span", { className: "meta" }, " · feedback")),
        el("p", { className: "text" }, out.feedback),
      ),
    );
    turnClosed(msg, out.turn);
    page.advance(out);
  } catch (err) {
    page.notice(err.message, "error");
    if (err.code === "interview_finished") page.finish();
  } finally {
    page.setBusy(false);
  }
}

async function endInterview() {
  const { state } = page;
  if (state.busy || !state.id) return;
  if (!window.confirm("End the interview now? The report covers the questions answered so far.")) return;
  page.setBusy(true);
  try {
    await withKey("end", { turn: state.turn });
    const { answered, total } = state;
    page.finish("Interview ended early. The report covers what you answered.");
    document.getElementById("progress").textContent = `Ended early · ${answered} of ${total} questions answered`;
  } catch (err) {
    page.notice(err.message, "error");
    if (err.code === "interview_finished") page.finish();
  } finally {
    page.setBusy(false);
  }
}

/** Wire the always-available actions; `hooks` are chat.js's own functions. */
export function setupCoach(hooks) {
  page = hooks;
  document.getElementById("skip").addEventListener("click", () => closeTurn("skip"));
  document.getElementById("dont-know").addEventListener("click", () => closeTurn("dont_know"));
  document.getElementById("end").addEventListener("click", endInterview);
}

/** Inputs of the coaching loop follow the answer box: off while busy and once finished. */
export function setCoachBusy(off) {
  document.querySelectorAll("[data-coach=input]").forEach((b) => (b.disabled = off));
}
