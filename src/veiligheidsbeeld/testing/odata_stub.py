"""A local OData v3 stub of the CBS police API, for tests and benchmarks.

:class:`StubODataServer` serves a snapshot root in the layout ``<root>/<TABLE_ID>/<Entity>.json``
(what ``cbsodata.download_data(table_id, dir=...)`` writes) on ``127.0.0.1``, with the URL shapes
of the real service:

* ``/ODataFeed/odata/<table>/<Entity>`` -- the bulk feed: pages of ``page_size`` rows, each with an
  ``odata.nextLink`` while more rows follow;
* ``/ODataApi/odata/<table>/<Entity>`` -- the API: refuses a result of more than 10,000 rows
  (HTTP 400) unless ``$top`` is at most 10,000, and never pages;
* ``/<prefix>/<table>/`` -- the table root listing every entity (``cbsodata.download_data`` starts
  there).

Query options ``$format=json``, ``$select``, ``$top``, ``$skip``, ``$inlinecount`` and ``$filter``
(a real parser: ``eq ne gt ge lt le and or not``, parentheses, string/number/boolean/null literals,
``substringof``, ``startswith``, ``endswith``, ``tolower``, ``toupper``, ``trim``, ``length``).

Big data entities are loaded into a pandas DataFrame once per file version (string columns as
categoricals, so a filter is evaluated per distinct value and gathered by code; a conjunction of
such conditions gathers one column over all rows and the others only at the rows still in), and
the matching row numbers of each ``(file, $filter)`` are cached so paging through one query costs
one slice and the JSON encoding of one page. Metadata files are cached apart from the big frames
(they must not evict them) and get their DataFrame only when filtered. Pages of big frames are
written column-wise: each value's JSON text (with the key before it) is looked up in a per-column
table, fixed-width texts (the padded dimension keys) are laid side by side with numpy and only the
rest is joined per row by pyarrow, so a 10,000-row page costs about a millisecond of CPU. Faults
(:class:`Fault`) make the server misbehave on purpose.

Run it in the foreground with ``python -m veiligheidsbeeld.testing.odata_stub DIR``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import logging
import math
import operator
import os
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, unquote, urlencode, urlsplit

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

log = logging.getLogger(__name__)

FEED_PREFIX = "ODataFeed/odata"
API_PREFIX = "ODataApi/odata"
CATALOG_PREFIX = "ODataCatalog"
#: The real API refuses a single result of more than this many rows.
API_MAX_ROWS = 10_000
TYPED = "TypedDataSet"
UNTYPED = "UntypedDataSet"
#: Metadata entities in the order the real table root lists them (others follow alphabetically).
_ENTITY_ORDER = ("TableInfos", UNTYPED, TYPED, "DataProperties", "CategoryGroups")
#: Files at least this large are read with the streaming arrow reader instead of ``json.load``.
ARROW_MIN_BYTES = 4 * 1024 * 1024
_MISSING_UNTYPED = "."
_UNTYPED_MIN_WIDTH = 8

JSON_CONTENT_TYPE = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"

FaultKind = Literal[
    "status", "slow", "drop", "truncate", "invalid_json", "loop_nextlink", "foreign_nextlink"
]
FAULT_KINDS: tuple[str, ...] = (
    "status",
    "slow",
    "drop",
    "truncate",
    "invalid_json",
    "loop_nextlink",
    "foreign_nextlink",
)


# ============================================================================================
# $filter: tokenizer, parser, vectorized evaluation
# ============================================================================================


class FilterError(ValueError):
    """A ``$filter`` that cannot be parsed or evaluated (served as HTTP 400)."""


@dataclass(frozen=True)
class Lit:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Prop:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Compare:
    op: str
    left: "Node"
    right: "Node"


Node = Lit | Prop | Call | Not | BoolOp | Compare

_COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_KEYWORD_LITERALS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_./]*)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


class _Token(NamedTuple):
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    # finditer scans in C; a match that does not start where the previous one ended means the
    # text at ``pos`` matches no token (no alternative of _TOKEN_RE matches the empty string).
    tokens: list[_Token] = []
    append = tokens.append
    pos = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() != pos:
            break
        kind = match.lastgroup or ""
        if kind != "ws":
            append(_Token(kind, match.group(), pos))
        pos = match.end()
    if pos < len(text):
        if text[pos] == "'":
            raise FilterError(f"unterminated string literal at position {pos}")
        raise FilterError(f"unexpected character {text[pos]!r} at position {pos}")
    append(_Token("eof", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent with OData v3 precedence: ``not`` > comparison > ``and`` > ``or``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "ident" and token.text in words

    def expect(self, kind: str) -> _Token:
        token = self.take()
        if token.kind != kind:
            found = token.text or "end of filter"
            raise FilterError(f"expected {kind} at position {token.pos}, found {found!r}")
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek().kind != "eof":
            token = self.peek()
            raise FilterError(f"unexpected {token.text!r} at position {token.pos}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.is_word("or"):
            self.take()
            node = BoolOp("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_comparison()
        while self.is_word("and"):
            self.take()
            node = BoolOp("and", node, self.parse_comparison())
        return node

    def parse_comparison(self) -> Node:
        node = self.parse_unary()
        while self.is_word(*_COMPARISONS):
            op = self.take().text
            node = Compare(op, node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "lparen":
            node = self.parse_or()
            self.expect("rparen")
            return node
        if token.kind == "str":
            return Lit(token.text[1:-1].replace("''", "'"))
        if token.kind == "num":
            return Lit(_parse_number(token.text))
        if token.kind == "ident":
            if token.text in _KEYWORD_LITERALS:
                return Lit(_KEYWORD_LITERALS[token.text])
            if token.text in ("and", "or", *_COMPARISONS):
                raise FilterError(f"operator {token.text!r} without left operand at position {token.pos}")
            if self.peek().kind == "lparen":
                self.take()
                args: list[Node] = []
                if self.peek().kind != "rparen":
                    args.append(self.parse_or())
                    while self.peek().kind == "comma":
                        self.take()
                        args.append(self.parse_or())
                self.expect("rparen")
                return Call(token.text, tuple(args))
            return Prop(token.text)
        found = token.text or "end of filter"
        raise FilterError(f"unexpected {found!r} at position {token.pos}")


def _parse_number(text: str) -> int | float:
    body = text.rstrip("mMdDfFlL")
    if re.fullmatch(r"-?\d+", body):
        return int(body)
    return float(body)


_PARSE_CACHE: OrderedDict[str, Node] = OrderedDict()
_PARSE_LOCK = threading.Lock()


def parse_filter(text: str) -> Node:
    """Parse an OData v3 ``$filter`` expression into an AST (cached)."""
    with _PARSE_LOCK:
        node = _PARSE_CACHE.get(text)
        if node is not None:
            _PARSE_CACHE.move_to_end(text)
            return node
    node = _Parser(text).parse()
    with _PARSE_LOCK:
        _PARSE_CACHE[text] = node
        while len(_PARSE_CACHE) > 256:
            _PARSE_CACHE.popitem(last=False)
    return node


# -- evaluation values -----------------------------------------------------------------------
# A column with few distinct values (the dimension keys) is evaluated once per distinct value and
# then gathered by code, so `(Regio eq 'a' or Regio eq 'b' ...)` costs one pass over the rows.


@dataclass(frozen=True)
class _DictCol:
    """Dictionary-encoded column: ``cats[codes]``, code -1 is null."""

    codes: np.ndarray
    cats: np.ndarray  # object array of distinct values

    @functools.cached_property
    def all_str(self) -> bool:
        """Every category is a plain str (then ``eq``/``ne`` with a string compare in numpy)."""
        return all(type(c) is str for c in self.cats)


@dataclass(frozen=True)
class _CatMask:
    """A boolean per category of one dictionary column (not yet gathered to rows)."""

    codes: np.ndarray
    catbool: np.ndarray
    null_value: bool

    def extended(self) -> np.ndarray:
        return np.append(self.catbool, self.null_value)  # code -1 picks the last element

    def rows(self) -> np.ndarray:
        targets = np.flatnonzero(self.catbool).tolist() + ([-1] if self.null_value else [])
        if len(targets) <= 2:  # one region, one period: compare the codes, no gather
            out = self.codes == targets[0] if targets else np.zeros(len(self.codes), dtype=bool)
            for target in targets[1:]:
                out |= self.codes == target
            return out
        # np.take takes the int8/int16 codes as they are; ``extended[codes]`` first converts all
        # of them to intp (twice as slow on a million rows).
        return np.take(self.extended(), self.codes)


_Value = Any  # _DictCol | pd.Series | _CatMask | np.ndarray (bool rows) | python scalar

_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _scalar_compare(op: str, left: Any, right: Any) -> bool:
    """OData null semantics: ``null eq null`` is true, ``ne`` is its negation, order ops are false."""
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    if isinstance(left, str) != isinstance(right, str) or isinstance(left, bool) != isinstance(right, bool):
        if op in ("eq", "ne"):
            # Different types never compare equal; ordering them is a client error.
            return op == "ne"
        raise FilterError(f"cannot compare {left!r} and {right!r} with {op}")
    return bool(_PY_OPS[op](left, right))


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class _Evaluator:
    def __init__(self, frame: "_Frame") -> None:
        self.frame = frame

    def rows(self, node: Node) -> np.ndarray:
        return self.to_rows(self.eval(node), "filter")

    # -- conversions ------------------------------------------------------------------------
    def to_rows(self, value: _Value, what: str) -> np.ndarray:
        n = self.frame.n
        if isinstance(value, _CatMask):
            return value.rows()
        if isinstance(value, np.ndarray) and value.dtype == bool:
            return value
        if isinstance(value, (bool, np.bool_)):
            return np.full(n, bool(value))
        if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype):
            return value.to_numpy(dtype=bool, na_value=False)
        raise FilterError(f"{what} is not a boolean expression")

    def as_series(self, value: _Value) -> pd.Series:
        if isinstance(value, pd.Series):
            return value
        if isinstance(value, _DictCol):
            return pd.Series(np.append(value.cats, None)[value.codes], dtype=object)
        if isinstance(value, (_CatMask, np.ndarray)):
            return pd.Series(self.to_rows(value, "operand"))
        return pd.Series([value] * self.frame.n, dtype=object)

    # -- nodes ------------------------------------------------------------------------------
    def eval(self, node: Node) -> _Value:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Prop):
            return self.frame.column_value(node.name)
        if isinstance(node, Not):
            return self.negate(self.eval(node.operand))
        if isinstance(node, BoolOp):
            if node.op == "or":
                enumerated = self.enumeration(node)
                if enumerated is not None:
                    return enumerated
            return self.boolean(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, Compare):
            return self.compare(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, Call):
            return self.call(node.name, [self.eval(a) for a in node.args])
        raise FilterError(f"unsupported expression {node!r}")

    def enumeration(self, node: BoolOp) -> _CatMask | None:
        """``(P eq 'a' or P eq 'b' or ...)`` over a dictionary column of plain strings, in one pass
        over the categories: what the general path answers (each ``eq`` a _CatMask with null false,
        combined per category), without hundreds of numpy calls. None for any other shape."""
        literals: set[str] = set()
        name: str | None = None
        stack: list[Node] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, BoolOp) and item.op == "or":
                stack.append(item.left)
                stack.append(item.right)
                continue
            if not (
                isinstance(item, Compare)
                and item.op == "eq"
                and isinstance(item.left, Prop)
                and isinstance(item.right, Lit)
                and type(item.right.value) is str
                and (name is None or item.left.name == name)
            ):
                return None
            name = item.left.name
            literals.add(item.right.value)
        if name is None or name not in self.frame.dict_cols:
            return None
        column = self.frame.dict_cols[name]
        if not column.all_str:
            return None
        catbool = np.fromiter((c in literals for c in column.cats), dtype=bool, count=len(column.cats))
        return _CatMask(column.codes, catbool, False)

    def negate(self, value: _Value) -> _Value:
        if isinstance(value, (bool, np.bool_)):
            return not value
        if isinstance(value, _CatMask):
            return _CatMask(value.codes, ~value.catbool, not value.null_value)
        return ~self.to_rows(value, "operand of 'not'")

    def boolean(self, op: str, left: _Value, right: _Value) -> _Value:
        combine = np.logical_and if op == "and" else np.logical_or
        if isinstance(left, (bool, np.bool_)) and isinstance(right, (bool, np.bool_)):
            return bool(combine(left, right))
        if isinstance(left, _CatMask) and isinstance(right, _CatMask) and left.codes is right.codes:
            # Same dimension on both sides: combine per category, gather once later.
            null_value = bool(combine(left.null_value, right.null_value))
            return _CatMask(left.codes, combine(left.catbool, right.catbool), null_value)
        return combine(self.to_rows(left, f"operand of '{op}'"), self.to_rows(right, f"operand of '{op}'"))

    def compare(self, op: str, left: _Value, right: _Value) -> _Value:
        left_scalar = not isinstance(left, (_DictCol, pd.Series, _CatMask, np.ndarray))
        right_scalar = not isinstance(right, (_DictCol, pd.Series, _CatMask, np.ndarray))
        if left_scalar and right_scalar:
            return _scalar_compare(op, left, right)
        if left_scalar:
            left, right, op = right, left, _FLIPPED[op]
            right_scalar = True
        if right_scalar:
            return self.compare_scalar(op, left, right)
        # Column against column (rare): elementwise on object values.
        lhs = self.as_series(left).to_numpy(dtype=object)
        rhs = self.as_series(right).to_numpy(dtype=object)
        return np.fromiter(
            (_scalar_compare(op, _nan_to_none(a), _nan_to_none(b)) for a, b in zip(lhs, rhs)),
            dtype=bool,
            count=len(lhs),
        )

    def compare_scalar(self, op: str, column: _Value, literal: Any) -> _Value:
        if isinstance(column, (_CatMask, np.ndarray)):
            if not isinstance(literal, bool) or op not in ("eq", "ne"):
                raise FilterError(f"a boolean expression can only be compared with true/false ({op} {literal!r})")
            keep = literal if op == "eq" else not literal
            return column if keep else self.negate(column)
        if isinstance(column, _DictCol):
            if op in ("eq", "ne") and type(literal) is str and column.all_str:
                # What _scalar_compare answers for str against str, for every category at once
                # (a filter enumerating hundreds of regions has hundreds of these).
                hit = np.asarray(column.cats == literal, dtype=bool)
                catbool = hit if op == "eq" else ~hit
            else:
                catbool = np.fromiter(
                    (_scalar_compare(op, _nan_to_none(c), literal) for c in column.cats),
                    dtype=bool,
                    count=len(column.cats),
                )
            return _CatMask(column.codes, catbool, _scalar_compare(op, None, literal))
        series: pd.Series = column
        if literal is None:
            if op == "eq":
                return series.isna().to_numpy(dtype=bool)
            if op == "ne":
                return series.notna().to_numpy(dtype=bool)
            return np.zeros(self.frame.n, dtype=bool)
        numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
        if numeric and not _is_number(literal):
            if op in ("eq", "ne"):
                return np.full(self.frame.n, op == "ne")
            raise FilterError(f"cannot compare a numeric property with {literal!r}")
        if numeric or pd.api.types.is_bool_dtype(series.dtype):
            result = _PY_OPS[op](series, literal)
            na_value = op == "ne"
            out = result.to_numpy(dtype=bool, na_value=na_value)
            if op == "ne":
                out |= series.isna().to_numpy(dtype=bool)
            else:
                out &= series.notna().to_numpy(dtype=bool)
            return out
        values = series.to_numpy(dtype=object)
        return np.fromiter(
            (_scalar_compare(op, _nan_to_none(v), literal) for v in values), dtype=bool, count=len(values)
        )

    # -- functions --------------------------------------------------------------------------
    def call(self, name: str, args: list[_Value]) -> _Value:
        lowered = name.lower()
        if lowered == "substringof":
            self._arity(name, args, 2)
            needle, haystack = args
            return self._string_predicate(haystack, needle, lambda h, n: n in h, name)
        if lowered == "startswith":
            self._arity(name, args, 2)
            return self._string_predicate(args[0], args[1], lambda h, n: h.startswith(n), name)
        if lowered == "endswith":
            self._arity(name, args, 2)
            return self._string_predicate(args[0], args[1], lambda h, n: h.endswith(n), name)
        transforms: dict[str, Callable[[str], Any]] = {
            "tolower": str.lower,
            "toupper": str.upper,
            "trim": str.strip,
            "length": len,
        }
        if lowered in transforms:
            self._arity(name, args, 1)
            return self._string_transform(args[0], transforms[lowered], name)
        raise FilterError(f"unsupported function {name!r}")

    @staticmethod
    def _arity(name: str, args: list[_Value], n: int) -> None:
        if len(args) != n:
            raise FilterError(f"{name} takes {n} arguments, got {len(args)}")

    @staticmethod
    def _check_str(value: Any, name: str) -> None:
        if value is not None and not isinstance(value, str):
            raise FilterError(f"{name} expects text, got {value!r}")

    def _string_predicate(self, subject: _Value, arg: _Value, test: Callable[[str, str], bool], name: str) -> _Value:
        def one(s: Any, a: Any) -> bool:
            s, a = _nan_to_none(s), _nan_to_none(a)
            self._check_str(s, name)
            self._check_str(a, name)
            return False if s is None or a is None else test(s, a)

        subject_scalar = not isinstance(subject, (_DictCol, pd.Series, np.ndarray, _CatMask))
        arg_scalar = not isinstance(arg, (_DictCol, pd.Series, np.ndarray, _CatMask))
        if subject_scalar and arg_scalar:
            return one(subject, arg)
        if isinstance(subject, _DictCol) and arg_scalar:
            catbool = np.fromiter((one(c, arg) for c in subject.cats), dtype=bool, count=len(subject.cats))
            return _CatMask(subject.codes, catbool, False)
        lhs = self.as_series(subject).to_numpy(dtype=object)
        rhs = self.as_series(arg).to_numpy(dtype=object)
        return np.fromiter((one(s, a) for s, a in zip(lhs, rhs)), dtype=bool, count=len(lhs))

    def _string_transform(self, subject: _Value, fn: Callable[[str], Any], name: str) -> _Value:
        def one(s: Any) -> Any:
            s = _nan_to_none(s)
            self._check_str(s, name)
            return None if s is None else fn(s)

        if isinstance(subject, _DictCol):
            # Transformed categories may collide (trim): fine, they are only looked up by code.
            return _DictCol(subject.codes, np.array([one(c) for c in subject.cats], dtype=object))
        if isinstance(subject, pd.Series):
            return pd.Series([one(v) for v in subject.to_numpy(dtype=object)], dtype=object)
        if isinstance(subject, (_CatMask, np.ndarray)):
            raise FilterError(f"{name} expects text, got a boolean expression")
        return one(subject)


def evaluate_filter(frame: "_Frame", text: str) -> np.ndarray:
    """Boolean row mask of ``$filter`` ``text`` over ``frame``."""
    return _Evaluator(frame).rows(parse_filter(text))


def _conjuncts(node: Node) -> list[Node]:
    """The operands of a tree of ``and`` (left to right)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, BoolOp) and item.op == "and":
            stack.append(item.right)
            stack.append(item.left)
        else:
            out.append(item)
    return out


