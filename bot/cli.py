"""The ``frontdesk`` command.

Exit codes: 0 success, 1 runtime failure (e.g. the store is unreachable), 2 invalid settings or
usage. Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.desk_cli import add_desk_parser, run_desk
from bot.evaluate import add_eval_parser, run_eval
from bot.inventory import describe
from bot.observability import configure_logging
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
    add_desk_parser(commands)
    add_eval_parser(commands)
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
    if args.command == "desk":
        return _guarded(lambda: run_desk(args, settings))
    return _run(settings)


def _check(settings: Settings) -> int:
    print(f"frontdesk {_version()}: settings are valid")
    parts = describe(settings)
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
        if settings.terminal_enabled:
            logging.getLogger("frontdesk").info(
                "no other channel is configured: starting the terminal channel"
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(app.run())
        return EXIT_OK

    return _guarded(run)


if __name__ == "__main__":
    sys.exit(main())
