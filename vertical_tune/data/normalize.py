"""Text normalization applied before tokenization and to every text the product writes out.

Profiles:

- `none`: the text is returned unchanged.
- `general`: HTML entities that end in ";" are unescaped and the text is put in
  Unicode NFKC form. Curly quotes become straight ones, "…" becomes "..." and
  invisible characters are removed. Every run of whitespace (typographic spaces,
  tabs, CR, LF) becomes one space, and the ends are stripped.
- `finance`: the same steps as `general`. None of them changes cashtags (`$BRK.B`),
  numbers with thousands separators, percentages or currency amounts (`€300m`),
  and the tests check that.
- `medical`: `general`, then e-mail addresses, phone numbers, dates and
  record-number-like IDs are replaced by the tokens in `MASK_TOKENS`. The rules
  match written formats only and leave names and street addresses in place, so
  this is not full de-identification.

With `mask_urls`, every profile except `none` replaces URLs by `[URL]`.

Example:

>>> normalizer = TextNormalizer("medical")
>>> normalizer("Seen\u00a0on 4 March 2021, MRN: 12345678 &amp; call 555-123-4567")
'Seen on [DATE], MRN: [ID] & call [PHONE]'
"""

import html
import re
import unicodedata

from vertical_tune.errors import ConfigError, DataError, format_error

PROFILES = ("none", "general", "finance", "medical")

URL_TOKEN = "[URL]"
EMAIL_TOKEN = "[EMAIL]"
PHONE_TOKEN = "[PHONE]"
DATE_TOKEN = "[DATE]"
ID_TOKEN = "[ID]"
# Every placeholder a normalizer can write, e.g. to register them as tokenizer special tokens.
MASK_TOKENS = (URL_TOKEN, EMAIL_TOKEN, PHONE_TOKEN, DATE_TOKEN, ID_TOKEN)

# --- general clean-up -------------------------------------------------------------

# An HTML character reference that ends in ";" (`&amp;`, `&#39;`, `&#x27;`).
# html.unescape alone would also decode legacy names without ";", so "&notice" would become "¬ice".
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# Curly quotes to straight ones, the ellipsis to three dots, invisible characters removed.
# ZWNJ and ZWJ (U+200C, U+200D) are kept because they change spelling in Persian and
# Indic scripts and join emoji sequences.
_TYPOGRAPHY_TABLE = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, the typographic apostrophe
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2026": "...",  # horizontal ellipsis (NFKC already expands it)
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u2060": None,  # word joiner
        "\ufeff": None,  # zero-width no-break space, also the byte order mark
    }
)

# Any run of Unicode whitespace: spaces of every width, tabs, CR, LF, line separators.
_WHITESPACE = re.compile(r"\s+")

# An http(s) or www URL. Its last character is not punctuation, so "(see www.x.org)." keeps ")."
_URL = re.compile(
    r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"]*[A-Za-z0-9/=#&%~+_-]", re.ASCII | re.IGNORECASE
)

# --- medical masking ----------------------------------------------------------------
# These patterns use re.ASCII, so \w, \d and \b see only ASCII. That lets a number
# right after a Han character ("病历号12345678") still start at a word boundary.

# Number boundaries: not inside a word, a decimal number or a longer number.
_START = r"(?<![\w.])"
_END = r"(?!\w|[.,][0-9])"

_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:18|19|20)[0-9]{2}"
_ORDINAL = r"(?:st|nd|rd|th)?"
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec")


def _title_and_upper(names):
    forms = {form for name in names for form in (name, name.upper())}
    return "|".join(sorted(forms, key=len, reverse=True))


# A month name in title case or upper case. Only an abbreviation takes a trailing "."
# ("Mar."), so the full stop after "4 March." stays. Lower case is left out on purpose,
# so "may", "mar" and "dec" in running text are not taken for months.
_MONTH = rf"(?:(?:{_title_and_upper(_MONTH_NAMES)})\b|(?:{_title_and_upper(_MONTH_ABBREVIATIONS)})\b\.?)"


def _compile(pattern, flags=0):
    return re.compile(pattern, re.ASCII | flags)


# An e-mail address: jane.doe+clinic@example.co.uk. The lookbehind starts a match only at
# the start of a run of address characters, which keeps long runs without "@" linear.
_EMAIL = _compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# A year-first numeric date: 2021-03-04, 2021/3/4, 2021.03.04
_DATE_YEAR_FIRST = _compile(rf"{_START}{_YEAR}(?P<sep>[-/.]){_MONTH_NUMBER}(?P=sep){_DAY}{_END}")

