"""Settings: sources, validation messages and the documented example file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.platforms import enabled_platforms
from config.errors import ConfigError
from config.sections.store import redis_urls
from config.settings import CLUSTER_PARTITIONS, Settings, env_name, load_settings, setting_fields

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "FRONTDESK_STORE__REDIS_CLUSTER"


def all_env_names() -> set[str]:
    return {env_name((section, name)) for section, name, _ in setting_fields()}


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(FRONTDESK_[A-Z_]+)=", text, flags=re.MULTILINE))
    assert documented == all_env_names()


def test_env_example_values_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^(FRONTDESK_[A-Z_]+)=(.*?)(\s+#.*)?$", line)
        if match:
            monkeypatch.setenv(match.group(1), match.group(2).strip())
    settings = load_settings(env_file=None)
    assert settings == Settings()


def test_defaults_need_nothing() -> None:
    settings = load_settings(env_file=None)
    assert settings.store.backend == "sqlite"
    assert enabled_platforms(settings) == ["terminal"]


def test_comma_lists_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_SLACK__SUPPORT_CHANNELS", "C01, C02")
    monkeypatch.setenv("FRONTDESK_ESCALATION__VIP_EMAIL_DOMAINS", '["big.example"]')
    settings = load_settings(env_file=None)
    assert settings.slack.support_channels == ["C01", "C02"]
    assert settings.escalation.vip_email_domains == ["big.example"]


def test_enabled_slack_with_tokens_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_SLACK__ENABLED", "true")
    monkeypatch.setenv("FRONTDESK_SLACK__BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("FRONTDESK_SLACK__APP_TOKEN", "xapp-1")
    settings = load_settings(env_file=None)
    assert enabled_platforms(settings) == ["slack"]
    assert "xoxb-1" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FRONTDESK_SLACK__ENABLED": "true", "FRONTDESK_SLACK__BOT_TOKEN": "xoxb-1"},
         "FRONTDESK_SLACK__APP_TOKEN: required in Socket Mode"),
        ({"FRONTDESK_SLACK__ENABLED": "1", "FRONTDESK_SLACK__BOT_TOKEN": "abc"},
         "FRONTDESK_SLACK__BOT_TOKEN: must be a bot token"),
        ({"FRONTDESK_EMAIL__ENABLED": "true"}, "FRONTDESK_EMAIL__IMAP_HOST: required"),
        ({"FRONTDESK_DISCORD__SUPPORT_CHANNEL_IDS": "general"},
         "FRONTDESK_DISCORD__SUPPORT_CHANNEL_IDS"),
        ({"FRONTDESK_ESCALATION__SENTIMENT_THRESHOLD": "-2"},
         "FRONTDESK_ESCALATION__SENTIMENT_THRESHOLD: Input should be greater"),
        ({"FRONTDESK_STORE__REDIS_URL": "localhost:6379"}, "FRONTDESK_STORE__REDIS_URL: must"),
        ({"FRONTDESK_STORE__REDIS_CLUSTER": "true"},
         "FRONTDESK_STORE__REDIS_CLUSTER: needs FRONTDESK_STORE__REDIS_URL"),
        ({"FRONTDESK_STORE__STREAM_PARTITIONS": "4"},
         "FRONTDESK_STORE__STREAM_PARTITIONS: needs FRONTDESK_STORE__REDIS_URL"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h:1/0", "FRONTDESK_STORE__STREAM_PARTITIONS": "0"},
         "FRONTDESK_STORE__STREAM_PARTITIONS: Input should be greater than or equal to 1"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h:7000/3", "FRONTDESK_STORE__REDIS_CLUSTER": "1"},
         "FRONTDESK_STORE__REDIS_URL: a cluster has only database 0"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000,redis://h2:7001"},
         "FRONTDESK_STORE__REDIS_URL: several nodes (a comma-separated list) are for a Redis "
         "Cluster only"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000,redis://h2:x", CLUSTER: "1"},
         "FRONTDESK_STORE__REDIS_URL: node 2 of 2: port x is not a port number"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000,", CLUSTER: "1"},
         "FRONTDESK_STORE__REDIS_URL: node 2 of 2: an empty entry"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000,h2:7001", CLUSTER: "1"},
         "FRONTDESK_STORE__REDIS_URL: node 2 of 2: must start with redis://"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000,rediss://h2:7001", CLUSTER: "1"},
         "FRONTDESK_STORE__REDIS_URL: the nodes of one cluster use one scheme"),
        ({"FRONTDESK_STORE__REDIS_URL": "redis://h1:7000/0,redis://h2:7001/2", CLUSTER: "1"},
         "FRONTDESK_STORE__REDIS_URL: a cluster has only database 0"),
        ({"FRONTDESK_OBSERVABILITY__LOG_LEVEL": "loud"}, "FRONTDESK_OBSERVABILITY__LOG_LEVEL"),
        ({"FRONTDESK_DESK__SLA_MINUTES": '{"urgent": 0}'}, "FRONTDESK_DESK__SLA_MINUTES__URGENT"),
    ],
)  # fmt: skip
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_partitions_default_to_one_on_a_redis_and_more_on_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_STORE__REDIS_URL", "redis://h:7000/0")
    assert load_settings(env_file=None).store.partitions == 1
    monkeypatch.setenv("FRONTDESK_STORE__REDIS_CLUSTER", "true")
    assert load_settings(env_file=None).store.partitions == CLUSTER_PARTITIONS
    monkeypatch.setenv("FRONTDESK_STORE__STREAM_PARTITIONS", "3")
    assert load_settings(env_file=None).store.partitions == 3


def test_a_cluster_url_may_name_several_startup_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    urls = "redis://:pw@h1:7000/0, redis://:pw@h2:7001 ,redis://h3:7002"
    monkeypatch.setenv("FRONTDESK_STORE__REDIS_URL", urls)
    monkeypatch.setenv("FRONTDESK_STORE__REDIS_CLUSTER", "true")
    store = load_settings(env_file=None).store
    assert store.redis_url is not None and "pw" not in repr(store)
    assert redis_urls(store.redis_url.get_secret_value()) == [
        "redis://:pw@h1:7000/0",
        "redis://:pw@h2:7001",
        "redis://h3:7002",
    ]


def test_yaml_layer_is_below_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("knowledge:\n  answer_threshold: 0.7\ndispatch:\n  max_concurrency: 4\n")
    monkeypatch.setenv("FRONTDESK_DISPATCH__MAX_CONCURRENCY", "9")
    settings = load_settings(yaml_file=config, env_file=None)
    assert settings.knowledge.answer_threshold == 0.7
    assert settings.dispatch.max_concurrency == 9


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("store: [unclosed", ": not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("store:\n  colour: blue\n", "FRONTDESK_STORE__COLOUR: unknown setting"),
    ],
)
def test_bad_yaml_files(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(yaml_file=config, env_file=None)


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("FRONTDESK_STORE__HISTORY_LIMIT=7\n")
    assert load_settings(env_file=env_file).store.history_limit == 7
