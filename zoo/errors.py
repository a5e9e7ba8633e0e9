"""The one error type users see: what went wrong, where, and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

SHOWN_PROBLEMS = 5  # bad rows one error names, one line each; the rest are counted


class ZooError(Exception):
    """A mistake in the user's input. The CLI prints it on one line and exits with status 2."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}; {hint}" if hint else message)


def close_matches(word: str, choices: Iterable[str], limit: int = 3, cutoff: float = 0.5) -> list[str]:
    """The names in `choices` that look most like `word` (for 'did you mean ...?'); a higher
    `cutoff` asks for closer ones."""
    return difflib.get_close_matches(word, list(choices), n=limit, cutoff=cutoff)


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.5) -> str | None:
    """A hint naming close matches, or None when nothing is close."""
    matches = close_matches(word, choices, cutoff=cutoff)
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?" if matches else None


def bad_rows(source: str, lines: Sequence[str], count: int, hint: str, hint_for_many: str | None = None, what: str = "rows") -> ZooError:
    """The error naming `count` bad rows (or lines) of `source` by their first few `lines`
    (`place: problem`): the line alone and `hint` for one, else a line each, the count of the
    rest and `hint_for_many` (by default `hint`)."""
    if count == 1:
        return ZooError(lines[0], hint)
    rest = [f"and {count - len(lines)} more"] if count > len(lines) else []
    return ZooError("\n".join([f"{source} has {count} bad {what}:", *lines, *rest]), hint_for_many or hint)


def counted(number: int, noun: str) -> str:
    """`3 classes`, `1 class`: a count and its noun, made plural by an s (or es after s, x, sh, ch)."""
    plural = noun + ("es" if noun.endswith(("s", "x", "sh", "ch")) else "s")
    return f"{number:,} {noun if number == 1 else plural}"
