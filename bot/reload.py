"""Reloading the knowledge base and playbook without a restart.

Triggered by SIGHUP (``kill -HUP <pid>``), by ``faq add``/``faq remove`` in chat, or by the
scheduler noticing that a file under the knowledge directory, the playbook, or the FAQ entries
added in chat (any replica) changed. Loading and training run on a worker thread; a
broken file is logged and the bot keeps answering from what it had.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from bot.admin import admin_entries
from brain.classify import Classifier
from brain.entries import KnowledgeEntry
from brain.handler import Brain
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from brain.store.base import Store
from brain.store.state import SharedState
from config.errors import FrontdeskError
from config.settings import Settings

logger = logging.getLogger(__name__)


def fingerprint(paths: list[Path]) -> str:
    """Changes whenever a file under ``paths`` is added, removed, or modified."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0".encode())
    return digest.hexdigest()


class Reloader:
    def __init__(self, brain: Brain, settings: Settings, store: Store) -> None:
        self.brain = brain
        self.settings = settings
        self.store = store
        self._paths = [settings.knowledge.path, settings.classifier.playbook_path]
        self._seen = ""
        self._lock = asyncio.Lock()

    async def _fingerprint(self) -> str:
        files = await asyncio.to_thread(fingerprint, self._paths)
        added = await SharedState(self.store).faq_entries()
        return hashlib.sha256(f"{files}{sorted(added.items())}".encode()).hexdigest()

    async def check(self) -> bool:
        """Reload if files or chat-added FAQ entries changed. True if a reload happened."""
        current = await self._fingerprint()
        if not self._seen:
            self._seen = current  # the first look only records what the bot started with
            return False
        if current == self._seen:
            return False
        return await self.reload("knowledge changed")

    async def reload(self, why: str) -> bool:
        async with self._lock:
            seen = await self._fingerprint()
            extra = await admin_entries(self.store)
            try:
                knowledge, classifier = await asyncio.to_thread(self._load, extra)
            except FrontdeskError as err:
                logger.error("reload (%s) failed, keeping the current knowledge: %s", why, err)
                self._seen = seen  # do not retry the same broken files every minute
                return False
            self.brain.reload(knowledge, classifier)
            self._seen = seen
            logger.info(
                "reloaded (%s): %d knowledge entries, %d intents",
                why,
                len(knowledge.entries),
                len(classifier.playbook.intents),
            )
            return True

    def _load(self, extra: list[KnowledgeEntry]) -> tuple[KnowledgeBase, Classifier]:
        settings = self.settings
        knowledge = KnowledgeBase.load(
            settings.knowledge.path, extra, self.brain.knowledge.embedder
        )
        playbook = Playbook.load(
            settings.classifier.playbook_path, known_kb_ids=[e.id for e in knowledge.entries]
        )
        classifier = Classifier(
            playbook,
            settings.classifier.languages,
            settings.classifier.oos_threshold,
            settings.escalation.sentiment_threshold,
            knowledge.embedder,
        )
        return knowledge, classifier
