"""`founderops eval forecast`: the backtest as one JSON object."""

from __future__ import annotations

import io
import json

from django.core.management import call_command


def test_it_prints_mape_and_coverage_for_each_history_length() -> None:
    out = io.StringIO()
    call_command("eval", "forecast", "--businesses", "1", stdout=out)
    figures = json.loads(out.getvalue())
    assert set(figures["history_12_months_or_more"]) >= {"mape_pct", "coverage80_pct"}
