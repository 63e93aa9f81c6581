from odoo import fields, models


class KamCustomerEffortMixin(models.AbstractModel):
    """What a visit and a cost entry share: the customer served (and its company, which the
    figures roll up to), the company it is counted in and the salesperson whose accounts it
    is counted against."""

    _name = "kam.customer.effort.mixin"
    _description = "Effort to serve a customer"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", string="Customer company", store=True, index=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        index=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )

    def write(self, vals):
        if "partner_id" in vals or "company_id" in vals:
            self._mark_figures_touched()
        return super().write(vals)

    def unlink(self):
        self._mark_figures_touched()
        return super().unlink()

    def _mark_figures_touched(self):
        """The stored monthly figures of the customers this effort leaves are computed again
        at their next refresh (no write date shows a deleted or moved record)."""
        self.env["kam.account.fact"]._mark_touched(
            (record.company_id.id, record.commercial_partner_id.id) for record in self
        )
