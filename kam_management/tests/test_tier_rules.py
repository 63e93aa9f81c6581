import itertools

from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import SQL

from ..tools.tier_rules import decide, decide_sql


@tagged("post_install", "-at_install")
class TestTierRules(BaseCase):
    """The decision rule alone: promotion, grace, locks."""

    def test_promotion_is_immediate(self):
        self.assertEqual(decide("c", "a", 0, grace=2), ("a", 0))
        self.assertEqual(decide(False, "b", 0, grace=2), ("b", 0))

    def test_demotion_waits_for_more_than_grace_runs(self):
        self.assertEqual(decide("a", "b", 0, grace=2), ("a", 1))
        self.assertEqual(decide("a", "b", 1, grace=2), ("a", 2))
        self.assertEqual(decide("a", "c", 2, grace=2), ("c", 0), "the third run below demotes, to the tier it computed")

    def test_grace_zero_demotes_at_once(self):
        self.assertEqual(decide("a", "c", 0, grace=0), ("c", 0))
        self.assertEqual(decide("b", False, 0, grace=0), (False, 0), "losing all revenue loses the tier")

    def test_back_at_tier_resets_the_counter(self):
        self.assertEqual(decide("a", "a", 2, grace=2), ("a", 0))

    def test_locked_tier_never_moves(self):
        self.assertEqual(decide("b", "a", 0, grace=0, locked=True), ("b", 0))
        self.assertEqual(decide("a", False, 5, grace=0, locked=True), ("a", 0))


@tagged("post_install", "-at_install")
class TestTierRulesInSql(TransactionCase):
    """The engine decides in SQL: ``decide_sql`` must agree with ``decide`` everywhere."""

    def test_sql_rule_agrees_with_python(self):
        tiers = ["a", "b", "c", None]
        cases = [
            (current, computed, runs, grace, locked)
            for current, computed, runs, grace, locked in itertools.product(
                tiers, tiers, range(4), range(3), (False, True)
            )
        ]
        new_tier, new_runs = decide_sql(SQL("v.cur"), SQL("v.comp"), SQL("v.runs"), SQL("v.grace"), SQL("v.locked"))
        self.env.cr.execute(
            SQL(
                """
                SELECT v.cur, v.comp, v.runs, v.grace, v.locked, %s, %s
                  FROM unnest(%s::varchar[], %s::varchar[], %s::int[], %s::int[], %s::bool[])
                       AS v(cur, comp, runs, grace, locked)
                """,
                new_tier,
                new_runs,
                *([case[i] for case in cases] for i in range(5)),
            )
        )
        rows = self.env.cr.fetchall()
        self.assertEqual(len(rows), len(cases))
        for current, computed, runs, grace, locked, tier, runs_below in rows:
            with self.subTest(current=current, computed=computed, runs=runs, grace=grace, locked=locked):
                self.assertEqual(
                    (tier or False, runs_below), decide(current or False, computed or False, runs, grace, locked)
                )
