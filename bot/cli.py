"""The ``frontdesk`` command.

Exit codes: 0 success, 1 runtime failure (e.g. the store is unreachable), 2 invalid settings or
usage. Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bot.evaluate import add_eval_parser, run_eval
from bot.observability import configure_logging
from bot.platforms import platform_modules
from bot.scheduler import heartbeat_age, heartbeat_path
from config.errors import ConfigError, FrontdeskError
from config.settings import Settings, load_settings

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def _version() -> str:
    try:
        return version("frontdesk")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="Open-source AI support bot (Slack, Discord, email, terminal).",
    )
    parser.add_argument("--version", action="version", version=f"frontdesk {_version()}")
    parser.add_argument("--config", type=Path, help="YAML file with non-secret settings")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="default: ./.env")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="start every configured channel (terminal if none)")
    commands.add_parser("check", help="validate settings and show what is enabled and why")
    add_eval_parser(commands)
    for module in platform_modules():  # e.g. `frontdesk desk ...` from the terminal package
        add_commands = getattr(module, "add_commands", None)
        if add_commands is not None:
            add_commands(commands)
    health = commands.add_parser("health", help="exit 0 if a running bot wrote a heartbeat")
    health.add_argument("--max-age", type=float, default=None, help="seconds (default 4 beats)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`frontdesk check | head`): nothing left to say, no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(yaml_file=args.config, env_file=args.env_file)
    except ConfigError as err:
        print(f"frontdesk: invalid setting: {err}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        settings.observability.log_level,
        settings.observability.log_format,
        settings.observability.redact_logs,
    )
    if args.command == "check":
        return _check(settings)
    if args.command == "health":
        return _health(settings, args.max_age)
    if args.command == "eval":
        return run_eval(args, settings)
    desk_command = getattr(args, "desk_command_run", None)
    if desk_command is not None:
        return _guarded(lambda: asyncio.run(_with_desk(desk_command, args, settings)))
    platform_command = getattr(args, "platform_command", None)
    if platform_command is not None:
        return _guarded(lambda: int(platform_command(args, settings)))
    return _run(settings)


async def _with_desk(command: Any, args: argparse.Namespace, settings: Settings) -> int:
    """Run a desk command of a desk without a live connection (``frontdesk desk``) through the
    one desk path, on the store the running bot uses."""
    from bot.wiring import build_hub, build_store  # noqa: PLC0415  (heavy)

    store = build_store(settings)
    await store.open()
    try:
        return int(await command(args, build_hub(settings, store, live=False)))
    finally:
        await store.close()


def _check(settings: Settings) -> int:
    from bot.wiring import describe  # noqa: PLC0415  (heavy: only `check` pays)

    try:
        parts = describe(settings)
    except ConfigError as err:
        print(f"frontdesk: invalid setting: {err}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"frontdesk {_version()}: settings are valid")
    width = max(len(p.name) for p in parts)
    for part in parts:
        state = "on " if part.enabled else "off"
        print(f"  {part.kind:<8} {part.name:<{width}} {state}  {part.why}")
    return EXIT_OK


def _health(settings: Settings, max_age: float | None) -> int:
    limit = max_age if max_age is not None else settings.observability.heartbeat_seconds * 4
    age = heartbeat_age(heartbeat_path(settings.store.data_dir))
    if age is None:
        print("unhealthy: no heartbeat (is `frontdesk run` running?)", file=sys.stderr)
        return EXIT_FAILURE
    if age > limit:
        print(f"unhealthy: last heartbeat {age:.0f}s ago (limit {limit:.0f}s)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"healthy: last heartbeat {age:.1f}s ago")
    return EXIT_OK


def _guarded(command: Callable[[], int]) -> int:
    """Run a command that needs the store: its failures are one line, not a traceback."""
    try:
        return command()
    except ConfigError as err:
        print(f"frontdesk: invalid setting: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except FrontdeskError as err:
        print(f"frontdesk: {err}", file=sys.stderr)
        return EXIT_FAILURE


def _run(settings: Settings) -> int:
    from bot.app import App  # noqa: PLC0415  (heavy: only the commands that run the bot pay)

    def run() -> int:
        app = App(settings)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(app.run())
        return EXIT_OK

    return _guarded(run)


if __name__ == "__main__":
    sys.exit(main())
