"""The console script itself, run as the founder runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).with_name("founderops")


def run(args: list[str], data_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOUNDEROPS_")}
    env.update(FOUNDEROPS_DATA_DIR=str(data_dir), **variables)
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_reports_a_malformed_setting_in_one_line(tmp_path: Path) -> None:
    done = run(["check"], tmp_path, FOUNDEROPS_WORKERS="abc")
    assert (done.returncode, done.stderr, done.stdout) == (
        2,
        "founderops: configuration error: FOUNDEROPS_WORKERS='abc' is not an integer\n",
        "",
    )


def test_it_reports_a_malformed_setting_in_one_line_for_help_too(tmp_path: Path) -> None:
    # Django would list its own commands and mention the error in a note, exit 0.
    done = run(["help"], tmp_path, FOUNDEROPS_TIME_ZONE="Mars/Olympus")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "founderops: configuration error: FOUNDEROPS_TIME_ZONE='Mars/Olympus'"
            " is not a time zone like Europe/Paris"
        ],
    )


def test_it_ends_quietly_when_its_reader_stops_early(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOUNDEROPS_")}
    env.update(FOUNDEROPS_DATA_DIR=str(tmp_path))
    child = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "help"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    child.stdout.close()  # like `| head -0`: nobody reads what it writes
    _, err = child.communicate(timeout=60)
    assert (child.returncode, err) == (141, "")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["eval", "forecast", "--seed", "-1"], "argument --seed: '-1' must be a whole number"),
        (["eval", "forecast", "--businesses", "0"], "'0' must be a whole number of at least 1"),
        (["eval", "cohorts", "--csv", "x.csv", "--rows", "0"], "argument --rows: '0' must be"),
        (["eval", "support", "--data", "x", "--target-precision", "2"], "at least 0.5"),
    ],
)
def test_it_answers_a_bad_argument_with_usage_not_a_traceback(
    tmp_path: Path, args: list[str], said: str
) -> None:
    done = run(args, tmp_path)
    assert (done.returncode, "Traceback" in done.stderr) == (2, False)
    assert said in done.stderr
