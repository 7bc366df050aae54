"""msgspec views of the library API's answers: only the fields read."""

from __future__ import annotations

import msgspec


class Document(msgspec.Struct):
    title: str = ""
    url: str = ""


class Answer(msgspec.Struct):
    """A whole answer: ``success`` and ``answer``, or ``errCode`` and ``message``."""

    success: bool = False
    answer: str = ""
    documents: list[Document] | None = None
    errCode: int = 0  # the wire's name
    message: str = ""


class Piece(msgspec.Struct):
    """One stream event: a piece of the answer; ``finish`` on the last, with the documents."""

    content: str = ""
    finish: bool = False
    model: str = ""
    documents: list[Document] | None = None


answer_decoder = msgspec.json.Decoder(Answer)
piece_decoder = msgspec.json.Decoder(Piece)
