"""Knowledge base and playbook reload without a restart."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.reload import Reloader
from bot.wiring import build_brain
from brain.knowledge import KnowledgeBase
from brain.store.base import Store
from config.settings import PACKAGED_KNOWLEDGE_DIR, load_settings

GNOMES = """---
id: garden-gnomes
title: Do you sell garden gnomes?
category: product_question
questions: [Do you sell garden gnomes?, any gnomes for the garden]
---
Yes: our hand-painted ceramic garden gnomes come in three sizes.
"""


async def test_changed_files_are_picked_up_and_broken_ones_ignored(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(PACKAGED_KNOWLEDGE_DIR, kb_dir)
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE__DIR", str(kb_dir))
    settings = load_settings(env_file=None)
    brain, _ = build_brain(settings, store, KnowledgeBase.load(kb_dir))
    reloader = Reloader(brain, settings, store)
    assert not await reloader.check()

    (kb_dir / "garden-gnomes.md").write_text(GNOMES)
    assert await reloader.check()
    assert brain.knowledge.search("do you sell garden gnomes")[0].entry.id == "garden-gnomes"
    assert not await reloader.check(), "nothing changed since the last reload"

    (kb_dir / "broken.md").write_text("---\nid: [unclosed\n---\nbody\n")
    os.utime(kb_dir / "broken.md")
    assert not await reloader.check()
    assert brain.knowledge.get("garden-gnomes") is not None, "the last good KB stays in use"

    (kb_dir / "broken.md").unlink()
    assert await reloader.reload("SIGHUP")
