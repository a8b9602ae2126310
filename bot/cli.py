"""The ``frontdesk`` command.

Exit codes: 0 success, 1 runtime failure (e.g. the store is unreachable), 2 invalid settings or
usage. Errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bot.evaluate import add_eval_parser, run_eval
from bot.init_cmd import add_init_parser, run_init
from bot.observability import configure_logging
from bot.platforms import enabled_platforms, platform_modules
from bot.scheduler import heartbeat_age, heartbeat_path
from config.errors import ConfigError, FrontdeskError
from config.settings import Settings, load_settings

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
LOG_FILE = "frontdesk.log"


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
    parser.add_argument("--env-file", type=Path, default=None, help="default: ./.env if present")
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="show log lines on the terminal even while the terminal channel is chatting",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="start every configured channel (terminal if none)")
    commands.add_parser("check", help="validate settings and show what is enabled and why")
    add_init_parser(commands)
    add_eval_parser(commands)
    for module in platform_modules():  # e.g. `frontdesk desk ...` from the terminal package
        add_commands = getattr(module, "add_commands", None)
        if add_commands is not None:
            add_commands(commands)
    stats = commands.add_parser("stats", help="support analytics from the store")
    stats.add_argument("--days", type=_positive_days, default=7.0, help="last N days (default 7)")
    stats.add_argument("--json", action="store_true", help="one JSON object")
    digest = commands.add_parser("digest", help="the daily digest (--print: in this terminal)")
    digest.add_argument("--print", action="store_true", dest="print_digest", required=True,
                        help="render it here (the running bot posts it to the desks)")  # fmt: skip
    digest.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="the day it reports on, YYYY-MM-DD (default: yesterday)")  # fmt: skip
    health = commands.add_parser(
        "health", help="exit 0 if the running bot is alive (/healthz, else its heartbeat file)"
    )
    health.add_argument("--max-age", type=float, default=None, help="seconds (default 4 beats)")
    health.add_argument("--ready", action="store_true", help="ask /readyz: can it serve?")
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
    if args.command == "init":  # needs no settings: it writes the files to start from
        return run_init(args)
    try:
        settings = load_settings(
            yaml_file=args.config,
            env_file=args.env_file if args.env_file is not None else Path(".env"),
            require_env_file=args.env_file is not None,
        )
    except ConfigError as err:
        print(f"frontdesk: invalid setting: {err}", file=sys.stderr)
        return EXIT_CONFIG
    chatting = args.command == "run" and "terminal" in enabled_platforms(settings)
    _logging(settings, args.verbose, chatting=chatting, reporting=args.command == "check")
    if args.command == "check":
        return _check(settings)
    if args.command == "health":
        if settings.observability.metrics_port is not None:
            return _probe(settings, "/readyz" if args.ready else "/healthz")
        return _health(settings, args.max_age)
    if args.command == "stats":
        return _guarded(lambda: asyncio.run(_stats(settings, args.days, args.json)))
    if args.command == "digest":
        return _guarded(lambda: asyncio.run(_digest(settings, args.date)))
    if args.command == "eval":
        return run_eval(args, settings)
    desk_command = getattr(args, "desk_command_run", None)
    if desk_command is not None:
        return _guarded(lambda: asyncio.run(_with_desk(desk_command, args, settings)))
    store_command = getattr(args, "store_command", None)
    if store_command is not None:
        return _guarded(lambda: asyncio.run(_with_store(store_command, args, settings)))
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


async def _with_store(command: Any, args: argparse.Namespace, settings: Settings) -> int:
    """Run a platform's command on the store the running bot uses (``frontdesk api-key``)."""
    from bot.wiring import build_store  # noqa: PLC0415  (heavy)

    store = build_store(settings)
    await store.open()
    try:
        return int(await command(args, store))
    finally:
        await store.close()


def _logging(settings: Settings, verbose: bool, *, chatting: bool, reporting: bool) -> None:
    """On the terminal channel stderr is the customer's screen: log lines go to the log file
    (default ``<data dir>/frontdesk.log``) and only warnings show, unless ``-v``. ``check``
    prints a report: loading the knowledge base on the way is not news either."""
    observability = settings.observability
    log_file = observability.log_file
    console_level = "WARNING" if reporting and not verbose else None
    if chatting and not verbose:
        log_file = log_file or settings.store.data_dir / LOG_FILE
        console_level = "WARNING"
        if sys.stdin.isatty():  # someone is at the keyboard: say where the log lines went
            print(f"(log lines go to {log_file}; frontdesk -v run shows them here)",
                  file=sys.stderr)  # fmt: skip
    try:
        configure_logging(observability.log_level, observability.log_format,
                          observability.redact_logs, log_file=log_file,
                          console_level=console_level)  # fmt: skip
    except OSError as err:
        configure_logging(observability.log_level, observability.log_format,
                          observability.redact_logs)  # fmt: skip
        logging.getLogger("frontdesk").warning(
            "cannot write the log file %s (%s): logging to the terminal", log_file, err
        )


def _positive_days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3660:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days between 0 and 3660")
    return value


async def _stats(settings: Settings, days: float, as_json: bool) -> int:
    from bot.wiring import build_store  # noqa: PLC0415  (heavy)
    from bot.wiring.parts import sla_minutes  # noqa: PLC0415
    from brain.analytics import last_days, report_lines  # noqa: PLC0415
    from brain.store.facts import Facts  # noqa: PLC0415

    store = build_store(settings)
    await store.open()
    try:
        facts = Facts(store, ttl_s=settings.store.retention_days * 86400)
        analytics = await last_days(facts, days, sla_minutes(settings))
    finally:
        await store.close()
    if as_json:
        print(json.dumps(analytics.to_dict(), indent=2))
        return EXIT_OK
    print(f"Support analytics, conversations started {analytics.since:%Y-%m-%d %H:%M} to "
          f"{analytics.until:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    width = max(len(label) for label, _ in report_lines(analytics))
    for label, value in report_lines(analytics):
        print(f"  {label:<{width}}  {value}")
    return EXIT_OK


async def _digest(settings: Settings, day: dt.date | None) -> int:
    from bot.wiring import build_store  # noqa: PLC0415  (heavy)
    from bot.wiring.parts import digest_source  # noqa: PLC0415
    from brain.store.facts import Facts  # noqa: PLC0415

    store = build_store(settings)
    await store.open()
    try:
        facts = Facts(store, ttl_s=settings.store.retention_days * 86400)
        print(await digest_source(settings, store, facts).text(day))
    finally:
        await store.close()
    return EXIT_OK


def _check(settings: Settings) -> int:
    from bot.preflight import preflight  # noqa: PLC0415  (loads the KB and trains: not for --version)
    from bot.wiring import describe  # noqa: PLC0415  (heavy: only `check` pays)

    try:
        preflight(settings)
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


def _probe(settings: Settings, path: str) -> int:
    """Ask the running bot's ops server (the metrics port) whether it is alive or ready."""
    o = settings.observability
    host = "127.0.0.1" if o.metrics_host in ("0.0.0.0", "::", "") else o.metrics_host
    url = f"http://{host}:{o.metrics_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        print(f"unhealthy: {url} answered {err.code}: {detail}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as err:
        print(f"unhealthy: {url}: {err} (is `frontdesk run` running?)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"healthy: {url} {body}")
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
