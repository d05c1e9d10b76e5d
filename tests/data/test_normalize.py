import pickle
import time
import unicodedata

import pytest

from vertical_tune.config.schema import NormalizationConfig
from vertical_tune.data.normalize import (
    MASK_TOKENS,
    PROFILES,
    TextNormalizer,
    build_normalizer,
)
from vertical_tune.errors import ConfigError, DataError

CHINESE_REVIEW = "房间很干净，服务也很好！早餐种类丰富，离地铁站很近。"

# Text that every profile except "none" changes.
MESSY_TEXT = (
    "\ufeff  \u201cGreat\u201d\u00a0stay\u2026 it\u2019s &amp; &quot;fine&quot;\r\n"
    "\tsee https://example.com/a or mail jane@example.com on 2021-03-04\u200b  "
)

FINANCE_TEXTS = [
    "$AAPL rose 3.5% to $182.40",
    "$BRK.B and $BRK.A closed higher",
    "Revenue of $5.2B beat estimates",
    "a €300m buyback",
    "£1,200 per share",
    "¥1,000 or ¥ 1,000",
    "₹2,500 crore and CHF 1'250",
    "Net debt 1,234,567.89 vs 1.234.567,89",
    "EPS -0.42, margin -2.5%, loss (1,200)",
    "S&P 500 and M&A and AT&T",
    "Q3 FY2024 guidance: +12% YoY",
    "10-K filed 2024-02-15, call 555-123-4567",
]

MEDICAL_MASKED = [
    # E-mail addresses
    ("mail jane.doe@clinic.org now", "mail [EMAIL] now"),
    ("j.smith+ref@nhs.co.uk.", "[EMAIL]."),
    # Phone numbers
    ("call +1 (555) 123-4567", "call [PHONE]"),
    ("call 555-123-4567 today", "call [PHONE] today"),
    ("tel 020 7946 0958", "tel [PHONE]"),
    ("(555) 123-4567", "[PHONE]"),
    ("555.123.4567", "[PHONE]"),
    ("1-555-123-4567", "[PHONE]"),
    ("+44 20 7946 0958", "[PHONE]"),
    ("+33 1 23 45 67 89", "[PHONE]"),
    ("+4915123456789", "[PHONE]"),
    ("07700 900123", "[PHONE]"),
    ("0161 496 0000", "[PHONE]"),
    ("030 12345678", "[PHONE]"),
    # Dates
    ("seen 2021-03-04", "seen [DATE]"),
    ("seen 03/04/2021", "seen [DATE]"),
    ("seen 4 March 2021", "seen [DATE]"),
    ("seen March 4, 2021", "seen [DATE]"),
    ("seen 04.03.2021", "seen [DATE]"),
    ("seen 04-03-2021", "seen [DATE]"),
    ("seen 2021/3/4", "seen [DATE]"),
    ("seen 3/4/21", "seen [DATE]"),
    ("seen 04-MAR-2021", "seen [DATE]"),
    ("seen 4th of March 2021", "seen [DATE]"),
    ("seen 4 Mar. 2021", "seen [DATE]"),
    ("seen on March 4th.", "seen on [DATE]."),
    ("seen on 4 March.", "seen on [DATE]."),
    ("admitted March 2021", "admitted [DATE]"),
    # Record-number-like IDs, with the label kept
    ("MRN: 12345678", "MRN: [ID]"),
    ("MRN 1234567", "MRN [ID]"),
    ("mrn#1234567", "mrn#[ID]"),
    ("patient ID A12-345678", "patient ID [ID]"),
    ("medical record number 8765432", "medical record number [ID]"),
    ("ID: 98765", "ID: [ID]"),
    ("chart #00123456", "chart [ID]"),
    ("ref 12345678 on file", "ref [ID] on file"),
    ("SSN 123-45-6789", "SSN [ID]"),
    ("123-45-6789", "[ID]"),
    ("病历号12345678", "病历号[ID]"),
]

MEDICAL_KEPT = [
    "39 +/- 5.3 yr",
    "p < 0.05",
    "10 mg/kg",
    "n = 120",
    "95% CI 1.2-3.4",
    "born in 1998",
    "for 2 weeks",
    "HbA1c 7.2%",
    "BP 120/80 mmHg",
    "20/20 vision",
    "1,234,567 cells",
    "0.12345678 ratio",
    "variant rs12345678",
    "doses at 0800 1200 1600",
    "in March",
    "patient number 3",
    "symptoms may 5 times",
    "aged 45-65 years",
    "cohort 2015-2019",
    "IL-6 12.5 pg/mL",
    "range 12.5-14.5",
    "+0.5 kg in 2 weeks",
    "3-4 times daily",
    "ID consult requested",
]


