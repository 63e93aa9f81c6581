"""The health score of a key account: signals, weights, score, bands and explanation.

Each signal turns one figure of the daily snapshot into a sub-score between 0 (bad) and 1
(good) along a straight ramp, and the score is the weighted mean of the sub-scores of the
signals that apply, times 100. A signal that does not apply (no revenue a year earlier, no
account review, no active plan) takes no part: its weight goes to the others.

The same definitions produce the Python function (``health``) and the SQL expressions the
daily snapshot computes set-based (``subscore_sql``, ``health_sql``); both evaluate the same
floating-point operations in the same order, so that they agree to the last digit.
"""

import math
from collections import namedtuple

from odoo.tools import SQL

Signal = namedtuple("Signal", "name field zero_at full_at missing")
Signal.__doc__ = """One signal of the health score.

``field``: the snapshot input it reads; the sub-score is 0 at ``zero_at`` and 1 at ``full_at``,
linear between and flat outside (``full_at`` may be below ``zero_at``: less is better).
``missing``: the sub-score when the input is empty, ``None`` when the signal then does not apply.
"""

# Ramps, with the unit of each input.
SIGNALS = (
    # Revenue over the window against the same window a year earlier, in %: a fall of 50 % or
    # more scores 0, no fall scores 1.  Does not apply without revenue a year earlier.
    Signal("revenue_trend", "revenue_trend", -50.0, 0.0, None),
    # Gross margin rate against a year earlier, in percentage points: 10 points lost scores 0.
    Signal("margin_trend", "margin_trend", -10.0, 0.0, None),
    # Days since the last contact divided by the tier's contact interval: on time scores 1,
    # twice the interval 0; no contact ever recorded scores 0.
    Signal("contact", "contact_ratio", 2.0, 1.0, 0.0),
    # Weighted open pipeline as a % of three months of revenue: 100 % cover scores 1.
    Signal("pipeline_cover", "pipeline_cover", 0.0, 100.0, None),
    # Overdue receivables as a % of one month of revenue: none scores 1, a month's worth 0.
    Signal("overdue", "overdue_share", 100.0, 0.0, 1.0),
    # Latest account review, 0-10: 4 or less scores 0, 9 or more scores 1.
    Signal("satisfaction", "satisfaction", 4.0, 9.0, None),
    # Share of the active account plan's objectives on track, in %.
    Signal("plan_progress", "plan_progress", 0.0, 100.0, None),
)
SIGNAL_NAMES = tuple(signal.name for signal in SIGNALS)

DEFAULT_WEIGHTS = {
    "revenue_trend": 30.0,
    "margin_trend": 10.0,
    "contact": 20.0,
    "pipeline_cover": 10.0,
    "overdue": 10.0,
    "satisfaction": 10.0,
    "plan_progress": 10.0,
}
BANDS = [("healthy", "Healthy"), ("watch", "Watch"), ("at_risk", "At risk")]
# An objective at risk counts half towards the plan's progress.
AT_RISK_CREDIT = 0.5


def subscore(signal, value):
    """Sub-score of ``signal`` for the input ``value``, or ``None`` if the signal does not apply."""
    if value is None:
        return signal.missing
    return min(1.0, max(0.0, (float(value) - signal.zero_at) / (signal.full_at - signal.zero_at)))


def health(inputs, weights):
    """Return ``(score, losses)`` for the inputs of one snapshot.

    ``inputs`` maps each signal's ``field`` to its value (``None`` when empty) and ``weights``
    each signal's name to its weight. ``score`` is an integer from 0 to 100 (``None`` when no
    signal applies); ``losses`` maps each signal's name to the points it took off the score,
    which add up to ``100 - score`` before rounding.
    """
    weight = 0.0
    points = 0.0
    subs = {}
    for signal in SIGNALS:
        sub = subscore(signal, inputs.get(signal.field))
        subs[signal.name] = sub
        if sub is None:
            continue
        w = float(weights[signal.name])
        weight += w
        points += w * sub
    if not weight > 0:
        return None, dict.fromkeys(SIGNAL_NAMES, 0.0)
    losses = {
        name: (0.0 if subs[name] is None else 100.0 * float(weights[name]) * (1.0 - subs[name]) / weight)
        for name in SIGNAL_NAMES
    }
    return math.floor(100.0 * points / weight + 0.5), losses


