"""The QBO query language (``SELECT * FROM Purchase WHERE ...``): a pure parser and evaluator.

Used by the QBO simulator; no I/O, no clock. Behaviour follows shared/reference/qbo-api.md §2:

- ``SELECT * | SELECT COUNT(*) FROM Entity [WHERE c [AND c]...] [ORDERBY|ORDER BY f [ASC|DESC], ...]
  [STARTPOSITION n] [MAXRESULTS m]``; keywords are case-insensitive; ``ORDER BY`` with a space is accepted
  because production connectors send it (singer-io/tap-quickbooks ``query_builder.py``).
- Operators ``=, <, >, <=, >=, IN, LIKE`` (LIKE with ``%`` only). No OR, no projections, no joins.
- Default page size 100, maximum 1000.

Error codes and texts are the ones QBO is seen returning (ValidationFault, HTTP 400):
``4000 "Error parsing query"`` with a ``QueryParserError: ...`` detail (mcohen01/node-quickbooks#56,
consolibyte/quickbooks-php#129) and ``4001 "Invalid query"`` with a ``QueryValidationError: ...`` detail
(ruckus/quickbooks-ruby#403 "property 'X' is not queryable", ruckus/quickbooks-ruby#24
"value 1500 is too large. Max allowed value is 1000").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Literal, cast

DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 1000

PARSE_ERROR_CODE = "4000"
PARSE_ERROR_MESSAGE = "Error parsing query"
VALIDATION_ERROR_CODE = "4001"
VALIDATION_ERROR_MESSAGE = "Invalid query"

Scalar = str | int | float | bool
Operator = Literal["=", "<", ">", "<=", ">=", "IN", "LIKE"]


class QueryError(Exception):
    """A query QBO would refuse; carries the Fault ``code``/``Message``/``Detail`` to answer with."""

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail


def _parse_error(detail: str) -> QueryError:
    return QueryError(PARSE_ERROR_CODE, PARSE_ERROR_MESSAGE, f"QueryParserError: {detail}")


def _validation_error(detail: str) -> QueryError:
    return QueryError(VALIDATION_ERROR_CODE, VALIDATION_ERROR_MESSAGE, f"QueryValidationError: {detail}")


@dataclass(frozen=True)
class Condition:
    field: str
    op: Operator
    # a single literal, or a tuple of literals for IN
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    entity: str  # as written in the query; the caller maps it to its canonical name
    count: bool
    conditions: tuple[Condition, ...]
    order_by: tuple[OrderKey, ...]
    start_position: int
    max_results: int

    def mentions(self, field: str) -> bool:
        """True when a WHERE condition uses ``field`` (case-insensitive)."""
        wanted = field.casefold()
        return any(c.field.casefold() == wanted for c in self.conditions)


@dataclass(frozen=True)
class QueryResult:
    items: list[dict[str, Any]]  # the requested page (empty for COUNT(*))
    total: int  # every match, ignoring paging


# --------------------------------------------------------------------------------------------- lexer

_Kind = Literal["ident", "string", "number", "op", "punct", "eof"]


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    value: Scalar
    column: int  # 1-based, as QBO's JavaCC parser reports it


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
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
                    raise _parse_error(f'Lexical error at line 1, column {n + 1}.  Encountered: <EOF> after : "\'"')
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
            tokens.append(_Token("string", text[i : j + 1], literal, column))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit())):
            raw = m.group()
            number: int | float = float(raw) if "." in raw else int(raw)
            tokens.append(_Token("number", raw, number, column))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(_Token("ident", m.group(), m.group(), column))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in ("<=", ">=", "!=", "<>"):
            tokens.append(_Token("op", two, two, column))
            i += 2
            continue
        if ch in "=<>":
            tokens.append(_Token("op", ch, ch, column))
            i += 1
            continue
        if ch in "(),*":
            tokens.append(_Token("punct", ch, ch, column))
            i += 1
            continue
        # the wording QBO uses for a stray character (pbrink231/quickbooks-node-promise#1)
        raise _parse_error(
            f'Invalid content. Lexical error at line 1, column {column}.  Encountered: "{ch}" ({ord(ch)}), after : ""'
        )
    tokens.append(_Token("eof", "", "", n + 1))
    return tokens


# -------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0

    def _peek(self) -> _Token:
        return self._tokens[self._pos]

    def _next(self) -> _Token:
        tok = self._tokens[self._pos]
        if tok.kind != "eof":
            self._pos += 1
        return tok

    def _is_keyword(self, tok: _Token, *words: str) -> bool:
        return tok.kind == "ident" and tok.text.casefold() in words

    def _unexpected(self, tok: _Token, expecting: str) -> QueryError:
        shown = "<EOF>" if tok.kind == "eof" else tok.text
        return _parse_error(f'Encountered "{shown}" at line 1, column {tok.column}.\nWas expecting: {expecting}')

    def _expect_keyword(self, word: str) -> _Token:
        tok = self._next()
        if not self._is_keyword(tok, word):
            raise self._unexpected(tok, f'"{word}"')
        return tok

    def _expect_punct(self, ch: str) -> None:
        tok = self._next()
        if tok.kind != "punct" or tok.text != ch:
            raise self._unexpected(tok, f'"{ch}"')

    def parse(self) -> Query:
        self._expect_keyword("select")
        count = self._parse_projection()
        self._expect_keyword("from")
        entity_tok = self._next()
        if entity_tok.kind != "ident" or "." in entity_tok.text:
            raise self._unexpected(entity_tok, "<IDENTIFIER>")
        conditions: list[Condition] = []
        order_by: list[OrderKey] = []
        start_position: int | None = None
        max_results: int | None = None

        if self._is_keyword(self._peek(), "where"):
            self._next()
            conditions.append(self._parse_condition())
            while True:
                tok = self._peek()
                if self._is_keyword(tok, "and"):
                    self._next()
                    conditions.append(self._parse_condition())
                elif self._is_keyword(tok, "or"):
                    # QBO's grammar knows OR (it is in its "expecting" lists) but the docs say
                    # "The OR operation is not supported" (ruckus/quickbooks-ruby#95); the exact
                    # refusal text is not recorded anywhere we have, so this wording is ours.
                    raise _validation_error("OR operation is not supported")
                else:
                    break

        tok = self._peek()
        if self._is_keyword(tok, "orderby", "order"):
            self._next()
            if tok.text.casefold() == "order":
                self._expect_keyword("by")
            order_by.append(self._parse_order_key())
            while self._peek().kind == "punct" and self._peek().text == ",":
                self._next()
                order_by.append(self._parse_order_key())

        # QBO's parser accepts either paging clause next (its "expecting" lists name both)
        while True:
            tok = self._peek()
            if self._is_keyword(tok, "startposition") and start_position is None:
                self._next()
                start_position = self._parse_int()
            elif self._is_keyword(tok, "maxresults") and max_results is None:
                self._next()
                max_results = self._parse_int()
            else:
                break

        tok = self._peek()
        if tok.kind != "eof":
            raise self._unexpected(tok, '<EOF> | <AND> | "orderby" | "startposition" | "maxresults"')

        if max_results is None:
            max_results = DEFAULT_MAX_RESULTS
        if max_results > MAX_MAX_RESULTS:
            raise _validation_error(f"value {max_results} is too large. Max allowed value is {MAX_MAX_RESULTS}")
        if max_results < 1:
            # not recorded from QBO; refusing beats silently returning nothing to a buggy pager
            raise _validation_error(f"value {max_results} is too small. Min allowed value is 1")
        # STARTPOSITION 0 is sent by real integrations without complaint (intuit/QuickBooks-V3-DotNET-SDK#111);
        # treat anything below 1 as 1.
        start = 1 if start_position is None or start_position < 1 else start_position
        return Query(
            entity=entity_tok.text,
            count=count,
            conditions=tuple(conditions),
            order_by=tuple(order_by),
            start_position=start,
            max_results=max_results,
        )

    def _parse_projection(self) -> bool:
        tok = self._next()
        if tok.kind == "punct" and tok.text == "*":
            return False
        if self._is_keyword(tok, "count"):
            self._expect_punct("(")
            self._expect_punct("*")
            self._expect_punct(")")
            return True
        # projections (SELECT Id, DocNumber ...) are not supported (qbo-api.md §2)
        raise self._unexpected(tok, '"*" | "count"')

    def _parse_int(self) -> int:
        tok = self._next()
        if tok.kind != "number" or not isinstance(tok.value, int):
            raise self._unexpected(tok, "<INTEGER>")
        return tok.value

    def _parse_literal(self) -> Scalar:
        tok = self._next()
        if tok.kind in ("string", "number"):
            return tok.value
        if self._is_keyword(tok, "true", "false"):
            return tok.text.casefold() == "true"
        raise self._unexpected(tok, "<STRING> | <NUMBER> | <BOOLEAN>")

    def _parse_condition(self) -> Condition:
        field_tok = self._next()
        if field_tok.kind != "ident" or self._is_keyword(field_tok, "and", "or", "orderby", "order"):
            raise self._unexpected(field_tok, "<IDENTIFIER>")
        op_tok = self._next()
        if op_tok.kind == "op":
            if op_tok.text in ("!=", "<>"):
                raise self._unexpected(op_tok, '"=" | "<" | ">" | "<=" | ">=" | "in" | "like"')
            # one of = < > <= >= after the check above
            return Condition(field_tok.text, cast(Operator, op_tok.text), self._parse_literal())
        if self._is_keyword(op_tok, "like"):
            literal = self._parse_literal()
            if not isinstance(literal, str):
                raise self._unexpected(op_tok, "<STRING>")
            return Condition(field_tok.text, "LIKE", literal)
        if self._is_keyword(op_tok, "in"):
            self._expect_punct("(")
            values = [self._parse_literal()]
            while self._peek().kind == "punct" and self._peek().text == ",":
                self._next()
                values.append(self._parse_literal())
            self._expect_punct(")")
            return Condition(field_tok.text, "IN", tuple(values))
        raise self._unexpected(op_tok, '"=" | "<" | ">" | "<=" | ">=" | "in" | "like"')

    def _parse_order_key(self) -> OrderKey:
        tok = self._next()
        if tok.kind != "ident":
            raise self._unexpected(tok, "<IDENTIFIER>")
        descending = False
        nxt = self._peek()
        if self._is_keyword(nxt, "asc", "desc"):
            self._next()
            descending = nxt.text.casefold() == "desc"
        return OrderKey(tok.text, descending)


def parse_query(text: str) -> Query:
    """Parse one QBO query; raises ``QueryError`` (code 4000/4001) for what QBO would refuse."""
    if not text.strip():
        # the exact text QBO answered for an empty query (consolibyte/quickbooks-php#129)
        raise _parse_error('Encountered "<EOF>" at line 0, column 0.\nWas expecting:\n    "select" ...\n    ')
    return _Parser(text).parse()


def check_filterable(query: Query, filterable: Collection[str]) -> None:
    """Refuse WHERE conditions on properties QBO does not filter on (4001 "is not queryable")."""
    allowed = {f.casefold() for f in filterable}
    for cond in query.conditions:
        if _normalise_field(cond.field) not in allowed:
            raise _validation_error(f"property '{cond.field}' is not queryable")


# ----------------------------------------------------------------------------------------- evaluator


def _normalise_field(name: str) -> str:
    return name.casefold()


def get_field(obj: Mapping[str, Any], dotted: str) -> Any:
    """Read ``a.b.c`` from nested dicts with case-insensitive keys (``Metadata`` finds ``MetaData``)."""
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        wanted = part.casefold()
        found = None
        for key, value in current.items():
            if key.casefold() == wanted:
                found = value
                break
        current = found
        if current is None:
            return None
    return current


_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_RE = re.compile(r"^-?\d+$")


def parse_datetime(text: str, default_tz: tzinfo) -> datetime | None:
    """An ISO instant; a naive value or a bare date is read in ``default_tz`` (the company's zone)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    # QBO's legacy webhook samples write offsets without a colon (-0700); accept those too
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$", raw)
    if m:
        raw = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        if _DATE_RE.match(raw):
            return datetime.combine(date.fromisoformat(raw), time(), default_tz)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def _is_id_field(field: str) -> bool:
    last = field.rsplit(".", 1)[-1].casefold()
    return last in ("id", "value")


def _deref(value: Any) -> Any:
    # a reference ({"value": "35", "name": "Checking"}) compares by its value
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    return value


@dataclass(frozen=True)
class _Comparable:
    rank: int  # keeps unlike kinds apart so sorting never compares str with float
    key: Any


def _comparable(stored: Any, field: str, default_tz: tzinfo) -> _Comparable | None:
    value = _deref(stored)
    if value is None:
        return None
    if isinstance(value, bool):
        return _Comparable(0, int(value))
    if isinstance(value, int | float):
        return _Comparable(1, float(value))
    if isinstance(value, str):
        if _DATETIME_RE.match(value):
            dt = parse_datetime(value, default_tz)
            if dt is not None:
                return _Comparable(2, dt.timestamp())
        if _DATE_RE.match(value):
            return _Comparable(3, date.fromisoformat(value).toordinal())
        if _is_id_field(field) and _INT_RE.match(value):
            return _Comparable(1, float(int(value)))
        return _Comparable(4, value.casefold())
    return _Comparable(5, str(value))


def _literal_as(stored: _Comparable, literal: Scalar, field: str, default_tz: tzinfo) -> _Comparable:
    """Convert a query literal to the kind of the stored value it is compared with."""
    if stored.rank == 0:  # bool
        if isinstance(literal, bool):
            return _Comparable(0, int(literal))
        text = str(literal).casefold()
        if text in ("true", "false"):
            return _Comparable(0, int(text == "true"))
        raise _validation_error(f"value '{literal}' is not a valid Boolean for property '{field}'")
    if stored.rank == 1:  # number (or numeric Id)
        if isinstance(literal, bool):
            raise _validation_error(f"value '{literal}' is not a valid number for property '{field}'")
        try:
            return _Comparable(1, float(literal))
        except ValueError:
            if _is_id_field(field):  # a non-numeric Id literal simply matches nothing
                return _Comparable(4, str(literal).casefold())
            raise _validation_error(f"value '{literal}' is not a valid number for property '{field}'") from None
    if stored.rank == 2:  # datetime
        dt = parse_datetime(str(literal), default_tz)
        if dt is None:
            raise _validation_error(f"value '{literal}' is not a valid DateTime for property '{field}'")
        return _Comparable(2, dt.timestamp())
    if stored.rank == 3:  # date
        text = str(literal)
        if _DATE_RE.match(text.strip()):
            return _Comparable(3, date.fromisoformat(text.strip()).toordinal())
        dt = parse_datetime(text, default_tz)
        if dt is None:
            raise _validation_error(f"value '{literal}' is not a valid Date for property '{field}'")
        return _Comparable(3, dt.astimezone(default_tz).date().toordinal())
    return _Comparable(stored.rank, str(literal).casefold())


def _like(pattern: str, value: str) -> bool:
    # only % is a wildcard in QBO (qbo-api.md §2); everything else is literal
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def _matches(obj: Mapping[str, Any], cond: Condition, default_tz: tzinfo) -> bool:
    stored_raw = get_field(obj, cond.field)
    if cond.op == "LIKE":
        value = _deref(stored_raw)
        if value is None or isinstance(value, Mapping | list):
            return False
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return _like(str(cond.value), text)
    stored = _comparable(stored_raw, cond.field, default_tz)
    if stored is None:
        return False
    if cond.op == "IN":
        assert isinstance(cond.value, tuple)
        return any(stored == _literal_as(stored, v, cond.field, default_tz) for v in cond.value)
    assert not isinstance(cond.value, tuple)
    lit = _literal_as(stored, cond.value, cond.field, default_tz)
    if lit.rank != stored.rank:
        return False
    a, b = stored.key, lit.key
    if cond.op == "=":
        return bool(a == b)
    if cond.op == "<":
        return bool(a < b)
    if cond.op == ">":
        return bool(a > b)
    if cond.op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _sort_key(obj: Mapping[str, Any], field: str, default_tz: tzinfo) -> tuple[int, int, Any]:
    comparable = _comparable(get_field(obj, field), field, default_tz)
    if comparable is None:
        # missing values first when ascending, as SQL Server (QBO's store) orders NULLs
        return (0, 0, 0)
    return (1, comparable.rank, comparable.key)


def order_objects(
    objects: Sequence[dict[str, Any]], keys: Sequence[OrderKey], default_tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """Stable multi-key sort; ties keep the incoming order."""
    result = list(objects)
    for key in reversed(keys):

        def sort_key(obj: dict[str, Any], field: str = key.field) -> tuple[int, int, Any]:
            return _sort_key(obj, field, default_tz)

        result.sort(key=sort_key, reverse=key.descending)
    return result


def evaluate(
    query: Query,
    objects: Iterable[dict[str, Any]],
    *,
    default_tz: tzinfo = UTC,
    default_order: Sequence[OrderKey] = (),
) -> QueryResult:
    """Filter, order and page ``objects`` (returned as the same dict objects, not copies).

    ``default_tz`` reads naive datetimes and bare dates (the company's zone); ``default_order`` applies
    when the query has no ORDERBY (QBO has an implicit order per entity, e.g. Purchase newest-updated first).
    """
    matched = [o for o in objects if all(_matches(o, c, default_tz) for c in query.conditions)]
    total = len(matched)
    if query.count:
        return QueryResult(items=[], total=total)
    ordered = order_objects(matched, query.order_by or tuple(default_order), default_tz)
    start = query.start_position - 1
    return QueryResult(items=ordered[start : start + query.max_results], total=total)
