"""The log template miner measured on Loghub's labelled 2k samples, as Loghub's benchmark does.

For each system, `<DIR>/<System>/<System>_2k.log` is split into header and Content with the
system's log format (a property of the format, as in the benchmark's settings), the Content is
parsed with the one shipped `TemplateMiner` configuration, and the grouping is compared with the
EventId column of `<System>_2k.log_structured.csv`.
"""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from founderops.monitoring.logparse import MinerSettings, TemplateMiner

# Each system's line layout in Loghub's notation: <Field> is a header field, <Content> the
# message; the rest is literal (regex) text between them.
LOG_FORMATS: dict[str, str] = {
    "HDFS": "<Date> <Time> <Pid> <Level> <Component>: <Content>",
    "Hadoop": r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>",
    "Spark": "<Date> <Time> <Level> <Component>: <Content>",
    "Zookeeper": r"<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>",
    "BGL": "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> "
    "<Content>",
    "Thunderbird": "<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> "
    r"<Component>(\[<PID>\])?: <Content>",
    "Linux": r"<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>",
    "Apache": r"\[<Time>\] \[<Level>\] <Content>",
    "OpenSSH": r"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
    "OpenStack": r"<Logrecord> <Date> <Time> <Pid> <Level> <Component> \[<ADDR>\] <Content>",
}


class LoghubError(Exception):
    """A Loghub file is missing or not in the expected shape; the message names it."""


@dataclass(frozen=True)
class SystemResult:
    system: str
    lines: int
    grouping_accuracy: float
    true_templates: int
    found_templates: int
    content_mismatches: int
    seconds: float


def format_regex(log_format: str) -> re.Pattern[str]:
    """Loghub's notation as a regex: fields are lazy named groups, runs of spaces any blanks."""
    parts = re.split(r"(<[^<>]+>)", log_format)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2:
            pattern += f"(?P<{part[1:-1]}>.*?)"
        else:
            pattern += re.sub(" +", r"\\s+", part)
    return re.compile(f"^{pattern}$")


def read_contents(path: Path, log_format: str) -> list[str]:
    """The Content of every line that fits the format; like the benchmark, others are skipped."""
    regex = format_regex(log_format)
    contents = []
    for line in _read_text(path).splitlines():
        match = regex.search(line.strip())
        if match is not None:
            contents.append(match.group("Content"))
    return contents


def read_truth(path: Path) -> list[tuple[str, str]]:
    """(Content, EventId) of each labelled line, in order."""
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"LineId", "Content", "EventId"} - set(reader.fieldnames or ())
        if missing:
            raise LoghubError(f"{path}: header lacks column(s) {', '.join(sorted(missing))}")
        rows: list[tuple[str, str]] = []
        try:
            for row in reader:
                rows.append(_truth_row(row, f"{path}, line {reader.line_num}", len(rows) + 1))
        except csv.Error as error:  # an unclosed quote, a field past the csv module's limit
            raise LoghubError(f"{path}, line {reader.line_num}: not valid CSV ({error})") from None
    return rows


def _truth_row(row: dict[Any, Any], where: str, expected_id: int) -> tuple[str, str]:
    if None in row or any(row[key] is None for key in ("LineId", "Content", "EventId")):
        raise LoghubError(f"{where}: wrong number of fields")
    if row["LineId"] != str(expected_id):
        raise LoghubError(f"{where}: LineId {row['LineId']!r}, expected {expected_id}")
    return row["Content"], row["EventId"]


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their true group
    (Loghub's evaluator: a group split in two or merged with another counts wholly wrong)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and prediction differ in length")
    if not truth:
        return 0.0
    true_groups = {frozenset(g) for g in _groups(truth).values()}
    correct = sum(len(g) for g in _groups(predicted).values() if frozenset(g) in true_groups)
    return correct / len(truth)


def evaluate_system(
    directory: Path, system: str, settings: MinerSettings | None = None, limit: int | None = None
) -> SystemResult:
    folder = directory / system
    contents = read_contents(folder / f"{system}_2k.log", LOG_FORMATS[system])
    labelled = read_truth(folder / f"{system}_2k.log_structured.csv")
    if len(contents) != len(labelled):
        raise LoghubError(
            f"{folder / f'{system}_2k.log'}: {len(contents)} lines fit the {system} format, "
            f"the structured CSV has {len(labelled)}"
        )
    pairs = list(zip(contents, labelled, strict=True))[:limit]
    # Unlabelled lines are left out of the score, as the benchmark's evaluator does.
    kept = [(content, truth) for content, (csv_content, truth) in pairs if truth]
    mismatches = sum(1 for content, (csv_content, _) in pairs if content != csv_content)
    miner = TemplateMiner(settings)
    started = time.perf_counter()
    predicted = [miner.add(content).template_id for content, _ in kept]
    seconds = time.perf_counter() - started
    truths = [truth for _, truth in kept]
    return SystemResult(
        system=system,
        lines=len(kept),
        grouping_accuracy=grouping_accuracy(truths, predicted),
        true_templates=len(set(truths)),
        found_templates=len(set(predicted)),
        content_mismatches=mismatches,
        seconds=seconds,
    )


def evaluate(
    directory: Path, systems: Sequence[str] | None = None, settings: MinerSettings | None = None
) -> dict[str, object]:
    """One figure set for all systems: per-system accuracy, their mean, and miner speed."""
    if not directory.is_dir():
        raise LoghubError(f"{directory}: no such directory")
    names = list(systems or LOG_FORMATS)
    unknown = [name for name in names if name not in LOG_FORMATS]
    if unknown:
        raise LoghubError(
            f"unknown system(s) {', '.join(unknown)}; known: {', '.join(LOG_FORMATS)}"
        )
    results = [evaluate_system(directory, name, settings) for name in names]
    lines = sum(r.lines for r in results)
    seconds = sum(r.seconds for r in results)
    used = settings or MinerSettings()
    mean = sum(r.grouping_accuracy for r in results) / len(results)
    return {
        "systems": {
            r.system: {
                "grouping_accuracy": round(r.grouping_accuracy, 4),
                "lines": r.lines,
                "true_templates": r.true_templates,
                "found_templates": r.found_templates,
                "content_mismatches": r.content_mismatches,
            }
            for r in results
        },
        "mean_grouping_accuracy": round(mean, 4),
        "min_grouping_accuracy": round(min(r.grouping_accuracy for r in results), 4),
        "lines": lines,
        "lines_per_second": round(lines / seconds) if seconds else None,
        "settings": {"sim_th": used.sim_th, "depth": used.depth, "max_clusters": used.max_clusters},
    }


def _groups(labels: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)
    return groups


def _open(path: Path) -> TextIO:
    if not path.is_file():
        raise LoghubError(f"{path}: no such file")
    return path.open(encoding="utf-8", errors="replace", newline="")


def _read_text(path: Path) -> str:
    with _open(path) as handle:
        return handle.read()
