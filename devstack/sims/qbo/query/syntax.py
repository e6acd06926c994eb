"""The grammar: the query's types and the parser."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, cast

from devstack.sims.qbo.query.errors import QueryError, parse_error, validation_error
from devstack.sims.qbo.query.lexer import Scalar, Token, tokenize

DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 1000

Operator = Literal["=", "<", ">", "<=", ">=", "IN", "LIKE"]


def normalise_field(name: str) -> str:
    return name.casefold()


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


# -------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = tokenize(text)
        self._pos = 0

    def _peek(self) -> Token:
        return self._tokens[self._pos]

    def _next(self) -> Token:
        tok = self._tokens[self._pos]
        if tok.kind != "eof":
            self._pos += 1
        return tok

    def _is_keyword(self, tok: Token, *words: str) -> bool:
        return tok.kind == "ident" and tok.text.casefold() in words

    def _unexpected(self, tok: Token, expecting: str) -> QueryError:
        shown = "<EOF>" if tok.kind == "eof" else tok.text
        return parse_error(f'Encountered "{shown}" at line 1, column {tok.column}.\nWas expecting: {expecting}')

    def _expect_keyword(self, word: str) -> Token:
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
                    raise validation_error("OR operation is not supported")
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
            raise validation_error(f"value {max_results} is too large. Max allowed value is {MAX_MAX_RESULTS}")
        if max_results < 1:
            # not recorded from QBO; refusing beats silently returning nothing to a buggy pager
            raise validation_error(f"value {max_results} is too small. Min allowed value is 1")
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
        """``count(*)`` (True), or a select list of ``*`` and property names (False). A list is accepted but
        selects nothing less: "The response set always returns all properties for each object. That is,
        projections are not supported." (Intuit's data-queries page; qbo-api.md §2 "no projections"), and
        python-quickbooks 0.9.12 sends ``SELECT *, Sku FROM Item``. Names are not checked against the
        entity [ours: QBO's answer to an unknown name in the list is not recorded]."""
        tok = self._peek()
        if self._is_keyword(tok, "count"):
            self._next()
            self._expect_punct("(")
            self._expect_punct("*")
            self._expect_punct(")")
            return True
        self._parse_selected()
        while self._peek().kind == "punct" and self._peek().text == ",":
            self._next()
            self._parse_selected()
        return False

    def _parse_selected(self) -> None:
        tok = self._next()
        is_star = tok.kind == "punct" and tok.text == "*"
        if not is_star and (tok.kind != "ident" or self._is_keyword(tok, "from", "count")):
            raise self._unexpected(tok, '"*" | "count" | <IDENTIFIER>')

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
        raise parse_error('Encountered "<EOF>" at line 0, column 0.\nWas expecting:\n    "select" ...\n    ')
    return _Parser(text).parse()


def check_filterable(query: Query, filterable: Collection[str]) -> None:
    """Refuse WHERE conditions on properties QBO does not filter on (4001 "is not queryable")."""
    allowed = {f.casefold() for f in filterable}
    for cond in query.conditions:
        if normalise_field(cond.field) not in allowed:
            raise validation_error(f"property '{cond.field}' is not queryable")
