"""The offline default judge: a small instruct model in-process (llama.cpp), read by its first token.

Asked for a written grade, a 1.5B model gives everything full marks; asked a Yes/No question, the
probability it puts on "Yes" against "No" for the first token of its reply is a sharp detector of
wrong answers. One prefill, no sampling: the same input gives the same number. The prompt puts the
rubric first and the answer last, so answers to one question reuse the evaluated prefix (the KV
cache is kept from one call to the next and cut back to the shared prefix).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import ConfigurationError
from app.judge.base import Judge, JudgeItem, JudgeUnavailable
from app.judge.model import PACKAGED, assemble
from app.judge.prompt import VerdictPrompt
from app.llm.prompts import neutralise

__all__ = ["LocalJudge"]

log = logging.getLogger(__name__)

_YES = ("Yes", " Yes", "yes", " yes", "YES")
_NO = ("No", " No", "no", " no", "NO")
_MAX_ANSWER_CHARS = 6000  # the judge reads at most this much of an answer (n_ctx bounds the prompt)
_MARK = "\u2063ANSWER\u2063"  # where the answer goes in the rendered prompt (invisible separators)


class LocalJudge(Judge):
    name = "local"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._prompt = VerdictPrompt(settings.prompts_dir)
        self._llm: Any = None
        self._yes: list[int] = []
        self._no: list[int] = []
        self._ready = threading.Event()
        self._error: str | None = None
        self._load_lock = threading.Lock()
        self._path: Path | None = None
        self._template: Any = None
        # Evaluated rubric prefixes (llama.cpp state: KV cache and tokens), newest last.
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._said: tuple[int, ...] | None = None  # rubric + answer evaluated as the answer's own batch
        self.prefixes = {"evaluated": 0, "reused": 0, "primed": 0, "answers_reused": 0}

    @property
    def model_id(self) -> str:
        if self.settings.judge_model is not None:
            return f"gguf:{self.settings.judge_model.name}"
        return f"{PACKAGED.name}:{PACKAGED.sha256[:12]}"

    @property
    def prompt_version(self) -> str:
        # "split": the prompt is evaluated as two batches cut where the answer begins (see _tokens).
        return f"{self._prompt.version}/split"

    def start(self) -> None:
        threading.Thread(target=self._load_quietly, name="judge-load", daemon=True).start()

    def state(self) -> str:
        if self._ready.is_set():
            return "ready"
        return "unavailable" if self._error else "loading"

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self._error:
            out["error"] = self._error
        out["threads"] = self.settings.judge_threads
        out["prefixes"] = dict(self.prefixes)
        return out

    def close(self) -> None:
        super().close()
        self._states.clear()
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.close()

    # -- loading -------------------------------------------------------------------------------
    def _load_quietly(self) -> None:
        try:
            self.load()
        except JudgeUnavailable:
            pass  # recorded in _error; /healthz and every score say so

    def load(self) -> None:
        """Join the packaged model (first start only) and load it; idempotent, thread-safe."""
        with self._load_lock:
            if self._ready.is_set():
                return
            if self._error:
                raise JudgeUnavailable(self._error)
            start = time.perf_counter()
            try:
                self._load()
            except (ConfigurationError, OSError, ValueError, RuntimeError, ImportError) as exc:
                message = (
                    exc.message if isinstance(exc, ConfigurationError) else f"{type(exc).__name__}: {exc}"
                )
                self._error = f"judge model unavailable: {message}"
                log.error("%s", self._error)
                raise JudgeUnavailable(self._error) from exc
            self._ready.set()
            log.info("judge ready: %s in %.1fs", self.model_id, time.perf_counter() - start)

    def _load(self) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if self.settings.judge_model is not None:
            path = self.settings.judge_model
            if not path.is_file():
                raise ConfigurationError(f"MOCKINTERVIEW_JUDGE_MODEL={path} is not a file")
        else:
            path = assemble(self.settings.cache_dir)
        self._path = path
        llm = Llama(
            model_path=str(path),
            n_ctx=4096,
            n_batch=512,
            n_threads=self.settings.judge_threads,
            n_threads_batch=self.settings.judge_threads,
            logits_all=False,
            verbose=False,
        )
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigurationError(f"{path} has no chat template; the judge needs an instruct model")
        eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
        bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore") if llm.token_bos() >= 0 else ""
        self._template = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._yes = self._single_tokens(llm, _YES)
        self._no = self._single_tokens(llm, _NO)
        if not self._yes or not self._no:
            raise ConfigurationError(f"{path}: no single-token Yes/No in its vocabulary")
        self._llm = llm

    @staticmethod
    def _single_tokens(llm: Any, words: Sequence[str]) -> list[int]:
        ids: set[int] = set()
        for w in words:
            toks = llm.tokenize(w.encode(), add_bos=False, special=False)
            if len(toks) == 1:
                ids.add(int(toks[0]))
        return sorted(ids)

    # -- judging -------------------------------------------------------------------------------
    def _pieces(self, item: JudgeItem) -> tuple[list[int], str, str]:
        """The rubric prefix's tokens, and the answer and what follows it as text (neutralise() has
        defused any chat-template token text in the answer)."""
        system, user = self._prompt.render(item, _MARK)
        text = self._template(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        ).prompt
        head, tail = text.split(_MARK, 1)
        answer = item.answer if len(item.answer) <= _MAX_ANSWER_CHARS else item.answer[:_MAX_ANSWER_CHARS]
        prefix: list[int] = self._tokenize(head.rstrip(" "))
        return prefix, " " + neutralise(answer).strip(), tail

    def _tokenize(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode(), add_bos=False, special=True))

    def _tokens(self, item: JudgeItem) -> tuple[list[int], list[int]]:
        """The prompt as (rubric prefix, answer and question) tokens, cut where the answer begins.

        The cut is always at the same place and the two parts are always evaluated as separate
        batches, so P(correct) does not depend on what the KV cache held before (evaluated in other
        batch shapes, the same tokens give logits that differ in the second decimal). The answer and
        what follows it are tokenized together (".\n\n" is one token)."""
        prefix, said, tail = self._pieces(item)
        return prefix, self._tokenize(said + tail)

    def _point_tokens(self, item: JudgeItem) -> tuple[list[int], list[int], list[int]]:
        """A key-point question as (rubric prefix, answer, question) tokens: the answer is a batch of
        its own here, so the questions about one answer's key points all reuse its evaluation."""
        prefix, said, tail = self._pieces(item)
        return prefix, self._tokenize(said), self._tokenize(tail)

    def _p_correct(self, items: Sequence[JudgeItem]) -> list[float]:
        if not self._ready.is_set():
            self.load()
        llm = self._llm
        if llm is None:
            raise JudgeUnavailable("judge closed")
        out: list[float] = []
        for item in items:
            parts = self._tokens(item) if item.point is None else self._point_tokens(item)
            size = sum(len(p) for p in parts)
            if size >= llm.n_ctx():
                raise JudgeUnavailable(f"judge prompt of {size} tokens exceeds the context")
            try:
                if item.point is None:
                    out.append(self._yes_probability(llm, *parts))
                else:
                    out.append(self._point_probability(llm, *parts))
            except (RuntimeError, ValueError) as exc:
                llm.reset()
                self._said = None
                raise JudgeUnavailable(f"judge failed: {exc}") from exc
        return out

    def _prime(self, item: JudgeItem) -> None:
        """Evaluate this rubric's prefix now (the question was just asked) and keep its state, so
        the answer's verdict evaluates only the answer. Skipped while the model is still loading."""
        if not self._ready.is_set() or self._llm is None:
            return
        prefix, _ = self._tokens(item)
        start = time.perf_counter()
        if self._use_prefix(self._llm, prefix):
            return
        self.prefixes["primed"] += 1
        log.info("judge: primed a %d-token prefix in %.1fs", len(prefix), time.perf_counter() - start)

    def _use_prefix(self, llm: Any, prefix: list[int]) -> bool:
        """Leave exactly `prefix` evaluated in the model; True when nothing had to be evaluated (it
        was held, or its saved state was restored). The restored state is the one evaluating the
        prefix from position 0 gives, so P(correct) is the same either way."""
        self._said = None  # whatever followed the prefix is about to be overwritten
        if llm.n_tokens >= len(prefix) and list(llm.input_ids[: len(prefix)]) == prefix:
            llm.n_tokens = len(prefix)
            self.prefixes["reused"] += 1
            return True
        key = tuple(prefix)
        state = self._states.get(key)
        if state is not None:
            llm.load_state(state)
            self._states.move_to_end(key)
            self.prefixes["reused"] += 1
            return True
        llm.reset()
        llm.eval(prefix)
        self.prefixes["evaluated"] += 1
        if self.settings.judge_prefix_states > 0:
            self._states[key] = llm.save_state()
            while len(self._states) > self.settings.judge_prefix_states:
                self._states.popitem(last=False)
        return False

    def _yes_probability(self, llm: Any, prefix: list[int], rest: list[int]) -> float:
        # The rubric prefix (held, restored or evaluated from position 0), then the answer part as
        # one batch of its own.
        self._use_prefix(llm, prefix)
        llm.eval(rest)
        return self._read_yes(llm)

    def _point_probability(self, llm: Any, prefix: list[int], said: list[int], asked: list[int]) -> float:
        # The rubric prefix, the answer as one batch (kept when the last question was about the same
        # answer: the state is the one evaluating it again would give), then this point's question.
        # Kept only when the answer was evaluated as a batch of its own (a verdict evaluates it with
        # its question in one batch, which gives slightly different numbers).
        upto = len(prefix) + len(said)
        if (
            self._said == (*prefix, *said)
            and llm.n_tokens >= upto
            and list(llm.input_ids[:upto]) == prefix + said
        ):
            llm.n_tokens = upto
            self.prefixes["answers_reused"] += 1
        else:
            self._use_prefix(llm, prefix)
            llm.eval(said)
            self._said = (*prefix, *said)
        llm.eval(asked)
        return self._read_yes(llm)

    def _read_yes(self, llm: Any) -> float:
        logits = np.asarray(llm._ctx.get_logits_ith(-1)[: llm.n_vocab()], dtype=np.float64)
        yes = _logsumexp(logits[self._yes])
        no = _logsumexp(logits[self._no])
        return 1.0 / (1.0 + math.exp(no - yes))


def _logsumexp(x: np.ndarray) -> float:
    m = float(x.max())
    return m + math.log(float(np.exp(x - m).sum()))
