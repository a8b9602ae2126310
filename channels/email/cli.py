"""``frontdesk email parse FILE...``: what Frontdesk reads from each mail, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from channels.email.parse import parse_mail
from channels.email.threads import code_for, header_code, subject_code, thread_root
from config.settings import Settings


def parse_file(path: Path, settings: Settings) -> dict[str, Any]:
    """The JSON object for one file; a file that cannot be read or parsed gets ``error``."""
    record: dict[str, Any] = {"file": str(path), "from": None, "subject": None,
                              "message_id": None, "thread_key": None, "text": None,
                              "attachments": [], "auto": None, "error": None}  # fmt: skip
    try:
        raw = path.read_bytes()
        email = settings.email
        own = tuple(a for a in (email.from_address, email.imap_username) if a)
        mail = parse_mail(raw, own_addresses=own, languages=tuple(settings.classifier.languages))
        fallback = f"file:{path.name}"
        domain = email.domain if (email.message_id_domain or email.from_address) else None
        record.update(
            {
                "from": mail.from_address,
                "subject": mail.subject,
                "message_id": mail.message_id,
                "thread_key": header_code(mail, domain)
                or subject_code(mail.subject)
                or code_for(thread_root(mail, fallback)),
                "text": mail.text,
                "attachments": [
                    {"name": a.name, "content_type": a.content_type, "size": a.size}
                    for a in mail.attachments
                ],
                "auto": mail.auto,
            }
        )
    except Exception as err:  # one bad file must not stop the others
        record["error"] = f"{type(err).__name__}: {err}"
    return record


def parse_command(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    stream = out if out is not None else sys.stdout
    failed = 0
    for name in args.files:
        record = parse_file(Path(name), settings)
        failed += record["error"] is not None
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    stream.flush()
    return 1 if failed else 0
