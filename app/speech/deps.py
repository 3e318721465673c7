"""What speech routes need, as Annotated aliases over app.state (filled by the router's lifespan)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from app.bank.models import Bank
from app.speech.base import Transcriber
from app.speech.correction import Glossary

__all__ = ["GlossaryDep", "TranscriberDep", "get_glossary", "get_transcriber"]

_glossary_lock = threading.Lock()


def get_transcriber(request: Request) -> Transcriber:
    transcriber: Transcriber = request.app.state.transcriber
    return transcriber


def get_glossary(request: Request) -> Glossary:
    """Built from the loaded bank on first use (a few seconds), then kept on the app."""
    state = request.app.state
    glossary: Glossary | None = getattr(state, "glossary", None)
    if glossary is None:
        with _glossary_lock:
            glossary = getattr(state, "glossary", None)
            if glossary is None:
                bank: Bank = state.bank
                glossary = state.glossary = Glossary.from_bank(bank)
    return glossary


TranscriberDep = Annotated[Transcriber, Depends(get_transcriber)]
GlossaryDep = Annotated[Glossary, Depends(get_glossary)]
