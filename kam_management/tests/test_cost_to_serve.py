from datetime import date, datetime

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import KamCommon


class CostCommon(KamCommon):
    """Rates of 40 an hour and 0.5 a km since 2024; a default visit costs 190.

    (2 h + 1 h travel) × 40 + 100 km × 0.5 + 20 expenses = 190.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Visit = cls.env["kam.visit"]
        cls.CostEntry = cls.env["kam.cost.entry"]
        cls.Rate = cls.env["kam.cost.rate"]
        cls.Fact = cls.env["kam.account.fact"]
        cls.logistics = cls.env.ref("kam_management.kam_cost_category_logistics")
        cls.samples = cls.env.ref("kam_management.kam_cost_category_samples")
        cls.Rate.create({"company_id": cls.company.id, "date_from": "2024-01-01", "hourly_rate": 40.0, "km_rate": 0.5})

    @classmethod
    def _visit(cls, partner, day, company=None, user=None, **vals):
        values = {
            "partner_id": partner.id,
            "start": datetime.combine(fields.Date.to_date(day), datetime.min.time()).replace(hour=9),
            "duration": 2.0,
            "travel_time": 1.0,
            "distance": 100.0,
            "expenses": 20.0,
            "state": "done",
            "user_id": (user or cls.env.user).id,
            "company_id": (company or cls.company).id,
        }
        values.update(vals)
        return cls.env["kam.visit"].create(values)

    @classmethod
    def _cost(cls, partner, day, amount, company=None, currency=None, category=None, **vals):
        company = company or cls.company
        return cls.env["kam.cost.entry"].create(
            {
                "name": "Courier",
                "partner_id": partner.id,
                "date": day,
                "amount": amount,
                "currency_id": (currency or company.currency_id).id,
                "company_id": company.id,
                "category_id": (category or cls.logistics).id,
                **vals,
            }
        )

    def _refresh(self, company=None, run_date=None):
        return self.Classification._refresh_cost_to_serve(company or self.company, run_date or self.today)

    def _figures(self, company=None, date_from=None, date_to=None):
        company = company or self.company
        self.Fact._flush_sources()
        self.env.cr.execute(self.Fact._figures_sql(company, date_from or date(2000, 1, 1), date_to or date(2100, 1, 1)))
        return {row["partner_id"]: row for row in self.env.cr.dictfetchall()}

    def _foreign_currency(self, rates):
        code = "EUR" if self.company.currency_id.name != "EUR" else "USD"
        return self.setup_other_currency(code, rates=rates)


@tagged("post_install", "-at_install")
class TestCostToServe(CostCommon):
    """What a director checks: what each visit costs, what each customer costs and brings."""

    # ------------------------------------------------------------------
    # Visits and their cost
    # ------------------------------------------------------------------
    def test_visit_cost_formula(self):
        """(duration + travel) × hourly cost + distance × cost per km + expenses."""
        (customer,) = self._customers(1)
        visit = self._visit(customer, "2026-03-02")
        self.assertEqual((visit.hourly_rate, visit.km_rate), (40.0, 0.5))
        self.assertEqual(visit.cost, 190.0)
        self.assertEqual(visit.stop, visit.start + relativedelta(hours=2))
        visit.write({"travel_time": 0.5, "distance": 0.0, "expenses": 0.0})
        self.assertEqual(visit.cost, 100.0)

    def test_end_and_duration_follow_each_other(self):
        """Moving the end (calendar, form) changes the duration; a new start keeps it."""
        (customer,) = self._customers(1)
        visit = self._visit(customer, "2026-03-02")
        visit.stop = visit.start + relativedelta(hours=3, minutes=30)
        self.assertEqual(visit.duration, 3.5)
        self.assertEqual(visit.cost, (3.5 + 1) * 40 + 50 + 20)
        visit.start += relativedelta(days=1)
        self.assertEqual(visit.duration, 3.5)
        self.assertEqual(visit.stop, visit.start + relativedelta(hours=3, minutes=30))
        with Form(visit) as form:
            form.stop = visit.start + relativedelta(minutes=45)
            self.assertEqual(form.duration, 0.75)
        self.assertEqual(visit.duration, 0.75)

    def test_rate_change_applies_from_its_date_only(self):
        """Last year's visits keep their cost; a new rate prices the effort dated after it."""
        (customer,) = self._customers(1)
        before = self._visit(customer, "2026-03-31")
        after = self._visit(customer, "2026-04-01")
        rate = self.Rate.create(
            {"company_id": self.company.id, "date_from": "2026-04-01", "hourly_rate": 60.0, "km_rate": 1.0}
        )
        self.assertEqual(before.cost, 190.0)
        self.assertEqual(after.cost, 3 * 60 + 100 * 1.0 + 20)
        self.assertEqual(self._visit(customer, "2026-05-01").cost, 300.0)
        rate.date_from = "2026-05-01"
        self.assertEqual(after.cost, 190.0, "moving the rate later gives the earlier visit its old price back")
        rate.unlink()
        self.assertEqual(self.Visit.search([("partner_id", "=", customer.id)]).mapped("cost"), [190.0] * 3)

    def test_company_rate_from_settings_starts_today(self):
        """Settings show the rate in force today; changing it adds a rate dated today."""
        (customer,) = self._customers(1)
        today = fields.Date.context_today(self.Rate)
        yesterday = self._visit(customer, today - relativedelta(days=1))
        tomorrow = self._visit(customer, today + relativedelta(days=1), state="planned")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual((settings.kam_hourly_cost, settings.kam_km_cost), (40.0, 0.5))
        settings.kam_hourly_cost = 50.0
        settings.execute()
        new_rate = self.Rate.search([("company_id", "=", self.company.id), ("date_from", "=", today)])
        self.assertEqual((new_rate.hourly_rate, new_rate.km_rate, new_rate.user_id), (50.0, 0.5, self.env["res.users"]))
        self.assertEqual(yesterday.cost, 190.0)
        self.assertEqual(tomorrow.cost, 3 * 50 + 50 + 20)
        settings = self.env["res.config.settings"].create({"kam_hourly_cost": 55.0})
        settings.execute()
        self.assertEqual(
            self.Rate.search_count([("company_id", "=", self.company.id), ("date_from", "=", today)]),
            1,
            "a second change on the same day updates the rate of the day",
        )
        self.assertEqual(tomorrow.cost, 3 * 55 + 50 + 20)

    def test_salesperson_rate_overrides_the_company_rate(self):
        (customer,) = self._customers(1)
        self.Rate.create(
            {"company_id": self.company.id, "user_id": self.salesman.id, "date_from": "2025-01-01", "hourly_rate": 30.0}
        )
        mine = self._visit(customer, "2026-03-02", user=self.salesman)
        theirs = self._visit(customer, "2026-03-02", user=self.kam)
        self.assertEqual(mine.cost, 3 * 30 + 0 + 20, "the override sets both rates: no cost per km here")
        self.assertEqual(theirs.cost, 190.0)
        early = self._visit(customer, "2024-06-03", user=self.salesman)
        self.assertEqual(early.cost, 190.0, "before the override starts, the company rate applies")

    def test_bad_visit_input_is_refused_and_nothing_saved(self):
        (customer,) = self._customers(1)
        count = self.Visit.search_count([])
        for vals, message in (
            ({"duration": -1.0}, "ends before it starts"),
            ({"travel_time": -0.5}, "travel time"),
            ({"distance": -10.0}, "distance"),
            ({"expenses": -5.0}, "expenses"),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, message):
                with self.env.cr.savepoint():
                    self._visit(customer, "2026-03-02", **vals)
        visit = self._visit(customer, "2026-03-02")
        with self.assertRaisesRegex(ValidationError, "ends before it starts"), self.env.cr.savepoint():
            visit.stop = visit.start - relativedelta(minutes=1)
        self.assertEqual(self.Visit.search_count([]), count + 1)
        self.assertEqual(visit.duration, 2.0)

    # ------------------------------------------------------------------
    # Other costs to serve
    # ------------------------------------------------------------------
    def test_cost_entry_is_converted_at_its_date(self):
        """100 in a currency at 2 per company unit is 50; a later rate does not change it."""
        currency = self._foreign_currency([("2026-01-01", 2.0)])
        (customer,) = self._customers(1)
        entry = self._cost(customer, "2026-03-02", 100.0, currency=currency)
        self.assertAlmostEqual(entry.amount_company, 50.0)
        self.env["res.currency.rate"].create(
            {"currency_id": currency.id, "company_id": self.company.id, "name": "2026-03-10", "rate": 4.0}
        )
        self.assertAlmostEqual(self._cost(customer, "2026-03-11", 100.0, currency=currency).amount_company, 25.0)
        self.assertAlmostEqual(entry.amount_company, 50.0)
        self.assertEqual(self._cost(customer, "2026-03-11", 80.0).amount_company, 80.0)

    def test_bad_cost_input_is_refused_and_nothing_saved(self):
        currency = self._foreign_currency([("2026-01-01", 2.0)])
        (customer,) = self._customers(1)
        count = self.CostEntry.search_count([])
        with self.assertRaisesRegex(ValidationError, "no exchange rate"), self.env.cr.savepoint():
            self._cost(customer, "2025-12-31", 100.0, currency=currency)
        with self.assertRaisesRegex(ValidationError, "cannot be negative"), self.env.cr.savepoint():
            self._cost(customer, "2026-03-02", -1.0)
        with self.assertRaisesRegex(ValidationError, "cannot be negative"), self.env.cr.savepoint():
            self.Rate.create({"company_id": self.company.id, "date_from": "2026-01-01", "hourly_rate": -1.0})
        with self.assertRaisesRegex(ValidationError, "already has a rate"), self.env.cr.savepoint():
            self.Rate.create({"company_id": self.company.id, "date_from": "2024-01-01", "hourly_rate": 1.0})
        self.assertEqual(self.CostEntry.search_count([]), count)

    # ------------------------------------------------------------------
    # The figures
    # ------------------------------------------------------------------
    def test_effort_rolls_up_to_the_commercial_entity(self):
        (customer,) = self._customers(1)
        buyer = self.env["res.partner"].create({"name": "Buyer", "parent_id": customer.id})
        self._visit(buyer, "2026-03-02")
        self._visit(customer, "2026-03-03", duration=1.0, travel_time=0.0, distance=0.0, expenses=0.0)
        self._visit(buyer, "2026-03-04", state="planned")
        self._visit(buyer, "2026-03-05", state="cancelled")
        self._cost(buyer, "2026-03-02", 60.0)
        self._post_invoices([(buyer, 1000.0, self.months_ago(1))])
        figures = self._figures()
        self.assertNotIn(buyer.id, figures)
        row = figures[customer.id]
        self.assertEqual(row["visit_count"], 2, "only visits done count")
        self.assertEqual(row["visit_hours"], 3.0 + 1.0)
        self.assertEqual(row["visit_cost"], 190.0 + 40.0)
        self.assertEqual(row["other_cost"], 60.0)
        self.assertEqual(row["cost_to_serve"], 290.0)
        self.assertEqual(row["revenue"], 1000.0)
        self.assertEqual(row["net_contribution"], 710.0)
        self._run()
        partner = buyer.with_company(self.company)
        self.assertEqual(partner.kam_cost_to_serve, 290.0)
        self.assertEqual(partner.kam_visit_count, 2)
        self.assertEqual(partner.kam_visit_hours, 4.0)
        self.assertEqual(partner.kam_cost_share, 29.0)
        self.assertEqual(partner.kam_revenue_per_visit, 500.0)
        # The smart button counts and prices the same visits: those done (planned and cancelled
        # ones are in its list, behind the "Done" filter it opens with).
        self.assertEqual(partner.kam_visit_record_count, 2)
        self.assertEqual(partner.kam_visit_record_cost, 230.0)
        action = partner.action_kam_view_visits()
        opened = self.env["kam.visit"].search([*action["domain"], ("state", "=", "done")])
        self.assertEqual(len(opened), partner.kam_visit_record_count)
        self.assertEqual(action["context"].get("search_default_done"), 1)
        # The Key Account tab states the window its figures are summed over.
        window_start = self.today - relativedelta(months=12) + relativedelta(days=1)
        self.assertIn(str(window_start.year), partner.kam_window_label)

    def test_visit_button_counts_and_prices_the_done_visits_of_its_window(self):
        """The button reads "2 · 380.00, Done, last 12 months, 1 planned": the count and the cost are of
        the same visits, done within the window ending today; planned visits are counted apart."""
        (customer,) = self._customers(1)
        window_start = self.today - relativedelta(months=12) + relativedelta(days=1)
        self._visit(customer, window_start)
        self._visit(customer, self.today)
        self._visit(customer, window_start - relativedelta(days=1))
        self._visit(customer, self.today - relativedelta(days=3), state="cancelled")
        self._visit(customer, self.today + relativedelta(days=7), state="planned")
        partner = customer.with_company(self.company).with_context(kam_today=self.today)
        self.assertEqual((partner.kam_visit_record_count, partner.kam_visit_record_cost), (2, 380.0))
        self.assertEqual(partner.kam_visit_planned_count, 1)
        self.assertEqual(partner.kam_visit_record_window, "Done, last 12 months")
        action = partner.action_kam_view_visits()
        self.assertEqual(action["context"].get("search_default_done"), 1)
        listed = self.env["kam.visit"].search(action["domain"])
        self.assertEqual(len(listed.filtered(lambda v: v.state == "done")), partner.kam_visit_record_count)
        self.assertEqual(sum(listed.filtered(lambda v: v.state == "done").mapped("cost")), 380.0)
        planned = listed.filtered(lambda visit: visit.state == "planned")
        self.assertEqual(planned.mapped("date"), [self.today + relativedelta(days=7)])
        planned_action = partner.action_kam_view_planned_visits()
        self.assertEqual(self.env["kam.visit"].search(planned_action["domain"]), planned)
        self.company.kam_window_months = 6
        partner.invalidate_recordset()
        self.assertEqual((partner.kam_visit_record_count, partner.kam_visit_record_cost), (1, 190.0))
        self.assertEqual(partner.kam_visit_record_window, "Done, last 6 months")

    def test_only_the_window_counts(self):
        (customer,) = self._customers(1)
        window_start = self.today - relativedelta(months=12) + relativedelta(days=1)
        self._visit(customer, window_start)
        self._visit(customer, window_start - relativedelta(days=1))
        self._visit(customer, self.today)
        self._visit(customer, self.today + relativedelta(days=1))
        self._cost(customer, window_start - relativedelta(days=1), 1000.0)
        self._cost(customer, self.today, 10.0)
        self._refresh()
        row = self._row(customer)
        self.assertEqual((row.visit_count, row.visit_cost, row.other_cost), (2, 380.0, 10.0))

    def test_revenue_is_what_the_classification_counts(self):
        customers = self._customers(3)
        self._post_invoices(
            [
                (customers[0], 1000.0, self.months_ago(1)),
                (customers[0], -200.0, self.months_ago(2)),
                (customers[1], 300.0, self.months_ago(3)),
                (customers[2], 50.0, self.months_ago(13)),
            ]
        )
        self._run()
        for customer in customers[:2]:
            row = self._row(customer)
            self.assertEqual(row.invoiced_revenue, row.revenue)
        self.assertEqual(self._row(customers[0]).invoiced_revenue, 800.0)

    def test_cost_of_goods_from_products_with_refunds(self):
        """Lines invoiced without an order take the product's cost; credit notes count negative."""
        (customer,) = self._customers(1)
        self._invoice_product(customer, self.product_a, 2, 1000.0, self.months_ago(2))
        self._invoice_product(customer, self.product_a, 1, 1000.0, self.months_ago(1), move_type="out_refund")
        self._run()
        row = self._row(customer)
        self.assertEqual(row.invoiced_revenue, 1000.0)
        self.assertEqual(row.cost_of_goods, 800.0)
        self.assertEqual(row.gross_margin, 200.0)
        self.assertEqual(row.margin_source, "products")

    def test_cost_of_goods_from_sales_orders(self):
        """Invoices made from orders take the order line's cost (sale margin), even in another currency."""
        ordered, mixed, foreign = self._customers(3)
        self._invoice_order(ordered, self.product_a, 3, 1000.0, purchase_price=500.0)
        self._invoice_order(mixed, self.product_a, 1, 1000.0, purchase_price=500.0)
        self._invoice_product(mixed, self.product_a, 1, 1000.0, self.months_ago(1))
        currency = self._foreign_currency([("2020-01-01", 2.0)])
        pricelist = self.env["product.pricelist"].create({"name": "Foreign", "currency_id": currency.id})
        self._invoice_order(foreign, self.product_a, 1, 2400.0, pricelist=pricelist)
        self._run()
        self.assertEqual(
            (self._row(ordered).cost_of_goods, self._row(ordered).gross_margin, self._row(ordered).margin_source),
            (1500.0, 1500.0, "orders"),
        )
        self.assertEqual((self._row(mixed).cost_of_goods, self._row(mixed).margin_source), (1300.0, "mixed"))
        row = self._row(foreign)
        self.assertEqual(row.invoiced_revenue, 1200.0)
        self.assertEqual(row.cost_of_goods, 800.0, "the product cost, 1 600 in the order currency, is 800 here")
        self.assertEqual(row.margin_source, "orders")

    def test_quadrants_at_their_boundaries(self):
        """Value: the customers making 80 % of the margin; effort: a cost to serve of 10 % of revenue.

        Margins 5000/3000/1500/500 of 10 000: the second customer crosses 80 % and is high value;
        the third starts exactly at 80 % and is not. Exactly 10 % of revenue is high effort.
        """
        protect, develop, streamline, restructure, prospect = self._customers(5)
        self._post_invoices(
            [
                (protect, 5000.0, self.months_ago(1)),
                (develop, 3000.0, self.months_ago(1)),
                (streamline, 1500.0, self.months_ago(1)),
                (restructure, 500.0, self.months_ago(1)),
            ]
        )
        self._cost(develop, self.months_ago(1), 300.0)
        self._cost(streamline, self.months_ago(1), 149.0)
        self._cost(restructure, self.months_ago(1), 50.0)
        self._visit(prospect, self.months_ago(1))
        self._run()
        quadrants = [self._row(p).quadrant for p in (protect, develop, streamline, restructure, prospect)]
        self.assertEqual(quadrants, ["protect", "develop", "streamline", "restructure", "restructure"])
        self.assertFalse(self._row(prospect).tier, "effort alone does not classify a customer")
        self.assertFalse(self._row(prospect).cost_share, "no revenue, no share")
        self.assertEqual(self._row(develop).cost_share, 10.0)
        self.company.kam_value_line = 90.0
        self._refresh()
        self.assertEqual(self._row(streamline).quadrant, "protect")
        self.assertEqual(self._row(restructure).quadrant, "restructure")
        self.company.kam_effort_line = 9.9
        self._refresh()
        self.assertEqual(self._row(streamline).quadrant, "develop")

    def test_contribution_ranking_flags_disagreements(self):
        """A key account losing money, a customer costing more than it earns, far-apart ranks."""
        customers = self._customers(8)
        self._post_invoices([(p, 1000.0 * (8 - i), self.months_ago(1)) for i, p in enumerate(customers)])
        first, second = customers[:2]
        self._cost(first, self.months_ago(1), 7500.0)
        self._run()
        self.assertEqual(self._row(first).contribution_rank, 8)
        self.assertEqual(self._row(second).contribution_rank, 1)
        self.assertEqual(self._row(first).ranking_flag, "ranks_lower", "rank 1 by revenue, 8 by contribution")
        self.assertFalse(self._row(second).ranking_flag, "one place up is within the 25 % gap")
        self.company.kam_rank_gap = 10.0
        self._refresh()
        self.assertEqual(self._row(second).ranking_flag, "ranks_higher")
        self._cost(first, self.months_ago(1), 1000.0)
        self._cost(customers[-1], self.months_ago(1), 1500.0)
        self._refresh()
        self.assertEqual(self._row(first).tier, "a")
        self.assertEqual(self._row(first).net_contribution, -500.0)
        self.assertEqual(self._row(first).ranking_flag, "loses_money")
        self.assertNotEqual(self._row(customers[-1]).tier, "a")
        self.assertEqual(self._row(customers[-1]).ranking_flag, "costs_more_than_earns")
        self.assertEqual(customers[-1].with_company(self.company).kam_ranking_flag, "costs_more_than_earns")

    def test_refresh_writes_only_what_changes(self):
        customers = self._customers(4)
        self._post_invoices([(p, 100.0 * (i + 1), self.months_ago(1)) for i, p in enumerate(customers)])
        for customer in customers:
            self._visit(customer, self.months_ago(1))
        self._run()
        rows = self.Classification.search([("company_id", "=", self.company.id)])
        before = rows.read(["cost_to_serve", "quadrant", "contribution_rank"])
        versions = self._row_versions(rows)
        self.assertEqual(self._refresh(), 0)
        self.assertEqual(rows.read(["cost_to_serve", "quadrant", "contribution_rank"]), before)
        self.assertEqual(self._row_versions(rows), versions, "the refresh rewrote rows that did not change")
        self._visit(customers[0], self.months_ago(1))
        self.assertEqual(self._refresh(), 1)

    def test_refresh_right_after_a_run_writes_nothing(self):
        """A run computes the figures the refresh would: a refresh after it has nothing to write,
        for a customer whose row has no figures left in the window too (no margin source)."""
        active, lapsed = self._customers(2)
        self._post_invoices([(active, 1000.0, self.months_ago(1)), (lapsed, 500.0, self.months_ago(11))])
        self._visit(active, self.months_ago(1))
        self._run()
        later = self.today + relativedelta(months=2)
        self._run(run_date=later)
        row = self._row(lapsed)
        self.assertFalse(row.tier)
        self.assertEqual((row.invoiced_revenue, row.margin_source, row.quadrant), (0.0, False, False))
        self.assertEqual(self._refresh(run_date=later), 0)
        self.assertEqual(self._refresh(run_date=self.today), 1, "the earlier window has the lapsed revenue again")

    def test_tier_history_keeps_the_figures_of_its_run(self):
        big, small = self._customers(2)
        self._post_invoices([(big, 1000.0, self.months_ago(1)), (small, 100.0, self.months_ago(1))])
        self._visit(small, self.months_ago(1))
        run = self._run()
        line = run.history_ids.filtered(lambda h: h.partner_id == small)
        self.assertEqual((line.cost_to_serve, line.net_contribution, line.quadrant), (190.0, -90.0, "restructure"))
        self.assertEqual(line.ranking_flag, "costs_more_than_earns")
        self._visit(small, self.months_ago(0, days=1))
        self._refresh()
        line.invalidate_recordset()
        self.assertEqual(line.cost_to_serve, 190.0, "history stays as the run saw it")
        self._row(big).with_user(self.director)._set_locked_tier("b", "Test")
        manual = self._row(big).history_ids.filtered(lambda h: h.cause == "manual")
        self.assertEqual(manual.net_contribution, 1000.0)

    def test_analysis_agrees_with_the_figures(self):
        """The pivot's view and ``_figures_sql`` are one definition: their totals match."""
        customers = self._customers(3)
        self._post_invoices([(p, 100.0 * (i + 1), self.months_ago(i + 1)) for i, p in enumerate(customers)])
        self._invoice_product(customers[0], self.product_a, 1, 1000.0, self.months_ago(2))
        for i, customer in enumerate(customers):
            self._visit(customer, self.months_ago(i))
            self._cost(customer, self.months_ago(i + 2), 10.0 * (i + 1))
        self._run()
        self.Fact._refresh(self.company)
        figures = self._figures()
        groups = self.Fact._read_group(
            [("company_id", "=", self.company.id)],
            ["partner_id"],
            ["revenue:sum", "cost_of_goods:sum", "cost_to_serve:sum", "net_contribution:sum", "visit_count:sum"],
        )
        self.assertEqual(len(groups), 3)
        for partner, revenue, cogs, cost, net, visits in groups:
            row = figures[partner.id]
            self.assertAlmostEqual(revenue, row["revenue"])
            self.assertAlmostEqual(cogs, row["cost_of_goods"])
            self.assertAlmostEqual(cost, row["cost_to_serve"])
            self.assertAlmostEqual(net, row["net_contribution"])
            self.assertEqual(visits, row["visit_count"])
        months = self.Fact._read_group(
            [("company_id", "=", self.company.id), ("partner_id", "=", customers[2].id)], ["date:month"], ["__count"]
        )
        self.assertEqual(len(months), 3, "revenue, visit and cost entry fell in three different months")
        by_quadrant = dict(self.Fact._read_group([("company_id", "=", self.company.id)], ["quadrant"], ["__count"]))
        self.assertTrue(set(by_quadrant) <= {"protect", "develop", "streamline", "restructure"})

    def test_each_company_counts_its_own_effort(self):
        (shared,) = self._customers(1)
        company_2 = self.setup_other_company(name="Second cost company")["company"]
        self.Rate.create({"company_id": company_2.id, "date_from": "2024-01-01", "hourly_rate": 10.0})
        self._post_invoices([(shared, 1000.0, self.months_ago(1))])
        self._post_invoices([(shared, 500.0, self.months_ago(1))], company=company_2)
        self._visit(shared, self.months_ago(1))
        other = self._visit(shared, self.months_ago(1), company=company_2)
        self._cost(shared, self.months_ago(1), 77.0, company=company_2)
        self.assertEqual(other.cost, 3 * 10.0 + 20.0, "each company prices with its own rates")
        self._run()
        self._run(company=company_2)
        self.assertEqual((self._row(shared).cost_to_serve, self._row(shared).invoiced_revenue), (190.0, 1000.0))
        self.assertEqual(
            (self._row(shared, company_2).cost_to_serve, self._row(shared, company_2).invoiced_revenue), (127.0, 500.0)
        )
        self.assertEqual(shared.with_company(company_2).kam_cost_to_serve, 127.0)
        self.assertEqual(shared.with_company(self.company).kam_cost_to_serve, 190.0)

    def test_refresh_on_demand_refreshes_the_selected_companies(self):
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 1000.0, self.months_ago(0, days=1))])
        self._run(run_date=fields.Date.today())
        self._visit(customer, fields.Date.today() - relativedelta(days=1))
        action = self.Classification.with_user(self.director).action_refresh_cost_to_serve()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(self._row(customer).cost_to_serve, 190.0)

    def test_refresh_query_count_does_not_grow_with_customers(self):
        """A first and a steady-state refresh issue the same number of queries at 3 and 30 customers."""
        companies = {}
        for name, size in (("warm-up", 3), ("small", 3), ("large", 30)):
            company = self.setup_other_company(name=f"{name} cost company")["company"]
            self.director.company_ids |= company
            customers = self._customers(size, name)
            self._post_invoices(
                [(p, 100.0 * (i + 1), self.months_ago(1)) for i, p in enumerate(customers)], company=company
            )
            for i, customer in enumerate(customers):
                self._visit(customer, self.months_ago(1), company=company)
                self._cost(customer, self.months_ago(2), 5.0 * i, company=company)
            self.Classification._reclassify_company(company, self.today)
            # New effort for every customer: the first measured refresh rewrites every row.
            for customer in customers:
                self._visit(customer, self.months_ago(1), company=company)
            companies[name] = company
        Classification = self.Classification.with_user(self.director)
        self._warm_up(lambda: Classification._refresh_cost_to_serve(companies["warm-up"], self.today))
        for label in ("first", "steady"):
            for name in ("large", "small"):
                self.env.invalidate_all()
                with self.subTest(refresh=label, size=name), self.assertQueryCount(QUERIES_REFRESH):
                    Classification._refresh_cost_to_serve(companies[name], self.today)

    # ------------------------------------------------------------------
    # Planning visits from the customer, the opportunity and the calendar
    # ------------------------------------------------------------------
    def test_plan_a_visit_from_an_opportunity(self):
        (customer,) = self._customers(1)
        lead = self.env["crm.lead"].create({"name": "Line upgrade", "type": "opportunity", "partner_id": customer.id})
        action = lead.action_kam_view_visits()
        with Form(self.Visit.with_context(**action["context"])) as form:
            self.assertEqual(form.partner_id, customer)
            self.assertEqual(form.opportunity_id, lead)
            form.duration = 1.5
        visit = form.record
        self.assertEqual(visit.opportunity_id, lead)
        self.assertEqual(lead.kam_visit_count, 1)
        visit.action_done()
        self.assertEqual(lead.kam_visit_cost, (1.5 + 0) * 40)
        self.assertEqual(self.Visit.search(action["domain"]), visit)
        action = customer.action_kam_view_visits()
        self.assertEqual(action["context"]["default_partner_id"], customer.id)
        self.assertEqual(self.Visit.search(action["domain"]), visit)

    def test_record_a_meeting_as_a_visit(self):
        """A meeting with a customer's contact becomes a visit without retyping anything."""
        (customer,) = self._customers(1)
        contact = self.env["res.partner"].create({"name": "Plant manager", "parent_id": customer.id})
        lead = self.env["crm.lead"].create({"name": "Retrofit", "type": "opportunity", "partner_id": customer.id})
        start = fields.Datetime.now().replace(microsecond=0) - relativedelta(days=2)
        event = self.env["calendar.event"].create(
            {
                "name": "Retrofit review",
                "start": start,
                "stop": start + relativedelta(hours=1, minutes=30),
                "user_id": self.salesman.id,
                "partner_ids": [Command.set((self.salesman.partner_id | contact).ids)],
            }
        )
        action = event.action_kam_record_visit()
        visit = self.Visit.browse(action["res_id"])
        self.assertEqual(
            (visit.partner_id, visit.commercial_partner_id, visit.user_id, visit.calendar_event_id),
            (contact, customer, self.salesman, event),
        )
        self.assertEqual(
            (visit.start, visit.duration, visit.state, visit.name), (start, 1.5, "done", "Retrofit review")
        )
        self.assertEqual(event.action_kam_record_visit()["res_id"], visit.id, "a meeting is recorded once")
        self.assertEqual(event.kam_visit_id, visit)
        event_2 = self.env["calendar.event"].create(
            {"name": "Follow-up", "start": start, "stop": start + relativedelta(hours=1), "opportunity_id": lead.id}
        )
        self.assertEqual(self.Visit.browse(event_2.action_kam_record_visit()["res_id"]).opportunity_id, lead)
        internal = self.env["calendar.event"].create(
            {
                "name": "Team meeting",
                "start": start,
                "stop": start + relativedelta(hours=1),
                "partner_ids": [Command.set(self.salesman.partner_id.ids)],
            }
        )
        with self.assertRaisesRegex(UserError, "no customer"):
            internal.action_kam_record_visit()

    def test_bad_lines_are_refused(self):
        for vals in (
            {"kam_value_line": 0.0},
            {"kam_value_line": 101.0},
            {"kam_effort_line": -1.0},
            {"kam_rank_gap": 0.0},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.company.write(vals)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _invoice_product(self, partner, product, quantity, price, day, move_type="out_invoice"):
        move = self.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": partner.id,
                "invoice_date": day,
                "date": day,
                "invoice_line_ids": [
                    Command.create({"product_id": product.id, "quantity": quantity, "price_unit": price, "tax_ids": []})
                ],
            }
        )
        move.action_post()
        return move

    def _invoice_order(self, partner, product, quantity, price, purchase_price=None, pricelist=None):
        order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "pricelist_id": pricelist.id if pricelist else False,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "product_uom_qty": quantity, "price_unit": price, "tax_id": []}
                    )
                ],
            }
        )
        if purchase_price is not None:
            order.order_line.purchase_price = purchase_price
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.invoice_date = self.months_ago(1)
        invoice.action_post()
        return invoice


# Measured once and held: what matters is that both sizes issue the same number. The lock,
# the large statement's settings, the statement, the settings put back, the company and its currency.
QUERIES_REFRESH = 6
