import io
from decimal import Decimal

import xlsxwriter

from odoo import _, api, fields, models
from odoo.tools import SQL

from .kam_xlsx_common import ColumnWidths, WorkbookFormats, sheet_name

# Rows fetched from the database at a time while the snapshot sheet is streamed.
FETCH_SIZE = 5000


class KamPortfolioXlsx(models.AbstractModel):
    """The Portfolio workbook: the KAM Portfolio's lines and totals, and the period's KPI snapshots.

    Three sheets: the accounts (one line each), the totals per KAM (and of the accounts without
    KAM), and every KPI snapshot of those accounts in the period as a flat table, one row per
    account and day, ready for a pivot table. Same scope and access as the KAM Portfolio PDF.
    """

    _name = "kam.portfolio.xlsx"
    _description = "Portfolio workbook"

    @api.model
    def _generate(
        self,
        companies,
        managers=None,
        tiers=None,
        partners=None,
        date_from=None,
        date_to=None,
        include_unassigned=None,
    ):
        """Return ``(file name, workbook bytes)``; checks the user's access first.

        A director printing every KAM's accounts also gets the accounts nobody manages, in a
        "Without KAM" group, as on the portfolio screen; ``include_unassigned`` decides it
        otherwise (only a director may ask for it).
        """
        Scope = self.env["kam.report.scope"]
        Figures = self.env["kam.report.figures"]
        Fmt = self.env["kam.report.format"]
        if include_unassigned is None:
            include_unassigned = not managers and Scope._is_director()
        classifications = Scope._scope_classifications(companies, managers, tiers, partners)
        if include_unassigned:
            # After the KAMs' groups, as the last group of the sheets.
            classifications += Scope._scope_classifications(companies, None, tiers, partners, include_unassigned=True)
        company = companies[:1] or self.env.company
        date_from, date_to = Scope._parse_period(company, {"date_from": date_from, "date_to": date_to})
        groups = Figures._portfolio_lines(classifications, date_from, date_to)
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"constant_memory": True})
        workbook.set_properties(
            {
                "title": _("KAM Portfolio"),
                "subject": Fmt._fmt_period(date_from, date_to),
                "company": ", ".join(companies.mapped("name")),
                "created": fields.Datetime.now(),
            }
        )
        formats = WorkbookFormats(workbook, self.env)
        used = set()
        self._write_lines(workbook.add_worksheet(sheet_name(_("Portfolio"), used)), formats, groups)
        self._write_totals(workbook.add_worksheet(sheet_name(_("Totals per KAM"), used)), formats, groups)
        keys = [(row.company_id.id, row.partner_id.id) for row in classifications]
        self._write_snapshots(
            workbook.add_worksheet(sheet_name(_("KPI snapshots"), used)), formats, keys, date_from, date_to
        )
        workbook.close()
        return _("KAM Portfolio.xlsx"), output.getvalue()

    # ------------------------------------------------------------------
    # Sheets
    # ------------------------------------------------------------------
    @api.model
    def _write_table(self, sheet, formats, columns, rows):
        """Header, rows, frozen header, autofilter and widths; ``columns`` are ``(header, kind)``.

        ``rows`` yields ``(values, currency)``; kinds: text, integer, decimal, percent, money, date, bool.
        """
        widths = ColumnWidths([header for header, _kind in columns])
        for column, (header, _kind) in enumerate(columns):
            sheet.write_string(0, column, header, formats.header)
        row_index = 0
        yes, no = _("Yes"), _("No")
        for values, currency in rows:
            row_index += 1
            for column, ((_header, kind), value) in enumerate(zip(columns, values, strict=True)):
                if value is None or (value is False and kind != "bool"):
                    sheet.write_blank(row_index, column, None)
                    continue
                if kind == "text":
                    sheet.write_string(row_index, column, value, formats.text)
                elif kind == "bool":
                    value = yes if value else no
                    sheet.write_string(row_index, column, value, formats.text)
                elif kind == "date":
                    sheet.write_datetime(row_index, column, value, formats.date)
                    value = formats.date_code
                elif kind == "money":
                    sheet.write_number(row_index, column, value, formats.money(currency))
                    widths.see(column, value, extra=len(currency.symbol or "") + 1)
                    continue
                elif kind == "percent":
                    sheet.write_number(row_index, column, value / 100.0, formats.percent)
                    value = f"{value:.1f} %"
                else:
                    sheet.write_number(
                        row_index, column, value, formats.integer if kind == "integer" else formats.decimal
                    )
                widths.see(column, value)
        widths.apply(sheet)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(row_index, 1), len(columns) - 1)
        return row_index

    @api.model
    def _write_lines(self, sheet, formats, groups):
        columns = [
            (_("Company"), "text"),
            (_("Key Account Manager"), "text"),
            (_("Account"), "text"),
            (_("Tier"), "text"),
            (_("Health"), "integer"),
            (_("Health band"), "text"),
            (_("Revenue"), "money"),
            (_("Previous period revenue"), "money"),
            (_("Trend"), "percent"),
            (_("Cost to serve"), "money"),
            (_("Net contribution"), "money"),
            (_("Plan progress"), "percent"),
            (_("Last contact"), "date"),
            (_("Days since contact"), "integer"),
        ]
        rows = (
            (
                (
                    group["company"].name,
                    group["manager_name"],
                    line["name"],
                    line["tier_label"],
                    line["health"],
                    line["health_band_label"] or None,
                    line["revenue"],
                    line["revenue_prev"],
                    line["trend"],
                    line["cost_to_serve"],
                    line["net_contribution"],
                    line["plan_progress"],
                    line["last_contact"] or None,
                    line["days_since_contact"],
                ),
                group["currency"],
            )
            for group in groups
            for line in group["lines"]
        )
        if not self._write_table(sheet, formats, columns, rows):
            sheet.write_string(1, 0, _("No accounts match the KAMs, tiers and companies chosen."), formats.text)

    @api.model
    def _write_totals(self, sheet, formats, groups):
        columns = [
            (_("Company"), "text"),
            (_("Key Account Manager"), "text"),
            (_("Accounts"), "integer"),
            (_("Key accounts"), "integer"),
            (_("Revenue"), "money"),
            (_("Previous period revenue"), "money"),
            (_("Trend"), "percent"),
            (_("Cost to serve"), "money"),
            (_("Net contribution"), "money"),
            (_("Average health"), "decimal"),
            (_("Average plan progress"), "percent"),
            (_("Average days since contact"), "decimal"),
        ]
        rows = (
            (
                (
                    group["company"].name,
                    group["manager_name"],
                    group["totals"]["count"],
                    group["totals"]["key_accounts"],
                    group["totals"]["revenue"],
                    group["totals"]["revenue_prev"],
                    group["totals"]["trend"],
                    group["totals"]["cost_to_serve"],
                    group["totals"]["net_contribution"],
                    group["totals"]["health"],
                    group["totals"]["plan_progress"],
                    group["totals"]["days_since_contact"],
                ),
                group["currency"],
            )
            for group in groups
        )
        self._write_table(sheet, formats, columns, rows)

    @api.model
    def _snapshot_columns(self):
        """(header, kind, SQL expression) of the snapshot sheet; percentages are stored in %."""
        return [
            (_("Date"), "date", "s.date"),
            (_("Month"), "text", "to_char(s.date, 'YYYY-MM')"),
            (_("Company"), "text", "c.name"),
            (_("Key Account Manager"), "text", "mp.name"),
            (_("Account"), "text", "p.name"),
            (_("Tier"), "text", "s.tier"),
            (_("Revenue"), "money", "s.revenue"),
            (_("Revenue a year earlier"), "money", "s.revenue_prev"),
            (_("Revenue trend"), "percent", "s.revenue_trend"),
            (_("Gross margin"), "money", "s.gross_margin"),
            (_("Gross margin (%)"), "percent", "s.margin_rate"),
            (_("Cost to serve"), "money", "s.cost_to_serve"),
            (_("Net contribution"), "money", "s.net_contribution"),
            (_("Open pipeline"), "money", "s.pipeline"),
            (_("Weighted pipeline"), "money", "s.pipeline_weighted"),
            (_("Won (90 days)"), "integer", "s.won_count"),
            (_("Lost (90 days)"), "integer", "s.lost_count"),
            (_("Visits (90 days)"), "integer", "s.visit_count"),
            (_("Days since contact"), "integer", "s.days_since_contact"),
            (_("Overdue receivables"), "money", "s.overdue_amount"),
            (_("Satisfaction (0–10)"), "decimal", "s.satisfaction"),
            # Customer surveys: the customer's own voice beside the KAM's assessment.
            (_("NPS (12 months)"), "decimal", "s.customer_nps"),
            (_("Customer satisfaction (0–10)"), "decimal", "s.customer_satisfaction"),
            (_("Survey answers (12 months)"), "integer", "s.survey_answer_count"),
            (_("KAM's assessment (0–10)"), "decimal", "s.review_score"),
            (_("Plan progress"), "percent", "s.plan_progress"),
            (_("Health score"), "integer", "s.health_score"),
            (_("Health band"), "text", "s.health_band"),
            (_("Health change (30 days)"), "integer", "s.health_change"),
            (_("Alert"), "bool", "s.health_alert"),
            (_("Month-end"), "bool", "s.is_month_end"),
        ]

    @api.model
    def _write_snapshots(self, sheet, formats, keys, date_from, date_to):
        """Every snapshot of the accounts ``keys`` from ``date_from`` to ``date_to``, streamed."""
        columns = self._snapshot_columns()
        Snapshot = self.env["kam.kpi.snapshot"]
        tiers = dict(Snapshot._fields["tier"]._description_selection(self.env))
        bands = dict(Snapshot._fields["health_band"]._description_selection(self.env))
        currencies = {}
        Snapshot.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT s.company_id, %(columns)s
                  FROM kam_kpi_snapshot s
                  JOIN res_company c ON c.id = s.company_id
                  JOIN res_partner p ON p.id = s.partner_id
                  LEFT JOIN res_users u ON u.id = s.manager_id
                  LEFT JOIN res_partner mp ON mp.id = u.partner_id
                 WHERE (s.company_id, s.partner_id) IN (SELECT * FROM unnest(%(companies)s::int[], %(partners)s::int[]))
                   AND s.date BETWEEN %(date_from)s AND %(date_to)s
                 ORDER BY s.date, c.name, p.name, s.id
                """,
                columns=SQL(", ").join(SQL(expression) for _header, _kind, expression in columns),
                companies=[company_id for company_id, _partner_id in keys],
                partners=[partner_id for _company_id, partner_id in keys],
                date_from=date_from,
                date_to=date_to,
            )
        )
        tier_column = next(i for i, column in enumerate(columns) if column[2] == "s.tier")
        band_column = next(i for i, column in enumerate(columns) if column[2] == "s.health_band")

        def rows():
            while True:
                chunk = self.env.cr.fetchmany(FETCH_SIZE)
                if not chunk:
                    return
                for company_id, *values in chunk:
                    if company_id not in currencies:
                        currencies[company_id] = self.env["res.company"].browse(company_id).currency_id
                    values[tier_column] = tiers.get(values[tier_column]) or None
                    values[band_column] = bands.get(values[band_column]) or None
                    yield [float(v) if isinstance(v, Decimal) else v for v in values], currencies[company_id]

        table_columns = [(header, kind) for header, kind, _expression in columns]
        if not self._write_table(sheet, formats, table_columns, rows()):
            sheet.write_string(1, 0, _("No KPI snapshots of these accounts in the period."), formats.text)