#: Row postings per dictionary column of the big frames: (codes, order, starts), keyed by id(codes).
_POSTINGS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_POSTINGS_LOCK = threading.Lock()
_POSTINGS_MAX = 16
#: Below this many rows a full pass over the codes is as cheap as the postings.
_POSTINGS_MIN_ROWS = 200_000


def _postings(codes: np.ndarray, n_cats: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each category, as an index a database would keep: ``order[starts[c]:starts[c+1]]``
    are the rows with code ``c``. Built once per column (a stable sort), so a query that names a
    few regions of a big table costs as much as the rows it selects, not a pass over all rows."""
    with _POSTINGS_LOCK:
        entry = _POSTINGS.get(id(codes))
        if entry is not None and entry[0] is codes:
            return entry[1], entry[2]
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_cats + 1))
    with _POSTINGS_LOCK:
        if len(_POSTINGS) >= _POSTINGS_MAX:
            _POSTINGS.pop(next(iter(_POSTINGS)))
        _POSTINGS[id(codes)] = (codes, order, starts)
    return order, starts


def _selected_rows(mask: "_CatMask") -> np.ndarray:
    """``np.flatnonzero(mask.rows())`` (ascending int64 row numbers), through the column's postings
    when few of many categories are selected in a big frame."""
    targets = np.flatnonzero(mask.catbool)
    n_cats = len(mask.catbool)
    if len(mask.codes) >= _POSTINGS_MIN_ROWS and not mask.null_value and len(targets) * 8 <= n_cats:
        order, starts = _postings(mask.codes, n_cats)
        pieces = [order[starts[c] : starts[c + 1]] for c in targets.tolist()]
        if not pieces:
            return np.empty(0, dtype=np.int64)
        rows = np.concatenate(pieces).astype(np.int64, copy=False)
        rows.sort()
        return rows
    return np.flatnonzero(mask.rows())


def filter_indices(frame: "_Frame", text: str) -> np.ndarray:
    """Row numbers (ascending, int64) matching ``$filter`` ``text``: ``flatnonzero`` of
    :func:`evaluate_filter`. A conjunction of conditions on dictionary columns (``(Regio eq ... or
    ...) and (Perioden eq ... or ...)``) gathers one column over all rows and the others only at the
    rows still in, instead of a full boolean mask per column."""
    node = parse_filter(text)
    evaluator = _Evaluator(frame)
    parts = _conjuncts(node)
    masks: list[_CatMask] | None = None
    try:
        values = [evaluator.eval(part) for part in parts]
        if all(isinstance(v, _CatMask) for v in values):
            masks = values
    except Exception:  # noqa: BLE001 - the general path below raises the error the way it always has
        masks = None
    if masks is None:
        return np.flatnonzero(evaluator.rows(node))
    by_codes: dict[int, _CatMask] = {}
    for mask in masks:  # same column on both sides of an 'and': combine per category
        known = by_codes.get(id(mask.codes))
        by_codes[id(mask.codes)] = mask if known is None else _CatMask(
            mask.codes, np.logical_and(known.catbool, mask.catbool), known.null_value and mask.null_value
        )
    ordered = sorted(by_codes.values(), key=lambda m: float(np.mean(m.catbool)) if len(m.catbool) else 0.0)
    rows = _selected_rows(ordered[0])
    for mask in ordered[1:]:
        if not len(rows):
            break
        rows = rows[np.take(mask.extended(), mask.codes[rows])]
    return rows


def filter_records(records: Sequence[Mapping[str, Any]], text: str) -> list[dict[str, Any]]:
    """The rows of ``records`` that match ``$filter`` ``text`` (the stub's evaluator, for tests)."""
    frame = _Frame.from_records(list(records))
    mask = evaluate_filter(frame, text)
    return [dict(records[i]) for i in np.flatnonzero(mask)]


# ============================================================================================
# Entity frames: a DataFrame for filtering plus a fast page encoder
# ============================================================================================


class _Frame:
    """One entity's rows. ``df`` holds typed columns (strings as categoricals) for filtering; pages
    are produced either from the original records (small files, exact round trip) or column-wise
    from numpy arrays (big files, no per-row Python objects kept)."""

    def __init__(
        self,
        columns: list[str],
        df: pd.DataFrame | None,
        records: list[dict[str, Any]] | None,
        numeric: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        """``df`` None (records given): built from the records when first needed (a filter, the
        untyped view): most metadata entities are only ever served whole."""
        self.columns = columns
        self._df = df
        self.records = records
        self.n = len(df) if df is not None else len(records or [])
        self._dict_cols: dict[str, _DictCol] | None = None
        # Column-wise page encoding: (values, null mask) per non-dictionary column.
        self._numeric: dict[str, tuple[np.ndarray, np.ndarray]] = dict(numeric or {})
        self._untyped_width: dict[str, int] = {}
        # JSON text per category of a dictionary column (typed / untyped view), for page_json.
        self._json_cats: dict[tuple[str, bool], pa.Array] = {}
        self._json_null: dict[tuple[str, bool], str] = {}
        # Lookup tables of (prefix + value text + suffix) per column, for page_json.
        self._text_tables: dict[tuple[str, bool, str, str], tuple[int, pa.Array, np.ndarray | None] | None] = {}
        self._nonfinite: bool | None = None

    @property
    def df(self) -> pd.DataFrame:
        df = self._df
        if df is None:
            records = self.records or []
            data = {col: _typed_series([r.get(col) for r in records]) for col in self.columns}
            df = pd.DataFrame(data, columns=self.columns) if self.columns else pd.DataFrame(index=range(len(records)))
            self._df = df
        return df

    @property
    def dict_cols(self) -> dict[str, _DictCol]:
        dict_cols = self._dict_cols
        if dict_cols is None:
            df = self.df
            dict_cols = {}
            for col in self.columns:
                if isinstance(df[col].dtype, pd.CategoricalDtype):
                    cat = df[col].cat
                    cats = np.asarray(cat.categories.to_numpy(dtype=object), dtype=object)
                    dict_cols[col] = _DictCol(cat.codes.to_numpy(), cats)
            self._dict_cols = dict_cols
        return dict_cols

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> "_Frame":
        columns: list[str] = []
        seen: set[str] = set()
        for record in records:
            if record.keys() == seen:  # the common case: a C-level set comparison
                continue
            for key in record:
                if key not in seen:
                    seen.add(key)
                    columns.append(key)
        return cls(columns, None, records)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> "_Frame":
        data: dict[str, Any] = {}
        numeric: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, column in zip(table.column_names, table.columns):
            combined = column.combine_chunks()
            if pa.types.is_dictionary(combined.type):
                codes = combined.indices.fill_null(-1).to_numpy(zero_copy_only=False)
                cats = combined.dictionary.to_pylist()
                codes = codes.astype(np.int16 if len(cats) < 32_000 else np.int32, copy=False)
                data[name] = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
                continue
            mask = combined.is_null().to_numpy(zero_copy_only=False)
            if pa.types.is_null(combined.type):
                values = np.zeros(len(combined), dtype=np.float64)
                data[name] = pd.arrays.FloatingArray(values, mask)
            elif pa.types.is_integer(combined.type):
                values = combined.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
                data[name] = pd.arrays.IntegerArray(values, mask)
            elif pa.types.is_floating(combined.type):
                values = combined.fill_null(0.0).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
                data[name] = pd.arrays.FloatingArray(values, mask)
            elif pa.types.is_boolean(combined.type):
                values = combined.fill_null(False).to_numpy(zero_copy_only=False)
                data[name] = pd.arrays.BooleanArray(values, mask)
            else:
                raise ValueError(f"unsupported column type {combined.type} for {name}")
            numeric[name] = (values, mask)
        df = pd.DataFrame(data, columns=table.column_names)
        return cls(list(table.column_names), df, None, numeric)

    # -- filter support ---------------------------------------------------------------------
    def column_value(self, name: str) -> _DictCol | pd.Series:
        if name in self.dict_cols:
            return self.dict_cols[name]
        if name in self.df.columns:
            return self.df[name]
        raise FilterError(f"Could not find a property named '{name}'")

    # -- typed <-> untyped --------------------------------------------------------------------
    def measure_columns(self, topics: Iterable[str] | None) -> list[str]:
        """Topic columns (from DataProperties) or, without metadata, the numeric columns but ID."""
        if topics is not None:
            return [c for c in self.columns if c in set(topics)]
        return [
            c
            for c in self.columns
            if c != "ID"
            and c not in self.dict_cols
            and pd.api.types.is_numeric_dtype(self.df[c].dtype)
            and not pd.api.types.is_bool_dtype(self.df[c].dtype)
        ]

    def untyped_width(self, col: str) -> int:
        width = self._untyped_width.get(col)
        if width is None:
            series = self.df[col]
            longest = 0
            if self.n and series.notna().any():
                longest = max(len(_format_number(series.min())), len(_format_number(series.max())))
            width = max(_UNTYPED_MIN_WIDTH, longest)
            self._untyped_width[col] = width
        return width

    def typed_from_untyped(self, measures: Sequence[str]) -> "_Frame":
        """The typed view of an UntypedDataSet: padded number strings to numbers, '.' to null."""
        if self.records is not None:
            records = []
            for record in self.records:
                converted = dict(record)
                for col in measures:
                    if col in converted:
                        converted[col] = _parse_untyped(converted[col])
                records.append(converted)
            return _Frame.from_records(records)
        data = {c: self.df[c] for c in self.columns}
        numeric = dict(self._numeric)
        for col in measures:
            if col not in self.dict_cols:
                continue
            dc = self.dict_cols[col]
            parsed = [_parse_untyped(v) for v in dc.cats] + [None]
            floats = any(isinstance(v, float) for v in parsed)
            lookup_mask = np.array([v is None for v in parsed], dtype=bool)
            lookup = np.array([0 if v is None else v for v in parsed], dtype=np.float64 if floats else np.int64)
            values, mask = lookup[dc.codes], lookup_mask[dc.codes]
            data[col] = pd.arrays.FloatingArray(values, mask) if floats else pd.arrays.IntegerArray(values, mask)
            numeric[col] = (values, mask)
        return _Frame(list(self.columns), pd.DataFrame(data, columns=self.columns), None, numeric)

    # -- page encoding ----------------------------------------------------------------------
    def page(
        self, idx: np.ndarray, select: Sequence[str] | None, untyped: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        cols = list(select) if select else self.columns
        untyped_set = set(untyped)
        if self.records is not None:
            out = []
            for i in idx.tolist():
                record = self.records[i]
                row = record if not select and not untyped_set else {c: record.get(c) for c in cols}
                if untyped_set:
                    row = {c: (self._to_untyped(c, v) if c in untyped_set else v) for c, v in row.items()}
                out.append(row)
            return out
        lists: list[list[Any]] = []
        for col in cols:
            if col in self.dict_cols:
                dc = self.dict_cols[col]
                values = np.append(dc.cats, None)[dc.codes[idx]].tolist()
            else:
                raw, mask = self._numeric[col]
                values = raw[idx].tolist()
                for j in np.flatnonzero(mask[idx]).tolist():
                    values[j] = None
            if col in untyped_set:
                values = [self._to_untyped(col, v) for v in values]
            lists.append(values)
        return [dict(zip(cols, row)) for row in zip(*lists)]

    #: Rows per pyarrow join in page_json (keeps every string array far below 2 GiB).
    _JSON_CHUNK = 100_000

    def page_json(
        self, idx: np.ndarray, select: Sequence[str] | None, untyped: Sequence[str] = ()
    ) -> bytes | None:
        """``json.dumps(self.page(idx, select, untyped))``: see page_json_parts."""
        parts = self.page_json_parts(idx, select, untyped)
        return None if parts is None else b"".join(parts)

    def page_json_parts(
        self, idx: np.ndarray, select: Sequence[str] | None, untyped: Sequence[str] = ()
    ) -> list[Any] | None:
        """``json.dumps(self.page(idx, select, untyped))`` (compact, ``ensure_ascii=False``) without
        building the rows: each selected column's values become their JSON text with pyarrow (the text
        of a category once per frame), and the rows are joined element-wise in C. Same bytes as
        json.dumps, as buffers to concatenate. None for frames kept as records (small files: exact
        round trip via page())."""
        if self.records is not None:
            return None
        cols = list(dict.fromkeys(select)) if select else self.columns  # a dict keeps one of each key
        if not cols or len(idx) == 0:
            return [b"[]"]
        untyped_set = set(untyped)
        keys = [json.dumps(c, ensure_ascii=False) for c in cols]
        # The text before value j is consts[j]; after the last value, consts[-1].
        consts = [("{" if j == 0 else ",") + keys[j] + ":" for j in range(len(cols))] + ["},"]
        last = len(cols) - 1
        pieces: list[Any] = []
        for start in range(0, len(idx), self._JSON_CHUNK):
            part = idx[start : start + self._JSON_CHUNK]
            parts: list[Any] = []
            for j, col in enumerate(cols):
                suffix = consts[-1] if j == last else ""
                text = self._json_text(col, part, col in untyped_set, consts[j], suffix)
                if text is None:
                    parts += [consts[j], self._json_values(col, part, col in untyped_set), suffix]
                else:
                    parts.append(text)
            pieces.append(_join_rows(parts, len(part)))
        pieces[-1] = pieces[-1][:-1]  # no ',' after the last row
        return [b"[", *pieces, b"]"]

    def _json_text(self, col: str, idx: np.ndarray, untyped: bool, prefix: str, suffix: str) -> Any:
        """``prefix`` + the JSON text of ``col`` + ``suffix`` at rows ``idx``, looked up in a table
        of the texts of the column's categories (or, for an int column, of its values): a void
        array (one fixed-width byte string per row) when all those texts have one length in bytes
        (dimension keys: CBS pads them), else a string array; None when the table does not cover
        these rows (nulls of a dimension, ints beyond the table) or the column has none (floats):
        then _json_values formats them."""
        table = self._text_table(col, untyped, prefix, suffix)
        if table is None:
            return None
        low, texts, fixed = table
        if col in self.dict_cols:
            codes = self.dict_cols[col].codes[idx]
            if len(codes) and codes.min() < 0:
                return None
        else:
            raw, mask = self._numeric[col]
            codes = raw[idx] - low
            nulls = mask[idx]
            any_null = bool(nulls.any())
            if any_null:
                codes[nulls] = 0
            if len(codes) and (codes.min() < 0 or codes.max() >= len(texts) - 1):
                return None
            if any_null:
                codes[nulls] = len(texts) - 1  # the text of null
        return np.take(fixed, codes) if fixed is not None else texts.take(pa.array(codes))

    #: Values of an int column (from its lowest on) in the table of _text_table.
    _INT_TABLE_SPAN = 1 << 16

    def _text_table(
        self, col: str, untyped: bool, prefix: str, suffix: str
    ) -> tuple[int, pa.Array, np.ndarray | None] | None:
        """(lowest code, the texts, the texts as a void array when of one width) for _json_text:
        per category of a dictionary column, ``prefix`` + its text in _json_dict_values + ``suffix``;
        for an int64 column, the same for each value from its lowest on (at most _INT_TABLE_SPAN)
        as _json_values writes it, and then for null. None for other columns."""
        key = (col, untyped, prefix, suffix)
        if key in self._text_tables:
            return self._text_tables[key]
        table = None
        if col in self.dict_cols:
            cats = self._json_cat_texts(col, untyped).to_pylist()
            texts = pa.array([f"{prefix}{t}{suffix}" for t in cats], pa.string())
            table = (0, texts, _fixed_width(texts))
        elif self._numeric[col][0].dtype == np.int64:
            raw, mask = self._numeric[col]
            present = raw[~mask]
            low, high = (int(present.min()), int(present.max())) if len(present) else (0, 0)
            high = min(high, low + self._INT_TABLE_SPAN - 1)
            # What _json_values writes for these values (and null), formatted in C.
            digits = pc.cast(pa.array(np.arange(low, high + 1, dtype=np.int64)), pa.string())
            if untyped:
                width = self.untyped_width(col)
                digits = pc.utf8_lpad(digits, width=width, padding=" ")
                null_text = _MISSING_UNTYPED.rjust(width)
                prefix, suffix = prefix + '"', '"' + suffix
            else:
                null_text = "null"
            values = pa.concat_arrays([digits, pa.array([null_text], pa.string())])
            texts = pc.binary_join_element_wise(prefix, values, suffix, "")
            table = (low, texts, _fixed_width(texts))
        self._text_tables[key] = table
        return table

    def _json_cat_texts(self, col: str, untyped: bool) -> pa.Array:
        """The JSON text of each category of a dictionary column."""
        key = (col, untyped)
        cats = self._json_cats.get(key)
        if cats is None:
            convert = (lambda v: self._to_untyped(col, v)) if untyped else (lambda v: v)
            cats = pa.array([json.dumps(convert(c), ensure_ascii=False) for c in self.dict_cols[col].cats], pa.string())
            self._json_cats[key] = cats
        return cats

    def _json_values(self, col: str, idx: np.ndarray, untyped: bool) -> pa.Array:
        """The JSON text of ``col`` at rows ``idx`` (a string array without nulls)."""
        if col in self.dict_cols:
            return self._json_dict_values(col, idx, untyped)
        raw, mask = self._numeric[col]
        values, nulls = raw[idx], mask[idx]
        any_null = bool(nulls.any())
        if untyped:
            width = self.untyped_width(col)
            if values.dtype == np.int64:
                text = pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding=" ")
                if any_null:
                    text = pc.if_else(pa.array(nulls), _MISSING_UNTYPED.rjust(width), text)
                return pc.binary_join_element_wise('"', text, '"', "")  # digits, '-', spaces: no escapes
            listed = values.tolist()
            for j in np.flatnonzero(nulls).tolist():
                listed[j] = None
            return pa.array([json.dumps(self._to_untyped(col, v), ensure_ascii=False) for v in listed], pa.string())
        if values.dtype == np.int64 or values.dtype == np.bool_:
            text = pc.cast(pa.array(values), pa.string())  # "123", "-4", "true", "false": as json.dumps
        else:
            text = pa.array([_json_float(v) for v in values.tolist()], pa.string())
        if any_null:
            text = pc.if_else(pa.array(nulls), "null", text)
        return text

    def _json_dict_values(self, col: str, idx: np.ndarray, untyped: bool) -> pa.Array:
        dc = self.dict_cols[col]
        key = (col, untyped)
        cats = self._json_cat_texts(col, untyped)
        codes = dc.codes[idx]
        if len(codes) and codes.min() < 0:
            null_text = self._json_null.get(key)
            if null_text is None:  # only when needed: the untyped width of a text column may not exist
                null_text = json.dumps(self._to_untyped(col, None) if untyped else None, ensure_ascii=False)
                self._json_null[key] = null_text
            codes = np.where(codes < 0, len(cats), codes.astype(np.int32))
            return pa.concat_arrays([cats, pa.array([null_text], pa.string())]).take(codes)
        return cats.take(codes)

    def has_nonfinite(self) -> bool:
        """Whether the records hold NaN or ±Infinity: only json.dumps writes those (as NaN,
        Infinity) the way the stub always has, orjson would write null."""
        if self._nonfinite is None:
            self._nonfinite = self.records is not None and any(map(_has_nonfinite, self.records))
        return self._nonfinite

    def _to_untyped(self, col: str, value: Any) -> Any:
        width = self.untyped_width(col)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return _MISSING_UNTYPED.rjust(width)
        if isinstance(value, str):
            return value
        return _format_number(value).rjust(width)


def _fixed_width(text: pa.Array) -> np.ndarray | None:
    """A string array (no nulls) as a void array of its UTF-8 values (``V<width>``), or None when
    its values differ in length (or are empty)."""
    if text.type != pa.string() or text.null_count or not len(text):
        return None
    buffers = text.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    width = int(offsets[1] - offsets[0])
    if width <= 0 or buffers[2] is None or not bool(np.all(np.diff(offsets) == width)):
        return None
    return np.frombuffer(buffers[2], dtype=np.dtype(f"V{width}"), count=len(text), offset=int(offsets[0]))


def _join_rows(parts: list[Any], n: int) -> Any:
    """The bytes of ``n`` rows, row ``i`` being the concatenation of ``part[i]`` for each part: a str
    (the same for every row), a void array of ``n`` fixed-width byte strings, or a string array of
    length ``n``.

    Runs of fixed-width parts are laid out as the fields of one structured numpy array (a copy per
    field); only the rest goes through pyarrow's element-wise join, whose cost grows with the
    number of its arguments (9 for a page of four columns, 3 when only the measure varies)."""
    args: list[Any] = []
    run: list[Any] = []

    def flush() -> None:
        if not run:
            return
        if all(isinstance(p, bytes) for p in run):
            args.append(b"".join(run).decode("utf-8"))
        else:
            widths = [len(p) if isinstance(p, bytes) else p.dtype.itemsize for p in run]
            block = np.empty(n, dtype=np.dtype([(f"f{k}", f"V{w}") for k, w in enumerate(widths)]))
            for k, p in enumerate(run):
                block[f"f{k}"] = np.void(p) if isinstance(p, bytes) else p
            args.append(block.view(np.uint8).reshape(n, -1))
        run.clear()

    for p in parts:
        if isinstance(p, str):
            if p:
                run.append(p.encode("utf-8"))
            continue
        if not isinstance(p, np.ndarray):
            fixed = _fixed_width(p)
            if fixed is None:
                flush()
                args.append(p)
                continue
            p = fixed
        run.append(p)
    flush()
    if len(args) == 1 and isinstance(args[0], np.ndarray):
        return memoryview(args[0]).cast("B")
    arrays = [
        pa.Array.from_buffers(
            pa.string(),
            n,
            [None, pa.py_buffer(np.arange(0, n * a.shape[1] + 1, a.shape[1], dtype=np.int32)), pa.py_buffer(a)],
        )
        if isinstance(a, np.ndarray)
        else a
        for a in args
    ]
    rows = pc.binary_join_element_wise(*arrays, "")  # the last argument is the separator
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)
    begin, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    return memoryview(rows.buffers()[2])[begin:end]


def _json_float(value: float) -> str:
    """A float as json.dumps writes it (``float.__repr__``, or NaN / Infinity / -Infinity)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _has_nonfinite(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        return any(map(_has_nonfinite, value.values()))
    if kind is list:
        return any(map(_has_nonfinite, value))
    return False


def _format_number(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _parse_untyped(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in ("", _MISSING_UNTYPED):
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return value


def _typed_series(values: list[Any]) -> Any:
    """A column for filtering: strings as categorical, ints as nullable Int64, else object."""
    types = set(map(type, values))
    types.discard(type(None))
    if types == {str}:
        present = [v for v in values if v is not None]
        return pd.Categorical(values, categories=pd.Index(sorted(set(present)), dtype=object))
    if types == {bool}:
        return pd.array(values, dtype="boolean")
    if types == {int}:
        return pd.array(values, dtype="Int64")
    if types == {int, float} or types == {float}:
        return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
    if not types:
        return pd.array(values, dtype="Float64") if values else pd.array([], dtype=object)
    return pd.Series(values, dtype=object)


# -- reading entity files -----------------------------------------------------------------------


def _ndjson_blocks(fh: io.BufferedReader, block_size: int = 64 << 20) -> Iterable[bytes]:
    """A JSON list with one record per line (``[\\n{...},\\n{...}\\n]``) as NDJSON blocks.

    Every block ends at a newline, so the ``,`` that separates two records sits right before a
    newline inside the block and is stripped there (JSON strings cannot hold a raw newline).
    Raises ValueError when the file is not laid out that way."""
    carry = b""
    started = closed = False
    while True:
        chunk = fh.read(block_size)
        at_eof = not chunk
        data = carry + chunk
        carry = b""
        if not started:
            data = data.lstrip(b"\xef\xbb\xbf \t\r\n")
            if not data:
                if at_eof:
                    raise ValueError("empty file")
                continue  # only whitespace so far
            if not data.startswith(b"["):
                raise ValueError("not a JSON list")
            data, started = data[1:], True
        if not at_eof:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
        tail = data[-256:].rstrip()  # look at the end only: stripping a whole block copies it
        if closed:
            if data.strip():
                raise ValueError("data after the end of the JSON list")
            data = b""
        elif tail.endswith(b"]"):
            # A record line ends in '}' or '},'; a block ending in ']' closes the list.
            closed = True
            data = data.rstrip()[:-1] + b"\n"
        if data:
            if b"\r" in data:
                data = data.replace(b",\r\n", b"\n")
            yield data.replace(b",\n", b"\n")
        if at_eof:
            if not closed:
                raise ValueError("JSON list is not closed")
            return


def _arrow_schema_from_sample(path: Path) -> pa.Schema | None:
    """Column types from the first lines, or None when the file is not one record per line."""
    types: dict[str, pa.DataType | None] = {}
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"["):
        return None
    lines = text[1:].split(b"\n")[:-1]  # the last piece may be cut off
    sampled = 0
    for line in lines:
        line = line.strip().rstrip(b",")
        if not line:
            continue
        if line == b"]":
            break
        if not (line.startswith(b"{") and line.endswith(b"}")):
            return None
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(record, dict):
            return None
        for key, value in record.items():
            known = types.get(key)
            if value is None:
                types.setdefault(key, None)
            elif isinstance(value, bool):
                types[key] = pa.bool_()
            elif isinstance(value, int):
                types[key] = known if known is not None and pa.types.is_floating(known) else pa.int64()
            elif isinstance(value, float):
                types[key] = pa.float64()
            elif isinstance(value, str):
                types[key] = pa.string()
            else:
                return None  # nested values: not a flat data entity
        sampled += 1
        if sampled >= 2000:
            break
    if not sampled:
        return None
    return pa.schema([(k, t if t is not None else pa.float64()) for k, t in types.items()])


def _read_arrow(path: Path) -> pa.Table | None:
    """Stream a one-record-per-line JSON list into an arrow table, strings dictionary-encoded per
    batch (keeps peak memory near the encoded size). None when the file has another layout."""
    schema = _arrow_schema_from_sample(path)
    if schema is None:
        return None
    encoded_schema = pa.schema(
        [(f.name, pa.dictionary(pa.int32(), pa.string()) if pa.types.is_string(f.type) else f.type) for f in schema]
    )
    batches: list[pa.RecordBatch] = []
    read_options = pa_json.ReadOptions(block_size=4 << 20, use_threads=True)
    parse_options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    try:
        with path.open("rb") as fh:
            for block in _ndjson_blocks(fh):
                part = pa_json.read_json(pa.BufferReader(block), read_options=read_options, parse_options=parse_options)
                for batch in part.to_batches():
                    arrays = [
                        pc.dictionary_encode(col) if pa.types.is_string(col.type) else col for col in batch.columns
                    ]
                    batches.append(pa.RecordBatch.from_arrays(arrays, schema=encoded_schema))
                del part, block
    except (pa.ArrowInvalid, ValueError, OSError) as exc:
        log.debug("arrow read of %s failed (%s); falling back to json.load", path, exc)
        return None
    table = pa.Table.from_batches(batches, schema=encoded_schema)
    return table.unify_dictionaries()


def load_frame(path: Path, *, prefer_arrow: bool | None = None) -> _Frame:
    """Load an entity file (a JSON list of flat dicts, or ``{"value": [...]}``) as a frame."""
    use_arrow = path.stat().st_size >= ARROW_MIN_BYTES if prefer_arrow is None else prefer_arrow
    if use_arrow:
        table = _read_arrow(path)
        if table is not None:
            return _Frame.from_arrow(table)
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(f"{path} is not a JSON list of objects")
    return _Frame.from_records(data)


# ============================================================================================
# Snapshot store: tables, entities, cached frames and cached filter results
# ============================================================================================


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_FileKey = tuple[str, int, int]  # (file identity, mtime_ns, size)
_FrameKey = tuple[_FileKey, str]  # a file version and the view of it (typed, derived, ...)


class _Store:
    def __init__(self, root: Path, max_frames: int = 8, max_masks: int = 64, max_small_frames: int = 64) -> None:
        self.root = Path(root)
        # Two LRUs: the metadata files a client reads around a pull (TableInfos, DataProperties,
        # dimensions: a dozen per pull of two tables) must not evict the big data frames, which
        # take seconds of CPU to load again.
        self._frames: OrderedDict[_FrameKey, _Frame] = OrderedDict()
        self._small_frames: OrderedDict[_FrameKey, _Frame] = OrderedDict()
        self._indices: OrderedDict[tuple[_FrameKey, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._load_locks: dict[_FrameKey, threading.Lock] = {}
        self._listings: dict[str, tuple[int, frozenset[str]]] = {}
        self.max_frames = max_frames
        self.max_masks = max_masks
        self.max_small_frames = max_small_frames

    def tables(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def table_dir(self, table_id: str) -> Path:
        direct = self.root / table_id
        if direct.is_dir():
            return direct
        for name in self.tables():
            if name.lower() == table_id.lower():
                return self.root / name
        raise _HTTPError(404, f"Table '{table_id}' does not exist.")

    def entities(self, table_id: str) -> list[str]:
        directory = self.table_dir(table_id)
        present = {p.stem for p in directory.glob("*.json")}
        if TYPED in present or UNTYPED in present:
            present |= {TYPED, UNTYPED}
        ordered = [e for e in _ENTITY_ORDER if e in present]
        dimension_order = self._dimension_order(directory)
        ordered += [e for e in dimension_order if e in present and e not in ordered]
        ordered += sorted(present - set(ordered))
        return ordered

    def _dimension_order(self, directory: Path) -> list[str]:
        path = directory / "DataProperties.json"
        if not path.is_file():
            return []
        try:
            props = self.frame_for_file(path, "DataProperties").records or []
        except (ValueError, OSError):
            return []
        return [str(p.get("Key")) for p in props if str(p.get("Type", "")).endswith("Dimension")]

    def topics(self, directory: Path) -> list[str] | None:
        path = directory / "DataProperties.json"
        if not path.is_file():
            return None
        props = self.frame_for_file(path, "DataProperties").records or []
        return [str(p.get("Key")) for p in props if p.get("Type") == "Topic"]

    @staticmethod
    def file_key(path: Path) -> _FileKey:
        # (device, inode) name the file; no Path.resolve() (an lstat per path component) per request.
        stat = os.stat(path)
        return (f"{stat.st_dev}:{stat.st_ino}:{os.path.abspath(path)}", stat.st_mtime_ns, stat.st_size)

    def frame_for_file(
        self, path: Path, view: str, build: Callable[[], _Frame] | None = None, file_key: _FileKey | None = None
    ) -> _Frame:
        key = (file_key if file_key is not None else self.file_key(path), view)
        small = key[0][2] < ARROW_MIN_BYTES
        frames, limit = (self._small_frames, self.max_small_frames) if small else (self._frames, self.max_frames)
        with self._lock:
            frame = frames.get(key)
            if frame is not None:
                frames.move_to_end(key)
                return frame
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:  # concurrent first requests for one big file load it once
            with self._lock:
                frame = frames.get(key)
            if frame is None:
                started = time.perf_counter()
                frame = build() if build is not None else load_frame(path)
                log.debug("loaded %s (%s): %d rows in %.2fs", path, view, frame.n, time.perf_counter() - started)
                with self._lock:
                    frames[key] = frame
                    while len(frames) > limit:
                        frames.popitem(last=False)
                    self._load_locks.pop(key, None)
        return frame

    def entity(self, table_id: str, entity: str) -> tuple[_Frame, _FrameKey, list[str], str]:
        """The frame of an entity, the frame's cache key, the columns to serve as untyped strings
        and the entity's canonical name."""
        directory = self.table_dir(table_id)
        name = self._entity_name(directory, entity)
        path = directory / f"{name}.json"
        if path.is_file():
            key = self.file_key(path)
            return self.frame_for_file(path, name, file_key=key), (key, name), [], name
        if name == UNTYPED and (directory / f"{TYPED}.json").is_file():
            typed_path = directory / f"{TYPED}.json"
            key = self.file_key(typed_path)
            frame = self.frame_for_file(typed_path, TYPED, file_key=key)
            return frame, (key, TYPED), frame.measure_columns(self.topics(directory)), name
        if name == TYPED and (directory / f"{UNTYPED}.json").is_file():
            untyped_path = directory / f"{UNTYPED}.json"
            topics = self.topics(directory)

            def build() -> _Frame:
                raw = self.frame_for_file(untyped_path, UNTYPED)
                measures = topics if topics is not None else _guess_untyped_measures(raw)
                return raw.typed_from_untyped(measures)

            view = "typed-from-untyped"
            frame = self.frame_for_file(untyped_path, view, build)
            return frame, (self.file_key(untyped_path), view), [], name
        raise _HTTPError(404, f"Resource not found for the segment '{entity}'.")

    def _json_stems(self, directory: Path) -> frozenset[str]:
        """``{p.stem for p in directory.glob("*.json")}``, kept while the directory's mtime stays the
        same (not kept while that mtime is recent: a file added within the same timestamp tick
        would not change it)."""
        mtime = os.stat(directory).st_mtime_ns
        key = str(directory)
        cached = self._listings.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        names = frozenset(p.stem for p in directory.glob("*.json"))
        if time.time_ns() - mtime > 2_000_000_000:
            self._listings[key] = (mtime, names)
        return names

    def _entity_name(self, directory: Path, entity: str) -> str:
        names = self._json_stems(directory) | {TYPED, UNTYPED}
        if entity in names:
            return entity
        for name in names:
            if name.lower() == entity.lower():
                return name
        raise _HTTPError(404, f"Resource not found for the segment '{entity}'.")

    def indices(self, frame: _Frame, frame_key: _FrameKey, filter_text: str | None) -> np.ndarray | None:
        """Matching row numbers of a filter (None: all rows), cached per frame and filter, so that
        paging through one query evaluates it once."""
        if not filter_text:
            return None
        key = (frame_key, filter_text)
        with self._lock:
            found = self._indices.get(key)
            if found is not None:
                self._indices.move_to_end(key)
                return found
        rows = filter_indices(frame, filter_text)
        rows = rows.astype(np.int32 if frame.n < 2**31 else np.int64, copy=False)
        with self._lock:
            self._indices[key] = rows
            while len(self._indices) > self.max_masks:
                self._indices.popitem(last=False)
        return rows

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._small_frames.clear()
            self._indices.clear()


def _guess_untyped_measures(frame: _Frame) -> list[str]:
    measures = []
    for col, dc in frame.dict_cols.items():
        values = [str(v).strip() for v in dc.cats if v is not None]
        if values and all(v == _MISSING_UNTYPED or re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values):
            measures.append(col)
    return measures


# ============================================================================================
# Faults
# ============================================================================================


@dataclass
class Fault:
    """Make matching requests misbehave.

    ``match`` is a substring of the request's path + query (raw or percent-decoded; None matches
    every request). The first ``skip`` matching requests pass; then ``times`` matching requests
    get the fault (-1: all of them). When several faults match, each counts the request and the
    first one that is due is applied.

    Kinds and their extras:
      * ``status``: answer ``status`` (500/503/429/...) with a JSON error, and ``retry_after`` as the
        Retry-After header when given;
      * ``slow``: sleep ``seconds`` before answering normally (to trigger client time-outs);
      * ``drop``: send the headers with the full Content-Length, then ``fraction`` of the body,
        then close the connection;
      * ``truncate``: send ``fraction`` of the body with a matching Content-Length (invalid JSON);
      * ``invalid_json``: a complete 200 response whose body is not JSON (a proxy's HTML page);
      * ``loop_nextlink``: ``odata.nextLink`` points to the requested URL itself;
      * ``foreign_nextlink``: ``odata.nextLink`` points to another table's TypedDataSet
        (``other_table``, default: another table of the snapshot or ``00000NED``).
    """

    kind: FaultKind
    match: str | None = None
    times: int = 1
    skip: int = 0
    status: int = 503
    retry_after: str | None = None
    seconds: float = 5.0
    fraction: float = 0.5
    other_table: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.times < -1 or self.skip < 0:
            raise ValueError("times must be >= -1 and skip >= 0")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError("fraction must be in [0, 1)")


@dataclass
class _ArmedFault:
    """A fault with its own counters, so one Fault object can be re-armed in a later run."""

    fault: Fault
    seen: int = 0
    applied: int = 0

    def matches(self, raw: str, decoded: str) -> bool:
        m = self.fault.match
        return m is None or m in raw or m in decoded

    def due(self) -> bool:
        if self.seen <= self.fault.skip:
            return False
        return self.fault.times == -1 or self.applied < self.fault.times


@dataclass(frozen=True)
class AppliedFault:
    kind: str
    request: str
    at: float


# ============================================================================================
# HTTP
# ============================================================================================


@dataclass
class _Response:
    status: int
    payload: dict[str, Any] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: The payload may hold NaN/Infinity: encode with json.dumps (orjson would write null).
    nonfinite: bool = False

    def encode(self) -> bytes:
        """Compact UTF-8 JSON, as ``json.dumps(payload, ensure_ascii=False, separators=(",", ":"))``
        writes it. orjson does the work (a page's ``value`` may be an ``orjson.Fragment`` of JSON text
        already written); json.dumps only for what orjson refuses (ints beyond 64 bits, non-str keys,
        subclasses) or writes otherwise (NaN)."""
        if self.body is not None:
            return self.body
        payload = self.payload
        if payload is not None and any(isinstance(v, _JSONText) for v in payload.values()):
            if not self.nonfinite:
                spliced = _splice_json(payload)
                if spliced is not None:
                    return spliced
            payload = {k: orjson.Fragment(b"".join(v.parts)) if isinstance(v, _JSONText) else v for k, v in payload.items()}
        if not self.nonfinite:
            try:
                return orjson.dumps(payload)
            except orjson.JSONEncodeError:
                pass
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_fragment_text).encode("utf-8")


class _JSONText:
    """JSON text as buffers to concatenate (a page's rows): spliced into the response body by
    _Response.encode with one copy."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts


def _splice_json(payload: dict[str, Any]) -> bytes | None:
    """``orjson.dumps(payload)`` of a flat dict with _JSONText values in place, written item by item
    (the same bytes: orjson writes ``{"key":value,...}``); None when orjson refuses an item."""
    out: list[Any] = [b"{"]
    for i, (key, value) in enumerate(payload.items()):
        if type(key) is not str:
            return None
        if i:
            out.append(b",")
        try:
            out.append(orjson.dumps(key))
            out.append(b":")
            if isinstance(value, _JSONText):
                out.extend(value.parts)
            else:
                out.append(orjson.dumps(value))
        except orjson.JSONEncodeError:
            return None
    out.append(b"}")
    return b"".join(out)


def _fragment_text(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        # json.dumps cannot splice JSON text; parse it back (only on the rare json.dumps path).
        return json.loads(value.contents)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error_payload(message: str) -> dict[str, Any]:
    # The shape of an OData v3 error from the CBS service.
    return {"odata.error": {"code": "", "message": {"lang": "nl-NL", "value": message}}}


class _App:
    """Turns (path, query) into a response; knows nothing about sockets or faults."""

    def __init__(self, server: "StubODataServer") -> None:
        self.server = server

    def handle(self, path: str, query: list[tuple[str, str]]) -> _Response:
        try:
            return self._route(path, query)
        except _HTTPError as exc:
            return _Response(exc.status, _error_payload(exc.message))
        except FilterError as exc:
            return _Response(400, _error_payload(f"Syntax error in $filter: {exc}"))

    def _route(self, path: str, query: list[tuple[str, str]]) -> _Response:
        parts = [s for s in unquote(path).split("/") if s]
        if len(parts) >= 1 and parts[0].lower() == CATALOG_PREFIX.lower():
            return self._catalog(parts[1:], query)
        if len(parts) < 3:
            raise _HTTPError(404, f"No service at '{path}'.")
        prefix_key = f"{parts[0]}/{parts[1]}".lower()
        if prefix_key == FEED_PREFIX.lower():
            prefix = FEED_PREFIX
        elif prefix_key == API_PREFIX.lower():
            prefix = API_PREFIX
        else:
            raise _HTTPError(404, f"No service at '{path}'.")
        table = parts[2]
        rest = parts[3:]
        store = self.server._store
        table_dir = store.table_dir(table)
        table = table_dir.name
        if not rest:
            return self._table_root(prefix, table)
        if len(rest) > 1:
            raise _HTTPError(404, f"Resource not found for the segment '{rest[1]}'.")
        if rest[0].startswith("$"):
            raise _HTTPError(404, f"'{rest[0]}' is not supported by the stub.")
        return self._entity(prefix, table, rest[0], query)

    def _table_root(self, prefix: str, table: str) -> _Response:
        base = f"{self.server.base_url}/{prefix}/{table}"
        entities = self.server._store.entities(table)
        payload = {
            "odata.metadata": f"{base}/$metadata",
            "value": [{"name": name, "url": f"{base}/{name}"} for name in entities],
        }
        return _Response(200, payload)

    def _catalog(self, rest: list[str], query: list[tuple[str, str]]) -> _Response:
        if rest != ["Tables"]:
            raise _HTTPError(404, "Only ODataCatalog/Tables is served by the stub.")
        records = []
        for table in self.server._store.tables():
            infos = self.server._store.table_dir(table) / "TableInfos.json"
            if infos.is_file():
                frame = self.server._store.frame_for_file(infos, "TableInfos")
                for info in frame.records or []:
                    records.append({**info, "Identifier": info.get("Identifier", table)})
        frame = _Frame.from_records(records)
        options = _QueryOptions.parse(query, frame)
        idx = np.arange(frame.n)
        if options.filter:
            idx = np.flatnonzero(evaluate_filter(frame, options.filter))
        idx = idx[options.skip :]
        if options.top is not None:
            idx = idx[: options.top]
        base = f"{self.server.base_url}/{CATALOG_PREFIX}"
        payload = {"odata.metadata": f"{base}/$metadata#Tables", "value": frame.page(idx, options.select)}
        return _Response(200, payload, nonfinite=frame.has_nonfinite())

    def _entity(self, prefix: str, table: str, entity: str, query: list[tuple[str, str]]) -> _Response:
        store = self.server._store
        frame, frame_key, untyped_cols, canonical = store.entity(table, entity)
        options = _QueryOptions.parse(query, frame)
        matched = store.indices(frame, frame_key, options.filter)
        total = frame.n if matched is None else len(matched)
        start = min(options.skip, total)
        available = total - start
        if options.top is not None:
            available = min(available, options.top)

        if prefix == API_PREFIX:
            if available > API_MAX_ROWS and (options.top is None or options.top > API_MAX_ROWS):
                raise _HTTPError(
                    400,
                    f"De opgevraagde gegevens bevatten {available} rijen; het maximum per request is "
                    f"{API_MAX_ROWS}. Beperk de selectie met $filter of gebruik $top en $skip, of "
                    f"gebruik de bulk-feed ({FEED_PREFIX}).",
                )
            count = available
        else:
            count = min(available, self.server.page_size)

        stop = start + count
        idx = np.arange(start, stop) if matched is None else matched[start:stop]
        encoded = frame.page_json_parts(idx, options.select, untyped_cols)
        rows: Any = frame.page(idx, options.select, untyped_cols) if encoded is None else _JSONText(encoded)
        base = f"{self.server.base_url}/{prefix}/{table}"
        payload: dict[str, Any] = {"odata.metadata": f"{base}/$metadata#{table}/{canonical}"}
        if options.inlinecount:
            payload["odata.count"] = str(total)
        payload["value"] = rows
        if prefix == FEED_PREFIX and count < available:
            remaining_top = None if options.top is None else options.top - count
            payload["odata.nextLink"] = self.server.feed_url(
                table, canonical, options.filter, options.select, stop, remaining_top
            )
        return _Response(200, payload, nonfinite=encoded is None and frame.has_nonfinite())


@dataclass
class _QueryOptions:
    filter: str | None = None
    select: list[str] | None = None
    top: int | None = None
    skip: int = 0
    inlinecount: bool = False

    @classmethod
    def parse(cls, query: list[tuple[str, str]], frame: _Frame) -> "_QueryOptions":
        options = cls()
        for key, value in query:
            name = key.lower()
            if name == "$format":
                if value.lower() != "json":
                    raise _HTTPError(415, f"The stub only serves $format=json, not {value!r}.")
            elif name == "$filter":
                options.filter = value.strip() or None
            elif name == "$select":
                items = [v.strip() for v in value.split(",") if v.strip()]
                if items and items != ["*"]:
                    unknown = [v for v in items if v not in frame.columns] if frame.n or frame.columns else []
                    if unknown:
                        raise _HTTPError(400, f"Could not find a property named '{unknown[0]}'.")
                    options.select = items
            elif name in ("$top", "$skip"):
                try:
                    number = int(value)
                except ValueError:
                    raise _HTTPError(400, f"Invalid value {value!r} for {key}.") from None
                if number < 0:
                    raise _HTTPError(400, f"{key} must not be negative.")
                if name == "$top":
                    options.top = number
                else:
                    options.skip = number
            elif name == "$inlinecount":
                options.inlinecount = value == "allpages"
            elif name.startswith("$"):
                raise _HTTPError(400, f"Query option {key} is not supported by the stub.")
        return options


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _unquote(text: str) -> str:
    """``urllib.parse.unquote(text)``; for an ASCII text whose every '%' starts an escape (other
    than %25), by replacing each distinct escape at once instead of a Python loop per escape (a
    5 KB ``$filter`` of padded region keys has hundreds)."""
    if "%" not in text:
        return text
    if not text.isascii():
        return unquote(text)
    escapes = set(_PERCENT_ESCAPE.findall(text))
    # Each '%' starts an escape, so every occurrence of an escape's text is that escape; and no
    # replacement yields a '%' (no %25) that could start a new one.
    if text.count("%") != sum(text.count(e) for e in escapes) or any(e[1:] == "25" for e in escapes):
        return unquote(text)
    for escape in escapes:
        text = text.replace(escape, chr(int(escape[1:], 16)))
    return text.encode("latin-1").decode("utf-8", "replace")


def _parse_qsl(query: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(query, keep_blank_values=True)`` with :func:`_unquote`."""
    pairs: list[tuple[str, str]] = []
    for name_value in query.split("&") if query else []:
        if not name_value:
            continue
        nv = name_value.split("=", 1)
        if len(nv) != 2:
            nv.append("")
        pairs.append((_unquote(nv[0].replace("+", " ")), _unquote(nv[1].replace("+", " "))))
    return pairs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HTTPServer"
    server_version = "veiligheidsbeeld-odata-stub/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        stub = self.server.stub
        try:
            self._serve(stub)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True  # the client went away (e.g. after its own time-out)

    def _serve(self, stub: "StubODataServer") -> None:
        raw = self.path
        split = urlsplit(raw)
        decoded_query = _unquote(split.query.replace("+", " "))
        decoded = _unquote(split.path) + (f"?{decoded_query}" if split.query else "")
        stub._record_request(decoded)
        if stub.latency > 0 and stub._stopping.wait(stub.latency):
            return
        fault = stub._pick_fault(raw, decoded)
        if fault is not None:
            stub._log_fault(fault, decoded)
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                message = f"Stub fault: HTTP {fault.status}"
                self._send(_Response(fault.status, _error_payload(message), headers=headers))
                return
            if fault.kind == "slow":
                if stub._stopping.wait(fault.seconds):
                    return
        try:
            response = stub._app.handle(split.path, _parse_qsl(split.query))
        except Exception as exc:  # noqa: BLE001 - a stub bug must still answer, not hang the client
            log.exception("stub failed on %s", decoded)
            response = _Response(500, _error_payload(f"Stub error: {exc}"))
        if fault is not None and response.payload is not None and "value" in response.payload:
            if fault.kind == "loop_nextlink":
                response.payload["odata.nextLink"] = f"{stub.base_url}{raw}"
            elif fault.kind == "foreign_nextlink":
                response.payload["odata.nextLink"] = stub.feed_url(stub._other_table(split.path, fault), TYPED)
        body = response.encode()
        if fault is not None and fault.kind == "invalid_json":
            body = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>proxy error</body></html>"
        if fault is not None and fault.kind == "truncate":
            body = body[: min(int(len(body) * fault.fraction), max(len(body) - 1, 0))]
        if fault is not None and fault.kind == "drop":
            part = min(int(len(body) * fault.fraction), max(len(body) - 1, 0))
            self._send_headers(response, len(body))
            stub._add_bytes(part)  # counted before writing, so a client that saw it sees the count
            self.wfile.write(body[:part])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(response, body)

    def _send_headers(self, response: _Response, length: int) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(length))
        self.send_header("DataServiceVersion", "3.0;")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, response: _Response, body: bytes | None = None) -> None:
        data = response.encode() if body is None else body
        self._send_headers(response, len(data))
        self.server.stub._add_bytes(len(data))  # before writing: the client may read the counters next
        self.wfile.write(data)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], stub: "StubODataServer") -> None:
        self.stub = stub
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_accepted = 0
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise keep being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ============================================================================================
# Public server
# ============================================================================================


