"""Inkwell's billing: about 18 months of subscriptions, as Stripe would have recorded them.

Two parts. `plan_history` decides who subscribed to what and when: Inkwell's own demo customers
follow written stories that match their support tickets (Ana's card fails and is recovered,
Sam cancels and asks for the renewal he meant to stop back, Olu asks for part of his annual
payment back, Aisha's payment failed yesterday, Isabel cancels at the period's end, Emma comes
back, Marcus upgrades to Team...), and about 170 more customers come from a seeded random
process (trials, monthly and annual plans, coupons, up- and downgrades, failed payments
recovered or lost, churn, comebacks, some in euros). Then
`stripe_objects` writes those lives as Stripe's own JSON (the API's older, still served shape:
`invoice.subscription`, `line.price`, `charge.invoice`), which `demo_stripe` serves to the real
backfill. Everything is relative to the demo's `now` and the same for the same seed and day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

SEED = 20240901
MONTHS = 18
TRIAL_DAYS = 14
# Stripe's default Smart Retries spacing is close to this: the first retry a few days later.
RETRY_DAYS = (3, 7, 14)
WRITE_OFF_DAYS = 21
# Stripe charges a renewal's invoice about an hour after it is made.
CHARGE_DELAY = timedelta(hours=1)
VAT = 20  # % on euro invoices (exclusive)
ID = "ink"  # every generated id carries it: cus_ink…, in_ink…; reset finds them by it


@dataclass(frozen=True)
class PlanPrice:
    key: str
    name: str
    # cents per interval, by currency
    month: dict[str, int]
    year: dict[str, int]

    def amount(self, interval: str, currency: str) -> int:
        return (self.month if interval == "month" else self.year)[currency]


PLANS = {
    "creator": PlanPrice(
        "creator", "Creator", {"usd": 1200, "eur": 1100}, {"usd": 12000, "eur": 11000}
    ),
    "pro": PlanPrice("pro", "Pro", {"usd": 2900, "eur": 2700}, {"usd": 29000, "eur": 27000}),
    "team": PlanPrice("team", "Team", {"usd": 7900, "eur": 7300}, {"usd": 79000, "eur": 73000}),
}
UPGRADE = {"creator": "pro", "pro": "team"}
DOWNGRADE = {"team": "pro", "pro": "creator"}


@dataclass(frozen=True)
class CouponSpec:
    id: str
    name: str
    percent_off: int
    duration: str
    months: int | None = None


COUPONS = {
    "LAUNCH50": CouponSpec("LAUNCH50", "Launch offer: 50 % off 3 months", 50, "repeating", 3),
    "FRIENDS20": CouponSpec("FRIENDS20", "Friends of Inkwell: 20 % off", 20, "forever"),
}


# --- lives: who paid for what, when ---------------------------------------------------------


@dataclass
class Period:
    """One service period of a subscription and what happened to its invoice."""

    start: datetime
    end: datetime
    plan: str
    interval: str
    trial: bool = False
    # Failed attempts before the payment went through (recovered by a retry).
    failures: int = 0
    # Never paid: written off after WRITE_OFF_DAYS; the subscription ends then.
    lost: bool = False
    # A mid-period change to another plan, prorated: (when, new plan).
    upgrade: tuple[datetime, str] | None = None
    # Part of the charge given back: (when, cents).
    refund: tuple[datetime, int] | None = None
    # Canceled at this moment: with `credit_unused`, the unused time is credited to the
    # customer's balance (a prorated cancel); without, nothing is (Stripe's default).
    ends_early: datetime | None = None
    credit_unused: bool = True


@dataclass
class Life:
    """One subscription of one customer."""

    customer: str
    currency: str
    periods: list[Period]
    coupon: str | None = None
    canceled_at: datetime | None = None
    cancel_at_period_end: bool = False


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    email: str
    currency: str
    since: datetime


@dataclass
class History:
    now: datetime
    people: list[Person] = field(default_factory=list)
    lives: list[Life] = field(default_factory=list)
    # EUR -> USD, one exact decimal a day
    rates: list[tuple[date, str]] = field(default_factory=list)


def add_months(moment: datetime, count: int) -> datetime:
    """The same day and time `count` months later (the 31st becomes the month's last day)."""
    index = moment.month - 1 + count
    year, month = moment.year + index // 12, index % 12 + 1
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def first_month(now: datetime) -> datetime:
    """The first day of the history: MONTHS months before this month began."""
    return add_months(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), -MONTHS)


