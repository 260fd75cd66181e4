"""An HTTP double of the Elasticsearch REST endpoints the search adapter calls. NOT a real server.

No Elasticsearch can be installed on these machines, so `cmms.search.elastic` is tested against
this small aiohttp application, spoken to by the real `elasticsearch[async]` client over HTTP.
It implements just enough, in memory: `GET /` (info), `GET /_cluster/health`, index templates
(`PUT /_index_template/{name}`, applied to matching new indices), `PUT/HEAD/DELETE /{index}`,
aliases (`HEAD`/`GET /_alias/{name}`, `POST /_aliases` applied atomically), `POST /_bulk` (NDJSON,
index/delete, external versioning), `POST /{index}/_search`, `_refresh` and `_delete_by_query`.

The query evaluator understands the clauses the adapter sends (bool, term, terms, range, prefix,
fuzzy, multi_match of types best_fields, phrase and bool_prefix, with fuzziness AUTO), terms
aggregations, sorting, from/size and highlighting with custom tags. Its analyzers imitate the
adapter's mappings coarsely (`cmms_english`: lower case, accents folded, English stop words and a
crude suffix stemmer; `cmms_folded`: no stemming); scores only order hits plausibly (field boosts
times matching terms). What it cannot tell: real relevance, real analyzers, shards, refresh
latency, cluster behaviour. Those need a real cluster.

`major=8` makes it answer like an 8.x server to the 9.x client: 400 media_type_header_exception.
`stop()`/`start()` make it unreachable and back on the same port; every request is recorded.
"""

from __future__ import annotations

import fnmatch
import json
import re
import socket
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

