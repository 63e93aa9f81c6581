import io

import openpyxl
from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, float_compare

# Figures of the classification window, as each screen names them.
WINDOW_FIGURES = {
    "revenue": "kam_invoiced_revenue",
    "gross_margin": "kam_gross_margin",
    "cost_to_serve": "kam_cost_to_serve",
    "net_contribution": "kam_net_contribution",
    "visit_count": "kam_visit_count",
}


@tagged("post_install", "-at_install")
class TestFiguresAgree(TransactionCase):
    """One figure, one value: on the demo data, every screen that shows a figure of a key
    account shows the same value for it (the partner form, the cost-to-serve analysis, the
    dashboard card's KPI snapshot, the stakeholder map, the account plan's objectives, the Key
    Account Review and both workbooks)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=cls.company.ids))
        cls.env.user.groups_id |= cls.env.ref("kam_management.group_kam_director")
        cls.today = fields.Date.context_today(cls.env.user)
        # Every screen as of today: today's run (the demo's run of today, again: it changes
        # nothing), the refresh of the stored figures that follows it, and today's KPI snapshot.
        Classification = cls.env["kam.classification"]
        Classification._reclassify_company(cls.company, cls.today)
        cls.env["kam.account.fact"]._refresh(cls.company, window=Classification._window(cls.company, cls.today))
        cls.env["kam.kpi.snapshot"]._take_snapshots(cls.company, cls.today, alerts=False)
        cls.rows = cls.env["kam.classification"].search([("company_id", "=", cls.company.id), ("tier", "=", "a")])
        cls.currency = cls.company.currency_id

    def assertSame(self, first, second, msg):
        self.assertEqual(
            float_compare(first or 0.0, second or 0.0, precision_digits=2), 0, f"{msg}: {first} / {second}"
        )

    def _stored(self, partner, date_from, date_to):
        self.env.cr.execute(
            SQL(
                "SELECT * FROM (%s) f",
                self.env["kam.account.fact"]._figures_sql(
                    self.company, date_from, date_to, partners=partner.ids, stored=True
                ),
            )
        )
        return self.env.cr.dictfetchone() or {}

    def _snapshots(self):
        return self.env["kam.kpi.snapshot"].search([("company_id", "=", self.company.id), ("date", "=", self.today)])

    def _facts(self, partner, domain):
        """Sums of the analysis's rows of ``partner`` over ``domain``."""
        groups = self.env["kam.account.fact"]._read_group(
            [("company_id", "=", self.company.id), ("partner_id", "=", partner.id), *domain],
            [],
            [f"{name}:sum" for name in WINDOW_FIGURES],
        )
        return dict(zip(WINDOW_FIGURES, groups[0], strict=True))

    def test_demo_has_key_accounts_with_figures(self):
        """The test below needs key accounts with revenue, visits and plans on the demo data."""
        self.assertGreaterEqual(len(self.rows), 5)
        self.assertTrue(any(row.visit_count for row in self.rows))
        self.assertTrue(self.env["kam.account.plan"].search_count([("partner_id", "in", self.rows.partner_id.ids)]))

    def test_window_figures_agree_on_every_screen(self):
        """Partner form = analysis over the classification window = KPI snapshot = review report
        = Pareto workbook = Portfolio workbook, for revenue, margin, cost to serve, contribution
        and visits."""
        Data = self.env["kam.report.figures"]
        window = self.env["kam.classification"]._window(self.company, self.today)
        keys = [(self.company.id, row.partner_id.id) for row in self.rows]
        review = Data._figures(keys, {"current": window})
        snapshots = {snapshot.partner_id: snapshot for snapshot in self._snapshots()}
        pareto = self._pareto_rows()
        portfolio = self._portfolio_rows()
        in_portfolio = 0
        for row in self.rows:
            partner = row.partner_id.with_company(self.company)
            with self.subTest(account=partner.name):
                facts = self._facts(partner, [("in_window", "=", True)])
                snapshot = snapshots[row.partner_id]
                printed = review.get(("current", self.company.id, partner.id), {})
                self.assertSame(partner.kam_revenue_12m, partner.kam_invoiced_revenue, "revenue ranked / invoiced")
                for figure, field in WINDOW_FIGURES.items():
                    self.assertSame(facts[figure], partner[field], f"{figure}: analysis / partner form")
                    self.assertSame(printed.get(figure), partner[field], f"{figure}: review report / partner form")
                    if figure != "visit_count":  # the card counts the visits of the recent days
                        self.assertSame(snapshot[figure], partner[field], f"{figure}: KPI snapshot / partner form")
                self.assertSame(pareto[partner.name]["Revenue"], partner.kam_revenue_12m, "Pareto workbook revenue")
                self.assertSame(pareto[partner.name]["Cost to serve"], partner.kam_cost_to_serve, "Pareto: cost")
                self.assertSame(
                    pareto[partner.name]["Net contribution"], partner.kam_net_contribution, "Pareto: contribution"
                )
                line = portfolio.get(partner.name)
                if not line:  # the Portfolio lists the accounts of the KAMs
                    self.assertFalse(row.manager_id)
                    continue
                self.assertSame(line["Revenue"], partner.kam_invoiced_revenue, "Portfolio workbook revenue")
                self.assertSame(line["Cost to serve"], partner.kam_cost_to_serve, "Portfolio workbook cost")
                self.assertSame(line["Net contribution"], partner.kam_net_contribution, "Portfolio: contribution")
                self.assertEqual(line["Last contact"], snapshot.last_contact_date, "Portfolio: last contact")
                in_portfolio += 1
        self.assertGreaterEqual(in_portfolio, 5)

    def test_last_contact_is_one_rule(self):
        """The dashboard card's last contact of an account is the latest last contact of its
        people by the stakeholder map's rule, and no stakeholder was contacted later."""
        Stakeholder = self.env["kam.account.plan.stakeholder"]
        snapshots = self._snapshots()
        checked = 0
        for snapshot in snapshots:
            people = (
                self.env["res.partner"]
                .with_context(active_test=False)
                .search([("commercial_partner_id", "=", snapshot.partner_id.id)])
            )
            contacts = Stakeholder._fetch_last_contacts(people.ids, self.company)
            with self.subTest(account=snapshot.partner_id.name):
                self.assertEqual(snapshot.last_contact_date, max(contacts.values(), default=False))
                stakeholders = Stakeholder.search(
                    [("plan_id.partner_id", "=", snapshot.partner_id.id), ("plan_id.company_id", "=", self.company.id)]
                )
                for stakeholder in stakeholders.filtered("last_contact_date"):
                    self.assertLessEqual(stakeholder.last_contact_date, snapshot.last_contact_date)
                    checked += 1
        self.assertTrue(checked, "the demo's stakeholder maps have contacts")

    def test_plan_objectives_are_sums_of_the_facts(self):
        """An account plan's revenue, margin and visits are the stored rows summed over the plan's
        period (with the days of its edge months that a row only partly covers); its open
        pipeline is the dashboard card's (both as of the plan's end)."""
        Objective = self.env["kam.account.plan.objective"]
        plans = self.env["kam.account.plan"].search(
            [("company_id", "=", self.company.id), ("partner_id", "in", self.rows.partner_id.ids)]
        )
        snapshots = {snapshot.partner_id: snapshot for snapshot in self._snapshots()}
        checked = 0
        for plan in plans:
            objectives = Objective.create(
                [
                    {"plan_id": plan.id, "measure": measure, "target": 1.0}
                    for measure in ("revenue", "gross_margin", "visits", "pipeline")
                ]
            )
            actual = {objective.measure: objective.actual for objective in objectives}
            with self.subTest(plan=plan.display_name):
                stored = self._stored(plan.partner_id, plan.date_start, plan.date_end)
                self.assertSame(actual["revenue"], stored.get("revenue"), "plan revenue / analysis")
                self.assertSame(actual["gross_margin"], stored.get("gross_margin"), "plan margin / analysis")
                self.assertSame(actual["visits"], stored.get("visit_count"), "plan visits / analysis")
                checked += bool(stored.get("revenue"))
                if plan.date_end >= self.today and plan.partner_id in snapshots:
                    self.assertSame(actual["pipeline"], snapshots[plan.partner_id].pipeline, "plan / card pipeline")
        self.assertTrue(checked, "the demo's plans have revenue")

    def test_facts_are_the_definitions(self):
        """The stored rows sum, per customer, to the figure definitions over any window: whole
        months, or days cut anywhere (the edge days come from the definitions)."""
        Fact = self.env["kam.account.fact"]
        Fact._flush_sources()
        month = self.today.replace(day=1)
        windows = [
            (month - relativedelta(months=6), month - relativedelta(days=1)),
            (self.today - relativedelta(days=200), self.today - relativedelta(days=17)),
            self.env["kam.classification"]._window(self.company, self.today),
        ]
        for date_from, date_to in windows:
            with self.subTest(window=(date_from, date_to)):
                self.env.cr.execute(Fact._figures_sql(self.company, date_from, date_to))
                expected = {row["partner_id"]: row for row in self.env.cr.dictfetchall()}
                self.env.cr.execute(Fact._figures_sql(self.company, date_from, date_to, stored=True))
                stored = {row["partner_id"]: row for row in self.env.cr.dictfetchall()}
                self.assertTrue(stored)
                self.assertEqual(set(stored), set(expected))
                for partner_id, row in stored.items():
                    for figure in ("revenue", "gross_margin", "cost_to_serve", "net_contribution", "visit_count"):
                        self.assertSame(row[figure], expected[partner_id][figure], f"{figure} of {partner_id}")
                # Read for a few customers only, the figures are theirs and the same.
                some = sorted(expected)[:3]
                self.env.cr.execute(Fact._figures_sql(self.company, date_from, date_to, partners=some, stored=True))
                scoped = {row["partner_id"]: row["revenue"] for row in self.env.cr.dictfetchall()}
                self.assertEqual(set(scoped), set(some))
                for partner_id, revenue in scoped.items():
                    self.assertSame(revenue, expected[partner_id]["revenue"], f"revenue of {partner_id}, scoped")
                # Month by month, the stored rows and the definitions agree too.
                monthly = {}
                for stored_rows in (False, True):
                    rows = (
                        Fact._stored_sources_sql(self.company.id, date_from, date_to, detail=True)
                        if stored_rows
                        else Fact._sources_sql(self.company.id, date_from, date_to, detail=True)
                    )
                    self.env.cr.execute(self.env["kam.figures"]._totals_sql(rows, group_by=("partner_id", "date")))
                    monthly[stored_rows] = {
                        (row["partner_id"], row["date"]): row["net_contribution"] for row in self.env.cr.dictfetchall()
                    }
                self.assertEqual(set(monthly[True]), set(monthly[False]))
                for key, value in monthly[True].items():
                    self.assertSame(value, monthly[False][key], f"net contribution of {key}")

    def test_run_ranks_the_stored_figures_as_the_documents(self):
        """A reclassification as users run it reads the stored figures, brought to its window
        first; it decides and figures every customer exactly as a run computing them from the
        documents, a new invoice included."""
        Classification = self.env["kam.classification"]
        columns = Classification._stage_columns()
        revenue = columns.index("revenue")

        def classification_rows():
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "SELECT partner_id, %s FROM kam_classification WHERE company_id = %s",
                    SQL(", ").join(SQL.identifier(column) for column in columns),
                    self.company.id,
                )
            )
            return {row[0]: row[1:] for row in self.env.cr.fetchall()}

        partner = self.rows[-1:].partner_id
        before = classification_rows()[partner.id][revenue]
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": self.today - relativedelta(days=20),
                "invoice_line_ids": [(0, 0, {"name": "Extra", "quantity": 1, "price_unit": 50000.0, "tax_ids": []})],
            }
        )
        invoice.action_post()

        class Undo(Exception):
            pass

        try:
            with self.env.cr.savepoint():
                Classification._reclassify_company(self.company, self.today)
                from_documents = classification_rows()
                raise Undo
        except Undo:
            self.env.invalidate_all()
        engine = Classification._with_stored_figures(self.company, self.today)
        self.assertTrue(engine.env.context.get("kam_stored_figures"), "the demo company has stored figures")

        def stage(classification):
            """What the classification alone would change (its revenue read from either source)."""
            classification = classification.with_context(kam_without_cost_figures=True)
            self.env.cr.execute(
                SQL(
                    "%s SELECT partner_id, tier, computed_tier, revenue, rank, share, cumulative_share "
                    "FROM stage ORDER BY partner_id",
                    classification._stage_sql(self.company, self.today),
                )
            )
            return self.env.cr.fetchall()

        changes = stage(engine)
        self.assertIn(partner.id, [row[0] for row in changes])
        self.assertEqual(changes, stage(Classification))
        Classification._run_company(self.company, self.today)
        from_stored = classification_rows()
        self.assertSame(from_stored[partner.id][revenue], before + 50000, "the new invoice counts")
        self.assertEqual(from_stored, from_documents)

    def test_stored_figures_follow_a_refresh(self):
        """Read from the stored rows, a new invoice counts once the rows are refreshed, as the
        daily KPI run and the reports do before they read."""
        Fact = self.env["kam.account.fact"]
        partner = self.rows[:1].partner_id
        month_start = self.today.replace(day=1) - relativedelta(months=2)

        def revenue(stored):
            Fact._flush_sources()
            self.env.cr.execute(
                Fact._figures_sql(
                    self.company, month_start, month_start + relativedelta(days=40), partners=partner.ids, stored=stored
                )
            )
            return (self.env.cr.dictfetchone() or {}).get("revenue") or 0

        before = revenue(stored=True)
        self.assertSame(before, revenue(stored=False), "stored and computed before")
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": month_start + relativedelta(days=3),
                "invoice_line_ids": [(0, 0, {"name": "Extra", "quantity": 1, "price_unit": 1234.0, "tax_ids": []})],
            }
        )
        invoice.action_post()
        self.assertSame(revenue(stored=False), before + 1234, "computed at once")
        self.assertSame(revenue(stored=True), before, "stored: not yet refreshed")
        Fact._refresh(self.company)
        self.assertSame(revenue(stored=True), before + 1234, "stored, refreshed")

    # ------------------------------------------------------------------
    # Workbooks, read back
    # ------------------------------------------------------------------
    def _sheet_rows(self, content, sheet=0, name_column=None):
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        rows = list(book.worksheets[sheet].iter_rows(values_only=True))
        header = rows[0]
        index = header.index(name_column)
        # First column of each header: a chart's data may repeat a header further right.
        columns = {name: position for position, name in reversed(list(enumerate(header))) if name}
        return {
            row[index]: {name: row[position] for name, position in columns.items()} for row in rows[1:] if row[index]
        }

    def _pareto_rows(self):
        _name, content = self.env["kam.pareto.xlsx"]._generate(self.company)
        return self._sheet_rows(content, name_column="Customer")

    def _portfolio_rows(self):
        _name, content = self.env["kam.portfolio.xlsx"]._generate(self.company)
        rows = self._sheet_rows(content, name_column="Account")
        for row in rows.values():
            if row.get("Last contact"):
                row["Last contact"] = row["Last contact"].date()
        return rows
