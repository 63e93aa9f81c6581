from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import KamCommon


@tagged("post_install", "-at_install")
class TestServiceLevelTour(KamCommon, HttpCase):
    """A director previews and applies a service level in a real browser."""

    def test_director_previews_and_applies_a_service_level(self):
        customer = self._customer("Tour Level Customer")
        today = self.env.cr.now().date()
        self._post_invoices([(customer, 9000, today)])
        self.env["kam.classification"]._reclassify_company(self.company, today)
        term = self.env["account.payment.term"].create(
            {
                "name": "Tour 60 days",
                "company_id": self.company.id,
                "line_ids": [Command.create({"value": "percent", "value_amount": 100, "nb_days": 60})],
            }
        )
        self.env["kam.service.level"].create({"company_id": self.company.id, "tier": "a", "payment_term_id": term.id})
        self.start_tour("/odoo", "kam_service_level_tour", login="kam_director")
        customer.invalidate_recordset()
        self.assertEqual(customer.with_company(self.company).property_payment_term_id, term)
