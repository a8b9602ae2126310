"""docs/configuration.md is generated from the settings model and must not go stale."""

from __future__ import annotations

from bot.config_docs import EXAMPLE, ROOT, render
from config.settings import env_name, setting_fields


def test_configuration_page_is_current() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    expected = render(EXAMPLE.read_text(encoding="utf-8"))
    assert page == expected, "run: python -m bot.config_docs > docs/configuration.md"


def test_every_setting_is_on_the_page() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for section, name, _ in setting_fields():
        assert f"`{env_name((section, name))}`" in page
