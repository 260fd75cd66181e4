"""Search: what a caller asks for, how a query string is read, and the shape of an answer.

The query language is the one of PostgreSQL's `websearch_to_tsquery` (and of most search boxes):
words are AND-ed, `"quoted words"` form a phrase, `or` between two items offers a choice, and
`-word` excludes. The last word of a query that does not end in a space is still being typed, so
it also matches as a prefix. Both search backends read queries through `parse_query`, so they
agree on what a query means; only PostgreSQL hands the raw text to the database as well.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from cmms.domain.errors import ValidationFailed
from cmms.domain.model_types import AssetStatus, Criticality, Id, Input, Priority
from cmms.domain.workflow import Status

Kind = Literal["orders", "assets", "parts", "audit"]
KINDS: tuple[Kind, ...] = ("orders", "assets", "parts", "audit")
MAX_QUERY = 1000  # characters; a longer query is refused with 422
MAX_OFFSET = 1000  # deepest result a cursor may reach (ranked results: nobody pages further)
MAX_LIMIT = 100
FACETS = ("type", "status", "priority", "order_type", "criticality", "plant_id", "entity")

# Highlights travel from the backends as these two control characters (never present in stored
# text: `clean_text` strips them) and become <mark> only after the text around them is escaped.
MARK_START = "\x02"
MARK_END = "\x03"

ORDER_STATUSES = frozenset(s.value for s in Status)
ASSET_STATUSES = frozenset(s.value for s in AssetStatus)


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class SearchParams(Input):
    """GET /api/v1/search query parameters."""

    # The query keeps its trailing space: "gasket " is a finished word, "gask" is being typed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    q: Annotated[str, StringConstraints(max_length=MAX_QUERY)] = ""
    type: Annotated[list[Kind], BeforeValidator(_split)] | None = None
    status: Annotated[list[Status | AssetStatus], BeforeValidator(_split)] | None = None
    priority: Annotated[list[Priority], BeforeValidator(_split)] | None = None
    criticality: Annotated[list[Criticality], BeforeValidator(_split)] | None = None
    plant_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


# ---- reading a query --------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_WORDISH = re.compile(r"\w", re.UNICODE)
_PLAIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_NUMBER = re.compile(r"(?:wo-?)?0*(\d{1,18})", re.IGNORECASE)
_CODE = re.compile(r"[\w][\w./-]*", re.UNICODE)


def clean_text(text: str) -> str:
    """Text without NUL, other control characters, lone surrogates or the highlight markers."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class Clause:
    """One searchable item: a word (as typed, punctuation and all) or a quoted phrase."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the cleaned query
    groups: tuple[tuple[Clause, ...], ...] = ()  # AND of ORs
    excluded: tuple[Clause, ...] = ()
    prefix: str | None = None  # the last word, still being typed (a plain word of 2+ characters)
    head: str = ""  # the query before that last word

    @property
    def empty(self) -> bool:
        return not self.groups and not self.excluded

    def words(self) -> list[str]:
        """Every word of the positive clauses, in order (for typo tolerance)."""
        out: list[str] = []
        for group in self.groups:
            for clause in group:
                out.extend(re.findall(r"[^\W_]+", clause.text))
        return out

    @property
    def number(self) -> int | None:
        """A work-order number when the whole query is one ("WO-000123", "123")."""
        match = _NUMBER.fullmatch(self.text.strip())
        return int(match.group(1)) if match and int(match.group(1)) > 0 else None

    @property
    def code(self) -> str | None:
        """An asset code when the whole query is one token with a digit or a separator in it."""
        token = self.text.strip()
        if (
            2 <= len(token) <= 64
            and _CODE.fullmatch(token)
            and any(c.isdigit() or c in "-./" for c in token)
            and not token.startswith("-")
        ):
            return token
        return None


def parse_query(raw: str) -> ParsedQuery:
    """Read a search box query the way `websearch_to_tsquery` does; never fails."""
    text = clean_text(raw)
    tokens: list[tuple[str, bool, bool, int]] = []  # (text, phrase, negated, start)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        negated = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            tokens.append((text[i + 1 : end], True, negated, start))
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] != '"':
            end += 1
        tokens.append((text[i:end], False, negated, start))
        i = end

    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    join_next = False  # the previous token was "or"
    last_joined = False
    for word, phrase, negated, _ in tokens:
        if not phrase and not negated and word.lower() == "or":
            join_next = bool(groups)
            continue
        if not _WORDISH.search(word):
            join_next = False
            continue
        clause = Clause(word, phrase)
        if negated:
            excluded.append(clause)
            join_next = False
            continue
        if join_next and groups:
            groups[-1].append(clause)
            last_joined = True
        else:
            groups.append([clause])
            last_joined = False
        join_next = False

    prefix: str | None = None
    head = ""
    if tokens and not text[-1:].isspace():
        word, phrase, negated, start = tokens[-1]
        if (
            not phrase
            and not negated
            and not last_joined
            and not join_next
            and len(word) >= 2
            and _PLAIN_WORD.fullmatch(word)
            and groups
            and groups[-1] == [Clause(word)]
        ):
            prefix, head = word, text[:start]
    return ParsedQuery(
        text=text,
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        prefix=prefix,
        head=head,
    )


# ---- what a backend is asked and answers ------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """A validated, authorised search: the backend only has to run it."""

    parsed: ParsedQuery
    kinds: tuple[Kind, ...] = KINDS
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    criticality: tuple[str, ...] = ()
    plant_id: int | None = None
    requested_by: int | None = None  # only orders this user requested (a requester's own)
    limit: int = 20
    offset: int = 0

    def kind_statuses(self, kind: Kind) -> tuple[str, ...]:
        known = ORDER_STATUSES if kind == "orders" else ASSET_STATUSES
        return tuple(s for s in self.status if s in known)

    def searches(self, kind: Kind) -> bool:
        """Whether `kind` can match at all: a filter on a field a kind lacks excludes it."""
        if kind not in self.kinds:
            return False
        if kind == "orders":
            return not self.criticality and (not self.status or bool(self.kind_statuses(kind)))
        if kind == "assets":
            return not self.priority and (not self.status or bool(self.kind_statuses(kind)))
        # parts and the audit trail have none of the filtered fields
        return not (self.status or self.priority or self.criticality or self.plant_id)


Mode = Literal["fulltext", "fuzzy", "browse", "none"]


@dataclass
class SearchResult:
    """Hits of one page, and over all matches: the total and the facet counts.

    `total_relation` is "eq" when `total` is exact and "gte" when the backend stopped counting
    (PostgreSQL ranks and counts at most `CANDIDATES` matches per kind, the most recent ones).
    `suggestion` is the corrected query when typo tolerance rewrote it.
    """

    items: list[dict[str, Any]]
    total: int
    facets: dict[str, dict[str, int]]
    mode: Mode
    backend: str
    total_relation: Literal["eq", "gte"] = "eq"
    suggestion: str | None = None


def empty_facets() -> dict[str, dict[str, int]]:
    return {name: {} for name in FACETS}


def highlight(marked: str) -> str:
    """Backend text with markers → HTML-safe text in which only <mark>…</mark> is markup."""
    escaped = html.escape(marked, quote=False)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def plain_snippet(text: str, length: int = 200) -> str:
    text = " ".join(text.split())
    if len(text) > length:
        text = text[:length].rsplit(" ", 1)[0] + " …"
    return html.escape(text, quote=False)


def fold(text: str) -> str:
    """Lower case without accents (how both backends compare words)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# ---- cursors ----------------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"s:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
        if kind != "s" or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(text)
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("not a cursor this search returned", field="cursor") from None


# ---- the answer, for the OpenAPI document -----------------------------------------------------


class SearchItem(BaseModel):
    """One hit. `snippet` is HTML-safe text whose only markup is <mark>…</mark> around matches;
    every other field is plain text. Further fields depend on `type` (orders: number, status,
    priority, order_type, plant_id, asset_id; assets: code, status, criticality, plant_id,
    asset_type; parts: number, unit, barcode; audit: entity, entity_id, action, actor_id)."""

    model_config = ConfigDict(extra="allow")

    type: Kind
    id: int
    title: str
    snippet: str
    score: float


class SearchPage(BaseModel):
    """A page of hits. `facets` count values over every match (or, when `total_relation` is
    "gte", over the matches that were counted); `suggestion` is the query as typo tolerance
    corrected it; `mode` says how the query was run; `backend` which search engine answered."""

    items: list[SearchItem]
    facets: dict[str, dict[str, int]]
    total: int
    total_relation: Literal["eq", "gte"]
    next_cursor: str | None
    mode: Mode
    suggestion: str | None = None
    backend: str
