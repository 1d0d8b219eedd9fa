"""Derived metrics on a four-customer ledger, every answer worked out by hand.

January: A 100, B 50, D 100 start (new 250, 3 paying). February 1: B leaves (churn 50), D
goes to 150 (expansion 50), C joins at 200 (new 200): start 250, end 450, 3 paying.
March and April: nothing moves.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from founderops.revenue import engine, metrics
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.engine import Result
from tests.revenue.ledgers import Books

JAN, FEB, MAR, APR = range(4)
MARGIN = Fraction(4, 5)


def _four() -> Result:
    books = Books("2025-01", "2025-04")
    books.bill("A", "2025-01-01", 10000, count=4)
    books.bill("B", "2025-01-01", 5000)
    books.end("sub_B_2", "2025-02-01")
    books.bill("D", "2025-01-01", 10000, sub="sub_D")
    books.bill("D", "2025-02-01", 15000, count=3, sub="sub_D")
    books.bill("C", "2025-02-01", 20000, count=3)
    return engine.compute(books.ledger)


def _february() -> metrics.MonthRates:
    return metrics.table(_four())[FEB]


def test_it_gives_arr_as_twelve_times_mrr() -> None:
    assert _february().arr == 12 * 45000


def test_it_gives_arpa_as_mrr_per_paying_customer() -> None:
    assert _february().arpa == 15000


def test_it_counts_customer_churn_among_customers_paying_at_the_start() -> None:
    assert _february().customer_churn == Fraction(1, 3)


def test_it_gives_gross_mrr_churn_as_churn_and_contraction_over_starting_mrr() -> None:
    assert _february().gross_mrr_churn == Fraction(50, 250)


def test_it_nets_expansion_against_churn_in_net_mrr_churn() -> None:
    assert _february().net_mrr_churn == 0


def test_it_gives_nrr_and_grr_of_the_starting_customers() -> None:
    rates = _february()
    assert (rates.nrr, rates.grr) == (Fraction(1), Fraction(200, 250))


def test_it_gives_the_quick_ratio_with_and_without_reactivation() -> None:
    rates = _february()
    assert (rates.quick_ratio, rates.quick_ratio_with_reactivation) == (Fraction(5), Fraction(5))


def test_it_leaves_rates_without_a_denominator_empty() -> None:
    january = metrics.table(_four())[JAN]
    assert (january.customer_churn, january.nrr, january.quick_ratio) == (None, None, None)


def test_it_follows_the_starting_customers_over_a_window() -> None:
    # Paying at January's end: A 100, B 50, D 100 (250). In April: A 100, B 0, D 150.
    retention = metrics.trailing_retention(_four(), APR, window=3)
    assert (retention.cohort_customers, retention.nrr, retention.grr) == (
        3,
        Fraction(1),
        Fraction(4, 5),
    )


def test_it_gives_the_monthly_nrr_for_a_one_month_window() -> None:
    result = _four()
    assert metrics.trailing_retention(result, FEB, window=1).nrr == metrics.table(result)[FEB].nrr


def test_it_refuses_a_window_reaching_before_the_range() -> None:
    with pytest.raises(RevenueInputError, match="no month 12 months before"):
        metrics.trailing_retention(_four(), APR)


def test_it_leaves_fx_out_of_trailing_nrr() -> None:
    books = Books("2025-01", "2025-04")
    books.bill("H", "2025-01-01", 10000, count=4, currency="EUR")
    books.rate("EUR", "2025-01-01", "1.10")
    books.rate("EUR", "2025-04-01", "1.21")
    retention = metrics.trailing_retention(engine.compute(books.ledger), APR, window=3)
    assert retention.nrr == 1


def test_it_computes_ltv_from_arpa_margin_and_churn() -> None:
    # $150 ARPA x 0.8 / (1/3) = $360.
    assert metrics.ltv(_four(), FEB, MARGIN).value == 36000


def test_it_shows_the_ltv_formula_with_its_numbers() -> None:
    assert metrics.ltv(_four(), FEB, MARGIN).formula == (
        "LTV = ARPA x gross margin / customer churn rate = $150.00 x 0.80 / 0.3333 = $360.00"
    )


def test_it_pools_churn_over_the_ltv_window() -> None:
    # February and March: 1 churned of 3 + 3 at the starts, so 1/6: $150 x 0.8 x 6 = $720.
    assert metrics.ltv(_four(), MAR, MARGIN, window=2).value == 72000


def test_it_leaves_ltv_undefined_without_churn() -> None:
    ltv = metrics.ltv(_four(), MAR, MARGIN)
    assert (ltv.value, ltv.formula.endswith("no customer churned in the window")) == (None, True)


def test_it_refuses_a_gross_margin_above_one() -> None:
    with pytest.raises(RevenueInputError, match="between 0 and 1"):
        metrics.ltv(_four(), FEB, Fraction(3, 2))


def test_it_divides_spend_by_new_customers_for_cac() -> None:
    (january,) = metrics.acquisition(_four(), [(date(2025, 1, 5), 30000)], MARGIN)
    assert (january.new_customers, january.cac) == (3, Fraction(10000))


def test_it_adds_up_spend_recorded_twice_in_a_month() -> None:
    spend = [(date(2025, 2, 10), 10000), (date(2025, 2, 20), 10000)]
    (february,) = metrics.acquisition(_four(), spend, MARGIN)
    assert (february.spend, february.cac) == (20000, Fraction(20000))


def test_it_gives_payback_in_months_of_gross_profit() -> None:
    # $300 / ($250 new MRR x 0.8) = 1.5 months.
    (january,) = metrics.acquisition(_four(), [(date(2025, 1, 1), 30000)], MARGIN)
    assert january.payback_months == Fraction(3, 2)


def test_it_refuses_spend_outside_the_range() -> None:
    with pytest.raises(RevenueInputError, match="2024-12, outside the range"):
        metrics.acquisition(_four(), [(date(2024, 12, 1), 100)], MARGIN)


def test_it_refuses_negative_spend() -> None:
    with pytest.raises(RevenueInputError, match="negative"):
        metrics.acquisition(_four(), [(date(2025, 1, 1), -1)], MARGIN)


def _trials() -> Result:
    # T1 converts after its trial, T2 never pays, T3 is still in its trial at April's end.
    books = Books("2025-01", "2025-04")
    for name, start, end in (
        ("T1", "2025-01-10", "2025-01-24"),
        ("T2", "2025-01-15", "2025-01-29"),
        ("T3", "2025-04-25", "2025-05-09"),
    ):
        (trial,) = books.bill(name, start, 3000, sub=f"sub_{name}", trial=True)
        trial.period_end = trial.period_start.replace(month=int(end[5:7]), day=int(end[8:]))
    books.bill("T1", "2025-01-24", 3000, count=3, sub="sub_T1")
    books.end("sub_T2", "2025-01-29")
    return engine.compute(books.ledger)


def test_it_counts_trials_that_became_paid_by_their_start_month() -> None:
    january = metrics.trial_conversion(_trials())[JAN]
    assert (january.started, january.converted, january.rate) == (2, 1, Fraction(1, 2))


def test_it_leaves_running_trials_out_of_the_conversion_rate() -> None:
    april = metrics.trial_conversion(_trials())[APR]
    assert (april.started, april.pending, april.rate) == (1, 1, None)


def _failures() -> Result:
    # K's February invoice fails twice then is paid; G's April invoice is voided after
    # dunning; L's April invoice is still open at April's end.
    books = Books("2025-01", "2025-04")
    (k_feb,) = books.bill("K", "2025-02-01", 2000)
    books.fail(k_feb, "2025-02-01")
    books.fail(k_feb, "2025-02-04")
    (g_apr,) = books.bill("G", "2025-04-01", 7000, status="open")
    books.fail(g_apr, "2025-04-01")
    books.void(g_apr, "2025-04-21")
    (l_apr,) = books.bill("L", "2025-04-20", 1000, status="open")
    books.fail(l_apr, "2025-04-20")
    return engine.compute(books.ledger)


def test_it_counts_an_invoice_paid_after_failing_as_recovered_once() -> None:
    february = metrics.payment_recovery(_failures())[FEB]
    assert (february.failed, february.recovered, february.rate) == (1, 1, Fraction(1))


def test_it_counts_voided_invoices_as_lost_and_open_ones_as_pending() -> None:
    april = metrics.payment_recovery(_failures())[APR]
    assert (april.failed, april.lost, april.pending, april.rate) == (2, 1, 1, Fraction(0))