def band(score, healthy_from, risk_below):
    """The band of ``score``: healthy from ``healthy_from``, at risk below ``risk_below``."""
    if score is None:
        return None
    if score >= healthy_from:
        return "healthy"
    if score < risk_below:
        return "at_risk"
    return "watch"


def plan_progress(statuses):
    """Progress of a plan from its objectives' statuses, in %: at risk counts half; None if none."""
    if not statuses:
        return None
    credit = sum(1.0 if status == "on_track" else AT_RISK_CREDIT if status == "at_risk" else 0.0 for status in statuses)
    return 100.0 * credit / len(statuses)


def pulled_down_by(losses, minimum=0.5):
    """Names of the signals that took at least ``minimum`` points off, the heaviest first."""
    return [name for name, loss in sorted(losses.items(), key=lambda item: -item[1]) if loss >= minimum]


def check_weights(weights):
    """Error message for weights that cannot make a score, or ``None``."""
    if any(float(weights[name]) < 0 for name in SIGNAL_NAMES):
        return "negative"
    if not sum(float(weights[name]) for name in SIGNAL_NAMES) > 0:
        return "zero"
    return None


# ----------------------------------------------------------------------------------------
# The same rules in SQL
# ----------------------------------------------------------------------------------------
def _float(value):
    return SQL("%s::float8", float(value))


def subscore_sql(signal, value):
    """SQL of ``subscore``: ``value`` is a float8 expression (NULL when empty).

    The empty case is tested first: ``GREATEST`` and ``LEAST`` ignore NULL arguments.
    """
    return SQL(
        "CASE WHEN %(value)s IS NULL THEN %(missing)s "
        "ELSE LEAST(1.0::float8, GREATEST(0.0::float8, (%(value)s - %(zero)s) / (%(full)s - %(zero)s))) END",
        value=value,
        missing=SQL("NULL::float8") if signal.missing is None else _float(signal.missing),
        zero=_float(signal.zero_at),
        full=_float(signal.full_at),
    )


def weight_sql(alias, weights):
    """Sum of the weights of the signals that apply, from the sub-score columns ``s_<name>``."""
    return SQL(" + ").join(
        SQL("CASE WHEN %s IS NULL THEN 0.0::float8 ELSE %s END", _sub(alias, name), _float(weights[name]))
        for name in SIGNAL_NAMES
    )


def points_sql(alias, weights):
    """Weighted sum of the sub-scores that apply."""
    return SQL(" + ").join(
        SQL("COALESCE(%s * %s, 0.0::float8)", _float(weights[name]), _sub(alias, name)) for name in SIGNAL_NAMES
    )


def score_sql(weight, points):
    return SQL("CASE WHEN %s > 0 THEN FLOOR(100.0::float8 * %s / %s + 0.5::float8)::int END", weight, points, weight)


def loss_sql(alias, name, weights, weight):
    return SQL(
        "CASE WHEN %(weight)s > 0 AND %(sub)s IS NOT NULL "
        "THEN 100.0::float8 * %(w)s * (1.0::float8 - %(sub)s) / %(weight)s ELSE 0.0::float8 END",
        weight=weight,
        sub=_sub(alias, name),
        w=_float(weights[name]),
    )


def band_sql(score, healthy_from, risk_below):
    return SQL(
        "CASE WHEN %(score)s IS NULL THEN NULL WHEN %(score)s >= %(healthy)s THEN 'healthy' "
        "WHEN %(score)s < %(risk)s THEN 'at_risk' ELSE 'watch' END",
        score=score,
        healthy=_float(healthy_from),
        risk=_float(risk_below),
    )


def _sub(alias, name):
    return SQL("%s.%s", SQL.identifier(alias), SQL.identifier(f"s_{name}"))
