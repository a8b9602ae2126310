"""``frontdesk init DIR``: a minimal knowledge base and playbook of your own to start from.

Writes ``DIR/knowledge/`` (three Markdown entries), ``DIR/playbook.yaml`` (intents whose ``kb``
ids name those entries, so it never points at the sample shop) and ``DIR/frontdesk.yaml`` (the
two settings that select them). Nothing is overwritten: if a file is already there, nothing is
written and the command says which.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_ENTRIES = {
    "opening-hours.md": """---
id: opening-hours
title: When are you open?
category: general
tags: [hours, open, times]
questions:
  - When are you open?
  - What are your opening hours?
  - Are you open on Saturday?
  - What time do you close today?
---
We are open Monday to Friday from 9:00 to 17:00 and on Saturday from 10:00 to 14:00.
We are closed on Sundays and public holidays.
""",
    "return-policy.md": """---
id: return-policy
title: How do I return something?
category: returns_and_refunds
tags: [returns, refund, send back]
questions:
  - How do I return something?
  - Can I send an item back?
  - What is your return policy?
  - I want a refund for my purchase
---
You can return any unused item within 30 days of delivery. Write to us with your order
number and we send you a free return label; the refund reaches your original payment
method within 5 working days of the item arriving back with us.
""",
    "contact-us.md": """---
id: contact-us
title: How can I reach you?
category: general
tags: [contact, phone, email]
questions:
  - How can I contact you?
  - What is your phone number?
  - Do you have an email address?
---
Write to us right here at any time, or email support@example.com. A teammate answers
within one working day.
""",
}

_PLAYBOOK = """# Your playbook: the kinds of messages you expect, with examples to learn them from.
# Each intent: name, category (billing, account, orders_and_shipping, returns_and_refunds,
# technical, product_question, feature_request, bug_report, general), tier (simple or
# complex), optional urgency, kb (ids of entries in your knowledge base: they must exist),
# escalate: always (a person takes over), sensitive, reply (a fixed answer), examples (more
# is better: 10 to 25 real customer phrasings each).
intents:
  - name: greeting
    category: general
    tier: simple
    urgency: low
    reply: Hi! What can I help you with today?
    examples: [hi, hello there, good morning, hey, hiya anyone there?, hello hello]

  - name: opening_hours
    category: general
    tier: simple
    kb: [opening-hours]
    examples:
      - when are you open
      - what are your opening hours
      - are you open on saturday
      - what time do you close
      - are you open today

  - name: returns
    category: returns_and_refunds
    tier: simple
    kb: [return-policy]
    examples:
      - how do I return something
      - can I send this back
      - I want a refund
      - what is your return policy
      - how do returns work

  - name: contact
    category: general
    tier: simple
    kb: [contact-us]
    examples:
      - how can I contact you
      - what is your phone number
      - do you have an email address
      - how do I reach you

  - name: talk_to_human
    category: general
    tier: simple
    escalate: always
    examples:
      - can I speak to a human
      - real person please
      - let me talk to an agent
      - I don't want a bot
      - I'd like to talk to a real person

# Messages you do not handle: the bot hands them to a person instead of guessing.
out_of_scope:
  - what's the weather like
  - tell me a joke
  - who won the match yesterday
  - write me a poem
"""


def add_init_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    init = commands.add_parser(
        "init", help="write a minimal knowledge base and playbook of your own to DIR"
    )
    init.add_argument("dir", type=Path, metavar="DIR")


def files_for(directory: Path) -> dict[Path, str]:
    """Every file ``init`` writes, with its content."""
    knowledge = directory / "knowledge"
    files = {knowledge / name: text for name, text in _ENTRIES.items()}
    files[directory / "playbook.yaml"] = _PLAYBOOK
    # Absolute paths: the YAML file is read relative to wherever frontdesk is started.
    files[directory / "frontdesk.yaml"] = (
        "# Non-secret settings (frontdesk --config this-file ...). Secrets go in .env.\n"
        f"knowledge:\n  dir: {_quoted(knowledge.resolve())}\n"
        f"classifier:\n  playbook: {_quoted((directory / 'playbook.yaml').resolve())}\n"
    )
    return files


def run_init(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    files = files_for(directory)
    present = [path for path in files if path.exists()]
    if present:
        print(f"frontdesk: {present[0]} already exists; nothing written (choose a new DIR)",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"frontdesk: cannot write to {directory}: {err.strerror or err}", file=sys.stderr)
        return 1
    config = directory / "frontdesk.yaml"
    print(f"Wrote a starter knowledge base and playbook to {directory}:")
    print(f"  {directory / 'knowledge'}/  one Markdown file per answer: edit them, add more")
    print(f"  {directory / 'playbook.yaml'}  the intents to recognise; kb: names entries above")
    print(f"  {config}  selects both (FRONTDESK_KNOWLEDGE__DIR, FRONTDESK_CLASSIFIER__PLAYBOOK)")
    print("Next:")
    print(f"  frontdesk --config {config} check")
    print(f"  frontdesk --config {config} run")
    return 0


def _quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'
