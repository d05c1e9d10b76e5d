"""Run `vtune` with one registry write wrapped to SIGKILL this process (for bench/retrain_trials.py).

`BENCH_KILL_CALL` names a `Registry` method; `BENCH_KILL_WHEN` is `before` (the
call never happens) or `after` (it completed, the rest of the job never runs).
"""

import os
import signal
import sys

from vertical_tune.cli.main import main
from vertical_tune.registry import Registry


def _wrap(name, when):
    original = getattr(Registry, name)

    def wrapped(self, *args, **kwargs):
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(Registry, name, wrapped)


if __name__ == "__main__":
    _wrap(os.environ["BENCH_KILL_CALL"], os.environ.get("BENCH_KILL_WHEN", "before"))
    main(sys.argv[1:])
