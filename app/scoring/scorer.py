"""The answer scorer: key-point coverage by the best-matching answer span, guarded against gaming.

Signals (all from one embedding model):
- per key point, the best cosine between the point and any answer span (sentence, clause, pair);
- token-level alignment: how much of the reference's rare-word meaning the answer's tokens recall;
- whole-answer similarity to the reference answer(s);
- lexical recall of the reference's rare content words (stems).
They are combined into a raw score, mapped to 0-10 by a monotone calibration fitted on graded
examples, then capped by the guards: relevance gate, echo of the question, keyword list,
stated misconceptions, "I don't know" and empty answers.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from app.scoring.batching import MicroBatcher
from app.scoring.calibration import Calibration, ModeCalibration
from app.scoring.embedders import EmbeddingCache, Matrix
from app.scoring.guards import (
    DONT_KNOW,
    is_keyword_list,
    quotes_reference,
    without_injection,
)
from app.scoring.schemas import (
    Band,
    KeyPointScore,
    MisconceptionHit,
    Rubric,
    RubricPoint,
    ScoreResult,
    band_of,
)
from app.scoring.text import (
    content_words,
    idf,
    sentences,
    spans,
    stem,
    tokens,
    visible,
    word_count,
)

__all__ = ["SCORER_VERSION", "Scorer", "derive_key_points"]

SCORER_VERSION = "mi-scorer-8"
QUESTION_DEMOTE = 0.2  # weight of reference words that the question itself already contains


@dataclass(frozen=True)
class Params:
    """Thresholds of the guards; kept together so calibration can store and refit them."""

    covered_at: float = 0.62  # a key point counts as covered at this span similarity
    # From here up to covered_at a point is "unclear": feedback says "not clearly stated", never
    # "you left out" (a related span this close often says the point in other words).
    unclear_at: float = 0.45
    soft_low: float = 0.30  # span similarity that earns no credit
    soft_high: float = 0.75  # span similarity that earns full credit
    relevance_gate: float = 0.28  # below this the answer is off topic
    # On the bank samples 0.80 capped 7 strong answers; 0.84 let wrong ones overtake partial ones.
    misconception_at: float = 0.82
    misconception_margin: float = 0.05
    echo_similarity: float = 0.80
    echo_novelty: float = 0.30
    # An echo is closer to the question than to the reference by this much. When the reference
    # itself restates the question ("which layer shrinks the map?" "the pooling layer shrinks
    # it"), an answer that does so too is right, not an echo. On SemEval's training answers the
    # guard without this capped 30 correct answers against 51 others, with it 5 against 23; of
    # 0.05-0.30, 0.10 gives the value its best Pearson with the grades on both corpora (on Beetle
    # tied with 0.05 and 0.15).
    echo_over_reference: float = 0.10
    neighbours_checked: int = 4  # other bank questions (closest references) an answer is tried on
    # Another question's rubric gives this much more raw signal (before the map, which flattens
    # near 10): capped. On the bank, strong samples reach 0.05 at most, partial 0.13, another
    # question's reference answer 0.63 or more; eight wrong samples, answers to a different
    # question, reach 0.25-0.31.
    other_question_margin: float = 0.25
    other_question_cap: float = 2.0
    contradiction_cap: float = 3.0  # the judge rejects the answer: weak band whatever its coverage
    # What each guard caps the value at.
    misconception_cap: float = 3.5
    keyword_list_cap: float = 3.5
    echo_cap: float = 1.5
    off_topic_cap: float = 1.0
    quoted_reference_cap: float = 1.5  # a reference answer pasted in while addressing the grader
    sibling_overlap: float = 0.80  # reference answers this alike: the questions overlap, no cap

    def cap_for(self, flags: Iterable[str]) -> float:
        """The lowest cap among the guards that flagged an answer; 10 when none did."""
        caps = {
            "misconception": self.misconception_cap,
            "keyword_list": self.keyword_list_cap,
            "echo": self.echo_cap,
            "off_topic": self.off_topic_cap,
            "other_question": self.other_question_cap,
            "contradicts_reference": self.contradiction_cap,
            "quoted_reference": self.quoted_reference_cap,
        }
        return min([10.0, *(caps[f] for f in flags if f in caps)])


@dataclass
class _Prepared:
    rubric: Rubric
    answer: str
    clean: str
    flags: list[str]
    spans: list[str]


def derive_key_points(reference_answers: Sequence[str]) -> tuple[RubricPoint, ...]:
    """Key points for a rubric that has none: the first reference's sentences, or its clauses
    when it is a single sentence."""
    ref = reference_answers[0]
    chosen = [s for s in sentences(ref) if word_count(s) >= 3]
    if len(chosen) < 2:
        chosen = [s for s in spans(ref) if word_count(s) >= 3][:5]
    points = [RubricPoint(id=f"p{i + 1}", text=t, weight=1.0) for i, t in enumerate(chosen[:7])]
    return tuple(points) or (RubricPoint(id="p1", text=ref, weight=1.0),)


@lru_cache(maxsize=4096)
def _reference_spans(reference_answers: tuple[str, ...]) -> tuple[str, ...]:
    """A rubric's reference answers as spans: split once, not on every answer scored."""
    return tuple(s for r in reference_answers for s in spans(r))


