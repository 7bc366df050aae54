"""New API's sensitive-word filter: an Aho-Corasick automaton over the prompt's text.

The automaton is an option-derived value (rebuilt when ``SensitiveWords`` or a switch
changes, never per request). Matching is case-insensitive: the words and the text are
lower-cased, as New API does.
"""

from __future__ import annotations

import ahocorasick

from newapi.options.store import OptionStore

#: Up to this many words, ``contains`` runs one substring search per word instead of the
#: automaton: CPython's search is a few times faster per byte than pyahocorasick's walk
#: (bench/micro/test_prompt_check_bench.py), and the default list has one word.
FEW_WORDS = 4


class WordFilter:
    """The words of ``SensitiveWords`` (one per line), searchable in one pass over a text."""

    def __init__(self, words: list[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for word in words:
            self._automaton.add_word(word, word)
        self._automaton.make_automaton()
        self._few = tuple(words) if len(words) <= FEW_WORDS else None

    def find(self, text: str) -> list[str]:
        """The distinct words ``text`` contains (lower-cased), in the order first found."""
        found: dict[str, None] = {}
        for _end, word in self._automaton.iter(text.lower()):
            found[word] = None
        return list(found)

    def contains(self, text: str) -> bool:
        text = text.lower()
        if self._few is not None:
            # A loop, not any() over a generator expression: a third of the time per request.
            for word in self._few:  # noqa: SIM110
                if word in text:
                    return True
            return False
        for _ in self._automaton.iter(text):
            return True
        return False


def parse_words(raw: str) -> list[str]:
    seen: dict[str, None] = {}
    for line in raw.splitlines():
        word = line.strip().lower()
        if word:
            seen[word] = None
    return list(seen)


def prompt_filter(options: OptionStore) -> WordFilter | None:
    """The filter the relay applies to prompts, or None when the check is off or has no words.

    Use as ``options.derived(prompt_filter)``.
    """
    if not (
        options.get_bool("CheckSensitiveEnabled", True)
        and options.get_bool("CheckSensitiveOnPromptEnabled", True)
    ):
        return None
    words = parse_words(options.get("SensitiveWords"))
    return WordFilter(words) if words else None
