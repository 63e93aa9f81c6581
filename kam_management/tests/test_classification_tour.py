from odoo.tests import HttpCase, tagged

from .common import KamCommon


@tagged("post_install", "-at_install")
class TestClassificationTour(KamCommon, HttpCase):
    """A director works the Key Accounts screens in a real browser."""

    def test_director_locks_a_key_account_from_the_screens(self):
        anchor = self._customer("Tour Anchor Customer")
        middle = self._customer("Tour Middle Customer")
        small = self._customer("Tour Small Customer")
        today = self.env.cr.now().date()
        self._post_invoices([(anchor, 9000, today), (middle, 800, today), (small, 200, today)])
        self.env["kam.classification"]._reclassify_company(self.company, today)
        self.start_tour("/odoo", "kam_classification_tour", login="kam_director")
        row = self._row(anchor)
        self.assertTrue(row.locked)
        self.assertEqual(row.lock_reason, "Strategic account this year")
        self.assertEqual(row.tier, "a")