@pytest.fixture
def medical():
    return TextNormalizer("medical")


# --- construction -----------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mask_urls", [False, True])
def test_build_normalizer_from_config(profile, mask_urls):
    config = NormalizationConfig(profile=profile, mask_urls=mask_urls)

    normalizer = build_normalizer(config)

    assert isinstance(normalizer, TextNormalizer)
    assert normalizer.profile == profile
    assert normalizer.mask_urls is mask_urls


def test_build_normalizer_default_config():
    normalizer = build_normalizer(NormalizationConfig())

    assert normalizer.profile == "general"
    assert normalizer.mask_urls is False


def test_unknown_profile_raises_config_error():
    with pytest.raises(ConfigError) as error:
        TextNormalizer("legal")

    message = str(error.value)
    assert "Unknown normalization profile." in message
    assert "Received: 'legal'" in message
    assert "none, general, finance, medical" in message
    assert "normalization.profile" in message


def test_profile_attribute_read_only():
    normalizer = TextNormalizer("finance")

    with pytest.raises(AttributeError):
        normalizer.profile = "medical"

    assert normalizer.profile == "finance"


def test_repr_shows_settings():
    normalizer = TextNormalizer("medical", mask_urls=True)

    assert repr(normalizer) == "TextNormalizer(profile='medical', mask_urls=True)"


@pytest.mark.parametrize("profile", PROFILES)
def test_normalizer_pickle_round_trip(profile):
    normalizer = TextNormalizer(profile, mask_urls=True)

    restored = pickle.loads(pickle.dumps(normalizer))

    assert restored.profile == profile
    assert restored(MESSY_TEXT) == normalizer(MESSY_TEXT)


# --- none -------------------------------------------------------------------------


@pytest.mark.parametrize("mask_urls", [False, True])
def test_none_profile_returns_text_unchanged(mask_urls):
    normalizer = TextNormalizer("none", mask_urls=mask_urls)

    assert normalizer(MESSY_TEXT) == MESSY_TEXT
    assert normalizer("MRN: 12345678") == "MRN: 12345678"
    assert normalizer.normalize_all([MESSY_TEXT, ""]) == [MESSY_TEXT, ""]


# --- general ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("ﬁnance", "finance"),
        ("Ⅻ", "XII"),
        ("＄５", "$5"),
        ("café", "café"),  # "e" + combining acute accent, composed by NFKC
    ],
)
def test_general_applies_nfkc(text, expected):
    assert TextNormalizer("general")(text) == expected


@pytest.mark.parametrize(
    "space",
    ["\u00a0", "\u2007", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\u2028", "\t", "\r\n", "\n\n"],
)
def test_general_replaces_typographic_spaces(space):
    assert TextNormalizer("general")(f"net{space}profit") == "net profit"


def test_general_collapses_whitespace_and_strips():
    normalizer = TextNormalizer("general")

    assert normalizer("  two   spaces\r\n\r\nand\tlines \n") == "two spaces and lines"
    assert normalizer(" \n\t ") == ""
    assert normalizer("") == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("wait\u2026", "wait..."),
        ("\u201cquoted\u201d", '"quoted"'),
        ("\u201elow\u201f", '"low"'),
        ("it\u2019s", "it's"),
        ("\u2018single\u2019", "'single'"),
        ("\u201aquote\u201b", "'quote'"),
    ],
)
def test_general_straightens_quotes_and_ellipsis(text, expected):
    assert TextNormalizer("general")(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("it&#39;s", "it's"),
        ("&quot;fine&quot;", '"fine"'),
        ("R&amp;D", "R&D"),
        ("net&nbsp;profit", "net profit"),
        ("wait&hellip;", "wait..."),
        ("it&#x27;s", "it's"),
        ("&#8220;ok&#8221;", '"ok"'),
        ("&lt;b&gt;", "<b>"),
    ],
)
def test_general_unescapes_html_entities(text, expected):
    assert TextNormalizer("general")(text) == expected


@pytest.mark.parametrize("text", ["S&P 500", "AT&T", "Q&A", "&notice", "rates&times", "&P500;", "a & b"])
def test_general_keeps_ampersands_outside_entities(text):
    assert TextNormalizer("general")(text) == text


@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff", "\u00ad"])
def test_general_removes_invisible_characters(invisible):
    assert TextNormalizer("general")(f"pay{invisible}ment") == "payment"


@pytest.mark.parametrize(
    "text",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian word spelled with ZWNJ
        "\U0001f469\u200d\U0001f4bb",  # emoji sequence joined by ZWJ
    ],
)
def test_general_keeps_zwnj_and_zwj(text):
    assert TextNormalizer("general")(text) == text


