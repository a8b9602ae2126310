"""``frontdesk api-key create|list|revoke``: server keys kept as SHA-256 digests on the bot's
store (every replica reads them on each request, so a new key works at once)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from channels.web.auth import digest, new_key
from channels.web.store import WebStore

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


async def run(args: argparse.Namespace, store: WebStore) -> int:
    if args.api_key_command == "create":
        key = new_key(args.scope)
        await store.add_key(digest(key), args.scope, args.label)
        sys.stdout.write(f"{key}\n")
        sys.stderr.write(f"{args.scope} key created; it is shown only this once.\n")
        return EXIT_OK
    if args.api_key_command == "list":
        for key_digest, scope, label, at in await store.stored_keys():
            when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")
            sys.stdout.write(f"{key_digest[:12]}  {scope:<5}  {when}  {label or ''}\n")
        return EXIT_OK
    if len(args.digest) < 8:
        sys.stderr.write("frontdesk: give at least 8 characters of the digest\n")
        return EXIT_USAGE
    removed = await store.remove_key(args.digest)
    sys.stdout.write(f"revoked {removed} key(s)\n")
    return EXIT_OK if removed else EXIT_FAILURE