def periods(
    start: datetime, plan: str, interval: str, now: datetime, trial: bool = False
) -> list[Period]:
    """Back-to-back periods from `start` (a trial first) up to the one running at `now`."""
    out = []
    anchor = start
    if trial:
        anchor = start + timedelta(days=TRIAL_DAYS)
        out.append(Period(start, anchor, plan, interval, trial=True))
    step = 1 if interval == "month" else 12
    number = 0
    # Counted from the anchor, as Stripe does: a period started on the 31st ends on the 30th
    # (or the 28th) and the next starts again on the 31st.
    while (begins := add_months(anchor, number * step)) <= now:
        out.append(Period(begins, add_months(anchor, (number + 1) * step), plan, interval))
        number += 1
    return out


def containing(life: Life, moment: datetime) -> int:
    return next(i for i, p in enumerate(life.periods) if p.start <= moment < p.end)


def change_plan(life: Life, at: datetime, plan: str) -> None:
    """A prorated change at `at`; later periods bill the new plan."""
    index = containing(life, at)
    life.periods[index].upgrade = (at, plan)
    for later in life.periods[index + 1 :]:
        later.plan = plan


def cancel_at_end(life: Life, canceled_at: datetime) -> None:
    """The customer cancels at `canceled_at`; service runs to the end of that period."""
    index = containing(life, canceled_at)
    del life.periods[index + 1 :]
    life.canceled_at, life.cancel_at_period_end = canceled_at, True


# --- Inkwell's own customers: the stories their tickets tell -------------------------------


def _ago(now: datetime, days: float) -> datetime:
    return (now - timedelta(days=days)).replace(microsecond=0)


def inkwell_lives(now: datetime, people: dict[str, Person]) -> list[Life]:
    def life(who: str, days: float, plan: str, interval: str = "month", **kw: Any) -> Life:
        person = people[who]
        trial = bool(kw.pop("trial", False))
        found = periods(_ago(now, days), plan, interval, now, trial)
        return Life(person.key, person.currency, found, **kw)

    lives = []
    priya = life("priya", 505, "creator")
    change_plan(priya, _ago(now, 372.4), "pro")
    marcus = life("marcus", 480, "pro")
    # "Second writer": Marcus moved to Team when his co-author joined.
    change_plan(marcus, _ago(now, 151.2), "team")
    diego = life("diego", 352, "pro")
    diego.periods[containing(diego, _ago(now, 118))].failures = 1
    emma_first = life("emma", 500, "creator", coupon="LAUNCH50")
    cancel_at_end(emma_first, _ago(now, 372))
    grace = life("grace", 520, "creator")
    cancel_at_end(grace, _ago(now, 300.5))
    ben = life("ben", 410, "creator", coupon="FRIENDS20")
    cancel_at_end(ben, _ago(now, 76.3))
    lives += [priya, marcus, diego, emma_first, grace, ben]
    lives += [
        life("tom", 431, "creator"),
        life("amelie", 262, "creator", coupon="FRIENDS20"),
        life("hannah", 61.7, "creator", trial=True),
        life("kenji", 531, "pro", "year"),
        life("lena", 229.6, "creator"),
        # "Make-good for our sponsor": asks for $100 of his annual payment of five weeks ago
        # back, over the demo's refund policy: the Support Agent proposes it for approval.
        life("olu", 401, "team", "year"),
        # "Yearly payment": renews next month.
        life("chloe", _renewed(now, -29.3, 12), "pro", "year"),
        life("ravi", 391, "creator"),
        # Emma came back after seven months away: a reactivation.
        life("emma", 190.3, "creator"),
        life("yara", 421, "team"),
        life("nadia", 250.8, "pro", "year"),
        life("luca", 200.2, "pro"),
        # "Stop the renewal": her annual Team plan renews in four days.
        life("maya", _renewed(now, -3.8, 12), "team", "year"),
        # "Going paid - prices?": trying Pro.
        life("sofia", 3.6, "pro", trial=True),
    ]
    lives += _trouble(now, life, people["sam"])
    return lives


def _renewed(now: datetime, days_ago: float, months: int) -> float:
    """Days since a monthly life began whose latest renewal was `days_ago` days ago."""
    return (now - add_months(_ago(now, days_ago), -months)).total_seconds() / 86400