STOP = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these"
    " they this to was will with".split()
)
TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def stem(word: str) -> str:
    for suffix in ("ings", "ing", "edly", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def analyze(text: str, analyzer: str) -> list[tuple[str, int, int]]:
    """(term, start, end) of each token; stop words keep their position but yield no term."""
    out = []
    for match in TOKEN.finditer(text or ""):
        term = fold(match.group()).replace("'", "").replace("\u2019", "")
        if analyzer == "cmms_english":
            if term in STOP:
                out.append(("", match.start(), match.end()))
                continue
            term = stem(term)
        out.append((term, match.start(), match.end()))
    return out


def terms_of(text: str, analyzer: str) -> list[str]:
    return [t for t, _, _ in analyze(text, analyzer) if t]


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def auto_distance(term: str) -> int:
    return 0 if len(term) <= 2 else 1 if len(term) <= 5 else 2


@dataclass
class Index:
    name: str
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def field_type(self, name: str) -> tuple[str, str]:
        """(type, analyzer or normalizer) of a field path such as "title" or "title.plain"."""
        props = self.mappings.get("properties", {})
        base, _, sub = name.partition(".")
        spec = props.get(base, {})
        if sub:
            spec = spec.get("fields", {}).get(sub, {})
        return spec.get("type", ""), spec.get("analyzer") or spec.get("normalizer") or ""

    def value(self, doc: dict[str, Any], name: str) -> Any:
        return doc.get(name.partition(".")[0])


class Query:
    """Evaluates one query clause against one document of one index: (matches, score)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def run(self, clause: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((kind, spec),) = clause.items()
        return getattr(self, f"q_{kind}")(spec, doc)

    def q_match_all(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        return True, 1.0

    def q_bool(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        score = 0.0
        for clause in _list(spec.get("filter")):
            if not self.run(clause, doc)[0]:
                return False, 0.0
        for clause in _list(spec.get("must_not")):
            if self.run(clause, doc)[0]:
                return False, 0.0
        for clause in _list(spec.get("must")):
            ok, s = self.run(clause, doc)
            if not ok:
                return False, 0.0
            score += s
        should = _list(spec.get("should"))
        if should:
            hits = [self.run(c, doc) for c in should]
            matched = [s for ok, s in hits if ok]
            default = 0 if spec.get("must") or spec.get("filter") else 1
            if len(matched) < int(spec.get("minimum_should_match", default)):
                return False, 0.0
            score += sum(matched)
        return True, score

    def _keyword(self, name: str, value: Any, doc: dict[str, Any]) -> bool:
        actual = self.index.value(doc, name)
        kind, normalizer = self.index.field_type(name)
        if actual is None:
            return False
        if normalizer == "cmms_lower":
            return fold(str(actual)) == fold(str(value))
        if kind == "long":
            return int(actual) == int(value)
        return str(actual) == str(value)

    def q_term(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((name, value),) = spec.items()
        boost = 1.0
        if isinstance(value, dict):
            boost, value = float(value.get("boost", 1.0)), value["value"]
        ok = self._keyword(name, value, doc)
        return ok, boost if ok else 0.0

    def q_terms(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((name, values),) = spec.items()
        return any(self._keyword(name, v, doc) for v in values), 1.0

    def q_range(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((name, bounds),) = spec.items()
        value = self.index.value(doc, name)
        if value is None:
            return False, 0.0
        checks = {"lt": value < bounds.get("lt", value + 1), "lte": value <= bounds.get("lte", value)}
        checks |= {"gt": value > bounds.get("gt", value - 1), "gte": value >= bounds.get("gte", value)}
        return all(checks.values()), 1.0

    def q_prefix(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((name, value),) = spec.items()
        boost = float(value.get("boost", 1.0)) if isinstance(value, dict) else 1.0
        prefix = fold(value["value"] if isinstance(value, dict) else value)
        actual = self.index.value(doc, name)
        ok = actual is not None and fold(str(actual)).startswith(prefix)
        return ok, boost if ok else 0.0

    def q_fuzzy(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        ((name, value),) = spec.items()
        target = fold(value["value"] if isinstance(value, dict) else value)
        actual = self.index.value(doc, name)
        ok = actual is not None and levenshtein(fold(str(actual)), target) <= auto_distance(target)
        return ok, 0.5 if ok else 0.0

    def q_multi_match(self, spec: dict[str, Any], doc: dict[str, Any]) -> tuple[bool, float]:
        best = 0.0
        matched = False
        for entry in spec["fields"]:
            name, _, boost_text = entry.partition("^")
            boost = float(boost_text or 1)
            ok, score = self.match_field(spec, name, doc)
            if ok:
                matched = True
                best = max(best, score * boost)
        return matched, best

    def match_field(self, spec: dict[str, Any], name: str, doc: dict[str, Any]) -> tuple[bool, float]:
        kind, analyzer = self.index.field_type(name)
        text = self.index.value(doc, name)
        if kind != "text" or not text:
            return False, 0.0
        tokens = [t for t, _, _ in analyze(str(text), analyzer)]
        words = terms_of(spec["query"], analyzer)
        if not words:
            return False, 0.0
        mode = spec.get("type", "best_fields")
        if mode == "phrase":
            n = len(words)
            present = [t for t in tokens if t]  # stop words leave no gap: a coarse imitation
            for i in range(len(present) - n + 1):
                if present[i : i + n] == words:
                    return True, 2.0
            return False, 0.0
        fuzzy = spec.get("fuzziness") == "AUTO"
        prefix_length = int(spec.get("prefix_length", 0))
        score = 0.0
        for i, word in enumerate(words):
            last_prefix = mode == "bool_prefix" and i == len(words) - 1
            count = sum(1 for t in tokens if t and term_matches(t, word, last_prefix, fuzzy, prefix_length))
            if count == 0 and (spec.get("operator") == "and" or mode == "bool_prefix"):
                return False, 0.0
            score += count
        return score > 0, score


def term_matches(token: str, word: str, prefix: bool, fuzzy: bool, prefix_length: int) -> bool:
    if token == word or (prefix and token.startswith(word)):
        return True
    if fuzzy and token[:prefix_length] == word[:prefix_length]:
        return levenshtein(token, word) <= auto_distance(word)
    return False


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def highlight_terms(clause: Any, out: list[tuple[str, bool, bool]]) -> list[tuple[str, bool, bool]]:
    """(query text, prefix, fuzzy) of the positive text clauses, to mark in highlights."""
    if isinstance(clause, dict):
        for key, value in clause.items():
            if key == "must_not":
                continue
            if key == "multi_match":
                out.append((value["query"], value.get("type") == "bool_prefix", value.get("fuzziness") == "AUTO"))
            else:
                highlight_terms(value, out)
    elif isinstance(clause, list):
        for item in clause:
            highlight_terms(item, out)
    return out


class ElasticsearchDouble:
    """The in-memory double; `url` once started. See the module docstring for what it covers."""

    def __init__(self, *, major: int = 9) -> None:
        self.major = major
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, str] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._runner: web.AppRunner | None = None

    # -- lifecycle --

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def searches(self) -> list[dict[str, Any]]:
        return [body for method, path, body in self.requests if path.endswith("/_search")]

    def docs(self, alias: str) -> dict[str, dict[str, Any]]:
        index = self.indices.get(self.aliases.get(alias, alias))
        return index.docs if index is not None else {}

    # -- HTTP --

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        accept = request.headers.get("Accept", "") + request.headers.get("Content-Type", "")
        wanted = re.search(r"compatible-with=(\d+)", accept)
        if wanted and int(wanted.group(1)) > self.major:
            return self._error(
                400,
                "media_type_header_exception",
                f"Invalid media-type value on headers [Accept, Content-Type]: compatible-with={wanted.group(1)}",
            )
        try:
            return await handler(request)
        except _Error as exc:
            return self._error(exc.status, exc.kind, exc.reason)

    def _error(self, status: int, kind: str, reason: str) -> web.Response:
        return self._json({"error": {"type": kind, "reason": reason}, "status": status}, status)

    def _json(self, body: Any, status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(body),
            status=status,
            content_type="application/json",
            headers={"X-Elastic-Product": "Elasticsearch"},
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        path = "/" + request.match_info["tail"]
        parts = [p for p in path.split("/") if p]
        method = request.method
        if path.endswith("/_bulk"):
            body: Any = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        else:
            body = json.loads(raw) if raw else {}
        self.requests.append((method, path, body))
        if not parts:
            return self._json({"name": "double", "version": {"number": f"{self.major}.1.0"}, "tagline": "double"})
        if parts == ["_cluster", "health"]:
            return self._json({"cluster_name": "double", "status": "green"})
        if parts[0] == "_index_template" and method == "PUT":
            self.templates[parts[1]] = body
            return self._json({"acknowledged": True})
        if parts[0] == "_alias":
            return self._get_alias(method, parts[1])
        if parts == ["_aliases"]:
            return self._update_aliases(body["actions"])
        if parts[-1] == "_bulk":
            return self._bulk(body, dict(request.query))
        if len(parts) == 2 and parts[1] == "_search":
            return self._json(self._search(parts[0], body))
        if len(parts) == 2 and parts[1] == "_refresh":
            return self._json({"_shards": {"total": 1, "successful": 1, "failed": 0}})
        if len(parts) == 2 and parts[1] == "_delete_by_query":
            return self._json(self._delete_by_query(parts[0], body))
        if len(parts) == 1:
            return self._index_op(method, parts[0], body)
        raise _Error(400, "illegal_argument_exception", f"the double does not implement {method} {path}")

    # -- indices and aliases --

    def _index_op(self, method: str, name: str, body: dict[str, Any]) -> web.Response:
        if method == "HEAD":
            return self._json({}, 200 if name in self.indices else 404)
        if method == "DELETE":
            for one in name.split(","):
                if one not in self.indices:
                    raise _Error(404, "index_not_found_exception", f"no such index [{one}]")
            for one in name.split(","):
                del self.indices[one]
                for alias in [a for a, i in self.aliases.items() if i == one]:
                    del self.aliases[alias]
            return self._json({"acknowledged": True})
        if method == "PUT":
            if name in self.indices or name in self.aliases:
                raise _Error(400, "resource_already_exists_exception", f"index [{name}] already exists")
            mappings: dict[str, Any] = {}
            settings: dict[str, Any] = {}
            for template in sorted(self.templates.values(), key=lambda t: t.get("priority", 0)):
                if any(fnmatch.fnmatch(name, p) for p in template["index_patterns"]):
                    mappings = template.get("template", {}).get("mappings", mappings)
                    settings = template.get("template", {}).get("settings", settings)
            mappings = body.get("mappings", mappings)
            settings = body.get("settings", settings)
            if not mappings.get("properties"):
                raise _Error(400, "double_exception", "the double needs explicit mappings (or a template)")
            self.indices[name] = Index(name, mappings, settings)
            for alias in body.get("aliases", {}):
                self.aliases[alias] = name
            return self._json({"acknowledged": True, "index": name})
        raise _Error(405, "method_not_allowed", method)

    def _get_alias(self, method: str, name: str) -> web.Response:
        if name not in self.aliases:
            if method == "HEAD":
                return self._json({}, 404)
            raise _Error(404, "aliases_not_found_exception", f"alias [{name}] missing")
        return self._json({self.aliases[name]: {"aliases": {name: {}}}})

    def _update_aliases(self, actions: list[dict[str, Any]]) -> web.Response:
        aliases = dict(self.aliases)
        for action in actions:
            ((op, spec),) = action.items()
            if spec["index"] not in self.indices:
                raise _Error(404, "index_not_found_exception", f"no such index [{spec['index']}]")
            if op == "add":
                aliases[spec["alias"]] = spec["index"]
            elif op == "remove":
                if aliases.get(spec["alias"]) != spec["index"]:
                    raise _Error(404, "aliases_not_found_exception", f"alias [{spec['alias']}] missing")
                del aliases[spec["alias"]]
        self.aliases = aliases  # all or nothing: the swap is atomic
        return self._json({"acknowledged": True})

    def _resolve(self, names: str) -> list[Index]:
        out = []
        for name in names.split(","):
            concrete = self.aliases.get(name, name)
            if concrete not in self.indices:
                raise _Error(404, "index_not_found_exception", f"no such index [{name}]")
            out.append(self.indices[concrete])
        return out

    # -- documents --

    def _bulk(self, lines: list[dict[str, Any]], params: dict[str, str]) -> web.Response:
        items = []
        it = iter(lines)
        for action in it:
            ((op, meta),) = action.items()
            source = next(it) if op in ("index", "create") else None
            index = self._resolve(meta.get("_index") or params.get("index", ""))[0]
            doc_id = str(meta["_id"])
            result: dict[str, Any] = {"_index": index.name, "_id": doc_id}
            if op == "delete":
                if doc_id in index.docs:
                    del index.docs[doc_id]
                    result.update(status=200, result="deleted")
                else:
                    result.update(status=404, result="not_found")
            else:
                version = meta.get("version")
                current = index.versions.get(doc_id)
                if version is not None and current is not None and meta.get("version_type") == "external_gte":
                    if int(version) < current:
                        result.update(
                            status=409,
                            error={"type": "version_conflict_engine_exception", "reason": "newer version indexed"},
                        )
                        items.append({op: result})
                        continue
                created = doc_id not in index.docs
                index.docs[doc_id] = source or {}
                if version is not None:
                    index.versions[doc_id] = int(version)
                result.update(status=201 if created else 200, result="created" if created else "updated")
            items.append({op: result})
        errors = any(i[next(iter(i))]["status"] >= 300 for i in items)
        return self._json({"took": 1, "errors": errors, "items": items})

    def _matching(self, index_names: str, query: dict[str, Any] | None) -> list[tuple[Index, str, float]]:
        hits = []
        for index in self._resolve(index_names):
            evaluator = Query(index)
            for doc_id, doc in index.docs.items():
                ok, score = evaluator.run(query, doc) if query else (True, 1.0)
                if ok:
                    hits.append((index, doc_id, score))
        return hits

    def _search(self, index_names: str, body: dict[str, Any]) -> dict[str, Any]:
        hits = self._matching(index_names, body.get("query"))
        for spec in reversed(body.get("sort", [])):
            ((name, order),) = spec.items()
            reverse = (order.get("order") if isinstance(order, dict) else order) == "desc"
            if name == "_score":
                hits.sort(key=lambda h: h[2], reverse=reverse)
            else:
                hits.sort(
                    key=lambda h: (h[0].docs[h[1]].get(name) is not None, h[0].docs[h[1]].get(name) or 0),
                    reverse=reverse,
                )
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        terms = highlight_terms(body.get("query"), [])
        out = []
        for index, doc_id, score in hits[start : start + size]:
            doc = index.docs[doc_id]
            hit: dict[str, Any] = {"_index": index.name, "_id": doc_id, "_score": score, "_source": doc}
            if body.get("highlight"):
                hl = self._highlight(index, doc, body["highlight"], terms)
                if hl:
                    hit["highlight"] = hl
            out.append(hit)
        aggs = {}
        for name, spec in body.get("aggs", {}).items():
            field_name = spec["terms"]["field"]
            counts: dict[Any, int] = {}
            for index, doc_id, _ in hits:
                value = index.docs[doc_id].get(field_name)
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
            buckets = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[: spec["terms"].get("size", 10)]
            aggs[name] = {"buckets": [{"key": k, "doc_count": n} for k, n in buckets]}
        return {
            "took": 1,
            "timed_out": False,
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None, "hits": out},
            "aggregations": aggs,
        }

    def _highlight(
        self, index: Index, doc: dict[str, Any], spec: dict[str, Any], terms: list[tuple[str, bool, bool]]
    ) -> dict[str, list[str]]:
        pre, post = spec.get("pre_tags", ["<em>"])[0], spec.get("post_tags", ["</em>"])[0]
        out: dict[str, list[str]] = {}
        for name, options in spec.get("fields", {}).items():
            kind, analyzer = index.field_type(name)
            text = index.value(doc, name)
            if kind != "text" or not text:
                continue
            wanted = [(w, p and i == len(terms_of(q, analyzer)) - 1, f) for q, p, f in terms
                      for i, w in enumerate(terms_of(q, analyzer))]  # fmt: skip
            pieces, last, marked = [], 0, False
            for token, start, end in analyze(str(text), analyzer):
                if token and any(term_matches(token, w, p, f, 1) for w, p, f in wanted):
                    pieces.append(text[last:start] + pre + text[start:end] + post)
                    last, marked = end, True
            if not marked:
                continue
            fragment = "".join(pieces) + text[last:]
            size = int(options.get("fragment_size", 100))
            if options.get("number_of_fragments", 5) != 0 and len(fragment) > size * 2:
                first = fragment.index(pre)
                fragment = fragment[max(0, first - size // 2) : first + size]
            out[name] = [fragment]
        return out

    def _delete_by_query(self, index_names: str, body: dict[str, Any]) -> dict[str, Any]:
        hits = self._matching(index_names, body.get("query"))
        for index, doc_id, _ in hits:
            index.docs.pop(doc_id, None)
            index.versions.pop(doc_id, None)
        return {"took": 1, "deleted": len(hits), "failures": []}


class _Error(Exception):
    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