def test_general_keeps_chinese_review():
    result = TextNormalizer("general")(CHINESE_REVIEW)

    assert result == unicodedata.normalize("NFKC", CHINESE_REVIEW)
    assert [char for char in result if "\u4e00" <= char <= "\u9fff"] == [
        char for char in CHINESE_REVIEW if "\u4e00" <= char <= "\u9fff"
    ]
    # NFKC maps full-width punctuation to ASCII.
    assert result.startswith("房间很干净,服务也很好!")


def test_general_chinese_review_with_spacing():
    text = "  房间很干净，\n服务也很好！\u3000推荐  "

    assert TextNormalizer("general")(text) == "房间很干净, 服务也很好! 推荐"


@pytest.mark.parametrize(
    "text",
    ["Привет, мир", "こんにちは世界", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "안녕하세요"],
)
def test_general_keeps_non_latin_scripts(text):
    assert TextNormalizer("general")(text) == unicodedata.normalize("NFKC", text)


def test_general_does_not_mask():
    text = "mail jane@example.com, call 555-123-4567 on 2021-03-04, MRN 12345678, https://example.com"

    assert TextNormalizer("general")(text) == text


# --- finance ----------------------------------------------------------------------


@pytest.mark.parametrize("text", FINANCE_TEXTS)
def test_finance_keeps_text_exactly(text):
    assert TextNormalizer("finance")(text) == text


@pytest.mark.parametrize("text", FINANCE_TEXTS)
def test_finance_mask_urls_keeps_text(text):
    assert TextNormalizer("finance", mask_urls=True)(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("&euro;300m", "€300m"),
        ("&pound;1,200", "£1,200"),
        ("&yen;1,000", "¥1,000"),
        ("$5.2B&nbsp;revenue", "$5.2B revenue"),
        ("＄AAPL ＋３．５％", "$AAPL +3.5%"),
        ("￥1,000", "¥1,000"),
        ("$BRK.B\u00a0up\u20091.2%", "$BRK.B up 1.2%"),
    ],
)
def test_finance_normalizes_around_amounts(text, expected):
    assert TextNormalizer("finance")(text) == expected


def test_finance_applies_general_steps():
    finance = TextNormalizer("finance")
    general = TextNormalizer("general")

    assert finance(MESSY_TEXT) == general(MESSY_TEXT)
    assert finance(CHINESE_REVIEW) == general(CHINESE_REVIEW)


# --- medical ----------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", MEDICAL_MASKED)
def test_medical_masks_identifier(medical, text, expected):
    assert medical(text) == expected


@pytest.mark.parametrize("text", MEDICAL_KEPT)
def test_medical_keeps_clinical_numbers(medical, text):
    assert medical(text) == text


def test_medical_masks_full_note(medical):
    note = (
        "Pt seen 4 March 2021, MRN: 12345678. DOB 03/04/1961.\n"
        "Contact jane.doe@clinic.org or +1 (555) 123-4567.\n"
        "HbA1c 7.2%, BP 120/80, 10 mg/kg for 2 weeks (p < 0.05)."
    )

    assert medical(note) == (
        "Pt seen [DATE], MRN: [ID]. DOB [DATE]. "
        "Contact [EMAIL] or [PHONE]. "
        "HbA1c 7.2%, BP 120/80, 10 mg/kg for 2 weeks (p < 0.05)."
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("on 2021-03-04 call 555-123-4567", "on [DATE] call [PHONE]"),
        ("on 04.03.2021 call 020 7946 0958", "on [DATE] call [PHONE]"),
        ("04-03-2021 555-123-4567", "[DATE] [PHONE]"),
        ("MRN 1234567 seen 12/31/2020", "MRN [ID] seen [DATE]"),
        ("compact 20210304", "compact [ID]"),
        # The international phone rule would match "+12-03-2008" if it ran before the date rules.
        ("ref +12-03-2008", "ref +[DATE]"),
    ],
)
def test_medical_dates_stay_whole(medical, text, expected):
    assert medical(text) == expected


def test_medical_masks_after_general_steps(medical):
    text = "Seen&nbsp;on 4\u00a0March\u00a02021, call +1\u00a0(555)\n123-4567\u2026"

    assert medical(text) == "Seen on [DATE], call [PHONE]..."


def test_medical_keeps_text_without_identifiers(medical):
    assert medical(CHINESE_REVIEW) == TextNormalizer("general")(CHINESE_REVIEW)
    assert medical("no numbers here") == "no numbers here"


def test_medical_masks_digits_inside_urls(medical):
    assert medical("see https://ehr.example.org/p/12345678") == "see https://ehr.example.org/p/[ID]"


