"""The shared vocabulary between channel adapters, the dispatcher and the brain.

Every name is defined in a module of its own and re-exported here, so ``from channels.base
import X`` works for all of them:

- ``channels/messages.py``: ``ConversationRef`` + ``ReplyHints``, ``Author``, ``Attachment``,
  ``InboundMessage``, ``OutboundMessage`` + ``RatingRequest`` (CSAT buttons).
- ``channels/desks.py``: ``DeskEvent`` + ``DeskAction`` + ``Role``, ``DeskFeedback``,
  ``EscalationCard``, ``HomeView``, the ``Desk`` / ``HomeDesk`` / ``DeskBackend`` protocols.
- ``channels/queue_items.py``: ``CardRefresh``, ``DeskRelay``, the ``QueueItem`` union and
  ``decode_queue_item``.
- ``channels/adapters.py``: the ``Channel`` and ``Adapter`` protocols and the optional
  capabilities (``Connected``, ``Suppressing``, ``SplitsMessages``, ``FiniteChannel``,
  ``StoreBound`` + ``SharedStorage`` + ``LogEntry``, ``ServesHttp`` + ``HttpEndpoint``),
  ``Part`` and ``Streams``.
- ``channels/services.py``: ``BotEvent`` + ``EventSink``, and what the web channel asks the
  bot for (``WebServices``, ``FaqHit``, ``TicketInfo``, ``TranscriptLine``,
  ``ServiceBound``).
"""

from __future__ import annotations

from channels.adapters import (
    Adapter,
    Channel,
    Connected,
    FiniteChannel,
    HttpEndpoint,
    InboundHandler,
    LogEntry,
    Part,
    ServesHttp,
    SharedStorage,
    SplitsMessages,
    StoreBound,
    Streams,
    Suppressing,
)
from channels.desks import (
    Desk,
    DeskAction,
    DeskBackend,
    DeskEvent,
    DeskFeedback,
    DeskHandler,
    EscalationCard,
    HomeDesk,
    HomeView,
    Role,
)
from channels.messages import (
    RATING_SCALE,
    Attachment,
    Author,
    ConversationRef,
    InboundMessage,
    OutboundMessage,
    RatingRequest,
    ReplyHints,
)
from channels.queue_items import CardRefresh, DeskRelay, QueueItem, decode_queue_item
from channels.services import (
    BotEvent,
    EventSink,
    FaqHit,
    ServiceBound,
    TicketInfo,
    TranscriptLine,
    WebServices,
)

__all__ = [
    "RATING_SCALE",
    "Adapter",
    "Attachment",
    "Author",
    "BotEvent",
    "CardRefresh",
    "Channel",
    "Connected",
    "ConversationRef",
    "Desk",
    "DeskAction",
    "DeskBackend",
    "DeskEvent",
    "DeskFeedback",
    "DeskHandler",
    "DeskRelay",
    "EscalationCard",
    "EventSink",
    "FaqHit",
    "FiniteChannel",
    "HomeDesk",
    "HomeView",
    "HttpEndpoint",
    "InboundHandler",
    "InboundMessage",
    "LogEntry",
    "OutboundMessage",
    "Part",
    "QueueItem",
    "RatingRequest",
    "ReplyHints",
    "Role",
    "ServesHttp",
    "ServiceBound",
    "SharedStorage",
    "SplitsMessages",
    "StoreBound",
    "Streams",
    "Suppressing",
    "TicketInfo",
    "TranscriptLine",
    "WebServices",
    "decode_queue_item",
]
