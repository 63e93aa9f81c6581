from odoo import api, fields, models

from .ir_actions_report import wkhtmltopdf_has_patched_qt
from .kam_report_figures import previous_period


class ReportKamPortfolio(models.AbstractModel):
    """The KAM Portfolio: the accounts of one or several KAMs, one line each, totals per KAM.

    Printed from the team's portfolio rows (``docids``: ``kam.portfolio`` ids) or from the
    report dialog (``data``: ``company_ids``, ``manager_ids``, ``tiers``, ``partner_ids``,
    ``date_from``, ``date_to``). A Key Account Manager prints their own portfolio only.
    """

    _name = "report.kam_management.report_kam_portfolio"
    _description = "KAM Portfolio"

    @api.model
    def _get_report_values(self, docids, data=None):
        data = data or {}
        Scope = self.env["kam.report.scope"]
        Figures = self.env["kam.report.figures"]
        Fmt = self.env["kam.report.format"]
        Scope._check_can_print()
        scope = self._scope(docids, data)
        classifications = Scope._scope_classifications(**scope)
        company = scope["companies"][:1] or self.env.company
        date_from, date_to = Scope._parse_period(company, data)
        groups = Figures._portfolio_lines(classifications, date_from, date_to)
        prev_from, prev_to = previous_period(date_from, date_to)
        for group in groups:
            currency = group["currency"]
            for line in [*group["lines"], group["totals"]]:
                line["fmt"] = self._format_line(line, currency)
        return {
            "doc_ids": docids,
            "doc_model": "kam.portfolio",
            "docs": groups,
            "company": company,
            "period": Fmt._fmt_period(date_from, date_to),
            "previous_period": Fmt._fmt_period(prev_from, prev_to),
            "report_date": fields.Date.context_today(self),
            "kam_system_font": not wkhtmltopdf_has_patched_qt(),
        }

    @api.model
    def _scope(self, docids, data):
        """Companies, KAMs, tiers and accounts to print, from portfolio rows or the dialog's data."""
        Users = self.env["res.users"].sudo()
        if docids and not data.get("company_ids"):
            rows = self.env["kam.portfolio"].browse(docids)
            rows.check_access("read")
            rows = rows.sudo()
            return {
                "companies": rows.company_id,
                "managers": rows.user_id,
                "include_unassigned": any(rows.mapped("is_unassigned")),
            }
        companies = self.env["res.company"].sudo().browse(data.get("company_ids") or self.env.company.ids)
        return {
            "companies": companies,
            "managers": Users.browse(data.get("manager_ids") or []),
            "tiers": data.get("tiers") or None,
            "partners": self.env["res.partner"].sudo().browse(data.get("partner_ids") or []) or None,
            "include_unassigned": bool(data.get("include_unassigned")),
        }

    @api.model
    def _format_line(self, line, currency):
        Fmt = self.env["kam.report.format"]
        return {
            "revenue": Fmt._fmt_amount(line["revenue"], currency),
            "trend": Fmt._fmt_change(line["trend"]),
            "cost_to_serve": Fmt._fmt_amount(line["cost_to_serve"], currency),
            "net_contribution": Fmt._fmt_amount(line["net_contribution"], currency),
            "health": Fmt._fmt_number(line["health"]),
            "plan_progress": Fmt._fmt_percent(line["plan_progress"]),
            "days_since_contact": Fmt._fmt_number(line["days_since_contact"]),
        }
