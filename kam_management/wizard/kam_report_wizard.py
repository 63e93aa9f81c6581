from urllib.parse import urlencode

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..const import DIRECTOR_GROUP, KAM_GROUP

REPORT_KINDS = [
    ("account_review", "Key Account Review (PDF)"),
    ("portfolio", "KAM Portfolio (PDF)"),
    ("portfolio_xlsx", "Portfolio workbook (Excel)"),
    ("pareto_xlsx", "Pareto workbook (Excel)"),
]


class KamReportWizard(models.TransientModel):
    """The dialog that prints the key-account reports: which report, companies, KAMs, tiers, period.

    Opened from the Key Accounts menu, or from the lists of customers and account plans with
    the selected records as the accounts to print. A Key Account Manager prints their own
    accounts; the reports check it again whatever the way they are reached.
    """

    _name = "kam.report.wizard"
    _description = "Print key account reports"

    def _default_date_from(self):
        return self.env["kam.report.scope"]._default_period(self.env.company)[0]

    def _default_date_to(self):
        return self.env["kam.report.scope"]._default_period(self.env.company)[1]

    report_kind = fields.Selection(REPORT_KINDS, string="Report", required=True, default="portfolio")
    company_ids = fields.Many2many(
        "res.company",
        string="Companies",
        required=True,
        default=lambda self: self.env.companies,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    is_director = fields.Boolean(compute="_compute_is_director")
    manager_ids = fields.Many2many(
        "res.users",
        string="Key Account Managers",
        default=lambda self: self.env["res.users"] if self.env.user.has_group(DIRECTOR_GROUP) else self.env.user,
        domain=lambda self: [("share", "=", False), ("groups_id", "in", self.env.ref(KAM_GROUP).id)],
        help="Leave empty to print the accounts of every Key Account Manager.",
    )
    tier_a = fields.Boolean(default=True)
    tier_b = fields.Boolean(default=True)
    tier_c = fields.Boolean(default=True)
    date_from = fields.Date(string="From", required=True, default=_default_date_from)
    date_to = fields.Date(string="To", required=True, default=_default_date_to)
    partner_ids = fields.Many2many(
        "res.partner",
        string="Accounts",
        help="Print these accounts only; leave empty to print every account of the KAMs and tiers chosen.",
    )
    uses_period = fields.Boolean(compute="_compute_uses_period")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model, ids = self.env.context.get("active_model"), self.env.context.get("active_ids") or []
        if model == "res.partner" and ids:
            partners = self.env["res.partner"].browse(ids).commercial_partner_id
            values.update(partner_ids=[fields.Command.set(partners.ids)], report_kind="account_review")
        elif model == "kam.account.plan" and ids:
            plans = self.env["kam.account.plan"].browse(ids)
            values.update(
                partner_ids=[fields.Command.set(plans.partner_id.commercial_partner_id.ids)],
                company_ids=[fields.Command.set(plans.company_id.ids)],
                report_kind="account_review",
                date_from=min(plans.mapped("date_start")),
                date_to=min(max(plans.mapped("date_end")), fields.Date.context_today(self)),
            )
        return values

    @api.depends_context("uid")
    def _compute_is_director(self):
        self.is_director = self.env.user.has_group(DIRECTOR_GROUP)

    @api.depends("report_kind")
    def _compute_uses_period(self):
        for wizard in self:
            wizard.uses_period = wizard.report_kind != "pareto_xlsx"

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for wizard in self:
            if wizard.date_from and wizard.date_to and wizard.date_from > wizard.date_to:
                raise UserError(_("The period ends before it starts: choose an end date on or after the start date."))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_print(self):
        self.ensure_one()
        tiers = self._tiers()
        if not tiers:
            raise UserError(_("Choose at least one tier to print."))
        if self.report_kind == "account_review":
            return self._print_account_review(tiers)
        if self.report_kind == "portfolio":
            return self.env.ref("kam_management.action_report_kam_portfolio").report_action(
                [], data=self._report_data(tiers)
            )
        kind = "pareto" if self.report_kind == "pareto_xlsx" else "portfolio"
        return {
            "type": "ir.actions.act_url",
            "url": f"/kam_management/xlsx/{kind}?{urlencode(self._url_params(tiers, kind))}",
            "target": "download",
        }

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _tiers(self):
        return [code for code, flag in (("a", self.tier_a), ("b", self.tier_b), ("c", self.tier_c)) if flag]

    def _report_data(self, tiers):
        return {
            "company_ids": self.company_ids.ids,
            "manager_ids": self.manager_ids.ids,
            "tiers": tiers,
            "partner_ids": self.partner_ids.ids,
            "date_from": fields.Date.to_string(self.date_from),
            "date_to": fields.Date.to_string(self.date_to),
        }

    def _url_params(self, tiers, kind):
        params = {
            "company_ids": ",".join(map(str, self.company_ids.ids)),
            "tiers": ",".join(tiers),
        }
        if self.manager_ids:
            params["manager_ids"] = ",".join(map(str, self.manager_ids.ids))
        if self.partner_ids:
            params["partner_ids"] = ",".join(map(str, self.partner_ids.commercial_partner_id.ids))
        if kind == "portfolio":
            params.update(date_from=fields.Date.to_string(self.date_from), date_to=fields.Date.to_string(self.date_to))
        return params

    def _print_account_review(self, tiers):
        """One review per account: the accounts chosen, else those of the KAMs and tiers chosen."""
        Scope = self.env["kam.report.scope"]
        if self.partner_ids:
            accounts = self.partner_ids.commercial_partner_id
            rows = Scope._classifications(
                [(company.id, partner.id) for company in self.company_ids for partner in accounts]
            )
            keys = [(row.company_id.id, row.partner_id.id) for row in rows]
            classified = set(rows.partner_id.ids)
            # An account classified in none of the companies is printed for the first one.
            keys += [(self.company_ids[:1].id, partner.id) for partner in accounts if partner.id not in classified]
        else:
            rows = Scope._scope_classifications(self.company_ids, self.manager_ids, tiers)
            keys = [(row.company_id.id, row.partner_id.id) for row in rows]
        if not keys:
            raise UserError(
                _("No accounts to print: no classified account matches the KAMs, tiers and companies chosen.")
            )
        Scope._check_account_access(keys)
        data = self._report_data(tiers)
        data["account_keys"] = [list(key) for key in keys]
        return self.env.ref("kam_management.action_report_kam_account_review").report_action(
            [partner_id for _company_id, partner_id in keys], data=data
        )
