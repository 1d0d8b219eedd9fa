"""Churn risk per customer, with the reasons in plain words.

The product scores the signals it has (`ChurnFeatures`, supplied by the caller). With no
labelled history it uses `PRIOR`, a transparent logistic rule whose weights are written below
with where each comes from; once the founder's own history holds at least `MIN_CHURNED`
churned and `MIN_RETAINED` retained customers, `scorer_for` fits a logistic regression on the
same features instead. Both explain a score the same way: each feature's contribution to the
log-odds against a reference customer (annual plan, a year old, steady MRR, no discount, no
trouble); the largest positive contributions are the reasons shown.

Logistic regression (not gradient boosting) for the product: its contributions are exact, so
the reasons are the model itself, and on the telco data set it is about as good as boosting
(`churn_risk_telco.py`, figures in the README).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from founderops.core.errors import InvalidInput

Interval = Literal["month", "quarter", "year"]
Floats = npt.NDArray[np.float64]

MIN_CHURNED = 30
MIN_RETAINED = 30
MAX_REASONS = 3
# A contribution below this many log-odds (odds x 1.16) is not worth a founder's attention.
REASON_FLOOR = 0.15


class ChurnInputError(InvalidInput):
    """Features or labelled history that cannot be scored or learned from."""


@dataclass(frozen=True)
class ChurnFeatures:
    """What the product knows of one paying customer; windows are the last 90 days."""

    tenure_months: int
    interval: Interval
    mrr: int  # cents, reporting currency
    mrr_change_90d: int  # cents: MRR now minus MRR 90 days ago
    discount_share: float  # 0..1 of the customer's MRR that is discounted away
    failed_payments_90d: int = 0
    refunds_90d: int = 0
    support_tickets_90d: int = 0
    negative_tickets_90d: int = 0  # tickets classified with negative sentiment


@dataclass(frozen=True)
class Reason:
    feature: str
    text: str
    # Log-odds added to the risk against the reference customer.
    weight: float


@dataclass(frozen=True)
class RiskScore:
    customer: str
    # Probability of churning within about 90 days.
    probability: float
    reasons: tuple[Reason, ...]
    source: Literal["prior", "model"]


@dataclass(frozen=True)
class Labelled:
    features: ChurnFeatures
    churned: bool


# --- Features: each a number, its value for the reference customer and its words -----------


@dataclass(frozen=True)
class _Feature:
    name: str
    value: Callable[[ChurnFeatures], float]
    reference: float
    words: Callable[[ChurnFeatures], str]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _contraction(f: ChurnFeatures) -> float:
    before = f.mrr - f.mrr_change_90d
    return max(0.0, -f.mrr_change_90d / before) if before > 0 else 0.0


def _expansion(f: ChurnFeatures) -> float:
    before = f.mrr - f.mrr_change_90d
    return min(1.0, max(0.0, f.mrr_change_90d / before)) if before > 0 else 0.0


_INTERVAL_WORDS = {
    "month": "month-to-month plan",
    "quarter": "quarterly plan",
    "year": "annual plan",
}

FEATURES: tuple[_Feature, ...] = (
    _Feature(
        "tenure",
        lambda f: math.log1p(max(f.tenure_months, 0)),
        math.log1p(12),
        lambda f: f"tenure {_plural(f.tenure_months, 'month')}",
    ),
    _Feature(
        "monthly_plan",
        lambda f: float(f.interval == "month"),
        0.0,
        lambda f: _INTERVAL_WORDS[f.interval],
    ),
    _Feature(
        "quarterly_plan",
        lambda f: float(f.interval == "quarter"),
        0.0,
        lambda f: _INTERVAL_WORDS[f.interval],
    ),
    _Feature(
        "mrr_size",
        lambda f: math.log(max(f.mrr, 100) / 5000),
        0.0,
        lambda f: f"MRR ${f.mrr / 100:,.0f}",
    ),
    _Feature(
        "contraction",
        _contraction,
        0.0,
        lambda f: f"MRR down {100 * _contraction(f):.0f} % in 90 days",
    ),
    _Feature(
        "expansion",
        _expansion,
        0.0,
        lambda f: f"MRR up {100 * _expansion(f):.0f} % in 90 days",
    ),
    _Feature(
        "discount",
        lambda f: min(max(f.discount_share, 0.0), 1.0),
        0.0,
        lambda f: f"{100 * f.discount_share:.0f} % of MRR discounted",
    ),
    _Feature(
        "failed_payments",
        lambda f: float(min(f.failed_payments_90d, 3)),
        0.0,
        lambda f: f"{_plural(f.failed_payments_90d, 'failed payment')} in 90 days",
    ),
    _Feature(
        "refunds",
        lambda f: float(min(f.refunds_90d, 2)),
        0.0,
        lambda f: f"{_plural(f.refunds_90d, 'refund')} in 90 days",
    ),
    _Feature(
        "tickets",
        lambda f: float(min(f.support_tickets_90d, 5)),
        0.0,
        lambda f: f"{_plural(f.support_tickets_90d, 'support ticket')} in 90 days",
    ),
    _Feature(
        "negative_tickets",
        lambda f: float(min(f.negative_tickets_90d, 3)),
        0.0,
        lambda f: f"{_plural(f.negative_tickets_90d, 'unhappy support ticket')} in 90 days",
    ),
)

# The prior's log-odds weights, per unit of each feature above. Where they come from:
# - tenure -0.69 per log1p(month) and month-to-month +1.45: a logistic regression on the IBM
#   telco data set over tenure, contract and charges alone (the public data set closest to a
#   subscription; rounded). Quarterly sits halfway, as telco's one-year contracts sit between.
# - MRR size 0: telco says pricier plans churn more (fibre customers), SaaS benchmarks say
#   larger accounts churn less; with public evidence both ways the prior takes no side.
# - failed payments +0.9 each (up to 3; two make the odds x6): involuntary churn is commonly
#   put at 20-40 % of SaaS churn, and a customer whose card keeps failing is the clearest case.
# - contraction +1.5 per 100 % lost (a halving: odds x2.1): a downgrade is the usual step
#   before a cancellation. Expansion -0.5 per 100 % gained: engaged customers stay.
# - discount +0.8 at 100 % discounted: discount-acquired customers churn more, most of all when
#   the coupon ends; a mild weight since the effect is reported, not measured here.
# - refunds +0.7 each (up to 2), unhappy tickets +0.6 each (up to 3), tickets +0.1 each (up to
#   5): asking for money back or complaining precedes leaving; plain tickets are mostly usage.
# The intercept puts the reference customer (annual, 12 months, steady) at 2.5 % over 90 days,
# so a month-to-month one is at 10 % (≈ 3.5 % a month, a typical small-business SaaS rate).
PRIOR_WEIGHTS: dict[str, float] = {
    "tenure": -0.69,
    "monthly_plan": 1.45,
    "quarterly_plan": 0.7,
    "mrr_size": 0.0,
    "contraction": 1.5,
    "expansion": -0.5,
    "discount": 0.8,
    "failed_payments": 0.9,
    "refunds": 0.7,
    "tickets": 0.1,
    "negative_tickets": 0.6,
}
PRIOR_INTERCEPT = math.log(0.10 / 0.90) - 1.45


def vector(features: ChurnFeatures) -> Floats:
    """The features as numbers minus the reference customer's, in `FEATURES` order."""
    _validate(features)
    return np.array([f.value(features) - f.reference for f in FEATURES], dtype=np.float64)


