"""Fonts of the report figures: CJK fallback fonts, glyph checks and stand-in labels.

matplotlib's default font, DejaVu Sans, has no CJK glyphs, so a class named 正面
would be drawn as empty boxes. Since matplotlib 3.6 a `font.family` list is a
per-glyph fallback chain, so adding any installed CJK font to that list is enough.
When no font in the list can draw a label, the figures use stand-ins such as
`class 0`, and the report prints a key from stand-in to label.
"""

import functools
import logging

import matplotlib
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

logger = logging.getLogger(__name__)

# Fonts with CJK glyphs, in order of preference, as matplotlib names them.
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Arial Unicode MS",
)
FONT_PACKAGE_HINT = "install a CJK font, e.g. Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)"
# Line breaks are layout, not glyphs, so they never count as missing.
_LAYOUT_CHARACTERS = frozenset("\n\r")


def installed_cjk_families():
    """Return the families of `CJK_FONT_FAMILIES` that matplotlib can find, in preference order."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [family for family in CJK_FONT_FAMILIES if family in installed]


def font_families():
    """Return the figure font fallback list: the current `font.family`, then the installed CJK fonts."""
    families = list(matplotlib.rcParams["font.family"])
    return families + [family for family in installed_cjk_families() if family not in families]


def with_fallback_fonts(function):
    """Decorate a figure function so that it draws with `font_families()` as `font.family`.

    The setting lasts only for the call, so the caller's rcParams stay as they were.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context({"font.family": font_families()}):
            return function(*args, **kwargs)

    return wrapper


def missing_characters(text, families=None):
    """List the characters of `text` that no font of `families` can draw.

    A family is resolved to a font file as matplotlib resolves it, and families that
    are not installed are skipped. When none is installed, matplotlib's default
    family is used, as matplotlib itself does.

    Args:
        text: str.
        families: list of str, or None for `font_families()`.

    Returns:
        list of str: the missing characters, each once, in order of appearance.
    """
    charmaps = [_charmap(path) for path in _font_paths(tuple(families or font_families()))]
    missing = []
    for character in str(text):
        if character in _LAYOUT_CHARACTERS or character in missing:
            continue
        if not any(ord(character) in charmap for charmap in charmaps):
            missing.append(character)
    return missing


def can_draw(text, families=None):
    """Return True when every character of `text` has a glyph in one of `families`."""
    return not missing_characters(text, families)


def label_stand_ins(labels, families=None):
    """Map each label that the figure fonts cannot draw to a stand-in `class <index>`.

    When a stand-in would read like another, drawable label, every label gets its
    stand-in, so that no two ticks of a figure read the same.

    Args:
        labels: sequence of label names in class-index order.
        families: list of str, or None for `font_families()`.

    Returns:
        dict from label to stand-in, in class-index order. It is empty when every
        label can be drawn.
    """
    labels = [str(name) for name in labels]
    stand_ins = {name: f"class {index}" for index, name in enumerate(labels) if not can_draw(name, families)}
    if not stand_ins:
        return {}
    kept = {name for name in labels if name not in stand_ins}
    if kept & set(stand_ins.values()):
        return {name: f"class {index}" for index, name in enumerate(labels)}
    return stand_ins


def figure_labels(labels, families=None):
    """Return the labels as the figures show them: stand-ins for those that cannot be drawn."""
    stand_ins = label_stand_ins(labels, families)
    return [stand_ins.get(str(name), str(name)) for name in labels]


def warn_about_stand_ins(labels, families=None):
    """Log one warning naming the characters that no figure font can draw, if there are any.

    Args:
        labels: iterable of label names, of one or several runs.
        families: list of str, or None for `font_families()`.

    Returns:
        list of str: the missing characters.
    """
    missing = []
    for name in labels:
        missing += [character for character in missing_characters(name, families) if character not in missing]
    if missing:
        logger.warning(
            "The report figures show class labels as stand-ins (class 0, class 1, ...) because no installed "
            "font can draw %s; the report lists each stand-in with its label. To draw the labels, %s.",
            " ".join(missing),
            FONT_PACKAGE_HINT,
        )
    return missing


def _font_paths(families):
    paths = []
    for family in families:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False)
        except ValueError:
            continue
        if path not in paths:
            paths.append(path)
    if not paths:
        paths.append(font_manager.findfont(font_manager.FontProperties(family=["DejaVu Sans"])))
    return paths


@functools.lru_cache(maxsize=32)
def _charmap(path):
    # From matplotlib 3.11 `findfont` returns a `FontPath` with the face index of a
    # .ttc collection; older versions return a plain path to face 0.
    face_index = getattr(path, "face_index", 0)
    font = FT2Font(str(path), face_index=face_index) if face_index else FT2Font(str(path))
    return frozenset(font.get_charmap())
