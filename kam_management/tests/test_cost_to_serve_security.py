from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from .test_cost_to_serve import CostCommon


@tagged("post_install", "-at_install")
class TestCostToServeSecurity(CostCommon):
    """Salespeople record their visits; only the key-account team sees what effort costs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer, cls.other = cls._customers(2)
        cls._post_invoices([(cls.customer, 1000.0, cls.today.replace(day=1))])
        cls.kam_visit = cls._visit(cls.customer, cls.today.replace(day=2), user=cls.kam)
        cls.entry = cls._cost(cls.customer, cls.today.replace(day=2), 50.0)
        cls.Classification._reclassify_company(cls.company, cls.today)
        cls.env["kam.account.fact"]._refresh(cls.company)
        cls.sales_manager = mail_new_test_user(
            cls.env,
            login="kam_sales_manager",
            name="Sales Manager Sara",
            groups="base.group_user,sales_team.group_sale_salesman_all_leads",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_salesman_records_own_visits_without_seeing_their_cost(self):
        Visit = self.Visit.with_user(self.salesman)
        with Form(Visit) as form:
            form.partner_id = self.customer
            form.duration = 1.5
            form.travel_time = 0.5
            form.distance = 40.0
        visit = form.record
        self.assertEqual(visit.user_id, self.salesman)
        self.assertEqual(visit.sudo().cost, 2.0 * 40 + 40 * 0.5, "priced even though its author cannot see the price")
        with self.assertRaises(AccessError):
            visit.read(["cost"])
        with self.assertRaises(AccessError):
            visit.read(["hourly_rate"])
        self.assertEqual(Visit.search([("partner_id", "=", self.customer.id)]), visit, "only their own visits")
        with self.assertRaises(AccessError):
            self.kam_visit.with_user(self.salesman).read(["duration"])
        with self.assertRaises(AccessError):
            self.kam_visit.with_user(self.salesman).write({"state": "cancelled"})
        with self.assertRaises(AccessError):
            Visit.create({"partner_id": self.customer.id, "user_id": self.kam.id})
        visit.action_done()
        self.assertEqual(visit.state, "done")
        self.assertEqual(self.customer.with_user(self.salesman).kam_visit_record_count, 1)

    def test_salesman_sees_no_cost_figures(self):
        partner = self.customer.with_user(self.salesman).with_company(self.company)
        for fname in ("kam_cost_to_serve", "kam_net_contribution", "kam_quadrant", "kam_visit_record_cost"):
            with self.subTest(field=fname), self.assertRaises(AccessError):
                partner.read([fname])
        for model in ("kam.cost.entry", "kam.cost.rate", "kam.account.fact"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.company.with_user(self.salesman).read(["kam_hourly_cost"])

    def test_sales_manager_sees_every_visit_but_not_its_cost(self):
        visits = self.Visit.with_user(self.sales_manager).search([("partner_id", "=", self.customer.id)])
        self.assertEqual(visits, self.kam_visit)
        with self.assertRaises(AccessError):
            visits.read(["cost"])

    def test_manager_sees_all_visits_and_costs_but_cannot_set_rates(self):
        mine = self._visit(self.customer, self.today, user=self.salesman)
        visits = self.Visit.with_user(self.kam).search([("partner_id", "=", self.customer.id)])
        self.assertEqual(visits, self.kam_visit | mine)
        self.assertEqual(mine.with_user(self.kam).cost, 190.0)
        entry = self.CostEntry.with_user(self.kam).create(
            {"name": "Samples", "partner_id": self.customer.id, "amount": 12.0, "category_id": self.samples.id}
        )
        self.assertEqual(entry.amount_company, 12.0)
        partner = self.customer.with_user(self.kam).with_company(self.company)
        self.assertEqual(partner.kam_cost_to_serve, 240.0)
        self.assertTrue(self.Fact.with_user(self.kam).search([("partner_id", "=", self.customer.id)]))
        rates = self.Rate.with_user(self.kam).search([])
        self.assertEqual(rates.hourly_rate, 40.0)
        with self.assertRaises(AccessError):
            rates.write({"hourly_rate": 1.0})
        with self.assertRaises(AccessError):
            self.Rate.with_user(self.kam).create({"date_from": "2026-01-01", "hourly_rate": 1.0})
        with self.assertRaises(AccessError):
            self.env["kam.cost.category"].with_user(self.kam).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.Classification.with_user(self.kam).action_refresh_cost_to_serve()
        self.assertEqual(mine.cost, 190.0)

    def test_director_sets_rates_and_refreshes(self):
        Rate = self.Rate.with_user(self.director)
        Rate.create({"user_id": self.kam.id, "date_from": "2025-01-01", "hourly_rate": 80.0})
        self.assertEqual(self.kam_visit.cost, 3 * 80.0 + 20)
        self.env["kam.cost.category"].with_user(self.director).create({"name": "Events"})
        self.Classification.with_user(self.director).action_refresh_cost_to_serve()
        self.assertEqual(self._row(self.customer).visit_cost, 260.0)

    def test_other_company_is_invisible(self):
        company_2 = self.setup_other_company(name="Cost company 2")["company"]
        visit_2 = self._visit(self.customer, self.today, company=company_2, user=self.kam)
        entry_2 = self._cost(self.customer, self.today, 99.0, company=company_2)
        rate_2 = self.Rate.create({"company_id": company_2.id, "date_from": "2024-01-01", "hourly_rate": 10.0})
        self.Classification._reclassify_company(company_2, self.today)
        self.Fact._refresh(company_2)
        for model, record in (("kam.visit", visit_2), ("kam.cost.entry", entry_2), ("kam.cost.rate", rate_2)):
            with self.subTest(model=model):
                self.assertNotIn(record, self.env[model].with_user(self.kam).search([]))
                with self.assertRaises(AccessError):
                    record.with_user(self.kam).read(["company_id"])
        facts = self.Fact.with_user(self.kam).search([])
        self.assertNotIn(company_2, facts.company_id)
        self.kam.company_ids = [Command.link(company_2.id)]
        both = {"allowed_company_ids": [self.company.id, company_2.id]}
        self.assertIn(visit_2, self.Visit.with_user(self.kam).with_context(**both).search([]))
        self.assertIn(company_2, self.Fact.with_user(self.kam).with_context(**both).search([]).company_id)
