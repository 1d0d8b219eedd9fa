"""Small slices of CLINC150 (train and oos_train only) for the AI layer's tests."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import pytest

from founderops.ai.intents import Example
from tests.conftest import SHARED_DATA

CLINC = SHARED_DATA / "support" / "clinc150" / "data_full.json"


@dataclass(frozen=True)
class Slice:
    """Ten intents: `train` and `held_out` split each intent's examples in file order;
    unknown requests likewise split between `unknown` and `held_out_unknown`."""

    train: list[Example]
    held_out: list[Example]
    unknown: list[str]
    held_out_unknown: list[str]

    def shots(self, k: int) -> list[Example]:
        kept: dict[str, int] = defaultdict(int)
        chosen = []
        for example in self.train:
            if kept[example.intent] < k:
                kept[example.intent] += 1
                chosen.append(example)
        return chosen


@pytest.fixture(scope="session")
def clinc_raw() -> dict[str, list[list[str]]]:
    if not CLINC.is_file():
        pytest.skip(f"{CLINC} is not there (../shared/data)")
    with CLINC.open(encoding="utf-8") as handle:
        data: dict[str, list[list[str]]] = json.load(handle)
    return data


@pytest.fixture(scope="session")
def clinc(clinc_raw: dict[str, list[list[str]]]) -> Slice:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in clinc_raw["train"]:
        by_intent[intent].append(text)
    intents = sorted(by_intent)[:10]
    train = [Example(t, i) for i in intents for t in by_intent[i][:60]]
    held_out = [Example(t, i) for i in intents for t in by_intent[i][60:]]
    unknown = [text for text, _ in clinc_raw["oos_train"]]
    return Slice(train, held_out, unknown[:50], unknown[50:])
