"""The QBO query language (``SELECT * FROM Purchase WHERE ...``): a pure parser and evaluator.

Used by the QBO simulator; no I/O, no clock. Behaviour follows shared/reference/qbo-api.md §2:

- ``SELECT * | SELECT COUNT(*) FROM Entity [WHERE c [AND c]...] [ORDERBY|ORDER BY f [ASC|DESC], ...]
  [STARTPOSITION n] [MAXRESULTS m]``; keywords are case-insensitive; ``ORDER BY`` with a space is accepted
  because production connectors send it (singer-io/tap-quickbooks ``query_builder.py``).
- Operators ``=, <, >, <=, >=, IN, LIKE`` (LIKE with ``%`` only). No OR, no joins. A select list (``SELECT *, Sku``)
  is accepted and still returns every property: QBO does not support projections.
- Default page size 100, maximum 1000.

Error codes and texts are the ones QBO is seen returning (ValidationFault, HTTP 400):
``4000 "Error parsing query"`` with a ``QueryParserError: ...`` detail (mcohen01/node-quickbooks#56,
consolibyte/quickbooks-php#129) and ``4001 "Invalid query"`` with a ``QueryValidationError: ...`` detail
(ruckus/quickbooks-ruby#403 "property 'X' is not queryable", ruckus/quickbooks-ruby#24
"value 1500 is too large. Max allowed value is 1000").
"""

from devstack.sims.qbo.query.errors import QueryError
from devstack.sims.qbo.query.evaluation import evaluate, get_field, order_objects, parse_datetime
from devstack.sims.qbo.query.syntax import (
    Condition,
    OrderKey,
    Query,
    QueryResult,
    check_filterable,
    parse_query,
)

__all__ = [
    "Condition",
    "OrderKey",
    "Query",
    "QueryError",
    "QueryResult",
    "check_filterable",
    "evaluate",
    "get_field",
    "order_objects",
    "parse_datetime",
    "parse_query",
]
