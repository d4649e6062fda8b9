"""Reading an lme4 formula's characters into tokens: names (plain or in R's backticks,
with R's escapes), numbers and operators, with messages that point at the character.

Only the tokens are made here; ``lib.model.formula`` parses them. Nothing is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lib.errors import SpecError

MAX_LENGTH = 20_000  # characters; a formula is typed, not generated


ALLOWED = (
    "Allowed: column names (`in backticks` when they are not plain names), "
    "+, -, *, /, :, %in%, ^ with a whole number, 0 or 1 for the intercept, "
    "log(x), sqrt(x), exp(x), scale(x) or I(x^2) of one column, "
    "and random-effect terms such as (1 | g), (1 + x | g), (x || g), (1 | g1/g2)."
)


class FormulaError(SpecError):
    """A formula that cannot be read; the message names the position."""


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "number", "op", "end"
    text: str  # the name (unescaped), the digits, or the operator
    start: int  # 0-based character offset
    quoted: bool = False


# Longest operators first, so that "||" is not read as two "|".
_OPERATORS = ("%in%", "||", "~", "+", "-", "*", "/", ":", "^", "(", ")", "|")


_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?")


_DIGITS = "0123456789"


_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b",
    "f": "\f", "v": "\v", "\\": "\\", "`": "`", "'": "'", '"': '"', " ": " ",
}  # fmt: skip


def _is_name_start(ch: str) -> bool:
    return ch == "." or ch.isalpha()


def _is_name_char(ch: str) -> bool:
    return ch in "._" or ch.isalnum()


def fail_at(text: str, position: int, problem: str) -> FormulaError:
    """An error that shows where: 1-based character and a short excerpt."""
    snippet = text[max(0, position - 12) : position + 12].replace("\n", "\\n")
    return FormulaError(f"Formula error at character {position + 1} (near {snippet!r}): {problem}")


def tokenize(text: str) -> list[Token]:
    """The formula's tokens; names in backticks are unescaped as R does."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "`":
            name, i_next = _backtick_name(text, i)
            tokens.append(Token("name", name, i, quoted=True))
            i = i_next
            continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            match = _NUMBER.match(text, i)
            assert match is not None  # a digit always matches
            tokens.append(Token("number", match.group(), i))
            i = match.end()
            continue
        if _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            tokens.append(Token("name", text[i:j], i))
            i = j
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            if ch in "\"'":
                problem = "text in quotes is not a column name; write `name` in backticks."
            elif ch == "_" or ch in _DIGITS:
                problem = f"a name cannot start with {ch!r}; write such a name in backticks."
            elif ch == "%":
                problem = "the only %-operator in a model formula is %in%."
            else:
                problem = f"the character {ch!r} has no meaning in a model formula."
            raise fail_at(text, i, f"{problem} {ALLOWED}")
    tokens.append(Token("end", "", n))
    return tokens


def _backtick_name(text: str, start: int) -> tuple[str, int]:
    """A `quoted name` from ``start`` (the opening backtick): (name, index after it)."""
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "`":
            if not out:
                raise fail_at(text, start, "an empty name `` is not a column name.")
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            break
        code = text[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in "uUx":
            width = {"u": 4, "U": 8, "x": 2}[code]
            if text[i + 2 : i + 3] == "{":  # R's \u{2019}
                close = text.find("}", i + 3)
                digits, after = text[i + 3 : close], close + 1
            else:
                digits = re.match(r"[0-9A-Fa-f]*", text[i + 2 : i + 2 + width]).group()
                after = i + 2 + len(digits)
            if not digits or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise fail_at(text, i, f"'\\{code}' must be followed by hexadecimal digits.")
            value = int(digits, 16)
            if value > 0x10FFFF:
                raise fail_at(text, i, f"'\\{code}{digits}' is not a Unicode character.")
            out.append(chr(value))
            i = after
        else:
            raise fail_at(
                text,
                i,
                f"'\\{code}' is not an escape R knows inside backticks "
                "(use \\` for a backtick and \\\\ for a backslash).",
            )
    raise fail_at(text, start, "this backtick is never closed; names in backticks end with `.")
