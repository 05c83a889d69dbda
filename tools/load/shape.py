"""Election-day shape: the opening rush (×3), an ordinary stretch, the last hour (×4.5).

The timeline is compressed into ``LOAD_SHAPE_SECONDS`` (default 600 s) and scaled by
``LOAD_BASE_USERS`` (users of an average hour, default 10). Users are a proxy for arrival rate:
each user runs one journey after another with a short pause, so the journey rate follows the
user count. Fractions of the run:

    0.00-0.05  ramp up to the average
    0.05-0.30  opening hour: 3 × average
    0.30-0.60  ordinary hours: 1 × average
    0.60-0.95  last hour: 4.5 × average
    0.95-1.00  ramp down, then stop
"""

from __future__ import annotations

import os

from locust import LoadTestShape

from tools.load.journeys import users_at


class ElectionDayShape(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        total = float(os.environ.get("LOAD_SHAPE_SECONDS", "600"))
        base = int(os.environ.get("LOAD_BASE_USERS", "10"))
        users = users_at(self.get_run_time(), total, base)
        if users is None:
            return None
        # spawn fast enough to reach a stage within a few seconds
        return users, max(1.0, users / 3)
