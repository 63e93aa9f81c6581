from odoo import api, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    @api.depends("partner_id", "user_id")
    def _compute_team_id(self):
        """A quotation of a customer whose tier's service level names a sales team gets that
        team instead of its salesperson's, unless the team was chosen (``default_team_id``).
        Confirmed orders keep theirs, as Odoo does."""
        super()._compute_team_id()
        if self.env.context.get("default_team_id"):
            return
        quotations = self.filtered(lambda order: order.state in ("draft", "sent") and order.partner_id)
        teams = self.env["kam.service.level"]._teams_of_customers(
            (order.partner_id.id, order.company_id.id) for order in quotations
        )
        for order in quotations:
            team_id = teams.get((order.partner_id.id, order.company_id.id))
            if team_id:
                order.team_id = team_id