# A day-or-month-first numeric date with a 4-digit year (03/04/2021, 04.03.2021, 04-03-2021),
# or with a 2-digit year and "/" only (3/4/21)
_DATE_NUMERIC = _compile(
    rf"{_START}{_DAY}(?:(?P<sep>[-/.]){_DAY}(?P=sep){_YEAR}|/{_DAY}/[0-9]{{2}}){_END}"
)

# A day before a month name: 4 March 2021, 4th of March, 04-MAR-2021, 4 Mar.
_DATE_DAY_MONTH = _compile(rf"{_START}{_DAY}{_ORDINAL}(?: of)?[ -]{_MONTH}(?:,?[ -]{_YEAR})?{_END}")

# A month name before a day: March 4, 2021 or March 4th or Mar 4
_DATE_MONTH_DAY = _compile(rf"{_START}{_MONTH} {_DAY}{_ORDINAL}(?:,? {_YEAR})?{_END}")

# A month name and a year: March 2021, Mar. 2021
_DATE_MONTH_YEAR = _compile(rf"{_START}{_MONTH},? {_YEAR}{_END}")

# A labelled record number, keeping the label: "MRN: 12345678", "patient ID A12-345678",
# "SSN 123-45-6789". The value needs at least 4 digits or hyphens, starting and ending
# with a digit, so "patient number 3" is kept.
_ID_LABELLED = _compile(
    r"\b(?P<label>MRN|SSN|medical record (?:number|no\.?)"
    r"|(?:patient|subject|hospital|member|case|record|chart|account|NHS) (?:ID|number|no\.?)"
    r"|ID(?= ?[:#]))"
    r"(?P<sep> ?[:#]? ?)"
    r"(?P<value>(?:[A-Z]{1,3}-?)?[0-9][0-9-]{2,}[0-9][A-Z]?)\b",
    re.IGNORECASE,
)

# "#" and 5 or more digits: #00123456
_ID_HASH = _compile(rf"(?<![\w&#])#[0-9]{{5,}}{_END}")

# A US social security number: 123-45-6789
_ID_SSN = _compile(rf"{_START}[0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}}{_END}")

# An international number with 8 or more digits: +1 (555) 123-4567, +44 20 7946 0958, +33 1 23 45 67 89
_PHONE_INTERNATIONAL = _compile(
    r"(?<![\w.+])\+(?=(?:[ ()-]*[0-9]){8})"
    r"[0-9]{1,3}(?:[ -]?\([0-9]{1,4}\))?[ -]?[0-9]{1,4}(?:[ -]?[0-9]{2,4}){1,5}(?![0-9])"
)

# A North American number: 555-123-4567, (555) 123-4567, 555.123.4567, 1-555-123-4567
_PHONE_US = _compile(
    rf"{_START}(?:1[ .-])?"
    r"(?:\([0-9]{3}\) ?[0-9]{3}[ .-]|[0-9]{3}(?P<sep>[ .-])[0-9]{3}(?P=sep))"
    rf"[0-9]{{4}}{_END}"
)

# A national number with a leading 0, in UK, German and French groupings:
# 020 7946 0958, 0161 496 0000, 07700 900123, 030 12345678, 01 23 45 67 89.
# Times such as "0800 1200 1600" fit none of these groupings.
_PHONE_NATIONAL = _compile(
    rf"{_START}(?:0[0-9]{{2}}[ -][0-9]{{4}}[ -][0-9]{{4}}"
    r"|0[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}"
    r"|0[0-9]{2,4}[ -][0-9]{5,8}"
    rf"|0[0-9](?:[ .-][0-9]{{2}}){{4}}){_END}"
)

# A run of 7 or more digits that is not part of a word, so "rs12345678" (a SNP id) is kept.
# NOTE: non-personal numbers such as PubMed IDs and genomic positions are masked too.
_ID_DIGIT_RUN = _compile(rf"{_START}[0-9]{{7,}}{_END}")

# A character that every medical rule needs. Texts without one skip the rules.
_MEDICAL_TRIGGER = _compile(r"[0-9@]")

# The rules run in this order. E-mail addresses go first because they may contain
# digits. Dates go before IDs and phone numbers, so a date is replaced whole before
# a number rule can match it, as the international phone rule would match "+12-03-2008".
_MEDICAL_RULES = (
    (_EMAIL, EMAIL_TOKEN),
    (_DATE_YEAR_FIRST, DATE_TOKEN),
    (_DATE_NUMERIC, DATE_TOKEN),
    (_DATE_DAY_MONTH, DATE_TOKEN),
    (_DATE_MONTH_DAY, DATE_TOKEN),
    (_DATE_MONTH_YEAR, DATE_TOKEN),
    (_ID_LABELLED, rf"\g<label>\g<sep>{ID_TOKEN}"),
    (_ID_HASH, ID_TOKEN),
    (_ID_SSN, ID_TOKEN),
    (_PHONE_INTERNATIONAL, PHONE_TOKEN),
    (_PHONE_US, PHONE_TOKEN),
    (_PHONE_NATIONAL, PHONE_TOKEN),
    (_ID_DIGIT_RUN, ID_TOKEN),
)


