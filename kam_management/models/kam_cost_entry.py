from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class KamCostEntry(models.Model):
    """A cost to serve a customer other than a visit: logistics, special discounts, samples...

    Entered in any currency; ``amount_company`` keeps it in company currency at the rate of
    the entry date, so later rates never change what it cost.
    """

    _name = "kam.cost.entry"
    _description = "Cost-to-serve entry"
    _inherit = ["kam.customer.effort.mixin", "mail.thread"]
    _order = "date desc, id desc"

    name = fields.Char(string="Description", required=True, tracking=True)
    user_id = fields.Many2one(help="Whose accounts this cost is counted against in the analysis.")
    date = fields.Date(required=True, index=True, default=fields.Date.context_today, tracking=True)
    category_id = fields.Many2one(
        "kam.cost.category",
        required=True,
        index=True,
        check_company=True,
    )
    currency_id = fields.Many2one("res.currency", required=True, default=lambda self: self.env.company.currency_id)
    amount = fields.Monetary(required=True, currency_field="currency_id", tracking=True)
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company currency")
    amount_company = fields.Monetary(
        string="Amount in company currency",
        compute="_compute_amount_company",
        store=True,
        currency_field="company_currency_id",
        aggregator="sum",
        help="The amount converted at the rate of the entry date.",
    )
    note = fields.Text()

    @api.depends("amount", "currency_id", "company_id", "date")
    def _compute_amount_company(self):
        for entry in self:
            company = entry.company_id
            if not (company and entry.currency_id and entry.date):
                entry.amount_company = 0.0
            elif entry.currency_id == company.currency_id:
                entry.amount_company = entry.amount
            else:
                entry.amount_company = entry.currency_id._convert(
                    entry.amount, company.currency_id, company, entry.date
                )

    @api.constrains("amount")
    def _check_amount(self):
        for entry in self:
            if entry.amount < 0:
                raise ValidationError(
                    _(
                        "The amount of the cost “%(cost)s” cannot be negative: enter what the customer "
                        "cost, 0 or more.",
                        cost=entry.name,
                    )
                )

    @api.constrains("currency_id", "company_id", "date")
    def _check_currency_rate(self):
        """A cost in another currency needs a rate on or before its date: no silent 1:1."""
        foreign = self.filtered(lambda e: e.currency_id and e.currency_id != e.company_id.currency_id)
        if not foreign:
            return
        self.env["res.currency.rate"].flush_model(["currency_id", "company_id", "name"])
        self.env.cr.execute(
            SQL(
                """
                SELECT e.id
                  FROM unnest(%(ids)s::int[], %(currencies)s::int[], %(companies)s::int[], %(dates)s::date[])
                       AS e(id, currency_id, company_id, date)
                 WHERE NOT EXISTS (
                       SELECT 1 FROM res_currency_rate r
                        WHERE r.currency_id = e.currency_id AND r.name <= e.date
                          AND (r.company_id IS NULL OR r.company_id = e.company_id))
                """,
                ids=foreign.ids,
                currencies=[e.currency_id.id for e in foreign],
                companies=[e.company_id.root_id.id for e in foreign],
                dates=[e.date for e in foreign],
            )
        )
        missing = self.browse([row[0] for row in self.env.cr.fetchall()])
        if missing:
            entry = missing[0]
            raise ValidationError(
                _(
                    "There is no exchange rate for %(currency)s on or before %(date)s in %(company)s, so the "
                    "cost “%(cost)s” cannot be converted: add the rate in Accounting settings, or enter the "
                    "cost in %(company_currency)s.",
                    currency=entry.currency_id.name,
                    date=entry.date,
                    company=entry.company_id.name,
                    cost=entry.name,
                    company_currency=entry.company_id.currency_id.name,
                )
            )
