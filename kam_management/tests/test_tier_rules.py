from odoo.tests import BaseCase, tagged

from ..tools.tier_rules import decide


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
