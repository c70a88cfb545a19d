"""The model catalog: models, endpoints, prices, aliases; snapshot + live refresh; cost; tokens.

models.py     schema (Model, Endpoint, Pricing, PriceTier, Provenance)
canonical.py  provider-native name -> canonical `vendor/model` id (pure)
litellm.py    LiteLLM price table -> snapshot rows (pure; used by scripts/build_snapshot.py)
snapshot.py   load the bundled snapshot.json
catalog.py    Catalog: immutable, indexed by id / alias / provider
merge.py      live lists over the snapshot, and what changed (pure)
live.py       what live lists say of an endpoint: served names, status, reasons, gone marks (pure)
refresh.py    fetch live lists concurrently, SQLite cache of last good lists and gone marks
pricing.py    cost(pricing, usage) in Decimal (pure)
tokens.py     token estimates without a tokenizer (pure)
query.py      the list_models query (pure)
"""

from mcp_router.catalog.canonical import split_variant
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.models import CAPABILITIES, Endpoint, Model, PriceTier, Pricing, Provenance
from mcp_router.catalog.pricing import cost, per_million, usd
from mcp_router.catalog.query import display_pricing, query_models
from mcp_router.catalog.tokens import estimate_messages, estimate_tokens

__all__ = [
    "CAPABILITIES",
    "Catalog",
    "Endpoint",
    "Model",
    "PriceTier",
    "Pricing",
    "Provenance",
    "cost",
    "display_pricing",
    "estimate_messages",
    "estimate_tokens",
    "per_million",
    "query_models",
    "split_variant",
    "usd",
]
