from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import KamCommon


@tagged("post_install", "-at_install")
class TestClassificationSecurity(KamCommon):
    """Who may see and change key-account figures, and across which companies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.big, cls.small = cls._customers(2)
        cls._post_invoices([(cls.big, 1000, cls.today.replace(day=1)), (cls.small, 10, cls.today.replace(day=1))])
        cls.env["kam.classification"]._reclassify_company(cls.company, cls.today)

    def test_manager_sees_figures_but_cannot_change_them(self):
        partner = self.big.with_user(self.kam).with_company(self.company)
        self.assertEqual(partner.kam_tier, "a")
        self.assertEqual(partner.kam_revenue_12m, 1000)
        row = self._row(self.big).with_user(self.kam)
        self.assertEqual(row.tier, "a")
        with self.assertRaises(AccessError):
            row.write({"manager_id": self.kam.id})
        with self.assertRaises(AccessError):
            partner.kam_manager_id = self.kam
        with self.assertRaises(AccessError):
            self.env["kam.tier.lock.wizard"].with_user(self.kam).create(
                {"partner_id": self.small.id, "tier": "a", "reason": "Mine"}
            )
        with self.assertRaises(AccessError):
            row._set_locked_tier("c", "Sneaky")
        with self.assertRaises(AccessError):
            self.env["kam.reclassify.wizard"].with_user(self.kam).create({})
        self.assertEqual(self._row(self.small).tier, "c")

    def test_salesman_without_key_account_group_sees_no_figures(self):
        partner = self.big.with_user(self.salesman)
        self.assertEqual(partner.kam_tier, "a", "the tier itself is a plain partner property")
        with self.assertRaises(AccessError):
            partner.read(["kam_revenue_12m"])
        with self.assertRaises(AccessError):
            self.env["kam.classification"].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.env["kam.tier.history"].with_user(self.salesman).search([])

    def test_director_assigns_managers_and_locks(self):
        partner = self.small.with_user(self.director).with_company(self.company)
        partner.kam_manager_id = self.kam
        self.assertEqual(self._row(self.small).manager_id, self.kam)
        self.assertIn(
            self.small, self.env["res.partner"].with_user(self.kam).search([("kam_manager_id", "=", self.kam.id)])
        )

    def test_rows_of_another_company_are_invisible(self):
        company_2 = self.setup_other_company(name="Other company")["company"]
        self._post_invoices([(self.small, 500, self.today.replace(day=1))], company=company_2)
        self.env["kam.classification"]._reclassify_company(company_2, self.today)
        self.assertEqual(self._row(self.small, company_2).tier, "a")
        rows = self.env["kam.classification"].with_user(self.kam).search([])
        self.assertNotIn(company_2, rows.company_id)
        with self.assertRaises(AccessError):
            self._row(self.small, company_2).with_user(self.kam).read(["tier"])
        self.kam.company_ids = [Command.link(company_2.id)]
        rows = (
            self.env["kam.classification"]
            .with_user(self.kam)
            .with_context(allowed_company_ids=[self.company.id, company_2.id])
            .search([])
        )
        self.assertIn(company_2, rows.company_id)
