from collections import defaultdict

from odoo import api, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    @api.depends("partner_id", "user_id")
    def _compute_team_id(self):
        """A quotation of a customer whose tier's service level names a sales team gets that team
        as its default team: Odoo's heuristic keeps it when the salesperson belongs to it (or to no
        team), as it does with any default team. A team given in ``default_team_id`` or chosen on
        the quotation (neither the level's nor the salesperson's own) wins; confirmed orders keep
        theirs."""
        if self.env.context.get("default_team_id"):
            return super()._compute_team_id()
        quotations = self.filtered(lambda order: order.state in ("draft", "sent") and order.partner_id)
        quotation_ids = set(quotations._ids)
        level_teams = self.env["kam.service.level"]._teams_of_customers(
            (order.partner_id.id, order.company_id.id) for order in quotations
        )
        Team = self.env["crm.team"]
        own_teams = {}
        by_team = defaultdict(list)
        for order in self:
            team_id = order.id in quotation_ids and level_teams.get((order.partner_id.id, order.company_id.id))
            if team_id and order.team_id and order.team_id.id != team_id:
                key = (order.user_id.id, order.company_id.id)
                if key not in own_teams:
                    own_teams[key] = Team._get_default_team_id(
                        user_id=order.user_id.id, domain=Team._check_company_domain(order.company_id.id)
                    ).id
                if order.team_id.id != own_teams[key]:
                    team_id = False  # chosen on the quotation
            by_team[team_id].append(order.id)
        for team_id, ids in by_team.items():
            orders = self.browse(ids)
            if team_id:
                orders = orders.with_context(default_team_id=team_id)
            super(SaleOrder, orders)._compute_team_id()
