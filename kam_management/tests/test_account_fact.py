from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools.sql import column_exists

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

    def _assert_window_agrees(self):
        """Each window row is the sum of its customer's monthly rows in the window, and each
        customer with such rows has one."""
        self.env.flush_all()
        query = (
            "SELECT partner_id, count(*), sum(revenue), sum(cost_to_serve), sum(visit_count) FROM kam_account_fact "
            "WHERE company_id = %s AND in_window GROUP BY partner_id ORDER BY partner_id"
        )
        self.env.cr.execute(query, [self.company.id])
        monthly = self.env.cr.fetchall()
        self.env.cr.execute(
            "SELECT partner_id, row_count, revenue, cost_to_serve, visit_count FROM kam_account_fact_window "
            "WHERE company_id = %s ORDER BY partner_id",
            [self.company.id],
        )
        self.assertEqual(self.env.cr.fetchall(), monthly)
        self.assertTrue(monthly)

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
        self._assert_window_agrees()

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
        self._assert_window_agrees()

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
        self._assert_window_agrees()

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

    # ------------------------------------------------------------------
    # The window's rows: what the analysis opens on
    # ------------------------------------------------------------------
    WINDOW = [("in_window", "=", True)]
    MEASURES = ["__count", "revenue:sum", "gross_margin:sum", "cost_to_serve:sum", "net_contribution:sum"]

    def _groups(self, domain, groupby, monthly=False, user=None):
        """The analysis's groups, read from the window's rows or, with ``monthly``, from the
        monthly rows."""
        Fact = self.Fact.with_user(user) if user else self.Fact
        if monthly:
            Fact = Fact.with_context(kam_fact_monthly=True)
        return {
            group[0]: tuple(round(value, 2) for value in group[1:])
            for group in Fact._read_group(domain, [groupby], self.MEASURES)
        }

    def _window_row(self, partner):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT row_count, revenue FROM kam_account_fact_window WHERE company_id = %s AND partner_id = %s",
            [self.company.id, partner.id],
        )
        return self.env.cr.fetchone()

    def test_window_rows_sum_the_monthly_rows(self):
        """By quadrant, tier, manager or customer over the classification window, the window's
        rows (one per customer) give the sums and counts of the monthly rows, salespeople and
        cut months included; by month or salesperson, or outside the window, the analysis
        reads the monthly rows."""
        big, small, effort = self._customers(3)
        self._post_invoices(
            [
                (big, 5000.0, self.months_ago(1)),
                (big, 800.0, self.months_ago(11, days=-3)),
                (big, 999.0, self.months_ago(13)),
                (small, 400.0, self.months_ago(2)),
            ]
        )
        self._visit(big, self.months_ago(1), user=self.salesman)
        self._visit(small, self.months_ago(2))
        self._cost(small, self.months_ago(3), 75.0)
        self._visit(effort, self.months_ago(4), user=self.kam)
        self._run()
        self._row(big).manager_id = self.kam
        for groupby in ("quadrant", "tier", "manager_id", "partner_id", "company_id"):
            with self.subTest(groupby=groupby):
                self.assertTrue(self.Fact._window_grain_answers(self.WINDOW, [groupby], self.MEASURES, (), None))
                self.assertEqual(self._groups(self.WINDOW, groupby), self._groups(self.WINDOW, groupby, monthly=True))
        by_customer = self._groups(self.WINDOW, "partner_id")
        self.assertEqual(by_customer[big][:2], (3, 5800.0), "two invoice months and the salesperson's visit")
        self.assertEqual(by_customer[small][:2], (len(self._rows(small).filtered("in_window")), 400.0))
        self.assertEqual(by_customer[small][3], 190.0 + 75.0)
        self.assertEqual(self._groups(self.WINDOW, "manager_id")[self.kam][1], 5800.0)
        filtered = [*self.WINDOW, ("tier", "=", "a"), ("partner_id", "in", (big | small).ids)]
        self.assertEqual(self._groups(filtered, "quadrant"), self._groups(filtered, "quadrant", monthly=True))
        self.assertEqual(self._groups(self.WINDOW, "quadrant"), self._groups(self.WINDOW, "quadrant", user=self.kam))
        for domain, groupby in (
            (self.WINDOW, "user_id"),
            (self.WINDOW, "date:month"),
            ([("company_id", "=", self.company.id)], "quadrant"),
            (["|", ("in_window", "=", True), ("tier", "=", "a")], "quadrant"),
        ):
            with self.subTest(domain=domain, groupby=groupby):
                self.assertFalse(self.Fact._window_grain_answers(domain, [groupby], self.MEASURES, (), None))
        everything = self._groups([("company_id", "=", self.company.id)], "partner_id")
        self.assertEqual(everything[big][1], 5800.0 + 999.0, "outside the window: the monthly rows")

    def _account(self, partner):
        row = self._row(partner)
        return row.tier, row.quadrant, row.manager_id.id or None

    def _analysis_account(self, partner):
        """The customer's tier, quadrant and manager as the analysis over the window groups it
        (read from its window row)."""
        domain = [*self.WINDOW, ("partner_id", "=", partner.id)]
        keys = []
        for groupby in ("tier", "quadrant", "manager_id"):
            self.assertTrue(self.Fact._window_grain_answers(domain, [groupby], self.MEASURES, (), None))
            (key,) = self._groups(domain, groupby)
            keys.append((key.id or None) if groupby == "manager_id" else key)
        return tuple(keys)

    def test_window_rows_follow_the_account(self):
        """A reclassification, a refresh of the cost figures and a new manager put the customer
        in its new tier, quadrant and manager in the analysis at once: the window's rows read
        them from the classification row, so none of these writes them."""
        first, second = self._customers(2)
        self._post_invoices([(first, 5000.0, self.months_ago(1)), (second, 500.0, self.months_ago(1))])
        self._run()
        before = self._account(second)
        self.assertEqual(self._analysis_account(second), before)
        self._post_invoices([(second, 20000.0, self.months_ago(1))])
        self.Classification._reclassify_company(self.company, self.today)
        after = self._account(second)
        self.assertNotEqual(after[:2], before[:2], "the run moved the customer")
        self.assertEqual(self._analysis_account(second), after, "the run's tier and quadrant, before any refresh")
        self.assertEqual(self._analysis_account(first), self._account(first))
        self.Fact._refresh(self.company)
        self.assertEqual(self._window_row(second), (1, 20500.0), "the refresh's figures")
        self._cost(second, self.months_ago(1), 5000.0)
        self.Classification._refresh_cost_to_serve(self.company, self.today)
        self.assertNotEqual(self._account(second)[1], after[1], "the cost moved the customer's quadrant")
        self.assertEqual(self._analysis_account(second), self._account(second))
        self._row(second).manager_id = self.kam
        self.assertEqual(self._analysis_account(second)[2], self.kam.id)
        groups = self._groups([*self.WINDOW, ("manager_id", "=", self.kam.id)], "quadrant")
        self.assertEqual(list(groups), [self._account(second)[1]])

    def test_upgrade_drops_the_account_copies_of_the_window_rows(self):
        """The window's rows once kept a copy of the account's tier, quadrant and manager; the
        upgrade drops those columns and the analysis still groups by them."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 900.0, self.months_ago(1))])
        self._run()
        self.Fact._refresh(self.company)
        cr = self.env.cr
        cr.execute(
            "ALTER TABLE kam_account_fact_window ADD COLUMN tier varchar, ADD COLUMN quadrant varchar, "
            "ADD COLUMN manager_id int REFERENCES res_users (id) ON DELETE SET NULL"
        )
        self.Fact._init_window_table()
        for column in ("tier", "quadrant", "manager_id"):
            self.assertFalse(column_exists(cr, "kam_account_fact_window", column))
        self.assertEqual(self._analysis_account(customer), self._account(customer))

    def test_window_rows_keep_to_the_company(self):
        """A user of one company reads that company's window rows only, in a fixed number of
        queries whatever the number of customers."""
        company_2 = self.setup_other_company(name="Second analysis company")["company"]
        self.director.company_ids |= company_2
        customers = self._customers(3)
        self._post_invoices([(p, 100.0, self.months_ago(1)) for p in customers])
        self._post_invoices([(customers[0], 7000.0, self.months_ago(1))], company=company_2)
        self._run()
        self._run(company=company_2)
        self.Fact._refresh()
        Fact = self.Fact.with_user(self.director).with_context(allowed_company_ids=self.company.ids)
        groups = Fact._read_group(self.WINDOW, ["company_id"], ["revenue:sum"])
        self.assertEqual(groups, [(self.company, 300.0)])
        Fact = Fact.with_context(allowed_company_ids=(self.company | company_2).ids)
        self.assertEqual(dict(Fact._read_group(self.WINDOW, ["company_id"], ["revenue:sum"]))[company_2], 7000.0)
        self._warm_up(lambda: Fact.read_group(self.WINDOW, ["revenue:sum"], ["quadrant"], lazy=False))
        more = self._customers(20, "More")
        self._post_invoices([(p, 10.0, self.months_ago(2)) for p in more])
        self._run()
        self.Fact._refresh(self.company)
        for size in ("23 customers", "3 customers"):
            domain = self.WINDOW if size.startswith("23") else [*self.WINDOW, ("partner_id", "in", customers.ids)]
            self.env.invalidate_all()
            with self.subTest(size=size), self.assertQueryCount(QUERIES_PIVOT):
                Fact.read_group(domain, ["revenue:sum"], ["quadrant"], lazy=False)


# The analysis's pivot by quadrant: one SELECT.
QUERIES_PIVOT = 1
