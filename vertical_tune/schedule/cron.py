"""Validate five-field cron expressions and convert them to systemd `OnCalendar=` values.

The accepted syntax is the one Vixie cron and cronie read, which Kubernetes CronJobs
and Airflow also accept. A field contains numbers, `*`, lists (`,`), ranges (`-`),
steps after a range or `*` (`/`), and three-letter month and weekday names, with `0`
or `7` for Sunday. The `@hourly` ... `@yearly` shortcuts are accepted too.
Extensions of single implementations (`L`, `W`, `#`, `?`, `H`, a seconds field) are
rejected, because a job file would then work on one scheduler and not on another.
"""

import dataclasses

from croniter import CroniterError, croniter

from vertical_tune.errors import ConfigError, format_error

EXAMPLE = '"0 2 * * 0" (every Sunday at 02:00)'
EXPECTED = "five fields: minute hour day-of-month month day-of-week, e.g. " + EXAMPLE

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# systemd writes weekdays Monday first, and a range `Fri..Sun` must follow that order.
_SYSTEMD_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    _Field("day-of-week", 0, 7, {name: number for number, name in enumerate(_CRON_DAYS)}),
)


@dataclasses.dataclass(frozen=True)
class _Item:
    """One list element of a field: `*`, `N`, `A-B`, each with an optional `/STEP`."""

    start: int
    end: int
    step: int
    star: bool

    def values(self):
        return range(self.start, self.end + 1, self.step)


def validate_cron(expression, *, where="cron expression"):
    """Check a cron expression and return it in five-field form.

    Surrounding and repeated blanks are removed, and a shortcut such as `@daily`
    is replaced by its five fields.

    Args:
        expression: str. A cron expression, e.g. `"0 2 * * 0"`.
        where: str. Where the value came from (an option or a config key), for the
            error message.

    Returns:
        str. The five fields separated by single spaces.

    Raises:
        ConfigError: the expression is not a valid five-field cron expression. The
            message names the value and the field at fault, with an example.

    Example:
    >>> validate_cron("@weekly")
    '0 0 * * 0'
    """
    return " ".join(_parse(expression, where)[0])


def cron_to_on_calendar(expression, *, where="cron expression"):
    """Convert a cron expression into a systemd `OnCalendar=` value.

    Each field is translated item by item, so `*/15` becomes `00/15` and `1-5`
    becomes `01..05`. Weekdays are written by name, Monday first, as systemd
    expects. The result fires at the same times as cron, in the same time zone.

    Args:
        expression: str. A cron expression, e.g. `"0 2 * * 0"`.
        where: str. Where the value came from, for the error message.

    Returns:
        str. A calendar event such as `"Sun *-*-* 02:00:00"`.

    Raises:
        ConfigError: the expression is invalid, or it restricts both the day of
            the month and the day of the week. Cron runs the job when either
            matches, and systemd can only require both.

    Example:
    >>> cron_to_on_calendar("*/15 9-17 * * mon-fri")
    'Mon..Fri *-*-* 09..17:00/15:00'
    """
    fields, items = _parse(expression, where)
    minute, hour, day, month, weekday = items
    day_text, weekday_text = _days(fields, day, weekday, where)

    time = f"{_systemd_field(hour, 0)}:{_systemd_field(minute, 0)}:00"
    date = f"*-{_systemd_field(month, 1)}-{day_text}"
    return " ".join(part for part in (weekday_text, date, time) if part)


def _parse(expression, where):
    """Return `(fields, items)`: the five field texts and each field's `_Item`s."""
    if not isinstance(expression, str) or not expression.strip():
        _fail("The cron expression is empty.", expression, where, "Pass five fields in quotes.")

    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            _fail(
                f"Unknown cron shortcut {text!r}.",
                expression,
                where,
                f"Use one of {', '.join(MACROS)}, or write the five fields.",
            )
        text = MACROS[text.lower()]

    fields = text.split(" ")
    if len(fields) != len(_FIELDS):
        _fail(
            f"The cron expression has {len(fields)} fields, not 5.",
            expression,
            where,
            "Write minute, hour, day of month, month and day of week, and quote the expression "
            "in the shell. cron and systemd have no seconds or year field.",
        )

    items = tuple(_parse_field(field_text, spec, expression, where) for field_text, spec in zip(fields, _FIELDS))
    _check_with_croniter(text, expression, where)
    return fields, items


def _parse_field(text, spec, expression, where):
    items = []
    for element in text.split(","):
        if not element:
            problem = f"The {spec.name} field {text!r} has an empty list element."
            _fail(problem, expression, where, "Remove the extra comma.")
        items.append(_parse_item(element, spec, expression, where))
    return tuple(items)


