"""The GB/T 9704 layout numbers (``templates/layout.yaml``), shared by both writers."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .content import validate_model
from .errors import RenderError
from .yamlsource import load_yaml

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MM_PER_PT = 25.4 / 72


def mm_to_pt(mm: float) -> float:
    return mm / MM_PER_PT


def pt_to_mm(pt: float) -> float:
    return pt * MM_PER_PT


def mm_to_twips(mm: float) -> int:
    """Word's twentieths of a point (dxa)."""
    return round(mm_to_pt(mm) * 20)


NARROW = frozenset(".,:;!|'il")


def char_width(ch: str) -> float:
    """Width in body characters: half-width digits, Latin letters and signs count half, the
    narrowest signs (a full stop in 14.4) less."""
    if ch in NARROW:
        return 0.3
    return 0.5 if ord(ch) < 0x2000 else 1.0


def text_width_em(text: str) -> float:
    """Width of a text in body characters (``char_width``)."""
    return sum(char_width(ch) for ch in text)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(_M):
    width: float
    height: float


class Margins(_M):
    top: float
    left: float
    right: float
    bottom: float


class Grid(_M):
    lines: int
    chars: int


class Sizes(_M):
    body: float
    title: float
    masthead: float
    letter_masthead: float
    imprint: float
    page_number: float
    table: float
    table_head: float


class TableCells(_M):
    line_height: float
    padding_x: float
    padding_y: float


class Positions(_M):
    masthead_top: float
    docnum_rule_gap: float
    page_number_gap: float
    letter_masthead_top: float
    letter_rule_gap: float
    letter_lower_rule: float
    letter_rule_length: float


class Rules(_M):
    red: float
    letter_thick: float
    letter_thin: float
    letter_gap: float
    imprint_thick: float
    imprint_thin: float
    table: float


class Colors(_M):
    red: str
    black: str


class Face(_M):
    docx: str
    pdf: str
    label: str


class Layout(_M):
    page: Page
    margins: Margins
    landscape_margins: Margins
    grid: Grid
    sizes_pt: Sizes
    masthead_scale_x: float
    table: TableCells
    positions: Positions
    rules_pt: Rules
    colors: Colors
    fonts: dict[str, Face]
    latin_font: str
    font_dirs: list[str]
    font_package: str

    # --- derived: the 22 × 28 grid -----------------------------------------------------
    @property
    def text_width(self) -> float:
        return self.page.width - self.margins.left - self.margins.right

    @property
    def text_height(self) -> float:
        return self.page.height - self.margins.top - self.margins.bottom

    @property
    def line_pitch_pt(self) -> float:
        """225 mm / 22 lines ≈ 28.95 pt (§5.2.2), rounded down to a whole twip (1/20 pt, what
        a DOCX can say), never up: 22 lines must fit the 版心, not 21."""
        return math.floor(mm_to_pt(self.text_height) / self.grid.lines * 20) / 20

    @property
    def char_pitch_pt(self) -> float:
        """156 mm / 28 characters ≈ 15.79 pt (§5.2.2)."""
        return mm_to_pt(self.text_width) / self.grid.chars

    @property
    def letter_spacing_pt(self) -> float:
        """Tightening that sets 28 body characters on a line (a hair under, so the 28th fits)."""
        return round(self.char_pitch_pt - self.sizes_pt.body - 0.01, 3)



@functools.lru_cache(maxsize=None)
def template_cache():
    """Jinja2's own cache of compiled templates, in the system temp folder (a folder of this
    user's alone, mode 0700, as Jinja makes and checks it): a process loads the templates
    compiled instead of compiling them (about 0.05 s CPU each, as Python's __pycache__ does for
    modules); a template changed since is compiled again (the cache is keyed by its source).
    None where no such folder can be had; a cache that cannot be written is done without."""
    import jinja2

    class Cache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

    try:
        return Cache()
    except (RuntimeError, OSError):
        return None

@functools.lru_cache(maxsize=None)
def load_layout(path: Path = TEMPLATES / "layout.yaml") -> Layout:
    return validate_model(Layout, load_yaml(path))


def _font_dirs(layout: Layout) -> list[Path]:
    extra = os.environ.get("GONGWEN_FONT_DIR")
    dirs = [Path(extra)] if extra else []
    return dirs + [Path(d).expanduser() for d in layout.font_dirs]


def font_paths(layout: Layout) -> dict[str, Path]:
    """Every PDF face, found on disk; a missing one is an error that says how to install it."""
    found, missing = {}, []
    dirs = _font_dirs(layout)
    for role, face in layout.fonts.items():
        path = next((d / face.pdf for d in dirs if (d / face.pdf).is_file()), None)
        if path is None:
            missing.append(f"{face.pdf}（{face.label}）")
        else:
            found[role] = path
    if missing:
        raise RenderError(
            f"缺少字体文件：{'、'.join(missing)}。请运行 make setup，"
            f"或执行 apt-get install {layout.font_package}；"
            f"字体放在其他目录时，请设置环境变量 GONGWEN_FONT_DIR 指向该目录。")
    return found
