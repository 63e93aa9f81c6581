from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo.tests import HttpCase, tagged
from odoo.tools import format_amount

from ..reports.kam_report_chart import evolution_svg, nice_step
from ..reports.kam_report_figures import chart_window, previous_period
from .reports_common import END_MARK, GREEK_CYRILLIC, ReportsCommon, norm, pdf_pages, pdf_text

REVIEW = "kam_management.action_report_kam_account_review"
REVIEW_PLAN = "kam_management.action_report_kam_account_review_plan"
PORTFOLIO = "kam_management.action_report_kam_portfolio"


@tagged("post_install", "-at_install")
class TestReports(ReportsCommon, HttpCase):
    """The PDF reports a director prints, printed for real by wkhtmltopdf and read back as text.

    An HttpCase, so that wkhtmltopdf's requests for the report styles are served inside the
    test transaction while the test waits for it (a plain TransactionCase would deadlock on
    the registry during an install with tests).
    """

    def test_account_review_with_full_data(self):
        """Every block of the review shows the account's own figures and records."""
        content = self.render_pdf(REVIEW, self.anchor.ids, user=self.director)
        text = pdf_text(content)
        currency = self.company.currency_id
        for expected in (
            "Key Account Review: Anchor Industries",
            "Manager Mario",
            "A – Key account",
            "Headline KPIs",
            format_amount(self.env, 10000.0, currency),  # revenue of the window
            "Month by month",
            "Value versus effort",
            "This account",
            "Grow revenue",
            "Present the new price list",
            "Stakeholder map",
            "Bella Buyer",
            "Decision maker",
            "Quarterly steering meeting",
            "Deliveries on time all quarter",
            "A competitor quoted lower prices",
            "Health score",
            self.company.name,
            "Page 1 /",
        ):
            self.assertIn(norm(expected), text)
        # The previous period (a year earlier) has the 3,000 invoiced fourteen months ago.
        self.assertIn(norm(format_amount(self.env, 3000.0, currency)), text)

    def test_account_review_with_no_data(self):
        """An account with nothing yet prints, and says what is missing instead of empty tables."""
        content = self.render_pdf(REVIEW, self.empty.ids, user=self.director)
        text = pdf_text(content)
        for expected in (
            "Key Account Review: Empty Prospect",
            "Not classified",
            "No Key Account Manager",
            "No account plan for this account.",
            "No visits recorded.",
            "No account review recorded.",
            "No KPI snapshot of this account yet",
            "No revenue, margin or cost to serve in these months.",
        ):
            self.assertIn(expected, text)

    def test_account_review_long_texts_and_non_latin_characters(self):
        """Long texts wrap instead of being clipped, Greek and Cyrillic print as such."""
        content = self.render_pdf(REVIEW_PLAN, self.exotic_plan.ids, user=self.director)
        text = pdf_text(content)
        self.assertIn(GREEK_CYRILLIC, text)
        self.assertIn("Olga Орлова", text)
        self.assertIn("Ζωή Петрова", text)
        self.assertIn("Встреча в Москве", text)
        self.assertIn("Увеличить выручку", text)
        self.assertEqual(text.count(END_MARK), 2, "both long texts are printed to their last word")
        self.assertGreater(pdf_pages(content), 1)

    def test_account_review_from_the_plan_covers_its_period(self):
        values = self.render_values("kam_management.report_kam_account_review_plan", self.plan.ids, user=self.kam)
        [doc] = values["docs"]
        self.assertEqual(doc["plan"], self.plan)
        self.assertEqual(doc["partner"], self.anchor)
        self.assertEqual([o["name"] for o in doc["objectives"]], ["Grow revenue", "Visit every month"])
        self.assertEqual([a["name"] for a in doc["actions"]], ["Present the new price list"])
        # The chart draws the months of the plan's period, not twelve months around it.
        starts = [start for start, _figures in doc["month_figures"]]
        self.assertEqual(starts[0], self.plan.date_start.replace(day=1))
        self.assertEqual(starts[-1], self.day.replace(day=1))
        self.assertEqual(len(doc["months"]["labels"]), len(starts))

    def test_account_review_in_spanish(self):
        """Dates, amounts and months follow the user's language."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["web"], ["es_ES"])
        content = self.render_pdf(REVIEW, self.anchor.ids, user=self.director, lang="es_ES")
        text = pdf_text(content)
        amount = format_amount(
            self.env["res.partner"].with_context(lang="es_ES").env, 10000.0, self.company.currency_id
        )
        self.assertIn(norm(amount), text)
        self.assertIn("10.000,00", amount)
        self.assertIn("ene 26", text, "months in Spanish")
        self.assertIn("Página 1 /", text)

    def test_portfolio_of_two_kams(self):
        """Each KAM's accounts on a line with their figures, and a total per KAM."""
        content = self.render_pdf(
            PORTFOLIO,
            [],
            data={"company_ids": self.company.ids, "manager_ids": (self.kam | self.other_kam).ids},
            user=self.director,
        )
        text = pdf_text(content)
        currency = self.company.currency_id
        for expected in (
            "KAM Portfolio",
            "Manager Mario",
            "Olga Орлова",
            "Anchor Industries",
            GREEK_CYRILLIC,
            "Total Manager Mario",
            "Total Olga Орлова",
            format_amount(self.env, 2500.0, currency),
            "Page 1 /",
        ):
            self.assertIn(norm(expected), text)
        self.assertNotIn("Small Shop", text, "accounts without KAM are not in a KAM's portfolio")

    def test_portfolio_values_and_totals(self):
        values = self.render_values(
            "kam_management.report_kam_portfolio",
            [],
            data={"company_ids": self.company.ids, "manager_ids": self.kam.ids},
            user=self.director,
        )
        [group] = values["docs"]
        [line] = group["lines"]
        self.assertEqual(line["partner"], self.anchor)
        self.assertEqual(line["revenue"], 10000.0)
        self.assertIsNotNone(line["health"])
        self.assertEqual(line["days_since_contact"], 10)
        self.assertEqual(group["totals"]["count"], 1)
        self.assertEqual(group["totals"]["revenue"], 10000.0)

    def test_portfolio_from_the_team_rows(self):
        rows = self.env["kam.portfolio"].search([("company_id", "=", self.company.id), ("user_id", "=", self.kam.id)])
        values = self.render_values("kam_management.report_kam_portfolio", rows.ids, user=self.kam)
        self.assertEqual([group["manager"] for group in values["docs"]], [self.kam])

    def test_queries_do_not_grow_with_the_accounts(self):
        """One query per block for all the accounts: a review of three costs what a review of one does."""
        Review = self.env["report.kam_management.report_kam_account_review"].with_user(self.director)

        def count(partners):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            Review._get_report_values(partners.ids)
            return self.env.cr.sql_log_count - before

        count(self.anchor)  # warm the caches of the registry
        one = count(self.anchor)
        three = count(self.anchor | self.exotic | self.empty)
        self.assertLessEqual(three, one + 6, f"{one} queries for one account, {three} for three")

    def _review_doc(self, partner, user=None, data=None):
        values = self.render_values(
            "kam_management.report_kam_account_review", partner.ids, data, user or self.director
        )
        [doc] = values["docs"]
        return doc

    def _set_last_run(self, run_date):
        runs = self.env["kam.classification.run"].search([("company_id", "=", self.company.id)])
        runs.write({"date": run_date})

    def test_chart_months_are_the_window_of_the_headline_figures(self):
        """The month-by-month chart covers the window of the headline figures, to the day."""
        window = self.Classification._window(self.company, self.day)
        doc = self._review_doc(self.anchor)
        starts = [start for start, _figures in doc["month_figures"]]
        self.assertEqual(starts[0], window[0].replace(day=1))
        self.assertEqual(starts[-1], self.day.replace(day=1))
        self.assertEqual(starts, [starts[0] + relativedelta(months=i) for i in range(len(starts))])
        revenue = sum(figures["revenue"] for _start, figures in doc["month_figures"])
        self.assertEqual(revenue, 10000.0, "the months add up to the revenue of the window")
        self.assertEqual(doc["kpis"][0]["current"], format_amount(self.env, 10000.0, self.company.currency_id))
        self.assertEqual(doc["period"], doc["chart_period"])

    def test_the_window_ends_at_the_last_classification_run(self):
        """Without a period, the review covers the window of the last run, like the screens."""
        run_date = self.day - relativedelta(months=3)
        self._set_last_run(run_date)
        doc = self._review_doc(self.anchor)
        date_from, date_to = self.Classification._window(self.company, run_date)
        Fmt = self.env["kam.report.format"]
        self.assertEqual(doc["period"], Fmt._fmt_period(date_from, date_to))
        starts = [start for start, _figures in doc["month_figures"]]
        self.assertEqual((starts[0], starts[-1]), (date_from.replace(day=1), run_date.replace(day=1)))
        # The invoices of five and fourteen months ago are in the window, the one of two months ago is not.
        revenue = sum(figures["revenue"] for _start, figures in doc["month_figures"])
        self.assertEqual(revenue, 7000.0)
        self.assertEqual(doc["visits"], [], "the visit of ten days ago is after the window")

    def test_chart_cost_is_the_monthly_cost_to_serve(self):
        """The cost line follows the cost to serve of each month: visits done and cost entries."""
        visit = self.env["kam.visit"].search([("partner_id", "=", self.anchor.id), ("state", "=", "done")])
        self.assertGreater(visit.cost, 0.0)
        earlier = self.env["kam.visit"].create(
            {
                "name": "Plant tour",
                "partner_id": self.anchor.id,
                "user_id": self.kam.id,
                "company_id": self.company.id,
                "start": datetime.combine(self.day - relativedelta(months=4), time(9)),
                "duration": 3.0,
                "expenses": 120.0,
                "state": "done",
            }
        )
        doc = self._review_doc(self.anchor)
        costs = {start: figures["cost_to_serve"] for start, figures in doc["month_figures"]}
        self.assertAlmostEqual(costs[visit.date.replace(day=1)], visit.cost, places=2)
        self.assertAlmostEqual(costs[earlier.date.replace(day=1)], earlier.cost, places=2)
        self.assertAlmostEqual(sum(costs.values()), visit.cost + earlier.cost, places=2)
        # The printed month table says the same as the chart.
        cost_row = doc["months"]["rows"][2]["values"]
        Fmt = self.env["kam.report.format"]
        self.assertEqual(cost_row, [Fmt._fmt_compact(costs[start]) for start in sorted(costs)])

    def test_recent_visits_are_visits_done_up_to_the_window_end(self):
        """A planned visit, a cancelled one and a visit after the period are not "recent visits"."""
        Visit = self.env["kam.visit"]
        common = {"partner_id": self.anchor.id, "user_id": self.kam.id, "company_id": self.company.id}
        Visit.create(
            [
                {
                    **common,
                    "name": "Next quarter's steering",
                    "start": datetime.combine(self.day + timedelta(days=7), time(9)),
                },
                {
                    **common,
                    "name": "Cancelled lunch",
                    "start": datetime.combine(self.day - timedelta(days=4), time(12)),
                    "state": "cancelled",
                },
                {**common, "name": "Still to report", "start": datetime.combine(self.day - timedelta(days=2), time(9))},
            ]
        )
        doc = self._review_doc(self.anchor)
        self.assertEqual([visit["name"] for visit in doc["visits"]], ["Quarterly steering meeting"])
        # A period ending before the visit leaves it out.
        data = {"date_from": str(self.day - relativedelta(months=6)), "date_to": str(self.day - timedelta(days=11))}
        self.assertEqual(self._review_doc(self.anchor, data=data)["visits"], [])

    def test_account_review_labels_in_spanish(self):
        """Tier, quadrant and every selection the review prints are in the reader's language."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["web", "kam_management"], ["es_ES"])
        self.director.lang = "es_ES"
        html, _kind = (
            self.Report.with_user(self.director)
            .with_context(lang="es_ES")
            ._render_qweb_html("kam_management.action_report_kam_account_review", self.anchor.ids)
        )
        text = norm(html.decode())
        for spanish in ("A – Cuenta clave", "Proteger", "Desarrollar", "Reestructurar", "Decisor"):
            self.assertIn(spanish, text)
        for english in ("A – Key account", "Protect", "Develop", "Decision maker"):
            self.assertNotIn(f">{english}<", html.decode())

    def test_previous_period_and_chart_helpers(self):
        self.assertEqual(previous_period(date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 1, 1), date(2025, 12, 31)))
        self.assertEqual(previous_period(date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28)))
        self.assertEqual(previous_period(date(2026, 3, 10), date(2026, 3, 19)), (date(2026, 2, 28), date(2026, 3, 9)))
        self.assertEqual(nice_step(1000), 250)
        # Twelve months that do not start on the first touch thirteen calendar months.
        first, last, starts = chart_window(date(2025, 12, 4), date(2026, 12, 3))
        self.assertEqual((first, last, len(starts)), (date(2025, 12, 4), date(2026, 12, 3), 13))
        self.assertEqual((starts[0], starts[-1]), (date(2025, 12, 1), date(2026, 12, 1)))
        # A longer period is drawn for its last twelve months.
        first, _last, starts = chart_window(date(2024, 1, 1), date(2026, 6, 30))
        self.assertEqual((first, len(starts)), (date(2025, 7, 1), 12))
        svg = evolution_svg(
            [("Jan", 100.0, -20.0, 10.0), ("Feb", 0.0, 0.0, 0.0)],
            {"revenue": "Revenue", "gross_margin": "Margin", "cost_to_serve": "Cost", "empty": "Nothing"},
            str,
        )
        self.assertIn("<svg", svg)
        self.assertIn("Margin", svg)
        self.assertNotIn("Nothing", svg)
