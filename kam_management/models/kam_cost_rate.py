from bisect import bisect_right
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression


class KamCostRate(models.Model):
    """The cost of a salesperson's time and travel, in force from a date on.

    A rate row never changes the cost of effort dated before it: a visit is priced with
    the latest row on or before its date, the salesperson's own row before the company's.
    Editing rows re-prices only the visits dated on or after the rows touched.
    """

    _name = "kam.cost.rate"
    _description = "Cost-to-serve rate"
    _order = "company_id, user_id nulls first, date_from desc, id desc"
    _rec_name = "date_from"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        index=True,
        ondelete="cascade",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Leave empty for the company's default rate; set it to override the rate of one salesperson.",
    )
    date_from = fields.Date(string="Effective from", required=True, default=fields.Date.context_today)
    currency_id = fields.Many2one(related="company_id.currency_id")
    hourly_rate = fields.Monetary(
        string="Hourly cost",
        currency_field="currency_id",
        help="Cost of one hour of the salesperson's time, at the customer or travelling.",
    )
    km_rate = fields.Monetary(string="Cost per km", currency_field="currency_id")

    @api.depends("company_id", "user_id", "date_from")
    def _compute_display_name(self):
        for rate in self:
            who = rate.user_id.name or _("Company default")
            rate.display_name = _("%(who)s from %(date)s", who=who, date=rate.date_from)

    @api.constrains("hourly_rate", "km_rate")
    def _check_rates(self):
        for rate in self:
            if rate.hourly_rate < 0 or rate.km_rate < 0:
                raise ValidationError(
                    _("Cost rates cannot be negative: enter the hourly cost and the cost per km as 0 or more.")
                )

    @api.constrains("company_id", "user_id", "date_from")
    def _check_one_rate_per_day(self):
        groups = self.sudo()._read_group(
            [("company_id", "in", self.company_id.ids), ("date_from", "in", self.mapped("date_from"))],
            ["company_id", "user_id", "date_from:day"],
            ["__count"],
            having=[("__count", ">", 1)],
            order="company_id, user_id, date_from:day",
        )
        if groups:
            company, user, day, _count = groups[0]
            raise ValidationError(
                _(
                    "%(who)s already has a rate in force from %(date)s in %(company)s: change that rate "
                    "instead of adding a second one.",
                    who=user.name or _("The company default"),
                    date=day,
                    company=company.name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        rates = super().create(vals_list)
        rates._reprice_visits()
        return rates

    def write(self, vals):
        pricing = {"company_id", "user_id", "date_from", "hourly_rate", "km_rate"}
        before = self._pricing_scopes() if pricing & vals.keys() else []
        res = super().write(vals)
        if before:
            self._reprice_visits(extra_scopes=before)
        return res

    def unlink(self):
        scopes = self._pricing_scopes()
        res = super().unlink()
        self.env["kam.cost.rate"]._reprice_visits(extra_scopes=scopes)
        return res

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _pricing_scopes(self):
        return [(rate.company_id.id, rate.user_id.id, rate.date_from) for rate in self]

    def _reprice_visits(self, extra_scopes=()):
        """Recompute the cost of the visits these rates price: same company, on or after the date.

        One search per call; the costs are recomputed in batch and written together.
        """
        scopes = self._pricing_scopes() + list(extra_scopes)
        if not scopes:
            return
        earliest = {}
        for company_id, user_id, date_from in scopes:
            key = (company_id, user_id or False)
            earliest[key] = min(earliest.get(key, date_from), date_from)
        domains = []
        for (company_id, user_id), date_from in earliest.items():
            domain = [("company_id", "=", company_id), ("date", ">=", date_from)]
            if user_id:
                domain.append(("user_id", "=", user_id))
            domains.append(domain)
        visits = self.env["kam.visit"].sudo().with_context(active_test=False).search(expression.OR(domains))
        if visits:
            Visit = self.env["kam.visit"]
            for fname in ("hourly_rate", "km_rate", "cost"):
                self.env.add_to_compute(Visit._fields[fname], visits)
            visits.flush_recordset(["hourly_rate", "km_rate", "cost"])

    @api.model
    def _lookup(self, keys):
        """Rates in force for ``(company_id, user_id, date)`` keys: ``{key: (hourly, per km)}``.

        Reads every rate row of the companies involved once (a short table), then finds each
        key's row by bisection: the salesperson's latest row on or before the date, else the
        company's. A key without any row in force costs nothing (0, 0).
        """
        company_ids = {key[0] for key in keys if key[0]}
        rows = defaultdict(list)
        if company_ids:
            rates = self.sudo().search_read(
                [("company_id", "in", list(company_ids))],
                ["company_id", "user_id", "date_from", "hourly_rate", "km_rate"],
                order="date_from, id",
                load=None,
            )
            for rate in rates:
                rows[(rate["company_id"], rate["user_id"] or False)].append(rate)
        dates = {scope: [r["date_from"] for r in scope_rows] for scope, scope_rows in rows.items()}

        def find(scope, day):
            index = bisect_right(dates.get(scope, []), day)
            return rows[scope][index - 1] if index else None

        result = {}
        for key in keys:
            company_id, user_id, day = key
            rate = None
            if company_id and day:
                rate = (user_id and find((company_id, user_id), day)) or find((company_id, False), day)
            result[key] = (rate["hourly_rate"], rate["km_rate"]) if rate else (0.0, 0.0)
        return result
