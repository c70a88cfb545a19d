"""Conversations that persist: the turns of `complete(conversation_id=...)` kept in the usage
database (README "Conversations"). `history.py` is the pure part; `service.py` the store I/O."""

from mcp_router.conversations.history import (
    ConversationBusy,
    ConversationFull,
    ConversationNotFound,
    StoredConversation,
)
from mcp_router.conversations.service import BLOB_KIND, KIND, ConversationLimits, Conversations, converse
from mcp_router.conversations.views import ConversationSummary, ConversationView

__all__ = [
    "BLOB_KIND",
    "KIND",
    "ConversationBusy",
    "ConversationFull",
    "ConversationLimits",
    "ConversationNotFound",
    "ConversationSummary",
    "ConversationView",
    "Conversations",
    "StoredConversation",
    "converse",
]