# --- mask_urls --------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["general", "finance", "medical"])
@pytest.mark.parametrize(
    "text, expected",
    [
        ("see https://example.com/a?b=1&c=2 now", "see [URL] now"),
        ("see http://example.com.", "see [URL]."),
        ("(www.example.org/page)", "([URL])"),
        ("HTTPS://EXAMPLE.COM/X", "[URL]"),
        ('"https://example.com/q",', '"[URL]",'),
        ("访问www.example.com了解", "访问[URL]了解"),
        ("record https://ehr.example.org/p/12345678", "record [URL]"),
    ],
)
def test_mask_urls_replaces_urls(profile, text, expected):
    assert TextNormalizer(profile, mask_urls=True)(text) == expected


@pytest.mark.parametrize("profile", ["general", "finance"])
def test_urls_kept_without_mask_urls(profile):
    text = "see https://example.com/a and www.example.org"

    assert TextNormalizer(profile)(text) == text


@pytest.mark.parametrize("text", ["a www page", "jane@www.example.com", "version 1.2 http", "$AAPL"])
def test_mask_urls_ignores_non_urls(text):
    assert TextNormalizer("general", mask_urls=True)(text) == text


def test_mask_urls_medical_masks_email():
    normalizer = TextNormalizer("medical", mask_urls=True)

    assert normalizer("www.clinic.org or jane@clinic.org") == "[URL] or [EMAIL]"


# --- batches, input checks, properties ---------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_normalize_all_matches_call(profile):
    normalizer = TextNormalizer(profile, mask_urls=True)
    texts = [MESSY_TEXT, CHINESE_REVIEW, "", *FINANCE_TEXTS, *MEDICAL_KEPT]

    assert normalizer.normalize_all(texts) == [normalizer(text) for text in texts]


def test_normalize_all_accepts_any_iterable():
    normalizer = TextNormalizer("general")

    assert normalizer.normalize_all(("a  b", "c\n")) == ["a b", "c"]
    assert normalizer.normalize_all(text for text in ["x\u2026"]) == ["x..."]
    assert normalizer.normalize_all([]) == []


def test_normalize_all_rejects_single_string():
    with pytest.raises(DataError) as error:
        TextNormalizer("general").normalize_all("one text")

    message = str(error.value)
    assert "expects a list of texts, not one string" in message
    assert "Received: 'one text'" in message


@pytest.mark.parametrize("profile", PROFILES)
def test_normalize_all_rejects_missing_value(profile):
    with pytest.raises(DataError) as error:
        TextNormalizer(profile).normalize_all(["ok", "fine", float("nan")])

    message = str(error.value)
    assert "Text to normalize is a float, not a string." in message
    assert "Where: text at index 2" in message
    assert "Received: nan" in message
    assert "Fill or drop missing values" in message


@pytest.mark.parametrize("value", [None, 3, b"bytes"])
def test_call_rejects_non_string(value):
    with pytest.raises(DataError) as error:
        TextNormalizer("general")(value)

    message = str(error.value)
    assert f"Text to normalize is a {type(value).__name__}, not a string." in message
    assert "Where: text" in message


@pytest.mark.parametrize("profile", PROFILES)
def test_normalization_is_idempotent(profile):
    normalizer = TextNormalizer(profile, mask_urls=True)
    texts = [MESSY_TEXT, CHINESE_REVIEW, *FINANCE_TEXTS, *MEDICAL_KEPT]
    texts += [text for text, _ in MEDICAL_MASKED]

    once = normalizer.normalize_all(texts)

    assert normalizer.normalize_all(once) == once


@pytest.mark.parametrize("profile", PROFILES)
def test_mask_tokens_survive_profile(profile):
    text = " ".join(MASK_TOKENS)

    assert TextNormalizer(profile, mask_urls=True)(text) == text


def test_medical_normalizes_many_texts_quickly():
    # Long runs of digits, separators and address characters would expose a
    # regular expression that backtracks badly. This took about 2.3 s on a 2-core
    # Intel Xeon VM, and the bound leaves room for slower CI machines.
    hard_texts = [
        "1 2 3 4 5 6 7 8 9 0 " * 30,
        "0" * 500,
        "9-" * 300,
        "a." * 300 + "@" + "b-" * 300,
        "+" + "( " * 300 + "1",
        "www." + "a." * 400,
    ]
    notes = [
        "Pt seen 4 March 2021, MRN: 12345678, call +1 (555) 123-4567 or jane@clinic.org.",
        CHINESE_REVIEW,
        *hard_texts,
    ]
    texts = [notes[index % len(notes)] for index in range(10_000)]
    normalizer = TextNormalizer("medical", mask_urls=True)

    start = time.perf_counter()
    normalized = normalizer.normalize_all(texts)
    elapsed = time.perf_counter() - start

    assert len(normalized) == 10_000
    assert elapsed < 20.0