def _trouble(now: datetime, life: Any, sam: Person) -> list[Life]:
    """The stories the founder hears about this week, each renewal placed on its day."""
    # "Payment didn't go through": the renewal failed; the retry after the reminder worked.
    ana = life("ana", _renewed(now, 3.4, 10), "pro")
    ana.periods[-1].failures = 1
    # "Ending my subscription": cancels at the end of the period.
    isabel = life("isabel", 211.5, "creator")
    cancel_at_end(isabel, _ago(now, 1.98))
    # "Past due?": last night's renewal failed (before her "Cancel, refund, delete" mail) and
    # dunning is on it; within the last 24 hours, so the morning briefing names it.
    aisha = life("aisha", _renewed(now, 0.95, 9), "creator", coupon="LAUNCH50")
    aisha.periods[-1].failures = 1
    return [ana, sams_life(now, sam), isabel, aisha]


# Sam's ticket (demo-017 in demo_data/tickets.jsonl) arrives this long before the demo's now:
# "I got renewed yesterday" is true to the day whatever the time, as the renewal's charge is
# exactly a day before it.
SAMS_TICKET = timedelta(minutes=3100)
SAMS_CANCEL = timedelta(minutes=15)  # before his ticket: "I've just cancelled"


def sams_life(now: datetime, person: Person) -> Life:
    """ "Charged after I meant to cancel": monthly Creator, his latest renewal charged a day
    before his ticket; he cancels at once, just before he writes, with no credit for the
    unused time (Stripe's default), and asks for the renewal back: the Support Agent refunds
    it from his ticket (demo.py replays it with the demo's Stripe connected)."""
    ticket = now - SAMS_TICKET
    renewal = ticket - timedelta(days=1) - CHARGE_DELAY
    # Eleven months back, or a little more: a renewal on the 31st counts from an anchor on
    # a 31st (as Stripe counts), and April has none.
    months = next(m for m in range(11, 15) if add_months(add_months(renewal, -m), m) == renewal)
    start = add_months(renewal, -months)
    life = Life(person.key, person.currency, periods(start, "creator", "month", now))
    life.periods[-1].ends_early = ticket - SAMS_CANCEL
    life.periods[-1].credit_unused = False
    life.canceled_at = ticket - SAMS_CANCEL
    return life


# Customers of the demo (demo_data/customers.json) and the currency Stripe bills them in.
EURO_CUSTOMERS = ("tom", "amelie", "lena", "chloe", "isabel", "luca")


def inkwell_people(now: datetime, rows: Sequence[tuple[str, str]]) -> dict[str, Person]:
    """By first name: (name, e-mail) of each demo customer, numbered in the file's order."""
    people = {}
    for number, (name, email) in enumerate(rows, start=1):
        key = email.split("@")[0].split(".")[0]
        currency = "eur" if key in EURO_CUSTOMERS else "usd"
        people[key] = Person(f"cus_{ID}{number:04d}", name, email, currency, now)
    return people


# --- everyone else: a seeded random process ---------------------------------------------------

# Split from text: three long word lists stay readable (a list literal takes a line a word).
FIRST = (  # noqa: SIM905
    "Mira Jonas Alma Noah Ivy Leo Zoe Omar Lina Hugo Nora Felix Ada Milo Iris Theo Maya Ezra "
    "Lucia Owen Rosa Kai Elena Yusuf Clara Arjun Ines Mateo Hana Jude Sara Nico Freya Tariq "
    "Amara Paul Greta Rafael June Viktor"
).split()
LAST = (  # noqa: SIM905
    "Jensen Moreau Okoro Tanaka Novak Silva Berg Kaur Walsh Rossi Costa Meyer Haddad Park Lund "
    "Fischer Duarte Nowak Ahmed Quinn Ward Sato Klein Olsen Reyes Brandt Mensah Ito Farah Kerr"
).split()
TOPICS = (  # noqa: SIM905
    "weekly dispatch letters field notes digest journal bulletin briefing memo chronicle "
    "roundup gazette almanac"
).split()


