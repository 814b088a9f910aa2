"""Run the `baocao` CLI in a child process with its clock pinned by freezegun (time still
ticks from there), so end-to-end tests of `baocao run` do not depend on today's date.

usage: python tests/run_frozen.py 2026-11-27T10:00:00+07:00 run
"""

import sys

from scheduler.service import startup

startup.install(["baocao", *sys.argv[2:]])  # as the `baocao` command does, before the slow imports

from freezegun import freeze_time

if __name__ == "__main__":
    # Import everything before the clock is pinned: pydantic.v1 (which FastAPI imports lazily,
    # when routes are built) defines subclasses of `date`, which fails against freezegun's FakeDate.
    import pydantic.v1  # noqa: F401
    import scheduler.service.daemon  # noqa: F401
    import scheduler.service.tick  # noqa: F401
    import scheduler.web  # noqa: F401
    from scheduler.cli.main import main

    import os
    import time
    from datetime import datetime, timedelta

    # `run` starts its web process with this same command line: it must share the parent's
    # timeline, not start the clock again from the moment given.
    origin = float(os.environ.setdefault("BAOCAO_TEST_FROZEN_ORIGIN", repr(time.time())))
    moment = datetime.fromisoformat(sys.argv[1]) + timedelta(seconds=time.time() - origin)
    args = sys.argv[2:]
    with freeze_time(moment, tick=True, real_asyncio=True):
        main(args)
