"""HTML → PDF/A-3b with WeasyPrint, keeping everything reusable warm between renders.

Parsed once per process: the Jinja templates, the stylesheet and the font configuration
(with the pre-subset faces registered in fontconfig). A render then only lays out one page.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .fonts import font_face_css

TEMPLATES = Path(__file__).parent / "templates"

PDF_OPTIONS: dict[str, Any] = {
    "pdf_variant": "pdf/a-3b",
    # The faces are already subset to ~400 glyphs (fonts.py), so they are embedded whole:
    # WeasyPrint's per-render fontTools subsetting was most of the render time.
    "full_fonts": True,
    "hinting": False,
    "uncompressed_pdf": False,
    "optimize_images": False,
}

# FontConfiguration wraps one fontconfig/Pango font map, which is not safe to share
# between threads rendering at the same time.
_render_lock = threading.Lock()


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet() -> CSS:
    css = font_face_css() + "\n" + (TEMPLATES / "documents.css").read_text(encoding="utf-8")
    return CSS(string=css, font_config=_font_config(), base_url=str(TEMPLATES))


def warm_up() -> None:
    """Pay the one-off costs (font subsetting, parsing) before the first real document.

    Under the render lock: Pango/fontconfig crash (SIGSEGV) when two threads load font faces at
    once, e.g. a warm-up racing the first render of another service instance in the same process.
    """
    with _render_lock:
        _environment().get_template("tax_document.html")
        _environment().get_template("statement.html")
        _stylesheet()


def render_html(template: str, context: dict[str, Any]) -> str:
    return _environment().get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """A PDF/A-3b document with every font embedded (subset)."""
    with _render_lock:
        document = HTML(string=html, base_url=str(TEMPLATES)).render(
            stylesheets=[_stylesheet()],
            font_config=_font_config(),
            **PDF_OPTIONS,
        )
        return document.write_pdf(**PDF_OPTIONS)