def arrivals(rng: random.Random, now: datetime) -> list[datetime]:
    """Sign-up moments: a Poisson stream whose rate grows from 5 to about 14 a month."""
    start = first_month(now)
    out = []
    for month in range(MONTHS + 1):
        begins, full = add_months(start, month), add_months(start, month + 1)
        ends = min(full, now)
        # This month so far gets its share of the month's sign-ups, not all of them.
        share = max(ends - begins, timedelta(0)) / (full - begins)
        for _ in range(_poisson(rng, (5 + 0.5 * month) * share)):
            moment = begins + (ends - begins) * rng.random()
            if moment < now - timedelta(hours=2):
                out.append(moment.replace(microsecond=0))
    return sorted(out)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def random_person(rng: random.Random, number: int, since: datetime) -> Person:
    first, last, topic = rng.choice(FIRST), rng.choice(LAST), rng.choice(TOPICS)
    email = f"{first.lower()}.{last.lower()}.{number}@{last.lower()}-{topic}.example.com"
    currency = "eur" if rng.random() < 0.1 else "usd"
    return Person(f"cus_{ID}{number:04d}", f"{first} {last}", email, currency, since)


def random_lives(rng: random.Random, person: Person, now: datetime) -> list[Life]:
    plan = rng.choices(("creator", "pro", "team"), (0.52, 0.35, 0.13))[0]
    interval = "year" if rng.random() < 0.18 else "month"
    coupon = None
    if interval == "month":
        roll = rng.random()
        coupon = "LAUNCH50" if roll < 0.14 else "FRIENDS20" if roll < 0.19 else None
    trial = rng.random() < 0.35
    life = Life(person.key, person.currency, [], coupon)
    _live(rng, life, person.since, plan, interval, trial, now)
    lives = [life]
    comeback = _comeback(rng, life, now)
    if comeback is not None:
        again = Life(person.key, person.currency, [])
        _live(rng, again, comeback, plan, "month", False, now)
        lives.append(again)
    return lives


def _comeback(rng: random.Random, life: Life, now: datetime) -> datetime | None:
    """Some customers who left on their own come back two to eight months later."""
    last = life.periods[-1]
    if not life.cancel_at_period_end or last.trial or rng.random() >= 0.15:
        return None
    moment = last.end + timedelta(days=rng.uniform(60, 240))
    return moment.replace(microsecond=0) if moment < now - timedelta(days=1) else None


def _live(
    rng: random.Random,
    life: Life,
    start: datetime,
    plan: str,
    interval: str,
    trial: bool,
    now: datetime,
) -> None:
    anchor = start
    if trial:
        anchor = start + timedelta(days=TRIAL_DAYS)
        life.periods.append(Period(start, anchor, plan, interval, trial=True))
        if rng.random() > 0.72:
            _cancel(life, start + timedelta(days=rng.uniform(3, 13)), now)
            return
    step = 1 if interval == "month" else 12
    number = 0
    while (moment := add_months(anchor, number * step)) <= now:
        period = Period(moment, add_months(anchor, (number + 1) * step), plan, interval)
        life.periods.append(period)
        if number and _payment_trouble(rng, period):
            return
        plan = _maybe_upgrade(rng, period, plan, now)
        if _churns(rng, life, period, number, now):
            return
        if rng.random() < 0.012 and plan in DOWNGRADE:
            plan = DOWNGRADE[plan]
        if rng.random() < 0.006:
            # A whole period given back (the customer forgot to use it), the plan kept.
            period.refund = (period.start + timedelta(days=rng.uniform(1, 5)), -1)
        number += 1


def _payment_trouble(rng: random.Random, period: Period) -> bool:
    """A renewal whose card fails: usually recovered by a retry, sometimes lost (True)."""
    roll = rng.random()
    if roll < 0.007:
        period.lost = True
        return True
    if roll < 0.05:
        period.failures = 1 if rng.random() < 0.7 else 2
    return False


def _maybe_upgrade(rng: random.Random, period: Period, plan: str, now: datetime) -> str:
    if period.interval != "month" or plan not in UPGRADE or rng.random() >= 0.03:
        return plan
    at = period.start + (period.end - period.start) * rng.uniform(0.15, 0.85)
    if at >= now:
        return plan
    period.upgrade = (at.replace(microsecond=0), UPGRADE[plan])
    return UPGRADE[plan]


