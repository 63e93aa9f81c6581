"""The 80/20 decision rules, kept free of the ORM so that their boundaries are easy to test.

Tiers are compared by rank: A above B above C above "not classified" (``False``).
"""

from odoo.tools import SQL

TIER_RANK = {"a": 3, "b": 2, "c": 1, False: 0, None: 0}


def pareto_tier(revenue_above, total, threshold_a, threshold_b):
    """Tier of a customer whose better-ranked customers make ``revenue_above`` of ``total``.

    The comparison is multiplied out (``above * 100 < threshold * total``) rather than
    divided, so that no rounding of the share can move a customer across a line and a
    zero total needs no special case. The customer that crosses a line keeps the tier of
    the line it crosses: with 80 %, the customer that takes the running share from 70 %
    to 85 % is still A, because what ranks above it is below 80 %.
    """
    if revenue_above * 100 < threshold_a * total:
        return "a"
    if revenue_above * 100 < threshold_b * total:
        return "b"
    return "c"


def decide(current_tier, computed_tier, runs_below, grace, locked=False):
    """Return ``(new_tier, new_runs_below)`` for one customer after one run.

    - A locked tier never changes; its counter stays at 0.
    - Promotion (or a first classification) is immediate.
    - A customer computed below its current tier is demoted only once this has happened
      in more than ``grace`` consecutive runs (``grace == 0`` demotes at once); it then
      takes the tier computed in that run.
    - A run that computes the current tier (or better) resets the counter.
    """
    current_tier = current_tier or False
    computed_tier = computed_tier or False
    if locked:
        return current_tier, 0
    if TIER_RANK[computed_tier] >= TIER_RANK[current_tier]:
        return computed_tier, 0
    runs_below += 1
    if runs_below > grace:
        return computed_tier, 0
    return current_tier, runs_below


def tier_rank_sql(tier):
    """``TIER_RANK`` of the SQL expression ``tier``, as an SQL expression."""
    return SQL(
        "CASE %s WHEN 'a' THEN %s WHEN 'b' THEN %s WHEN 'c' THEN %s ELSE 0 END",
        tier,
        TIER_RANK["a"],
        TIER_RANK["b"],
        TIER_RANK["c"],
    )


def decide_sql(current_tier, computed_tier, runs_below, grace, locked):
    """``decide`` as SQL: ``(new_tier, new_runs_below)`` expressions over SQL expressions.

    ``locked`` must not be NULL. The set-based engine applies the rule to every customer in
    one statement; the tests check that both versions agree on every combination.
    """
    # Kept: locked, or computed below the current tier for no more than ``grace`` runs.
    keep_current = SQL(
        "(%(locked)s OR (%(computed_rank)s < %(current_rank)s AND %(runs)s + 1 <= %(grace)s))",
        locked=locked,
        computed_rank=tier_rank_sql(computed_tier),
        current_rank=tier_rank_sql(current_tier),
        runs=runs_below,
        grace=grace,
    )
    new_tier = SQL("CASE WHEN %s THEN %s ELSE %s END", keep_current, current_tier, computed_tier)
    # A kept tier counts the run, unless it is locked; any other outcome starts again at 0.
    new_runs = SQL("CASE WHEN %s AND NOT %s THEN %s + 1 ELSE 0 END", keep_current, locked, runs_below)
    return new_tier, new_runs