def _idf_weights(words: Sequence[str]) -> np.ndarray:
    return np.array([idf(w) for w in words], dtype=np.float32)


class Scorer:
    """Scores answers against rubrics; deterministic for a given model, calibration and input."""

    version = SCORER_VERSION

    def __init__(self, cache: EmbeddingCache, calibration: Calibration | None = None) -> None:
        self.cache = cache
        self.embedder = cache.embedder
        self.calibration = calibration or Calibration.identity()
        self.params = Params()
        self._token_cache: dict[str, tuple[list[str], Matrix]] = {}
        self._has_tokens = True
        # One batcher per event loop: apps sharing this scorer (tests, CLI) each run their own loop.
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MicroBatcher] = (
            weakref.WeakKeyDictionary()
        )
        self._neighbours: list[Rubric] = []
        self._neighbour_vecs: Matrix | None = None

    @property
    def has_neighbours(self) -> bool:
        return bool(self._neighbours)

    def checks_other_questions(self, rubric: Rubric) -> bool:
        """Whether the other-question guard looks at answers to this rubric (a bank question, with
        the bank's other questions known)."""
        return self._neighbour_vecs is not None and rubric.question_id is not None

    def set_neighbours(self, rubrics: Sequence[Rubric]) -> None:
        """The bank's rubrics: an answer to a bank question that fits another of them far better
        answers that other question, and is capped (flag `other_question`)."""
        self._neighbours = [r for r in rubrics if r.question_id]
        self.warm(self._neighbours)
        self._neighbour_vecs = (
            self.cache.embed([r.reference_answers[0] for r in self._neighbours]) if self._neighbours else None
        )
        # Their token vectors are encoded on first use: all 181 at once took 10 s of every start,
        # and an answer is compared with a few neighbours only.

    # -- public API --------------------------------------------------------------------------
    def warm(self, rubrics: Sequence[Rubric]) -> int:
        """Encode (and persist) every rubric text; returns how many texts the model had to encode."""
        before = self.cache.encoded
        texts: list[str] = []
        for r in rubrics:
            texts.extend(self._rubric_texts(r))
        self.cache.embed(list(dict.fromkeys(texts)), persist=True)
        return self.cache.encoded - before

    def score(self, rubric: Rubric, answer: str) -> ScoreResult:
        return self.score_many([(rubric, answer)])[0]

    def score_many(self, items: Sequence[tuple[Rubric, str]]) -> list[ScoreResult]:
        """Score several answers with one encode call for all answer texts."""
        prepared = [self._prepare(r, a) for r, a in items]
        for persist in (True, False):
            rubric_texts = [
                t for p in prepared if p.rubric.persist is persist for t in self._rubric_texts(p.rubric)
            ]
            if rubric_texts:
                self.cache.embed(list(dict.fromkeys(rubric_texts)), persist=persist)
        # Whole answers need sentence and token vectors: one forward pass gives both.
        wholes = [
            t for t in dict.fromkeys(p.clean for p in prepared if p.spans) if t not in self._token_cache
        ]
        if wholes and self._has_tokens:
            vecs, toks = self.embedder.embed_with_tokens(wholes)
            if toks is None:
                self._has_tokens = False
            else:
                self.cache.put(wholes, vecs)
                for t, v in zip(wholes, toks, strict=True):
                    self._token_cache[t] = (self._wordpieces(t), v)
        answer_texts = [t for p in prepared if p.spans for t in [p.clean, *p.spans]]
        if answer_texts:
            self.cache.embed(list(dict.fromkeys(answer_texts)))
            self._ensure_tokens([r for p in prepared if p.spans for r in p.rubric.reference_answers])
        return [self._score_prepared(p, neighbours=True) for p in prepared]

    async def score_async(self, rubric: Rubric, answer: str, *, caller: str | None = None) -> ScoreResult:
        """Off the event loop; requests that arrive together share one encode call, taken fairly
        from each caller (default: the request's `scoring_caller`)."""
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            settings = getattr(self.embedder, "settings", None)
            batcher = self._batchers[loop] = MicroBatcher(
                self.score_many,
                window_ms=getattr(settings, "batch_window_ms", 4.0),
                max_batch=getattr(settings, "max_batch_size", 64),
                chunk_cost=getattr(settings, "batch_chars_per_caller", 32_000),
                cost=self.work_chars,
            )
        return await batcher.submit(rubric, answer, caller=caller)

    @staticmethod
    def work_chars(rubric: Rubric, answer: str) -> int:
        """What scoring this answer may have to encode, in characters: the answer, and an ad-hoc
        rubric's texts (a bank rubric's vectors are cached from start-up)."""
        if rubric.persist:
            return len(answer)
        texts = (rubric.question, *rubric.reference_answers, *(k.text for k in rubric.key_points))
        return len(answer) + sum(len(t) for t in texts)

    def describe(self) -> dict[str, str]:
        return {
            **self.embedder.describe(),
            "scorer_version": self.version,
            "calibration": self.calibration.name,
        }

    def capped(self, value: float, flags: Sequence[str]) -> float:
        """The value after the caps of the guards that flagged the answer (calibration replays them
        on calibration rows, so it judges a map by the values the scorer would give)."""
        return min(value, self.params.cap_for(flags))

    # -- internals ---------------------------------------------------------------------------
    def _points(self, rubric: Rubric) -> tuple[RubricPoint, ...]:
        return rubric.key_points or derive_key_points(rubric.reference_answers)

    def _rubric_texts(self, rubric: Rubric) -> list[str]:
        return [
            rubric.question,
            *rubric.reference_answers,
            *(k.text for k in self._points(rubric)),
            *(m.text for m in rubric.misconceptions),
            *(_reference_spans(rubric.reference_answers) if rubric.misconceptions else ()),
        ]

    @staticmethod
    def mode_name(rubric: Rubric) -> str:
        """`keyed` for a rubric with written key points, `free_form` for a reference answer alone."""
        return "keyed" if rubric.key_points else "free_form"

    def _mode(self, rubric: Rubric) -> ModeCalibration:
        return self.calibration.mode(self.mode_name(rubric))

    def _prepare(self, rubric: Rubric, answer: str) -> _Prepared:
        text = visible(answer).strip()
        if not text or not tokens(text):
            return _Prepared(rubric, answer, "", ["empty"], [])
        text, flags = without_injection(text)
        if flags and quotes_reference(answer, rubric.reference_answers):
            flags.append("quoted_reference")  # addresses the grader and pastes the reference: capped
        if not text or not tokens(text):
            return _Prepared(rubric, answer, "", [*flags, "empty"], [])
        if DONT_KNOW.fullmatch(text):
            return _Prepared(rubric, answer, "", [*flags, "dont_know"], [])
        return _Prepared(rubric, answer, text, flags, spans(text))

    def _ensure_tokens(self, texts: Sequence[str]) -> None:
        """Contextual token vectors for texts not yet seen, in one encode call."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._token_cache]
        if not todo or not self._has_tokens:
            return
        vecs = self.embedder.embed_tokens(todo)
        if vecs is None:
            self._has_tokens = False
            return
        if len(self._token_cache) + len(todo) > 20000:
            self._token_cache.clear()
        for t, v in zip(todo, vecs, strict=True):
            self._token_cache[t] = (self._wordpieces(t), v)

    def _wordpieces(self, text: str) -> list[str]:
        """For each word piece of the text, the whole word it belongs to: a word's rarity and its
        stem belong to the word ("##ization" has no frequency of its own)."""
        words: list[list[str]] = []  # each word as its pieces
        for piece in self.embedder.word_pieces(text)[:254]:
            if piece.startswith("##") and words:
                words[-1].append(piece[2:])
            else:
                words.append([piece])
        return ["".join(word) for word in words for _ in word]

    def _token_recall(self, reference: str, answer: str, question: str = "") -> float:
        """BERTScore-style recall of the reference's tokens by the answer's, weighted by the rarity
        of the word each token belongs to; a reference word the answer itself uses (same stem)
        counts as recalled in full, since contextual vectors of one word in two sentences can sit
        well below 1. Words the question already says count little (repeating them shows no
        knowledge)."""
        if not self._has_tokens:
            return 0.0
        self._ensure_tokens([reference, answer])
        ref_words, ref_vecs = self._token_cache[reference]
        ans_words, ans_vecs = self._token_cache[answer]
        if len(ref_vecs) == 0 or len(ans_vecs) == 0 or len(ref_words) != len(ref_vecs):
            return 0.0
        ref_stems = [stem(w) for w in ref_words]
        said = {stem(w) for w in ans_words}
        best = np.maximum(
            (ref_vecs @ ans_vecs.T).max(axis=1), np.array([s in said for s in ref_stems], dtype=np.float32)
        )
        w = _idf_weights(ref_words)
        if question:
            asked = {stem(t) for t in tokens(question)}
            w = w * np.array([QUESTION_DEMOTE if s in asked else 1.0 for s in ref_stems], dtype=np.float32)
        if w.sum() == 0:
            return float(best.mean())
        return float((best * w).sum() / w.sum())

    @staticmethod
    def _lexical_recall(reference: str, answer: str, question: str = "") -> float:
        asked = {stem(w) for w in content_words(question)}
        ref = {stem(w) for w in content_words(reference)} - asked
        if not ref:
            return 0.0
        ans = {stem(w) for w in content_words(answer)}
        weights = {s: max(idf(s), 0.3) for s in ref}
        return sum(weights[s] for s in ref & ans) / sum(weights.values())

    def _other_question(self, p: _Prepared, a_vec: Matrix, r_vecs: Matrix, bar: float) -> float | None:
        """The best raw signal this answer gets from another bank question's rubric, if one reaches
        `bar`, among the few whose reference answers lie closest to it (`r_vecs`: its own
        question's references). Raw, not value: the map is flat near 10, so an answer strong on
        its own question could never fit another one by a margin in points."""
        if self._neighbour_vecs is None or not self.checks_other_questions(p.rubric):
            return None
        overlap = (self._neighbour_vecs @ r_vecs.T).max(axis=1)
        sims = self._neighbour_vecs @ a_vec
        best: float | None = None
        for i in np.argsort(-sims)[: self.params.neighbours_checked]:
            other = self._neighbours[int(i)]
            if other.question_id == p.rubric.question_id or overlap[i] >= self.params.sibling_overlap:
                continue  # the same question, or one asking much the same: its answers fit both
            mode = self._mode(other)
            # Every signal but lexical recall is at most 1: skip rubrics that cannot reach the bar.
            lexical = max(self._lexical_recall(r, p.clean, other.question) for r in other.reference_answers)
            ceiling = mode.raw({k: lexical if k == "lexical" else 1.0 for k in mode.weights})
            if ceiling < bar:
                continue
            raw = self._score_prepared(_Prepared(other, p.answer, p.clean, [], p.spans)).components["raw"]
            if raw >= bar and (best is None or raw > best):
                best = raw
        return best

    def _reference_says(self, rubric: Rubric, span_vec: np.ndarray) -> float:
        """How closely the reference answer itself says what this answer span says (best span).
        A span the reference says at least as closely as a misconception states no misconception:
        five bank references matched one of their own misconceptions more closely than the key
        point it contradicts. The reference's spans are rubric texts (encoded once, kept on disk);
        its sentences alone left one of the five."""
        ref_spans = list(_reference_spans(rubric.reference_answers))
        return float((self.cache.embed(ref_spans) @ span_vec).max()) if ref_spans else -1.0

    def _score_prepared(self, p: _Prepared, *, neighbours: bool = False) -> ScoreResult:
        rubric, params = p.rubric, self.params
        points = self._points(rubric)
        if not p.spans:
            return ScoreResult(
                value=0.0,
                band=Band.off_topic,
                key_points=[
                    KeyPointScore(
                        id=k.id, text=k.text, weight=k.weight, covered=False, similarity=0.0, evidence=None
                    )
                    for k in points
                ],
                flags=p.flags,
                similarity=0.0,
                coverage=0.0,
                scorer_version=self.version,
                rubric_version=rubric.version,
            )
        flags = list(p.flags)
        emb = self.cache.embed
        a_vec = emb([p.clean])[0]
        s_vecs = emb(p.spans)
        q_vec = emb([rubric.question])[0]
        r_vecs = emb(list(rubric.reference_answers))
        k_vecs = emb([k.text for k in points])

        ref_sim = float((r_vecs @ a_vec).max())
        q_sim = float(q_vec @ a_vec)
        span_sims = k_vecs @ s_vecs.T  # points x spans
        answer_stems_list = [stem(w) for w in content_words(p.clean)]
        answer_stems = set(answer_stems_list)

        kp_scores: list[KeyPointScore] = []
        soft: list[float] = []
        for i, k in enumerate(points):
            j = int(span_sims[i].argmax())
            sim = float(span_sims[i, j])
            term_hit = any(
                all(stem(w) in answer_stems for w in content_words(t)) and content_words(t) for t in k.terms
            )
            if term_hit:
                sim = min(1.0, sim + 0.05)
            kp_scores.append(
                KeyPointScore(
                    id=k.id,
                    text=k.text,
                    weight=k.weight,
                    covered=sim >= params.covered_at,
                    similarity=round(sim, 4),
                    evidence=p.spans[j],
                    status=self.point_status(sim),
                )
            )
            soft.append(float(np.clip((sim - params.soft_low) / (params.soft_high - params.soft_low), 0, 1)))

        # Misconceptions: the answer states a listed wrong belief more closely than the point it denies.
        hits: list[MisconceptionHit] = []
        best_margin = (0.0, -1.0)
        if rubric.misconceptions:
            m_vecs = emb([m.text for m in rubric.misconceptions])
            m_sims = m_vecs @ s_vecs.T
            ids = [k.id for k in points]
            for mi, m in enumerate(rubric.misconceptions):
                j = int(m_sims[mi].argmax())
                sim = float(m_sims[mi, j])
                if m.contradicts in ids:
                    rival = float(span_sims[ids.index(m.contradicts), j])
                else:
                    rival = float(span_sims[:, j].max())
                if sim - rival > best_margin[1]:
                    best_margin = (sim, sim - rival)
                if (
                    sim >= params.misconception_at
                    and sim > rival + params.misconception_margin
                    and sim > self._reference_says(rubric, s_vecs[j]) + params.misconception_margin
                ):
                    hits.append(
                        MisconceptionHit(
                            text=m.text,
                            correction=m.correction,
                            similarity=round(sim, 4),
                            evidence=p.spans[j],
                        )
                    )
                    if m.contradicts in ids:
                        ci = ids.index(m.contradicts)
                        soft[ci] = 0.0
                        kp_scores[ci] = kp_scores[ci].model_copy(
                            update={"covered": False, "status": "missing"}
                        )
        if hits:
            flags.append("misconception")

        weights = np.array([k.weight for k in points], dtype=np.float32)
        coverage = float((np.array(soft) * weights).sum() / weights.sum())
        token_recall = max(self._token_recall(r, p.clean, rubric.question) for r in rubric.reference_answers)
        lexical = max(self._lexical_recall(r, p.clean, rubric.question) for r in rubric.reference_answers)
        components = {
            "coverage": coverage,
            "token_recall": token_recall,
            "reference": ref_sim,
            "lexical": lexical,
            "question": q_sim,
            "misconception": best_margin[0],
            "misconception_margin": best_margin[1],
        }
        mode = self._mode(rubric)
        raw = mode.raw(components)
        value = mode.apply(raw)

        # Guards, strongest last.
        relevance = max(ref_sim, float(span_sims.max()))
        components["relevance"] = relevance  # below the gate: off topic
        question_stems = {stem(w) for w in content_words(rubric.question)}
        novelty = (
            sum(s not in question_stems for s in answer_stems_list) / len(answer_stems_list)
            if answer_stems_list
            else 0.0
        )
        if word_count(p.clean) < 4:
            flags.append("too_short")
        prose_reference = not any(is_keyword_list(r) for r in rubric.reference_answers)
        terms = [t for k in points for t in (*k.terms, k.text)]
        if prose_reference and is_keyword_list(p.clean, terms):
            flags.append("keyword_list")
        if (
            q_sim >= params.echo_similarity
            and q_sim >= ref_sim + params.echo_over_reference
            and novelty < params.echo_novelty
            and lexical < 0.25
        ):
            flags.append("echo")
        if relevance < params.relevance_gate:
            flags.append("off_topic")
        value = self.capped(value, flags)
        # Asked even of an answer that scores low here: the correctness judge may lift an answer
        # the guard passed, so the guard must have looked at every answer another guard does not
        # already hold at or under its cap.
        if neighbours and params.cap_for(flags) > params.other_question_cap:
            other = self._other_question(p, a_vec, r_vecs, raw + params.other_question_margin)
            if other is not None:
                flags.append("other_question")
                components["other_question_raw"] = other
                value = self.capped(value, flags)
        value = round(float(np.clip(value, 0.0, 10.0)), 2)
        return ScoreResult(
            value=value,
            band=self.band_for(value, flags),
            key_points=kp_scores,
            misconceptions=hits,
            flags=flags,
            similarity=round(ref_sim, 4),
            coverage=round(coverage, 4),
            components={k: round(v, 4) for k, v in {**components, "raw": raw}.items()},
            scorer_version=self.version,
            rubric_version=rubric.version,
        )

    def point_status(self, similarity: float) -> Literal["covered", "unclear", "missing"]:
        if similarity >= self.params.covered_at:
            return "covered"
        return "unclear" if similarity >= self.params.unclear_at else "missing"

    @staticmethod
    def clean_text(answer: str) -> str:
        """The answer as the scorer reads it: sentences addressed to the grader dropped."""
        return without_injection(visible(answer).strip())[0]

    @staticmethod
    def band_for(value: float, flags: list[str]) -> Band:
        """The band a value falls in; non-answers are off topic whatever their value."""
        if "off_topic" in flags or "empty" in flags or "dont_know" in flags:
            return Band.off_topic
        return band_of(value)
