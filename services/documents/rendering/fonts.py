"""Document fonts: DejaVu Sans Condensed, pre-subset once per process to the Latin range.

WeasyPrint subsets every embedded font on every render, with fontTools when HarfBuzz-subset
is not installed. On the full DejaVu faces (~6,000 glyphs) that took ~87 % of a render; on a
~450-glyph face it takes a few milliseconds. Characters outside the range still print: the
CSS falls back to the system's full DejaVu faces for them.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FAMILY = "Document Sans"
SOURCE_FAMILY = "DejaVu Sans Condensed"
_SOURCE_STYLES = {"normal": "Condensed", "bold": "Condensed Bold"}
_FALLBACK_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FALLBACK_FILES = {"normal": "DejaVuSansCondensed.ttf", "bold": "DejaVuSansCondensed-Bold.ttf"}

# Latin-1, Latin Extended-A (all EU names), Romanian comma letters, typographic punctuation,
# €, №, ™ and the real minus sign.
UNICODE_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x017F),
    (0x0218, 0x021B),
    (0x2010, 0x2027),
    (0x2030, 0x203A),
    (0x20AC, 0x20AC),
    (0x2116, 0x2116),
    (0x2122, 0x2122),
    (0x2212, 0x2212),
)


@dataclass(frozen=True, slots=True)
class FontFace:
    weight: str
    path: Path


def _locate(weight: str) -> Path:
    """The installed DejaVu face, via fontconfig if available, else the Debian path."""
    fc_match = shutil.which("fc-match")
    if fc_match:
        pattern = f"{SOURCE_FAMILY}:style={_SOURCE_STYLES[weight]}"
        found = subprocess.run(
            [fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found and Path(found).name == _FALLBACK_FILES[weight]:
            return Path(found)
    for directory in _FALLBACK_DIRS:
        candidate = directory / _FALLBACK_FILES[weight]
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{SOURCE_FAMILY} ({weight}) is not installed (Debian: fonts-dejavu-core)")


def _subset(source: Path, target: Path) -> None:
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = True
    # Kerning stays in the legacy 'kern' table, which HarfBuzz applies when GPOS is absent;
    # GPOS/GSUB would have to be decompiled again by WeasyPrint on every render (~25 ms a face).
    options.legacy_kern = True
    options.drop_tables += ["FFTM", "GPOS", "GSUB", "MATH"]
    options.name_IDs = ["*"]  # keep copyright and licence names with the embedded font
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for low, high in UNICODE_RANGES for code in range(low, high + 1)])
    font = TTFont(source)
    subsetter.subset(font)
    font.save(target)


@cache
def document_font_faces() -> tuple[FontFace, ...]:
    """Subset the faces into a private directory, once per process."""
    directory = Path(tempfile.mkdtemp(prefix="documents-fonts-"))
    atexit.register(shutil.rmtree, directory, True)
    faces = []
    for weight in ("normal", "bold"):
        target = directory / f"document-sans-{weight}.ttf"
        _subset(_locate(weight), target)
        faces.append(FontFace(weight, target))
    return tuple(faces)


def font_face_css() -> str:
    return "\n".join(
        f'@font-face {{ font-family: "{FAMILY}"; font-weight: {face.weight}; src: url("{face.path.as_uri()}"); }}'
        for face in document_font_faces()
    )
