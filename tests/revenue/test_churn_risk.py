"""The product's churn-risk scorer: the prior, the switch to a fitted model, the reasons."""

from __future__ import annotations

import dataclasses
import random

import pytest

from founderops.revenue.churn_risk import (
    FEATURES,
    PRIOR,
    ChurnFeatures,
    ChurnInputError,
    Labelled,
    fit,
    score_all,
    scorer_for,
)

STEADY = ChurnFeatures(
    tenure_months=12, interval="year", mrr=5000, mrr_change_90d=0, discount_share=0.0
)


def _with(**changes: object) -> ChurnFeatures:
    return dataclasses.replace(STEADY, **changes)  # type: ignore[arg-type]


def _texts(features: ChurnFeatures) -> list[str]:
    return [reason.text for reason in PRIOR.score("c", features).reasons]


def test_it_gives_the_reference_customer_a_low_prior_risk() -> None:
    assert PRIOR.score("c", STEADY).probability == pytest.approx(0.025, abs=0.001)


def test_it_gives_the_reference_customer_no_reasons() -> None:
    assert PRIOR.score("c", STEADY).reasons == ()


def test_it_puts_a_month_to_month_year_old_customer_near_ten_per_cent() -> None:
    assert PRIOR.score("c", _with(interval="month")).probability == pytest.approx(0.10, abs=0.005)


def test_it_says_month_to_month_plan_as_a_reason() -> None:
    assert _texts(_with(interval="month")) == ["month-to-month plan"]


def test_it_counts_failed_payments_in_the_reason() -> None:
    assert _texts(_with(failed_payments_90d=2)) == ["2 failed payments in 90 days"]


def test_it_names_a_short_tenure() -> None:
    assert _texts(_with(tenure_months=2)) == ["tenure 2 months"]


def test_it_names_a_downgrade_as_a_share_of_mrr() -> None:
    assert _texts(_with(mrr=2500, mrr_change_90d=-2500)) == ["MRR down 50 % in 90 days"]


def test_it_shows_at_most_three_reasons() -> None:
    risky = _with(
        interval="month", tenure_months=1, failed_payments_90d=3, refunds_90d=2, discount_share=1
    )
    assert len(_texts(risky)) == 3


def test_it_orders_reasons_by_their_weight() -> None:
    reasons = PRIOR.score("c", _with(interval="month", failed_payments_90d=3)).reasons
    assert [r.feature for r in reasons] == ["failed_payments", "monthly_plan"]


def test_it_raises_risk_with_each_failed_payment() -> None:
    risks = [PRIOR.score("c", _with(failed_payments_90d=n)).probability for n in range(4)]
    assert risks == sorted(set(risks))


def test_it_lowers_risk_with_tenure() -> None:
    young, old = (PRIOR.score("c", _with(tenure_months=m)).probability for m in (1, 36))
    assert young > old


def test_it_refuses_a_discount_share_above_one() -> None:
    with pytest.raises(ChurnInputError, match=r"discount_share 1\.5"):
        PRIOR.score("c", _with(discount_share=1.5))


def test_it_refuses_negative_counts() -> None:
    with pytest.raises(ChurnInputError, match="cannot be negative"):
        PRIOR.score("c", _with(refunds_90d=-1))


def test_it_refuses_an_unknown_interval() -> None:
    with pytest.raises(ChurnInputError, match="interval 'week'"):
        PRIOR.score("c", _with(interval="week"))


def test_it_sorts_customers_riskiest_first() -> None:
    scores = score_all({"calm": STEADY, "risky": _with(failed_payments_90d=3)})
    assert [s.customer for s in scores] == ["risky", "calm"]


def _history(churned: int, retained: int, seed: int = 0) -> list[Labelled]:
    """Churners pay monthly with failed payments; stayers are annual and older."""
    rng = random.Random(seed)
    out = []
    for _ in range(churned):
        features = _with(interval="month", failed_payments_90d=rng.randint(0, 3), tenure_months=2)
        out.append(Labelled(features, True))
    for _ in range(retained):
        features = _with(tenure_months=rng.randint(6, 40), failed_payments_90d=rng.randint(0, 1))
        out.append(Labelled(features, False))
    return out


def test_it_keeps_the_prior_below_thirty_churned_customers() -> None:
    assert scorer_for(_history(29, 100)).source == "prior"


def test_it_keeps_the_prior_below_thirty_retained_customers() -> None:
    assert scorer_for(_history(100, 29)).source == "prior"


def test_it_fits_a_model_from_thirty_churned_and_thirty_retained() -> None:
    assert scorer_for(_history(30, 30)).source == "model"


def test_it_learns_from_the_founders_history_which_customers_churn() -> None:
    model = fit(_history(40, 60))
    risky = model.score("a", _with(interval="month", tenure_months=2, failed_payments_90d=2))
    assert risky.probability > 0.5 > model.score("b", _with(tenure_months=30)).probability


def test_it_explains_a_fitted_score_in_the_same_words() -> None:
    model = fit(_history(40, 60))
    reasons = model.score("a", _with(interval="month", tenure_months=2)).reasons
    assert {"month-to-month plan", "tenure 2 months"} <= {r.text for r in reasons}


def test_it_says_the_plan_interval_once_even_when_both_interval_features_push() -> None:
    model = fit(_history(40, 60))
    texts = [r.text for r in model.score("a", _with(interval="month")).reasons]
    assert texts.count("month-to-month plan") <= 1


def test_it_refuses_to_fit_a_history_of_one_outcome() -> None:
    with pytest.raises(ChurnInputError, match="churned and retained"):
        fit(_history(0, 40))


def test_it_keeps_the_priors_weight_for_a_feature_the_history_never_varies() -> None:
    """No ticket in any past snapshot (the help desk came later): the prior's word stands."""
    model = fit(_history(40, 60))
    tickets = [f.name for f in FEATURES].index("tickets")
    assert model.weights[tickets] == PRIOR.weights[tickets]


def test_it_still_names_tickets_the_history_never_saw_as_a_reason() -> None:
    model = fit(_history(40, 60))
    reasons = model.score("a", _with(negative_tickets_90d=3)).reasons
    assert "3 unhappy support tickets in 90 days" in [r.text for r in reasons]


def test_it_learns_the_weight_of_a_feature_the_history_varies() -> None:
    model = fit(_history(40, 60))
    failed = [f.name for f in FEATURES].index("failed_payments")
    assert model.weights[failed] != PRIOR.weights[failed]
