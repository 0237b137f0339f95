"""The wording of letters and 通报: Jinja2 text templates under ``templates/text/``.

A clerk edits the wording there. Data is passed in as variables and printed as text; it is
never compiled as a template, so ``{{ 7*7 }}`` in a region's name stays literally that.
"""

from __future__ import annotations

import functools

import jinja2

from .layout import TEMPLATES, template_cache
from .views import Paragraph

HEADINGS = (("## ", "heading2"), ("# ", "heading1"))


def book_title(title: str) -> str:
    """A document's title in 书名号; a title quoted inside it takes 〈〉 (《…〈…〉…》)."""
    return "《" + title.replace("《", "〈").replace("》", "〉") + "》"


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "text"),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=False, bytecode_cache=template_cache())
    env.filters["book_title"] = book_title
    return env


def render(name: str, **values) -> tuple[list[str], list[Paragraph]]:
    """Title lines and body paragraphs of a text template."""
    module = environment().get_template(name).make_module(values)
    title = [line.strip() for line in str(module.title()).splitlines() if line.strip()]
    paragraphs = []
    for chunk in str(module.body()).split("\n\n"):
        text = "".join(line.strip() for line in chunk.splitlines() if line.strip())
        if not text:
            continue
        for marker, style in HEADINGS:
            if text.startswith(marker):
                paragraphs.append(Paragraph(text[len(marker):], style))
                break
        else:
            paragraphs.append(Paragraph(text))
    return title, paragraphs
