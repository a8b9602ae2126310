"""Everything ``frontdesk run`` refuses at start, found without connecting to anything.

``frontdesk check`` and ``run`` both call ``preflight``, so check cannot call valid what run then
refuses. It loads the knowledge base and the playbook the way ``bot/wiring/`` does, trains the
classifier (about a second), builds the LLM clients (no request is made) and checks that the
store's directory can be used. Every problem is one ``ConfigError`` line naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brain.classify import Classifier
from brain.knowledge import KnowledgeBase
from brain.playbook import Playbook
from config.errors import ConfigError
from config.settings import Settings

PLAYBOOK_SETTING = "FRONTDESK_CLASSIFIER__PLAYBOOK"
KNOWLEDGE_SETTING = "FRONTDESK_KNOWLEDGE__DIR"


@dataclass(frozen=True, slots=True)
class Checked:
    """What preflight built; the caller may use it or build its own."""

    knowledge: KnowledgeBase
    playbook: Playbook
    classifier: Classifier
    clients: tuple[str, ...]
    """Names of the LLM clients that would be used, in order."""


def preflight(settings: Settings) -> Checked:
    """Validate what ``run`` would build from ``settings``; raise ``ConfigError`` if it cannot."""
    _check_data_dir(settings)
    _check_shared_port(settings)
    knowledge = load_knowledge(settings)
    playbook = load_playbook(settings, knowledge)
    classifier = _classifier(settings, playbook)
    return Checked(knowledge, playbook, classifier, _clients(settings))


def _check_shared_port(settings: Settings) -> None:
    """Slack's HTTP endpoint shares the metrics server only on the very same host and port;
    the same port on another host would fail at start with "address in use"."""
    slack, ops = settings.slack, settings.observability
    if not slack.enabled or slack.mode != "http" or not ops.metrics_port:
        return
    if slack.http_port == ops.metrics_port and slack.http_host != ops.metrics_host:
        raise ConfigError(
            f"FRONTDESK_SLACK__HTTP_HOST: {slack.http_host} with the metrics port "
            f"{ops.metrics_port} must be FRONTDESK_OBSERVABILITY__METRICS_HOST "
            f"({ops.metrics_host}) to share the metrics server; or use another HTTP_PORT"
        )


def load_knowledge(settings: Settings) -> KnowledgeBase:
    path = settings.knowledge.path
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise ConfigError(f"{KNOWLEDGE_SETTING}: {path} {what}")
    return KnowledgeBase.load(path)


def load_playbook(settings: Settings, knowledge: KnowledgeBase) -> Playbook:
    path = settings.classifier.playbook_path
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a file"
        raise ConfigError(f"{PLAYBOOK_SETTING}: {path} {what}")
    try:
        return Playbook.load(path, known_kb_ids=[e.id for e in knowledge.entries])
    except ConfigError as err:
        if (
            "does not exist in the knowledge base" in str(err)
            and settings.classifier.playbook is None
        ):
            # The classic first-run slip: an own knowledge base with the sample playbook, whose
            # intents point at the sample shop's entries.
            raise ConfigError(
                f"{PLAYBOOK_SETTING}: the sample playbook names entries of the sample knowledge "
                f"base, not of {settings.knowledge.path} ({err}); point "
                f"{PLAYBOOK_SETTING} at your own playbook (`frontdesk init DIR` writes one)"
            ) from err
        raise


def _classifier(settings: Settings, playbook: Playbook) -> Classifier:
    languages = settings.classifier.languages
    try:
        return Classifier(
            playbook,
            languages,
            settings.classifier.oos_threshold,
            settings.escalation.sentiment_threshold,
        )
    except ValueError as err:
        # py3langid refuses codes it has no model for ("Unknown language code(s): {...}").
        raise ConfigError(
            f"FRONTDESK_CLASSIFIER__LANGUAGES: {', '.join(languages)}: {err}"
        ) from err


def _clients(settings: Settings) -> tuple[str, ...]:
    from bot.wiring.brain import build_clients  # noqa: PLC0415  (brings the LLM SDKs when configured)

    # Building a client makes no request; its HTTP pool opens on first use.
    return tuple(client.name for _, client in build_clients(settings))


def _check_data_dir(settings: Settings) -> None:
    if settings.store.backend != "sqlite":
        return
    directory = Path(settings.store.data_dir)
    for part in (directory, *directory.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(f"FRONTDESK_STORE__DATA_DIR: {part} is not a directory")
            break
