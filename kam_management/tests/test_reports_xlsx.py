from datetime import timedelta

from odoo.tests import tagged

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

    def test_pareto_in_spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        sheet = self.open_workbook(self._pareto(user=self.director, lang="es_ES")).worksheets[0]
        self.assertEqual(sheet["H2"].number_format, "dd/mm/yyyy")

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
