"""The writers' start-up shortcuts give the same bytes as the long way round.

- The OFD writer reads its faces' character maps with HarfBuzz: the same maps as fontTools'
  ``getBestCmap``.
- A face is subset as it is until it has been subset a number of times, then preprocessed for
  subsetting (ofd_fonts.PREPROCESS_AFTER): a subset is the same file before and after.
"""

from __future__ import annotations

import io
import random

import pytest
from fontTools.ttLib import TTFont

from pipeline.layout import font_paths, load_layout
from pipeline.writers import ofd_fonts

FONTS = font_paths(load_layout())


@pytest.mark.parametrize("role", sorted(FONTS))
def test_character_map_is_fonttools_best_cmap(role):
    source = FONTS[role]
    font = TTFont(source, lazy=True)
    order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    expected = {code: order[name] for code, name in font.getBestCmap().items()}
    found = ofd_fonts.character_map(source)
    assert len(found) > 7000  # (a CJK face: GB 2312 and more)
    assert found == expected
    # and of the TrueType conversion the OFD embeds (the same cmap, the same glyph order)
    assert ofd_fonts.character_map(ofd_fonts.truetype_path(source)) == expected


def test_character_map_of_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(OSError):
        ofd_fonts.character_map(tmp_path / "absent.ttf")


def _subsets(cmap: dict[int, int], glyph_count: int, seed: int) -> list[tuple[set, set]]:
    """Subset requests as the OFD writer makes them: characters of the face with their glyphs
    (a document's texts), sometimes glyphs without characters (a form's rules' faces), one empty."""
    rng = random.Random(seed)
    codes = sorted(cmap)
    asked = [(set(), {0})]
    for n in (1, 3, 12, 40, 150, 400, 1200):
        unicodes = set(rng.sample(codes, n))
        glyphs = {cmap[code] for code in unicodes}
        if n % 2:
            glyphs |= set(rng.sample(range(1, glyph_count), 3))
        asked.append((unicodes, glyphs))
    return asked


@pytest.mark.parametrize("role", sorted(FONTS))
def test_subset_is_the_same_before_and_after_preprocessing(role):
    source = FONTS[role]
    path = ofd_fonts.truetype_path(source)
    cmap = ofd_fonts.character_map(path)
    asked = _subsets(cmap, max(cmap.values()) + 1, seed=len(role))
    plain = ofd_fonts.Face(path, preprocess_after=10 ** 9)
    ready = ofd_fonts.Face(path, preprocess_after=0)
    switching = ofd_fonts.Face(path, preprocess_after=3)
    states = []
    for unicodes, glyphs in asked:
        a = plain.subset(unicodes, glyphs)
        b = ready.subset(unicodes, glyphs)
        c = switching.subset(unicodes, glyphs)
        states.append(switching.preprocessed)
        assert a == b == c, (role, len(unicodes), len(glyphs))
        assert unicodes <= set(TTFont(io.BytesIO(a))["cmap"].getBestCmap() or ())
    assert not plain.preprocessed and ready.preprocessed
    assert states == [False] * 3 + [True] * (len(asked) - 3)  # preprocessed at its 4th subset