def _unescape_entity(match):
    return html.unescape(match.group(0))


def _clean_typography(text):
    """Apply the `general` steps: entities, NFKC, quotes, invisible characters, whitespace."""
    # Entities first, so that `&nbsp;` and `&#8217;` go through the steps below.
    text = _HTML_ENTITY.sub(_unescape_entity, text)
    # NOTE: NFKC also folds superscripts and fractions, so "10⁹/L" becomes "109/L" and "½" becomes "1⁄2".
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_TYPOGRAPHY_TABLE)
    return _WHITESPACE.sub(" ", text).strip()


def _mask_urls(text):
    return _URL.sub(URL_TOKEN, text)


def _mask_identifiers(text):
    """Replace e-mail addresses, dates, IDs and phone numbers by placeholder tokens.

    The rules match written formats only. Names, street addresses and IDs without a
    label and with fewer than 7 digits are not found, so the output is not fully de-identified.
    """
    if not _MEDICAL_TRIGGER.search(text):
        return text
    for pattern, replacement in _MEDICAL_RULES:
        text = pattern.sub(replacement, text)
    return text


def _select_steps(profile, mask_urls):
    if profile == "none":
        return ()
    steps = [_clean_typography]
    if mask_urls:
        # URLs go before the medical rules, which would otherwise mask digits inside them.
        steps.append(_mask_urls)
    if profile == "medical":
        steps.append(_mask_identifiers)
    return tuple(steps)


def _check_text(text, where):
    if not isinstance(text, str):
        raise DataError(
            format_error(
                f"Text to normalize is a {type(text).__name__}, not a string.",
                where=where,
                received=text,
                expected="str",
                fix="Fill or drop missing values in the text column, or convert it with `.astype(str)`.",
            )
        )


class TextNormalizer:
    """Callable that normalizes one text, or a list with `normalize_all`.

    Args:
        profile: str. One of `PROFILES`: "none", "general", "finance" or "medical".
            Defaults to "general".
        mask_urls: bool. Replace http(s) and www URLs by `[URL]`. The "none"
            profile ignores it. Defaults to `False`.

    Example:

    >>> TextNormalizer("general")("\u201cGood\u201d  value\u2026")
    '"Good" value...'
    """

    def __init__(self, profile="general", mask_urls=False):
        if profile not in PROFILES:
            raise ConfigError(
                format_error(
                    "Unknown normalization profile.",
                    where="normalization.profile",
                    received=profile,
                    expected=", ".join(PROFILES),
                    fix="Set `normalization.profile` to one of the expected values.",
                )
            )
        self._profile = profile
        self._mask_urls = bool(mask_urls)
        self._steps = _select_steps(profile, self._mask_urls)

    @property
    def profile(self):
        """Name of the profile, one of `PROFILES`."""
        return self._profile

    @property
    def mask_urls(self):
        """Whether URLs are replaced by `[URL]`."""
        return self._mask_urls

    def __call__(self, text):
        _check_text(text, where="text")
        return self._apply(text)

    def normalize_all(self, texts):
        """Normalize every text of an iterable and return them as a new list.

        Raises:
            DataError: `texts` is a single string, or one of its items is not a
                string. The message gives the item's index.
        """
        if isinstance(texts, str):
            raise DataError(
                format_error(
                    "normalize_all expects a list of texts, not one string.",
                    received=texts[:80],
                    fix="Call the normalizer on a single text, or pass a list of strings.",
                )
            )
        normalized = []
        for index, text in enumerate(texts):
            _check_text(text, where=f"text at index {index}")
            normalized.append(self._apply(text))
        return normalized

    def _apply(self, text):
        for step in self._steps:
            text = step(text)
        return text

    def __repr__(self):
        return f"TextNormalizer(profile={self._profile!r}, mask_urls={self._mask_urls!r})"


def build_normalizer(config):
    """Create the `TextNormalizer` that a `NormalizationConfig` describes.

    Args:
        config: `NormalizationConfig`. The `normalization` section of the run config.
    """
    return TextNormalizer(profile=config.profile, mask_urls=config.mask_urls)
