"""What the Elasticsearch indices look like: their aliases, analysis settings and mappings."""

from __future__ import annotations

from typing import Any

from cmms.domain.search import Kind

ALIASES: dict[Kind, str] = {"orders": "orders", "assets": "assets", "parts": "parts", "audit": "audit_log"}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {
        "filter": {
            "cmms_stop": {"type": "stop", "stopwords": "_english_"},
            "cmms_stemmer": {"type": "stemmer", "language": "english"},
            "cmms_possessive": {"type": "stemmer", "language": "possessive_english"},
        },
        "analyzer": {
            "cmms_english": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cmms_possessive", "lowercase", "asciifolding", "cmms_stop", "cmms_stemmer"],
            },
            "cmms_folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        },
        "normalizer": {"cmms_lower": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    },
}
TEXT = {"type": "text", "analyzer": "cmms_english", "fields": {"plain": {"type": "text", "analyzer": "cmms_folded"}}}
KEYWORD = {"type": "keyword"}
LONG = {"type": "long"}
DATE = {"type": "date"}
COMMON = {
    "kind": KEYWORD,
    "tenant_id": LONG,
    "id": LONG,
    "title": TEXT,
    "body": TEXT,
    "created_at": DATE,
    "synced_at": LONG,
}
MAPPINGS: dict[Kind, dict[str, Any]] = {
    "orders": {
        **COMMON,
        "number": KEYWORD,
        "notes": TEXT,
        "status": KEYWORD,
        "priority": KEYWORD,
        "order_type": KEYWORD,
        "plant_id": LONG,
        "asset_id": LONG,
        "requested_by": LONG,
        "updated_at": DATE,
        "version": LONG,
    },
    "assets": {
        **COMMON,
        "code": {
            "type": "keyword",
            "normalizer": "cmms_lower",
            "fields": {"text": {"type": "text", "analyzer": "cmms_folded"}},
        },
        "status": KEYWORD,
        "criticality": KEYWORD,
        "plant_id": LONG,
        "asset_type": KEYWORD,
        "updated_at": DATE,
        "version": LONG,
    },
    "parts": {
        **COMMON,
        "code": {
            "type": "keyword",
            "normalizer": "cmms_lower",
            "fields": {"text": {"type": "text", "analyzer": "cmms_folded"}},
        },
        "number": KEYWORD,
        "barcode": KEYWORD,
        "unit": KEYWORD,
        "updated_at": DATE,
        "version": LONG,
    },
    "audit": {
        **COMMON,
        "entity": KEYWORD,
        "entity_id": LONG,
        "action": KEYWORD,
        "actor_id": LONG,
    },
}
