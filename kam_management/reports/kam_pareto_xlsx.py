import io

import xlsxwriter

from odoo import _, api, fields, models
from odoo.tools import SQL

from .kam_xlsx_common import ColumnWidths, WorkbookFormats, sheet_name

# Bars of the Pareto chart: up to this many customers get a bar each; beyond, customers are
# grouped into this many bands of consecutive ranks so that the chart reads at any size.
CHART_BANDS = 50
# Rows fetched from the database at a time while the sheet is streamed.
FETCH_SIZE = 5000
# First column of the chart's data table, right of the customers (one empty column between).
CHART_TABLE_COLUMN = 13
CHART_COLUMN = CHART_TABLE_COLUMN + 6  # where the chart is drawn
CHART_SIZE = {"width": 880, "height": 420}  # pixels


class KamParetoXlsx(models.AbstractModel):
    """The Pareto workbook: every classified customer of each company, ranked, with a Pareto chart.

    One sheet per company, written in constant-memory mode: a company of 100,000 customers is
    streamed from one query to the sheet, never held in memory. A Key Account Manager gets
    the customers they manage; a director every classified customer.
    """

    _name = "kam.pareto.xlsx"
    _description = "Pareto workbook"

    @api.model
    def _columns(self):
        """(header, kind) of each column, in order; the kind picks the cell format."""
        return [
            (_("Rank"), "integer"),
            (_("Customer"), "text"),
            (_("Reference"), "text"),
            (_("Revenue"), "money"),
            (_("Share"), "percent"),
            (_("Cumulative share"), "percent"),
            (_("Tier"), "text"),
            (_("Tier since"), "date"),
            (_("Cost to serve"), "money"),
            (_("Net contribution"), "money"),
            (_("Quadrant"), "text"),
            (_("Key Account Manager"), "text"),
        ]

    @api.model
    def _generate(self, companies, tiers=None, managers=None, partners=None):
        """Return ``(file name, workbook bytes)``; checks the user's access first."""
        managers = self.env["kam.report.scope"]._scope_managers(companies, managers)
        self.env["kam.classification"].flush_model()
        self.env["res.partner"].flush_model(["name", "ref"])
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_numbers": False})
        workbook.set_properties(
            {
                "title": _("Pareto of the customers"),
                "company": ", ".join(companies.mapped("name")),
                "created": fields.Datetime.now(),
            }
        )
        formats = WorkbookFormats(workbook, self.env)
        used = set()
        # The tier lines mean something on the chart of the whole company only: they cut the
        # company's cumulative share, not that of a KAM's or a tier's customers.
        whole = not (tiers and set(tiers) != {"a", "b", "c"}) and not managers and not partners
        for company in companies.sorted("name"):
            filters = self._filters(company, tiers, managers, partners)
            sheet = workbook.add_worksheet(sheet_name(company.name, used))
            self._write_sheet(workbook, sheet, formats, company, filters, whole)
        workbook.close()
        return _("Pareto.xlsx"), output.getvalue()

    @api.model
    def _filters(self, company, tiers, managers, partners):
        clauses = [SQL("k.company_id = %s", company.id)]
        clauses.append(SQL("k.tier = ANY(%s)", list(tiers)) if tiers else SQL("k.tier IS NOT NULL"))
        if managers:
            clauses.append(SQL("k.manager_id = ANY(%s)", managers.ids))
        if partners:
            clauses.append(SQL("k.partner_id = ANY(%s)", partners.commercial_partner_id.ids))
        return SQL(" AND ").join(clauses)

    @api.model
    def _write_sheet(self, workbook, sheet, formats, company, filters, thresholds=True):
        columns = self._columns()
        currency = company.currency_id
        money = formats.money(currency)
        cell_formats = {
            "integer": formats.integer,
            "text": formats.text,
            "money": money,
            "percent": formats.percent,
            "date": formats.date,
        }
        widths = ColumnWidths([header for header, _kind in columns])
        bands = self._chart_bands(filters)
        chart_headers = [_("Ranks"), _("Revenue"), _("Cumulative share")]
        if thresholds:
            chart_headers += [_("Tier A threshold"), _("Tier B threshold")]
        chart_widths = ColumnWidths(chart_headers)
        for column, (header, _kind) in enumerate(columns):
            sheet.write_string(0, column, header, formats.header)
        for offset, header in enumerate(chart_headers):
            sheet.write_string(0, CHART_TABLE_COLUMN + offset, header, formats.header)
        tiers = dict(self.env["kam.classification"]._fields["tier"]._description_selection(self.env))
        quadrants = dict(self.env["kam.classification"]._fields["quadrant"]._description_selection(self.env))
        levels = (company.kam_threshold_a / 100.0, company.kam_threshold_b / 100.0) if thresholds else ()
        cr = self.env.cr
        cr.execute(self._rows_sql(filters))
        row_index = 0
        kinds = [kind for _header, kind in columns]
        while True:
            rows = cr.fetchmany(FETCH_SIZE)
            if not rows:
                break
            for rank, name, ref, revenue, share, cumulative, tier, tier_since, cost, net, quadrant, manager in rows:
                row_index += 1
                values = (
                    rank,
                    name or "",
                    ref or "",
                    float(revenue or 0.0),
                    (share or 0.0) / 100.0,
                    (cumulative or 0.0) / 100.0,
                    tiers.get(tier, ""),
                    tier_since,
                    float(cost or 0.0),
                    float(net or 0.0),
                    quadrants.get(quadrant, "") if quadrant else "",
                    manager or "",
                )
                for column, (value, kind) in enumerate(zip(values, kinds, strict=True)):
                    self._write_cell(sheet, row_index, column, value, kind, cell_formats[kind])
                    widths.see(column, value, extra=len(currency.symbol or "") + 1 if kind == "money" else 0)
                if row_index <= len(bands):
                    self._write_band(sheet, row_index, bands[row_index - 1], levels, formats, money)
                    chart_widths.see(0, bands[row_index - 1][0])
                    chart_widths.see(1, bands[row_index - 1][1], extra=len(currency.symbol or "") + 1)
        # The bands come from the same rows; should rows vanish between the two queries,
        # the remaining bands are still written.
        for band_row in range(row_index + 1, len(bands) + 1):
            self._write_band(sheet, band_row, bands[band_row - 1], levels, formats, money)
        widths.apply(sheet)
        chart_widths.apply(sheet, CHART_TABLE_COLUMN)
        sheet.set_column(CHART_TABLE_COLUMN - 1, CHART_TABLE_COLUMN - 1, 3)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(row_index, 1), len(columns) - 1)
        if bands:
            sheet.insert_chart(
                1, CHART_COLUMN, self._chart(workbook, sheet.name, company, len(bands), currency, len(levels))
            )
        elif not row_index:
            sheet.write_string(1, 0, _("No classified customers."), formats.text)

    @api.model
    def _write_cell(self, sheet, row, column, value, kind, cell_format):
        if kind == "text":
            sheet.write_string(row, column, value, cell_format)
        elif kind == "date":
            if value:
                sheet.write_datetime(row, column, value, cell_format)
            else:
                sheet.write_blank(row, column, None, cell_format)
        elif value is None:
            sheet.write_blank(row, column, None, cell_format)
        else:
            sheet.write_number(row, column, value, cell_format)

    @api.model
    def _write_band(self, sheet, row, band, levels, formats, money):
        label, revenue, cumulative = band
        column = CHART_TABLE_COLUMN
        sheet.write_string(row, column, label, formats.text)
        sheet.write_number(row, column + 1, revenue, money)
        sheet.write_number(row, column + 2, cumulative, formats.percent)
        for offset, level in enumerate(levels, start=3):
            sheet.write_number(row, column + offset, level, formats.percent)

    @api.model
    def _rows_sql(self, filters):
        return SQL(
            """
            SELECT k.rank, p.name, p.ref, k.revenue, k.share, k.cumulative_share, k.tier, k.tier_since,
                   k.cost_to_serve, k.net_contribution, k.quadrant, mp.name
              FROM kam_classification k
              JOIN res_partner p ON p.id = k.partner_id
              LEFT JOIN res_users u ON u.id = k.manager_id
              LEFT JOIN res_partner mp ON mp.id = u.partner_id
             WHERE %s
             ORDER BY k.rank NULLS LAST, k.id
            """,
            filters,
        )

    @api.model
    def _chart_bands(self, filters):
        """The points of the chart: ``[(label, revenue, cumulative share at its end)]``, in one query.

        The customers of the sheet with revenue, by rank: one point each up to ``CHART_BANDS``
        customers, else equal buckets of consecutive ranks (the last one may be shorter),
        labelled with their ranks. The cumulative share is of the charted customers' revenue:
        it never decreases and ends at 100 %. Customers without revenue in the window are
        listed on the sheet, not charted.
        """
        self.env.cr.execute(
            SQL(
                """
                WITH r AS (
                    SELECT k.rank, k.revenue, p.name,
                           ROW_NUMBER() OVER (ORDER BY k.rank, k.id) AS position,
                           COUNT(*) OVER () AS population
                      FROM kam_classification k
                      JOIN res_partner p ON p.id = k.partner_id
                     WHERE %(filters)s AND k.revenue > 0 AND k.rank IS NOT NULL
                )
                SELECT (position - 1) / ((population + %(bands)s - 1) / %(bands)s) AS bucket,
                       COUNT(*), MIN(rank), MAX(rank), SUM(revenue), (ARRAY_AGG(name ORDER BY position))[1],
                       MAX(population)
                  FROM r
                 GROUP BY 1
                 ORDER BY 1
                """,
                filters=filters,
                bands=CHART_BANDS,
            )
        )
        rows = self.env.cr.fetchall()
        total = sum(float(row[4]) for row in rows)
        single = bool(rows) and rows[0][6] <= CHART_BANDS
        bands, running = [], 0.0
        for index, (_bucket, _count, first, last, revenue, name, _population) in enumerate(rows):
            running += float(revenue)
            # The last point closes the revenue of the sheet, whatever the rounding.
            cumulative = 1.0 if index == len(rows) - 1 else running / total
            label = (name or "") if single else f"{first}–{last}"
            bands.append((label, float(revenue), cumulative))
        return bands

    @api.model
    def _chart(self, workbook, sheet, company, count, currency, thresholds=2):
        """Revenue bars with the cumulative share and, for the whole company, the A and B thresholds as lines."""
        first, last, column = 1, count, CHART_TABLE_COLUMN
        categories = [sheet, first, column, last, column]
        bars = workbook.add_chart({"type": "column"})
        bars.add_series(
            {
                "name": [sheet, 0, column + 1],
                "categories": categories,
                "values": [sheet, first, column + 1, last, column + 1],
                "fill": {"color": "#404040"},
                "border": {"color": "#000000"},
                "gap": 30,
            }
        )
        lines = workbook.add_chart({"type": "line"})
        lines.add_series(
            {
                "name": [sheet, 0, column + 2],
                "categories": categories,
                "values": [sheet, first, column + 2, last, column + 2],
                "y2_axis": True,
                "line": {"color": "#000000", "width": 2.25},
                "marker": {"type": "square", "size": 5, "border": {"color": "#000000"}, "fill": {"color": "#FFFFFF"}},
            }
        )
        for offset, dash in ((3, "dash"), (4, "round_dot"))[:thresholds]:
            lines.add_series(
                {
                    "name": [sheet, 0, column + offset],
                    "categories": categories,
                    "values": [sheet, first, column + offset, last, column + offset],
                    "y2_axis": True,
                    "line": {"color": "#000000", "width": 1.25, "dash_type": dash},
                    "marker": {"type": "none"},
                }
            )
        lines.set_y2_axis({"min": 0, "max": 1, "num_format": "0%", "name": _("Cumulative share")})
        bars.combine(lines)
        bars.set_title({"name": _("Pareto of %(company)s", company=company.name)})
        bars.set_x_axis({"name": _("Customers with revenue, by rank"), "num_font": {"rotation": -45}})
        bars.set_y_axis({"name": _("Revenue"), "num_format": '#,##0 "{}"'.format(currency.symbol or "")})
        bars.set_legend({"position": "bottom"})
        bars.set_size(CHART_SIZE)
        # Filtering the customers must not change the chart.
        bars.show_hidden_data()
        return bars