class StubODataServer:
    """A local OData v3 server over a snapshot root (``<root>/<TABLE_ID>/<Entity>.json``).

    Use as a context manager (or call :meth:`start` / :meth:`stop`)::

        with StubODataServer(root, page_size=1000) as server:
            cbsodata.options.use_https = False
            cbsodata.get_meta("47022NED", "Perioden", catalog_url=server.catalog_url)
    """

    def __init__(
        self,
        snapshot_root: Path,
        *,
        page_size: int = 10_000,
        latency: float = 0.0,
        faults: list[Fault] | None = None,
        port: int = 0,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._store = _Store(Path(snapshot_root))
        self.page_size = page_size
        self.latency = latency
        self._port = port
        self._lock = threading.Lock()
        self._faults: list[_ArmedFault] = [_ArmedFault(f) for f in faults or []]
        self._requests_log: list[str] = []
        self._faults_log: list[AppliedFault] = []
        self._request_count = 0
        self._bytes_sent = 0
        self._stopping = threading.Event()
        self._app = _App(self)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "StubODataServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="odata-stub", daemon=True
        )
        self._thread.start()
        log.info("OData stub serving %s at %s", self._store.root, self.base_url)
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping for latency or a slow fault
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "StubODataServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for the command line)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # -- addresses --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stub server is not running")
        return int(self._httpd.server_address[1])

    @property
    def catalog_url(self) -> str:
        """``127.0.0.1:PORT``: pass as ``catalog_url`` to cbsodata (with ``use_https = False``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.catalog_url}"

    def feed_url(
        self,
        table: str,
        entity: str,
        filter_text: str | None = None,
        select: Sequence[str] | None = None,
        skip: int | None = None,
        top: int | None = None,
    ) -> str:
        params: list[tuple[str, str]] = [("$format", "json")]
        if filter_text:
            params.append(("$filter", filter_text))
        if select:
            params.append(("$select", ",".join(select)))
        if top is not None:
            params.append(("$top", str(top)))
        if skip:
            params.append(("$skip", str(skip)))
        query = urlencode(params, quote_via=quote, safe="$',()")
        return f"{self.base_url}/{FEED_PREFIX}/{table}/{entity}?{query}"

    # -- runtime changes --------------------------------------------------------------------
    @property
    def snapshot_root(self) -> Path:
        return self._store.root

    def set_snapshot(self, snapshot_root: Path) -> None:
        """Serve another snapshot root from the next request on."""
        old = self._store
        self._store = _Store(Path(snapshot_root), old.max_frames, old.max_masks, old.max_small_frames)

    def set_faults(self, faults: Sequence[Fault] | None) -> None:
        """Replace the faults (their counters start from zero)."""
        with self._lock:
            self._faults = [_ArmedFault(f) for f in faults or []]

    def reset_counters(self) -> None:
        with self._lock:
            self._request_count = 0
            self._bytes_sent = 0
            self._requests_log.clear()
            self._faults_log.clear()

    # -- counters ---------------------------------------------------------------------------
    @property
    def request_count(self) -> int:
        with self._lock:
            return self._request_count

    @property
    def bytes_sent(self) -> int:
        with self._lock:
            return self._bytes_sent

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the server started (keep-alive: fewer than requests)."""
        return self._httpd.connections_accepted if self._httpd is not None else 0

    @property
    def requests_log(self) -> list[str]:
        """Percent-decoded path + query of every request so far (a copy)."""
        with self._lock:
            return list(self._requests_log)

    @property
    def faults_log(self) -> list[AppliedFault]:
        with self._lock:
            return list(self._faults_log)

    # -- internals used by the handler --------------------------------------------------------
    def _record_request(self, decoded: str) -> None:
        with self._lock:
            self._request_count += 1
            self._requests_log.append(decoded)

    def _add_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes_sent += n

    def _pick_fault(self, raw: str, decoded: str) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            for armed in self._faults:
                if not armed.matches(raw, decoded):
                    continue
                armed.seen += 1
                if chosen is None and armed.due():
                    armed.applied += 1
                    chosen = armed.fault
        return chosen

    def _log_fault(self, fault: Fault, request: str) -> None:
        log.info("stub fault %s on %s", fault.kind, request)
        with self._lock:
            self._faults_log.append(AppliedFault(fault.kind, request, time.time()))

    def _other_table(self, path: str, fault: Fault) -> str:
        if fault.other_table:
            return fault.other_table
        parts = [p for p in path.split("/") if p]
        current = parts[2].lower() if len(parts) > 2 else ""
        for table in self._store.tables():
            if table.lower() != current:
                return table
        return "00000NED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m veiligheidsbeeld.testing.odata_stub",
        description="Serve a snapshot root (<DIR>/<TABLE_ID>/<Entity>.json) as a local OData v3 API.",
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds of delay per request")
    parser.add_argument("--page-size", type=int, default=10_000, help="rows per bulk-feed page")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    if not args.directory.is_dir():
        parser.error(f"{args.directory} is not a directory")
    server = StubODataServer(args.directory, page_size=args.page_size, latency=args.latency, port=args.port)
    server.start()
    tables = ", ".join(server._store.tables()) or "(none)"
    print(f"Serving {args.directory} ({tables}) at {server.base_url}", flush=True)
    print(f"cbsodata: options.use_https = False; catalog_url='{server.catalog_url}'", flush=True)
    print(f"bulk feed: {server.base_url}/{FEED_PREFIX}/<TABLE>/TypedDataSet?$format=json", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
