"""`Report`: an evaluation report object that notebooks display inline."""

from vertical_tune.reporting.html import DEFAULT_FORMATS, build_contexts, render_contexts, write_contexts


class Report:
    """Evaluation report of one or more runs, rendered as HTML or written to a folder.

    The figures and tables are computed on first use and reused by every later call.
    In Jupyter, a `Report` as the last value of a cell is shown inline.

    Args:
        runs: a run view dict, or a list of them.
        title: str or None. Report title. Defaults to "Evaluation report: " and the
            run names.

    Example:

    ```python
    report = Report([finance_view, retail_view])
    report.save("reports/2024-06", formats=("html", "md"))
    ```
    """

    def __init__(self, runs, *, title=None):
        self.runs = [runs] if isinstance(runs, dict) else list(runs)
        self.title = title
        self._contexts = None

    def to_html(self):
        """Render the report as a standalone HTML document."""
        return render_contexts(*self._prepared(), title=self.title, standalone=True)

    def save(self, directory, formats=DEFAULT_FORMATS):
        """Write the report files into `directory`, as `write_report` does, and return them by format."""
        return write_contexts(*self._prepared(), directory, formats=formats, title=self.title)

    def _repr_html_(self):
        # A `<div>` fragment with scoped CSS, because a notebook page already has its
        # own `<html>` and `<head>`.
        return render_contexts(*self._prepared(), title=self.title, standalone=False)

    def _prepared(self):
        if self._contexts is None:
            self._contexts = build_contexts(self.runs)
        return self._contexts
