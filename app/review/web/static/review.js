"use strict";
// The reviewer page: every action is a call to /v1/review with the key typed in (kept in localStorage).
(() => {
  const $ = (sel) => document.querySelector(sel);
  const keyInput = $("#api-key");
  keyInput.value = localStorage.getItem("mockinterview.reviewKey") || "";
  $("#key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    localStorage.setItem("mockinterview.reviewKey", keyInput.value);
    loadAll();
  });
  let current = null; // the question id in the editor
  let questionRows = []; // every question's agreement row, as loaded

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
  const status = (msg) => { $("#status").textContent = msg; };

  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (keyInput.value) headers.Authorization = `Bearer ${keyInput.value}`;
    const res = await fetch(`/v1/review${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = res.status === 204 ? null : await res.json();
    if (!res.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${res.status}`);
    return data;
  }

  async function loadQuestions() {
    const [rows, report] = await Promise.all([api("GET", "/questions"), api("GET", "/agreement")]);
    const o = report.overall;
    $("#overall").textContent = `Overall: ${o.n} graded · Pearson ${fmt(o.pearson)} · QWK ${fmt(o.qwk)} · MAE ${fmt(o.mae)} · bias ${fmt(o.bias)}`;
    questionRows = rows;
    const topics = [...new Set(rows.map((q) => q.topic))].sort();
    const select = $("#topic-filter");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: "All topics" }), ...topics.map((t) => el("option", { value: t, text: t })));
    select.value = topics.includes(chosen) ? chosen : "";
    showQuestions();
  }

  // Disagreement: graded answers whose scores sit, on average, a point or more from the graders'.
  const disagrees = (q) => Boolean(q.stats && q.stats.n > 0 && (q.stats.mae || 0) >= 1);

  function showQuestions() {
    const topic = $("#topic-filter").value;
    const onlyDisagree = $("#disagree-filter").checked;
    const rows = questionRows.filter((q) => (!topic || q.topic === topic) && (!onlyDisagree || disagrees(q)));
    const body = $("#questions tbody");
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "6", text: "No question matches these filters." })));
      return;
    }
    body.replaceChildren(...rows.map((q) => {
      const tr = el("tr", { tabindex: "0", "data-id": q.id },
        el("td", { text: `${q.id}${q.has_draft ? " (draft)" : ""}` }), el("td", { text: String(q.version) }),
        el("td", { text: String(q.graded) }), el("td", { text: fmt(q.stats && q.stats.qwk) }),
        el("td", { text: fmt(q.stats && q.stats.mae) }), el("td", { text: fmt(q.needs_work) }));
      tr.addEventListener("click", () => openEditor(q.id));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openEditor(q.id); });
      return tr;
    }));
  }

  function kpRow(kp) {
    const remove = el("button", { type: "button", "aria-label": "remove key point", text: "×" });
    const row = el("div", { class: "row kp", "data-id": kp.id },
      el("input", { name: "kp-text", "aria-label": "key point", value: kp.text }),
      el("input", { name: "kp-weight", type: "number", step: "0.5", min: "0.5", max: "10", "aria-label": "weight", value: String(kp.weight) }),
      remove);
    row.dataset.terms = JSON.stringify(kp.terms || []);
    remove.addEventListener("click", () => row.remove());
    return row;
  }

  async function openEditor(id) {
    current = id;
    const d = await api("GET", `/questions/${encodeURIComponent(id)}/draft`);
    const q = d.question;
    $("#editor-panel").hidden = false;
    $("#editor-id").textContent = id;
    $("#editor-version").textContent = d.is_draft ? `draft v${d.version} (based on v${d.based_on})` : `current v${d.version}`;
    const f = $("#editor");
    f.text.value = q.text; f.reference_answer.value = q.reference_answer; f.note.value = d.is_draft ? d.note : "";
    $("#key-points").replaceChildren(...q.key_points.map(kpRow));
    $("#misconceptions").replaceChildren(...q.misconceptions.map((m) => {
      const row = el("div", { class: "row mis" },
        el("input", { name: "mis-text", "aria-label": "misconception", value: m.text }),
        el("input", { name: "mis-correction", "aria-label": "correction", value: m.correction }));
      row.dataset.contradicts = m.contradicts || "";
      return row;
    }));
    $("#whatif").disabled = $("#publish").disabled = !d.is_draft;
    $("#whatif-result").replaceChildren();
    await loadVersions();
  }

  async function loadVersions() {
    const versions = await api("GET", `/questions/${encodeURIComponent(current)}/versions`);
    $("#versions").replaceChildren(...versions.map((v) => el("div", {},
      el("h3", { text: `v${v.version} · ${v.status}${v.note ? " · " + v.note : ""}` }),
      el("pre", { class: "diff", text: v.diff }))));
  }

  function slug(text, i) {
    return (text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "point") + (i ? `-${i}` : "");
  }

  $("#add-kp").addEventListener("click", () => $("#key-points").append(kpRow({ id: "", text: "", weight: 1, terms: [] })));

  $("#editor").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const seen = new Set();
    const key_points = [...document.querySelectorAll("#key-points .row")].map((row, i) => {
      const text = row.querySelector("[name=kp-text]").value.trim();
      let id = row.dataset.id || slug(text, 0);
      if (seen.has(id)) id = slug(text, i);
      seen.add(id);
      return { id, text, weight: Number(row.querySelector("[name=kp-weight]").value), terms: JSON.parse(row.dataset.terms || "[]") };
    }).filter((kp) => kp.text);
    const misconceptions = [...document.querySelectorAll("#misconceptions .row")].map((row) => ({
      text: row.querySelector("[name=mis-text]").value.trim(),
      correction: row.querySelector("[name=mis-correction]").value.trim(),
      contradicts: seen.has(row.dataset.contradicts) ? row.dataset.contradicts : null,
    }));
    try {
      await api("PUT", `/questions/${encodeURIComponent(current)}/draft`, {
        text: f.text.value, reference_answer: f.reference_answer.value, key_points, misconceptions, note: f.note.value,
      });
      status("Draft saved");
      await openEditor(current);
      await loadQuestions();
    } catch (err) { status(`Not saved: ${err.message}`); }
  });

  $("#whatif").addEventListener("click", async () => {
    status("Re-scoring…");
    try {
      const w = await api("POST", `/questions/${encodeURIComponent(current)}/whatif`);
      const g = w.graded;
      const summary = el("p", { id: "whatif-summary",
        text: `Human-graded (${g.current.n}): QWK ${fmt(g.current.qwk)} → ${fmt(g.draft.qwk)}, Pearson ${fmt(g.current.pearson)} → ${fmt(g.draft.pearson)}, MAE ${fmt(g.current.mae)} → ${fmt(g.draft.mae)} · ${w.rows.length} answers in ${fmt(w.elapsed_ms, 0)} ms` });
      const table = el("table", { id: "whatif-table" },
        el("thead", {}, el("tr", {}, ...["kind", "answer", "human", `v${w.current_version}`, `draft v${w.draft_version}`, "change"].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...w.rows.map((r) => el("tr", {},
          el("td", { text: r.label ? `${r.kind} (${r.label})` : r.kind }),
          el("td", { text: r.answer.length > 160 ? r.answer.slice(0, 160) + "…" : r.answer }),
          el("td", { text: fmt(r.human, 1) }), el("td", { text: fmt(r.current, 1) }), el("td", { text: fmt(r.draft, 1) }),
          el("td", { class: r.delta > 0 ? "up" : r.delta < 0 ? "down" : "", text: (r.delta > 0 ? "+" : "") + fmt(r.delta, 1) })))));
      $("#whatif-result").replaceChildren(summary, table);
      status("What-if done");
    } catch (err) { status(`What-if failed: ${err.message}`); }
  });

  $("#publish").addEventListener("click", async () => {
    try {
      const p = await api("POST", `/questions/${encodeURIComponent(current)}/publish`);
      status(`Published v${p.version}`);
      await openEditor(current);
      await loadQuestions();
    } catch (err) { status(`Not published: ${err.message}`); }
  });

  async function loadQueue() {
    const items = await api("GET", "/queue?limit=20");
    $("#queue").replaceChildren(...items.map((it) => {
      const form = el("form", {},
        el("label", { text: "Grade 0-10 " }, el("input", { name: "score", type: "number", min: "0", max: "10", step: "0.5", required: "" })),
        el("input", { name: "note", placeholder: "note (optional)", "aria-label": "note" }),
        el("button", { type: "submit", text: "Save grade" }));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          await api("POST", "/grades", { turn_id: it.turn_id, score: Number(form.score.value), note: form.note.value });
          status(`Graded answer ${it.turn_id}`);
          await Promise.all([loadQueue(), loadQuestions()]);
        } catch (err) { status(`Not graded: ${err.message}`); }
      });
      return el("li", { "data-turn": String(it.turn_id) },
        el("p", {}, el("strong", { text: it.question_id }), ` · scorer ${fmt(it.value, 1)} (${it.band}) · ${it.reasons.join("; ") || "ranked by uncertainty"}`),
        el("p", { class: "answer", text: it.answer }), form);
    }));
    if (!items.length) $("#queue").append(el("li", { text: "Nothing to grade." }));
  }

  $("#topic-filter").addEventListener("change", showQuestions);
  $("#disagree-filter").addEventListener("change", showQuestions);

  async function loadAll() {
    try { await Promise.all([loadQuestions(), loadQueue()]); status(""); }
    catch (err) { status(err.message); }
  }
  loadAll();
})();
