"""HTML mail to readable text: cut the quoted history out of the tree, then lay it out.

inscriptis does the layout (paragraphs, lists, tables, line breaks; ``<style>`` and
``<script>`` dropped): on our fixtures it kept the structure html2text turned into Markdown
noise and selectolax flattened (it splits ``<b>Von:</b> x`` over two lines). Before that, the
quoted history is removed by the markers the big clients put in the HTML, which is far more
reliable than guessing from the text afterwards.
"""

from __future__ import annotations

import logging
import re

from lxml.etree import ParserError
from lxml.html import HtmlElement, document_fromstring

logger = logging.getLogger(__name__)

# Gmail wraps the history in div.gmail_quote; Apple Mail and Thunderbird in
# blockquote[type=cite] (Thunderbird's "On ... wrote:" is div.moz-cite-prefix); Outlook on the
# web and desktop start it at div#divRplyFwdMsg or div#appendonsend (everything after belongs
# to the history); Yahoo uses div.yahoo_quoted.
_QUOTE_XPATH = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
    " | //blockquote[@type='cite'] | //div[contains(@class, 'moz-cite-prefix')]"
    " | //div[contains(@class, 'yahoo_quoted')]"
)
_CUT_AFTER_XPATH = (
    "//*[@id='divRplyFwdMsg' or @id='appendonsend'"
    " or @id='mail-editor-reference-message-container']"
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")


def html_to_text(html: str, strip_quotes: bool = True) -> str:
    from inscriptis import Inscriptis  # noqa: PLC0415  (lxml and inscriptis only when needed)

    tree = _tree(html)
    if tree is None:
        return ""
    if strip_quotes:
        _cut_history(tree)
    text = Inscriptis(tree).get_text()
    # inscriptis indents nested blocks; mail text has no meaningful leading spaces.
    return "\n".join(line.strip() for line in text.splitlines())


def _tree(html: str) -> HtmlElement | None:
    content = _XML_DECL.sub("", html.strip(), count=1)
    if not content:
        return None
    try:
        return document_fromstring(content)
    except (ParserError, ValueError):
        try:
            return document_fromstring("<pre>" + content.replace("<", "&lt;") + "</pre>")
        except (ParserError, ValueError):
            return None


def _cut_history(tree: HtmlElement) -> None:
    for node in tree.xpath(_CUT_AFTER_XPATH):
        _drop_from(_outermost_block(node, tree))
        break
    for node in tree.xpath(_QUOTE_XPATH):
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)


def _outermost_block(node: HtmlElement, tree: HtmlElement) -> HtmlElement:
    """Outlook puts #divRplyFwdMsg inside a bordered div: the separator line belongs too."""
    parent = node.getparent()
    if parent is not None and parent.tag == "div" and "border-top" in (parent.get("style") or ""):
        return parent
    return node


def _drop_from(node: HtmlElement) -> None:
    """Remove ``node`` and everything that follows it in document order."""
    current: HtmlElement | None = node
    while current is not None and current.tag not in ("body", "html"):
        parent = current.getparent()
        for sibling in list(current.itersiblings()):
            sibling.getparent().remove(sibling)
        if current is node and parent is not None:
            parent.remove(current)
        current = parent