def _parse_item(element, spec, expression, where):
    body, slash, step_text = element.partition("/")
    step = 1
    if slash:
        if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
            _fail(
                f"The {spec.name} field has an invalid step {element!r}.",
                expression,
                where,
                "A step is a whole number of at least 1, e.g. */15.",
            )
        step = int(step_text)

    if body == "*":
        return _Item(spec.low, spec.high, step, star=True)

    first, dash, last = body.partition("-")
    start = _value(first, spec, expression, where)
    if not dash:
        if slash:
            _fail(
                f"The {spec.name} field has a step after a single value: {element!r}.",
                expression,
                where,
                f"cron allows a step only after a range or *, so write {first}-{spec.high}/{step} "
                f"or */{step}.",
            )
        return _Item(start, start, 1, star=False)

    end = _value(last, spec, expression, where)
    if start > end:
        _fail(
            f"The {spec.name} range {body!r} runs backwards.",
            expression,
            where,
            "cron ranges do not wrap around, so write the lower value first or use a list of two ranges.",
        )
    return _Item(start, end, step, star=False)


def _value(text, spec, expression, where):
    if text.isascii() and text.isdigit():
        number = int(text)
    elif text.lower() in spec.names:
        number = spec.names[text.lower()]
    else:
        if spec.names:
            allowed = f"a number {spec.low}-{spec.high} or a name ({', '.join(spec.names)})"
        else:
            allowed = f"a number {spec.low}-{spec.high}"
        _fail(
            f"The {spec.name} field has an invalid value {text!r}.",
            expression,
            where,
            f"Use {allowed}. Extensions such as L, W, #, ? and H are not supported.",
        )

    if not spec.low <= number <= spec.high:
        _fail(
            f"The {spec.name} value {number} is out of range {spec.low}-{spec.high}.",
            expression,
            where,
            f"Use a {spec.name} between {spec.low} and {spec.high}.",
        )
    return number


def _check_with_croniter(text, expression, where):
    # A second opinion: croniter must accept every expression this module accepts.
    try:
        croniter(text)
    except CroniterError as error:
        _fail(f"croniter rejected the cron expression: {error}", expression, where, f"Write it like {EXAMPLE}.")


def _days(fields, day, weekday, where):
    """Return the systemd day-of-month text and weekday text (empty for every weekday)."""
    days_of_month = {value for item in day for value in item.values()}
    # cron accepts 7 for Sunday as well as 0.
    weekdays = {value % 7 for item in weekday for value in item.values()}

    # As in cron, a field that starts with `*` counts as unrestricted. When either field is
    # unrestricted, the job runs on days that match both, and otherwise on days that match either.
    day_restricted = not fields[2].startswith("*")
    weekday_restricted = not fields[4].startswith("*")
    if day_restricted and weekday_restricted:
        if len(days_of_month) == 31 or len(weekdays) == 7:
            return "*", ""  # Either field matches every day, so the job runs every day.
        raise ConfigError(
            format_error(
                "systemd cannot express this cron expression, because cron runs it when the day "
                "of the month or the day of the week matches and systemd can only require both.",
                where=where,
                received=" ".join(fields),
                expected="a `*` in the day-of-month or in the day-of-week field, e.g. " + EXAMPLE,
                fix=(
                    "Restrict only one of the two fields, or use another --target "
                    "(cron, kubernetes and airflow keep the cron meaning)."
                ),
            )
        )

    return _systemd_field(day, 1), _systemd_weekdays(weekdays)


def _systemd_field(items, low):
    """Translate one numeric field. systemd needs an explicit start for `*/S`."""
    if len(items) == 1 and items[0].star and items[0].step == 1:
        return "*"
    return ",".join(_systemd_item(item, low) for item in items)


def _systemd_item(item, low):
    if item.star:
        return f"{low:02d}/{item.step}"
    if item.start == item.end:
        return f"{item.start:02d}"
    text = f"{item.start:02d}..{item.end:02d}"
    return text if item.step == 1 else f"{text}/{item.step}"


def _systemd_weekdays(weekdays):
    if len(weekdays) == 7:
        return ""
    # Monday-first positions (Monday 0, Sunday 6), grouped into runs of consecutive days.
    positions = sorted((day - 1) % 7 for day in weekdays)
    runs = []
    for position in positions:
        if runs and runs[-1][1] == position - 1:
            runs[-1][1] = position
        else:
            runs.append([position, position])

    parts = []
    for first, last in runs:
        if first == last:
            parts.append(_SYSTEMD_DAYS[first])
        elif last == first + 1:
            parts.append(f"{_SYSTEMD_DAYS[first]},{_SYSTEMD_DAYS[last]}")
        else:
            parts.append(f"{_SYSTEMD_DAYS[first]}..{_SYSTEMD_DAYS[last]}")
    return ",".join(parts)


def _fail(problem, expression, where, fix):
    raise ConfigError(format_error(problem, where=where, received=expression, expected=EXPECTED, fix=fix))