def _churns(rng: random.Random, life: Life, period: Period, number: int, now: datetime) -> bool:
    """Whether the customer cancels during `period`. The odds follow what the churn-risk
    model expects to learn: new, monthly, discounted, recently troubled customers leave more."""
    hazard = 0.22 if period.interval == "year" else 0.055 if number < 3 else 0.03
    if life.coupon == "LAUNCH50" and number == 2:
        hazard += 0.15  # the discount ends with the next invoice
    recent = life.periods[-3:]
    if any(p.failures for p in recent):
        hazard *= 3  # a card that fails is often a customer who stopped caring
    if len(recent) > 1 and PLANS[recent[-1].plan].month["usd"] < PLANS[recent[0].plan].month["usd"]:
        hazard *= 2  # a downgrade is the usual step before leaving
    if period.plan == "team":
        hazard *= 0.7
    if rng.random() >= hazard:
        return False
    return _cancel(life, period.start + (period.end - period.start) * rng.uniform(0.2, 0.95), now)


def _cancel(life: Life, moment: datetime, now: datetime) -> bool:
    if moment >= now:
        return False  # not decided yet
    life.canceled_at, life.cancel_at_period_end = moment.replace(microsecond=0), True
    return True


# --- the whole history ----------------------------------------------------------------------

# A few of the others, written rather than drawn, so the demo always shows them.
NEWCOMER = "cus_ink9001"
WRITTEN_OFF = "cus_ink9002"
DUNNED = "cus_ink9003"


def written_lives(now: datetime) -> tuple[list[Person], list[Life]]:
    """Iris signed up last night; Bram's card failed four times over three weeks, two months
    ago, and the invoice was written off, which ended his subscription; Jonas's renewal of
    eight days ago has failed three times so far, and dunning is halfway through."""
    fresh = Life(NEWCOMER, "usd", periods(_ago(now, 0.62), "pro", "month", now))
    unpaid = Life(WRITTEN_OFF, "usd", periods(_ago(now, 268.3), "pro", "month", now))
    cut = containing(unpaid, _ago(now, 61))
    del unpaid.periods[cut + 1 :]
    unpaid.periods[cut].lost = True
    # Never paid: written off WRITE_OFF_DAYS after the renewal, two weeks from now.
    dunned = Life(DUNNED, "usd", periods(_ago(now, _renewed(now, 8.3, 6)), "pro", "month", now))
    dunned.periods[-1].lost = True
    people = [
        Person(NEWCOMER, "Iris Calloway", "iris@calloway-notes.example.com", "usd", now),
        Person(WRITTEN_OFF, "Bram Visser", "bram@visser-weekly.example.net", "usd", now),
        Person(DUNNED, "Jonas Lund", "jonas@lund-fieldnotes.example.com", "usd", now),
    ]
    lives = [fresh, unpaid, dunned]
    return [_since(person, lives) for person in people], lives


def plan_history(now: datetime, customers: Sequence[tuple[str, str]], seed: int = SEED) -> History:
    """Every customer's subscriptions, relative to `now`, the same for the same seed.
    `customers`: the demo's own (name, e-mail) pairs."""
    now = now.astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    history = History(now)
    people = inkwell_people(now, customers)
    history.lives = inkwell_lives(now, people)
    paying = {life.customer for life in history.lives}
    history.people = [_since(p, history.lives) for p in people.values() if p.key in paying]
    for number, moment in enumerate(arrivals(rng, now), start=len(people) + 1):
        person = random_person(rng, number, moment)
        history.people.append(person)
        history.lives += random_lives(rng, person, now)
    extra_people, extra_lives = written_lives(now)
    history.people += extra_people
    history.lives += extra_lives
    history.rates = eur_rates(rng, first_month(now).date() - timedelta(days=7), now.date())
    return history


def _since(person: Person, lives: list[Life]) -> Person:
    first = min(life.periods[0].start for life in lives if life.customer == person.key)
    return Person(
        person.key, person.name, person.email, person.currency, first - timedelta(minutes=5)
    )


def eur_rates(rng: random.Random, first: date, last: date) -> list[tuple[date, str]]:
    """A mean-reverting daily EURUSD walk around 1.08, four decimals (exact)."""
    rate, out, day = 1.0850, [], first
    while day <= last:
        out.append((day, f"{rate:.4f}"))
        rate += 0.05 * (1.08 - rate) + rng.gauss(0, 0.0035)
        day += timedelta(days=1)
    return out
