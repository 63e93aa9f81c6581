"""The 80/20 decision rules, kept free of the ORM so that their boundaries are easy to test.

Tiers are compared by rank: A above B above C above "not classified" (``False``).
"""

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
