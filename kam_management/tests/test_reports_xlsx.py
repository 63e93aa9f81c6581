from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..reports import kam_pareto_xlsx
from ..reports.kam_xlsx_common import excel_date_format, sheet_name
from .reports_common import GREEK_CYRILLIC, ReportsCommon


@tagged("post_install", "-at_install")
class TestReportsXlsx(ReportsCommon):
    """The workbooks, read back with openpyxl: cells, formats, frozen header, filters and the chart."""

    def _pareto(self, user=None, lang="en_US", **scope):
        Pareto = self.env["kam.pareto.xlsx"].with_context(lang=lang)
        if user:
            Pareto = Pareto.with_user(user)
        _name, content = Pareto._generate(scope.pop("companies", self.company), **scope)
        return content

    def test_pareto_sheet(self):
        """Every classified customer by rank, with its figures and the formats of a user reading English."""
        content = self._pareto(user=self.director)
        book = self.open_workbook(content)
        self.assertEqual(book.sheetnames, [self.company.name[:31]])
        sheet = book.worksheets[0]
        header = [cell.value for cell in sheet[1][:12]]
        self.assertEqual(
            header,
            [
                "Rank",
                "Customer",
                "Reference",
                "Revenue",
                "Share",
                "Cumulative share",
                "Tier",
                "Tier since",
                "Cost to serve",
                "Net contribution",
                "Quadrant",
                "Key Account Manager",
            ],
        )
        rows = [[cell.value for cell in row[:12]] for row in sheet.iter_rows(min_row=2, max_row=4)]
        self.assertEqual([row[1] for row in rows], ["Anchor Industries", rows[1][1], "Small Shop"])
        self.assertTrue(rows[1][1].startswith(GREEK_CYRILLIC))
        anchor = rows[0]
        self.assertEqual(anchor[0], 1)
        self.assertEqual(anchor[3], 10000.0)
        self.assertAlmostEqual(anchor[4], 10000.0 / 12600.0, places=3)
        self.assertAlmostEqual(rows[2][5], 1.0, places=3, msg="the last cumulative share is 100 %")
        self.assertEqual(anchor[6], "A – Key account")
        self.assertEqual(anchor[11], "Manager Mario")
        currency = self.company.currency_id
        self.assertIn(currency.symbol, sheet["D2"].number_format)
        self.assertIn("#,##0.00", sheet["D2"].number_format)
        self.assertEqual(sheet["E2"].number_format, "0.0%")
        self.assertEqual(sheet["H2"].number_format, "mm/dd/yyyy")
        self.assertEqual(sheet.freeze_panes, "A2")
        self.assertEqual(sheet.auto_filter.ref, "A1:L4")
        self.assertGreaterEqual(sheet.column_dimensions["B"].width, 40, "the long customer name shows")
        self.assertLessEqual(sheet.column_dimensions["B"].width, 61, "within reason")

    def test_pareto_chart(self):
        """A native chart: revenue bars, the cumulative share and both thresholds as lines."""
        content = self._pareto(user=self.director)
        chart = self.workbook_part(content, "xl/charts/chart1.xml")
        self.assertIn("<c:barChart>", chart)
        self.assertIn("<c:lineChart>", chart)
        self.assertEqual(chart.count("<c:ser>"), 4, "revenue, cumulative share, tier A and tier B thresholds")
        sheet = self.open_workbook(content).worksheets[0]
        # The chart's table: one bar per customer when they are few, thresholds of the company.
        self.assertEqual(sheet["N2"].value, "Anchor Industries")
        self.assertEqual(sheet["O2"].value, 10000.0)
        self.assertAlmostEqual(sheet["Q2"].value, 0.90)
        self.assertAlmostEqual(sheet["R2"].value, 0.99)

    def _spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["kam_management"], ["es_ES"])

    def _chart_table(self, sheet):
        """The chart's data table: ``[(label, revenue, cumulative share)]`` down to its first empty row."""
        rows = []
        for label, revenue, cumulative in sheet.iter_rows(min_row=2, min_col=14, max_col=16, values_only=True):
            if label is None:
                break
            rows.append((label, revenue, cumulative))
        return rows

    def _lapse_small_shop(self):
        """Small Shop keeps its tier (grace) with its revenue credited back: classified, no revenue."""
        self.company.kam_demotion_grace = 2
        self._post_invoices([(self.small, -100, self.day - timedelta(days=20))])
        self.Classification._reclassify_company(self.company, self.day)
        row = self._row(self.small)
        self.assertTrue(row.tier)
        self.assertFalse(row.revenue)

    def test_pareto_in_spanish(self):
        """Headers, tiers and quadrants in the reader's language, dates in its format."""
        self._spanish()
        sheet = self.open_workbook(self._pareto(user=self.director, lang="es_ES")).worksheets[0]
        self.assertEqual(sheet["H2"].number_format, "dd/mm/yyyy")
        self.assertEqual(sheet["A1"].value, "Posición")
        self.assertEqual(sheet["G2"].value, "A – Cuenta clave")
        quadrants = {
            code: label
            for code, label in self.env["kam.classification"]
            .with_context(lang="es_ES")
            ._fields["quadrant"]
            ._description_selection(self.env(context={"lang": "es_ES"}))
        }
        self.assertEqual(quadrants["protect"], "Proteger")
        row = self._row(self.anchor)
        self.assertTrue(row.quadrant)
        self.assertEqual(sheet["K2"].value, quadrants[row.quadrant])

    def test_pareto_chart_charts_ranked_customers_up_to_100(self):
        """Points are the customers with revenue by rank; the cumulative share rises to 100 %."""
        self._lapse_small_shop()
        sheet = self.open_workbook(self._pareto(user=self.director)).worksheets[0]
        listed = [row[1] for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True)]
        self.assertIn("Small Shop", listed, "a customer without revenue is listed")
        table = self._chart_table(sheet)
        self.assertEqual([label for label, _r, _c in table], ["Anchor Industries", self.exotic.name])
        self.assertEqual([revenue for _l, revenue, _c in table], [10000.0, 2500.0])
        shares = [cumulative for _l, _r, cumulative in table]
        self.assertAlmostEqual(shares[0], 0.8)
        self.assertEqual(shares[-1], 1.0)
        self.assertEqual(shares, sorted(shares))

    def test_pareto_chart_buckets_of_ranks(self):
        """Beyond ``CHART_BANDS`` customers, every point is a bucket of ranks, never a name."""
        self._lapse_small_shop()
        with patch.object(kam_pareto_xlsx, "CHART_BANDS", 1):
            sheet = self.open_workbook(self._pareto(user=self.director)).worksheets[0]
        self.assertEqual(self._chart_table(sheet), [("1–2", 12500.0, 1.0)])

    def test_pareto_chart_of_a_kam(self):
        """A KAM's chart: their customers' own cumulative share, without the company's tier lines."""
        content = self._pareto(user=self.other_kam)
        sheet = self.open_workbook(content).worksheets[0]
        self.assertEqual(self._chart_table(sheet), [(self.exotic.name, 2500.0, 1.0)])
        chart = self.workbook_part(content, "xl/charts/chart1.xml")
        self.assertEqual(chart.count("<c:ser>"), 2, "revenue and cumulative share")

    def test_pareto_of_two_companies(self):
        """A sheet per company, named within Excel's limits."""
        other = self.env["res.company"].create(
            {
                "name": "Compañía con un nombre muy largo: Norte/Sur [Ibérica]",
                "currency_id": self.company.currency_id.id,
            }
        )
        self.director.company_ids |= other
        content = self._pareto(user=self.director, companies=self.company | other)
        book = self.open_workbook(content)
        self.assertEqual(len(book.sheetnames), 2)
        for name in book.sheetnames:
            self.assertLessEqual(len(name), 31)
            self.assertFalse(set(name) & set("[]:*?/\\"))
        empty = book[[name for name in book.sheetnames if name.startswith("Compa")][0]]
        self.assertEqual(empty["A2"].value, "No classified customers.")
        self.assertEqual(self.workbook_parts(content).count("xl/charts/chart1.xml"), 1, "no chart without customers")

    def test_pareto_of_a_kam(self):
        """A KAM gets the customers they manage, ranked as in the whole company."""
        sheet = self.open_workbook(self._pareto(user=self.other_kam)).worksheets[0]
        self.assertEqual(sheet.max_row, 2)
        self.assertTrue(sheet["B2"].value.startswith(GREEK_CYRILLIC))
        self.assertEqual(sheet["A2"].value, 2)

    def test_portfolio_workbook(self):
        """The portfolio's lines and totals, and the period's KPI snapshots ready for a pivot table."""
        self.env["kam.kpi.snapshot"]._take_snapshots(self.company, self.day - timedelta(days=1), alerts=False)
        _name, content = (
            self.env["kam.portfolio.xlsx"]
            .with_user(self.director)
            ._generate(self.company, managers=self.kam | self.other_kam, date_to=self.day)
        )
        book = self.open_workbook(content)
        self.assertEqual(book.sheetnames, ["Portfolio", "Totals per KAM", "KPI snapshots"])
        lines = book["Portfolio"]
        self.assertEqual(lines.freeze_panes, "A2")
        self.assertEqual(lines.auto_filter.ref, "A1:N3")
        by_account = {row[2]: row for row in lines.iter_rows(min_row=2, values_only=True)}
        anchor = by_account["Anchor Industries"]
        self.assertEqual(anchor[1], "Manager Mario")
        self.assertEqual(anchor[6], 10000.0)
        self.assertEqual(anchor[13], 10)
        self.assertIn(self.company.currency_id.symbol, lines["G2"].number_format)
        totals = book["Totals per KAM"]
        self.assertEqual(
            sorted(row[1] for row in totals.iter_rows(min_row=2, values_only=True)), ["Manager Mario", "Olga Орлова"]
        )
        snapshots = book["KPI snapshots"]
        header = [cell.value for cell in snapshots[1]]
        self.assertEqual(header[:5], ["Date", "Month", "Company", "Key Account Manager", "Account"])
        rows = list(snapshots.iter_rows(min_row=2, values_only=True))
        self.assertEqual(len(rows), 4, "two accounts, two days")
        self.assertEqual({row[4] for row in rows} & {"Anchor Industries"}, {"Anchor Industries"})
        self.assertEqual(snapshots["A2"].number_format, "mm/dd/yyyy")
        self.assertEqual(snapshots.freeze_panes, "A2")
        self.assertEqual(snapshots.auto_filter.ref, f"A1:{snapshots.cell(1, len(header)).column_letter}5")

    def test_portfolio_workbook_without_kam(self):
        """A director's workbook of every KAM ends with the accounts nobody manages, as the screen."""
        self.assertFalse(self._row(self.small).manager_id)
        _name, content = self.env["kam.portfolio.xlsx"].with_user(self.director)._generate(self.company)
        book = self.open_workbook(content)
        lines = list(book["Portfolio"].iter_rows(min_row=2, values_only=True))
        self.assertEqual([(row[1], row[2]) for row in lines][-1], ("Without KAM", "Small Shop"))
        self.assertEqual(lines[-1][6], 100.0)
        totals = {row[1]: row for row in book["Totals per KAM"].iter_rows(min_row=2, values_only=True)}
        self.assertEqual(set(totals), {"Manager Mario", "Olga Орлова", "Without KAM"})
        self.assertEqual(totals["Without KAM"][2], 1)
        # Chosen KAMs print their accounts only; a KAM never gets the accounts without KAM.
        _name, content = (
            self.env["kam.portfolio.xlsx"].with_user(self.director)._generate(self.company, managers=self.kam)
        )
        names = [row[2] for row in self.open_workbook(content)["Portfolio"].iter_rows(min_row=2, values_only=True)]
        self.assertEqual(names, ["Anchor Industries"])
        _name, content = self.env["kam.portfolio.xlsx"].with_user(self.kam)._generate(self.company)
        names = [row[2] for row in self.open_workbook(content)["Portfolio"].iter_rows(min_row=2, values_only=True)]
        self.assertEqual(names, ["Anchor Industries"])
        with self.assertRaises(AccessError):
            self.env["kam.portfolio.xlsx"].with_user(self.kam)._generate(self.company, include_unassigned=True)

    def test_portfolio_workbook_in_spanish(self):
        """Tiers, health bands and the group without KAM in the reader's language."""
        self._spanish()
        _name, content = (
            self.env["kam.portfolio.xlsx"].with_user(self.director).with_context(lang="es_ES")._generate(self.company)
        )
        book = self.open_workbook(content)
        self.assertEqual(book.sheetnames[0], "Cartera")
        sheet = book.worksheets[0]
        lines = {row[2]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
        self.assertEqual(lines["Anchor Industries"][3], "A – Cuenta clave")
        self.assertEqual(lines["Small Shop"][1], "Sin KAM")
        self.assertEqual(lines["Small Shop"][3], "C")
        bands = dict(
            self.env["kam.kpi.snapshot"]
            ._fields["health_band"]
            ._description_selection(self.env(context={"lang": "es_ES"}))
        )
        self.assertIn(lines["Anchor Industries"][5], bands.values())
        self.assertNotIn(lines["Anchor Industries"][5], {"Healthy", "Watch", "At risk"})
        snapshots = book.worksheets[2]
        tiers = {row[5] for row in snapshots.iter_rows(min_row=2, values_only=True)}
        self.assertIn("A – Cuenta clave", tiers)

    def test_portfolio_workbook_without_accounts(self):
        _name, content = self.env["kam.portfolio.xlsx"].with_user(self.kam)._generate(self.company, tiers=["c"])
        book = self.open_workbook(content)
        self.assertEqual(book["Portfolio"]["A2"].value, "No accounts match the KAMs, tiers and companies chosen.")
        self.assertEqual(book["KPI snapshots"]["A2"].value, "No KPI snapshots of these accounts in the period.")

    def test_excel_formats_and_sheet_names(self):
        self.assertEqual(excel_date_format("%d/%m/%Y"), "dd/mm/yyyy")
        self.assertEqual(excel_date_format("%m/%d/%Y"), "mm/dd/yyyy")
        self.assertEqual(excel_date_format("%d.%m.%Y"), "dd.mm.yyyy")
        self.assertEqual(excel_date_format("%Y-%m-%d"), "yyyy-mm-dd")
        used = set()
        self.assertEqual(sheet_name("A/B: C?", used), "A B  C")
        long_name = "x" * 40
        first, second = sheet_name(long_name, used), sheet_name(long_name, used)
        self.assertEqual(len(first), 31)
        self.assertNotEqual(first, second)
        self.assertLessEqual(len(second), 31)
        self.assertEqual(sheet_name("History", set()), "History 1")
