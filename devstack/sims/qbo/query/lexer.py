"""The lexer: a query's text as tokens, with the 1-based columns QBO's parser reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from devstack.sims.qbo.query.errors import parse_error

Scalar = str | int | float | bool

TokenKind = Literal["ident", "string", "number", "op", "punct", "eof"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    value: Scalar
    column: int  # 1-based, as QBO's JavaCC parser reports it


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        column = i + 1
        if ch == "'":
            # QBO escapes a quote inside a literal with a backslash: 'Craig\'s' (node-quickbooks#56, #74)
            buf: list[str] = []
            j = i + 1
            while True:
                if j >= n:
                    raise parse_error(f'Lexical error at line 1, column {n + 1}.  Encountered: <EOF> after : "\'"')
                cj = text[j]
                if cj == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if cj == "'":
                    break
                buf.append(cj)
                j += 1
            literal = "".join(buf)
            tokens.append(Token("string", text[i : j + 1], literal, column))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit())):
            raw = m.group()
            number: int | float = float(raw) if "." in raw else int(raw)
            tokens.append(Token("number", raw, number, column))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token("ident", m.group(), m.group(), column))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in ("<=", ">=", "!=", "<>"):
            tokens.append(Token("op", two, two, column))
            i += 2
            continue
        if ch in "=<>":
            tokens.append(Token("op", ch, ch, column))
            i += 1
            continue
        if ch in "(),*":
            tokens.append(Token("punct", ch, ch, column))
            i += 1
            continue
        # the wording QBO uses for a stray character (pbrink231/quickbooks-node-promise#1)
        raise parse_error(
            f'Invalid content. Lexical error at line 1, column {column}.  Encountered: "{ch}" ({ord(ch)}), after : ""'
        )
    tokens.append(Token("eof", "", "", n + 1))
    return tokens
