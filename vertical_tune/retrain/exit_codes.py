"""Exit codes of `vtune retrain`, chosen so a scheduler can tell the outcomes apart.

`0` keeps the usual meaning "nothing went wrong and nothing needed doing". The
two outcomes of a finished retrain are distinct non-zero codes, so a scheduler
(or a wrapper script) can act on them. The templates of `vtune schedule` count
them, and a busy lock, as success.
"""

import enum


class RetrainExit(enum.IntEnum):
    """Outcome of a `vtune retrain` job."""

    NOTHING_TO_DO = 0  # no new or changed data since the last retrain
    FAILED = 1  # an unexpected error; the registry is unchanged
    BAD_INPUT = 2  # invalid config, data or arguments (the message names which)
    PROMOTED = 10  # a challenger passed the gate and is the new champion
    KEPT_CHAMPION = 11  # a challenger was trained and rejected by the gate
    LOCKED = 75  # another retrain holds the project's lock (sysexits EX_TEMPFAIL)


# Codes a scheduler should treat as a successful run.
SUCCESS_CODES = (RetrainExit.NOTHING_TO_DO, RetrainExit.PROMOTED, RetrainExit.KEPT_CHAMPION, RetrainExit.LOCKED)