def _validate(features: ChurnFeatures) -> None:
    if features.interval not in _INTERVAL_WORDS:
        raise ChurnInputError(f"interval {features.interval!r}: expected month, quarter or year")
    if not 0 <= features.discount_share <= 1:
        raise ChurnInputError(f"discount_share {features.discount_share} is not between 0 and 1")
    counts = (
        features.tenure_months,
        features.failed_payments_90d,
        features.refunds_90d,
        features.support_tickets_90d,
        features.negative_tickets_90d,
    )
    if min(counts) < 0 or features.mrr < 0:
        raise ChurnInputError("tenure, MRR and the 90-day counts cannot be negative")


@dataclass(frozen=True)
class Scorer:
    """log-odds = intercept + sum weight x (feature - centre); contributions are the terms."""

    intercept: float
    weights: Floats
    centre: Floats
    source: Literal["prior", "model"]

    def score(self, customer: str, features: ChurnFeatures) -> RiskScore:
        x = vector(features)
        terms = self.weights * (x - self.centre)
        logit = self.intercept + float(terms.sum())
        probability = 1 / (1 + math.exp(-logit))
        return RiskScore(customer, probability, _reasons(features, terms), self.source)


def _reasons(features: ChurnFeatures, terms: Floats) -> tuple[Reason, ...]:
    ranked = sorted(zip(FEATURES, terms.tolist(), strict=True), key=lambda pair: -pair[1])
    reasons: dict[str, Reason] = {}
    for feature, term in ranked:
        text = feature.words(features)
        # The two plan-interval features describe one fact; it is said once.
        if term >= REASON_FLOOR and text not in reasons and len(reasons) < MAX_REASONS:
            reasons[text] = Reason(feature.name, text, round(term, 3))
    return tuple(reasons.values())


PRIOR = Scorer(
    PRIOR_INTERCEPT,
    np.array([PRIOR_WEIGHTS[f.name] for f in FEATURES], dtype=np.float64),
    np.zeros(len(FEATURES)),
    "prior",
)


def scorer_for(history: Sequence[Labelled]) -> Scorer:
    """The prior until the history has enough churned and retained customers, then a fit."""
    churned = sum(example.churned for example in history)
    if churned < MIN_CHURNED or len(history) - churned < MIN_RETAINED:
        return PRIOR
    return fit(history)


def fit(history: Sequence[Labelled]) -> Scorer:
    """An L2 logistic regression on the founder's own labelled customers.

    Features are standardised for the fit and the weights mapped back, so contributions stay
    in log-odds per unit and the reference point is the history's own average customer. A
    feature the history never varies (support tickets before the help desk was connected, a
    plan nobody was on) says nothing about its weight either way, so it keeps the prior's
    rather than none: its term is zero at the history's value, as the intercept assumes.
    """
    from sklearn.linear_model import LogisticRegression  # ~0.5 s import: only when fitting

    x = np.array([vector(example.features) for example in history])
    y = np.array([example.churned for example in history], dtype=np.int64)
    if len(set(y.tolist())) < 2:
        raise ChurnInputError("the history needs churned and retained customers")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    constant = scale == 0
    scale[constant] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
    weights = np.asarray(model.coef_[0], dtype=np.float64) / scale
    weights[constant] = PRIOR.weights[constant]
    return Scorer(float(model.intercept_[0]), weights, mean, "model")


def score_all(customers: Mapping[str, ChurnFeatures], scorer: Scorer = PRIOR) -> list[RiskScore]:
    """Every customer's score, riskiest first (ties by customer id, so the order is stable)."""
    scores = [scorer.score(customer, features) for customer, features in customers.items()]
    return sorted(scores, key=lambda s: (-s.probability, s.customer))
