"""Cron expressions: validation messages, and conversion to systemd calendar events."""

import datetime
import os
import shutil
import subprocess

import pytest
from croniter import croniter

from vertical_tune.errors import ConfigError
from vertical_tune.schedule.cron import cron_to_on_calendar, validate_cron

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed, so systemd cannot check the values"
)

CONVERSIONS = [
    ("0 2 * * 0", "Sun *-*-* 02:00:00"),
    ("0 2 * * 7", "Sun *-*-* 02:00:00"),
    ("0 2 * * sun", "Sun *-*-* 02:00:00"),
    ("* * * * *", "*-*-* *:*:00"),
    ("*/15 * * * *", "*-*-* *:00/15:00"),
    ("5 */2 * * *", "*-*-* 00/2:05:00"),
    ("0,30 9-17 * * *", "*-*-* 09..17:00,30:00"),
    ("10-50/5 * * * *", "*-*-* *:10..50/5:00"),
    ("*/15 9-17 * * mon-fri", "Mon..Fri *-*-* 09..17:00/15:00"),
    ("0 0 1,15 * *", "*-*-01,15 00:00:00"),
    ("0 0 */2 * *", "*-*-01/2 00:00:00"),
    ("0 0 1 jan-mar *", "*-01..03-01 00:00:00"),
    ("0 0 1 */3 *", "*-01/3-01 00:00:00"),
    ("0 0 1 JAN,Jul *", "*-01,07-01 00:00:00"),
    ("0 0 * * 0,6", "Sat,Sun *-*-* 00:00:00"),
    ("0 0 * * 5-7", "Fri..Sun *-*-* 00:00:00"),
    ("0 0 * * 0-3", "Mon..Wed,Sun *-*-* 00:00:00"),
    ("0 0 * * 0-7", "*-*-* 00:00:00"),
    ("0 0 * * */2", "Tue,Thu,Sat,Sun *-*-* 00:00:00"),
    ("0 0 * * 1-5/2", "Mon,Wed,Fri *-*-* 00:00:00"),
    ("0 0 * * mon,tue,thu", "Mon,Tue,Thu *-*-* 00:00:00"),
    ("30 4 * 12 fri", "Fri *-12-* 04:30:00"),
    ("@hourly", "*-*-* *:00:00"),
    ("@daily", "*-*-* 00:00:00"),
    ("@weekly", "Sun *-*-* 00:00:00"),
    ("@monthly", "*-*-01 00:00:00"),
    ("@yearly", "*-01-01 00:00:00"),
    # Day of month covers every day, so cron's OR with the weekday matches every day.
    ("0 0 1-31 * 1", "*-*-* 00:00:00"),
    # A day-of-month field starting with `*` counts as unrestricted, so both must match.
    ("0 0 */2 * 1", "Mon *-*-01/2 00:00:00"),
]

INVALID = [
    ("", "empty"),
    ("0 2 * *", "4 fields"),
    ("0 0 2 * * 0", "6 fields"),
    ("60 * * * *", "minute value 60 is out of range 0-59"),
    ("0 24 * * *", "hour value 24 is out of range 0-23"),
    ("0 0 0 * *", "day-of-month value 0 is out of range 1-31"),
    ("0 0 * 13 *", "month value 13 is out of range 1-12"),
    ("0 0 * * 8", "day-of-week value 8 is out of range 0-7"),
    ("0 0 * foo *", "invalid value 'foo'"),
    ("0 0 L * *", "invalid value 'L'"),
    ("0 0 * * 1#2", "invalid value '1#2'"),
    ("0 0 ? * *", "invalid value '?'"),
    ("H * * * *", "invalid value 'H'"),
    ("5/15 * * * *", "5-59/15"),
    ("*/0 * * * *", "invalid step '*/0'"),
    ("5-1 * * * *", "runs backwards"),
    ("1,,2 * * * *", "empty list element"),
    ("@reboot", "Unknown cron shortcut"),
]


@pytest.mark.parametrize("expression, expected", CONVERSIONS)
def test_cron_converts_to_on_calendar(expression, expected):
    assert cron_to_on_calendar(expression) == expected


@needs_systemd_analyze
def test_systemd_accepts_converted_values():
    values = [cron_to_on_calendar(expression) for expression, _ in CONVERSIONS]

    result = subprocess.run([SYSTEMD_ANALYZE, "calendar", *values], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "Failed" not in result.stderr


def _systemd_elapses(value, base, count):
    """Return the next `count` times systemd starts a timer with `value`, after `base` (UTC)."""
    result = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "calendar",
            f"--iterations={count}",
            f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC",
            value,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    )
    if "base-time" in result.stderr:
        pytest.skip("this systemd-analyze has no --base-time option")
    assert result.returncode == 0, result.stderr
    times = []
    for line in result.stdout.splitlines():
        label, _, stamp = line.strip().partition(": ")
        if label == "Next elapse" or label.startswith("Iter. #"):
            # "Sun 2025-01-05 02:00:00 UTC": drop the weekday and the zone.
            times.append(datetime.datetime.strptime(stamp.split(" ", 1)[1][:19], "%Y-%m-%d %H:%M:%S"))
    return times


@needs_systemd_analyze
@pytest.mark.parametrize(
    "expression",
    [expression for expression, _ in CONVERSIONS if expression != "0 0 */2 * 1"],
)
def test_systemd_fires_when_cron_does(expression):
    # croniter ORs the two day fields even for `*/2`, unlike cron, so that case is left out.
    base = datetime.datetime(2025, 1, 30, 23, 59)
    count = 12
    schedule = croniter(expression, base)
    expected = [schedule.get_next(datetime.datetime) for _ in range(count)]

    assert _systemd_elapses(cron_to_on_calendar(expression), base, count) == expected


@pytest.mark.parametrize("expression, fragment", INVALID)
def test_invalid_cron_names_value_and_example(expression, fragment):
    with pytest.raises(ConfigError) as raised:
        validate_cron(expression, where="--cron")

    message = str(raised.value)
    assert fragment in message
    assert f"Received: {expression!r}" in message
    assert "Where: --cron" in message
    assert '"0 2 * * 0"' in message


def test_invalid_cron_rejected_by_conversion():
    with pytest.raises(ConfigError):
        cron_to_on_calendar("61 * * * *")


def test_validate_cron_normalises_input():
    assert validate_cron("  0   2 * *\t0 ") == "0 2 * * 0"
    assert validate_cron("@weekly") == "0 0 * * 0"
    assert validate_cron("@DAILY") == "0 0 * * *"
    assert validate_cron("0 2 * jan-mar mon-fri") == "0 2 * jan-mar mon-fri"


def test_non_string_cron_is_rejected():
    with pytest.raises(ConfigError) as raised:
        validate_cron(None)

    assert "empty" in str(raised.value)


@pytest.mark.parametrize("expression", ["0 0 1 * 1", "0 0 1-7 * mon", "0 0 15 * 0,6"])
def test_day_and_weekday_together_rejected(expression):
    with pytest.raises(ConfigError) as raised:
        cron_to_on_calendar(expression, where="--cron")

    message = str(raised.value)
    assert "systemd cannot express" in message
    assert "day of the month or the day of the week" in message
    assert repr(expression) in message
    assert "--target" in message


def test_day_fields_together_still_valid_for_cron():
    assert validate_cron("0 0 1 * 1") == "0 0 1 * 1"
