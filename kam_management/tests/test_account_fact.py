from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_cost_to_serve import CostCommon


@tagged("post_install", "-at_install")
class TestAccountFact(CostCommon):
    """The stored monthly figures: one row per customer, month (or part of a month) and
    salesperson, kept current by the run and the refreshes, the classification window a sum of
    whole rows, exact to the day."""

    def _run(self, company=None, run_date=None):
        """A run, and the refresh of the stored figures that follows it in the scheduled run."""
        run = super()._run(company, run_date)
        self.Fact._refresh(run.company_id, window=self.Classification._window(run.company_id, run.date))
        return run

    def _rows(self, partner):
        return self.Fact.search([("company_id", "=", self.company.id), ("partner_id", "=", partner.id)])

    def _window_sum(self, partner, figure="revenue"):
        return sum(self._rows(partner).filtered("in_window").mapped(figure))

    def test_window_is_exact_to_the_day(self):
        """The window of a run on 15 June starts on 16 June a year earlier: an invoice of 15 June
        last year is out, one of 16 June is in, and both stay in the analysis by month."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100.0, date(2025, 6, 15)), (customer, 30.0, date(2025, 6, 16))])
        self._post_invoices([(customer, 7.0, date(2026, 6, 15)), (customer, 1000.0, date(2026, 6, 16))])
        self._run()
        rows = self._rows(customer)
        self.assertEqual(
            sorted((row.date, row.revenue, row.in_window) for row in rows),
            [
                (date(2025, 6, 1), 100.0, False),
                (date(2025, 6, 16), 30.0, True),
                (date(2026, 6, 1), 7.0, True),
                (date(2026, 6, 16), 1000.0, False),
            ],
        )
        self.assertEqual(self._window_sum(customer), 37.0)
        self.assertEqual(self._row(customer).revenue, 37.0, "the run ranks the same sum")
        by_month = dict(self.Fact._read_group([("partner_id", "=", customer.id)], ["date:month"], ["revenue:sum"]))
        self.assertEqual(sorted(by_month.values()), [130.0, 1007.0])

    def test_a_new_day_moves_the_cut(self):
        """The next day's run cuts the months at the new window and rewrites only those months."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 30.0, date(2025, 6, 16)), (customer, 5.0, date(2026, 3, 1))])
        self._run()
        march = self._rows(customer).filtered(lambda row: row.date == date(2026, 3, 1))
        self._run(run_date=date(2026, 6, 16))
        rows = self._rows(customer)
        self.assertIn(march, rows, "a month the cut did not move is not rewritten")
        self.assertEqual(
            sorted((row.date, row.revenue, row.in_window) for row in rows),
            [(date(2025, 6, 1), 30.0, False), (date(2026, 3, 1), 5.0, True)],
        )
        self.assertEqual(self._row(customer).revenue, 5.0)

    def test_refresh_follows_the_documents(self):
        """A new invoice, a visit moved to another customer and a deleted cost entry show in
        the rows after a refresh; a refresh with nothing new writes nothing."""
        first, second = self._customers(2)
        self._post_invoices([(first, 100.0, self.months_ago(2))])
        visit = self._visit(first, self.months_ago(1))
        entry = self._cost(first, self.months_ago(1), 40.0)
        self._run()
        self.assertEqual((self._window_sum(first, "visit_count"), self._window_sum(first, "other_cost")), (1, 40.0))
        self.assertEqual(self.Fact._refresh(self.company), 0, "nothing new: nothing written")
        self._post_invoices([(first, 11.0, self.months_ago(1))])
        visit.partner_id = second
        entry.unlink()
        self.Fact._refresh(self.company)
        self.assertEqual(self._window_sum(first), 111.0)
        self.assertEqual((self._window_sum(first, "visit_count"), self._window_sum(first, "other_cost")), (0, 0.0))
        self.assertEqual(self._window_sum(second, "visit_count"), 1)
        self.assertEqual(self._window_sum(second, "cost_to_serve"), 190.0)

    def test_people_of_a_row(self):
        """A row names the document's salesperson and the account's Key Account Manager (today's:
        a new manager shows at once, without rewriting the facts)."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100.0, self.months_ago(1))])
        self._visit(customer, self.months_ago(1), user=self.salesman)
        self._run()
        rows = self._rows(customer)
        self.assertEqual(set(rows.mapped("user_id.login")), {self.salesman.login, self.env.user.login})
        self._row(customer).manager_id = self.kam
        self.env.invalidate_all()
        self.assertEqual(rows.manager_id, self.kam)
        mine = self.Fact.search([("manager_id", "=", self.kam.id)])
        self.assertEqual(mine, rows, "the analysis filters by the account's manager")
        groups = dict(self.Fact._read_group([("partner_id", "=", customer.id)], ["manager_id"], ["revenue:sum"]))
        self.assertEqual(groups, {self.kam: 100.0}, "and groups by them")
        self.assertEqual(set(rows.mapped("tier")), {self._row(customer).tier})

    def test_rebuild_gives_the_same_rows(self):
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100.0, self.months_ago(3)), (customer, 50.0, self.months_ago(1))])
        self._visit(customer, self.months_ago(2))
        self._run()
        before = sorted((row.date, row.user_id.id, row.revenue, row.cost_to_serve) for row in self._rows(customer))
        self.assertEqual(self.Fact._refresh(self.company), 0)
        self.Fact._refresh(self.company, rebuild=True)
        after = sorted((row.date, row.user_id.id, row.revenue, row.cost_to_serve) for row in self._rows(customer))
        self.assertEqual(after, before)

    def test_only_directors_refresh_and_nobody_writes_facts(self):
        """A Key Account Manager reads the analysis; refreshing it is a director's job, and
        its rows are written by the refresh only."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100.0, self.months_ago(1))])
        self._run()
        facts = self.Fact.with_user(self.kam).search([("partner_id", "=", customer.id)])
        self.assertEqual(sum(facts.mapped("revenue")), 100.0)
        with self.assertRaises(AccessError):
            self.Fact.with_user(self.kam).action_refresh()
        with self.assertRaises(AccessError):
            facts.write({"revenue": 1.0})
        with self.assertRaises(AccessError):
            facts.unlink()
        action = self.Fact.with_user(self.director).action_refresh()
        self.assertEqual(action["params"]["type"], "success")
