from collections import defaultdict

from odoo import _, api, fields, models

from ..const import KAM_GROUP


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # ------------------------------------------------------------------
    # Visits
    # ------------------------------------------------------------------
    kam_visit_ids = fields.One2many("kam.visit", "opportunity_id", string="Visits")
    kam_visit_count = fields.Integer(string="Number of visits", compute="_compute_kam_visit_count")
    kam_visit_cost = fields.Monetary(
        string="Cost of the visits done",
        compute="_compute_kam_visit_cost",
        currency_field="company_currency",
        groups=KAM_GROUP,
    )

    @api.depends("kam_visit_ids.state")
    def _compute_kam_visit_count(self):
        counts = dict(
            self.env["kam.visit"]._read_group(
                [("opportunity_id", "in", self.ids), ("state", "!=", "cancelled")],
                ["opportunity_id"],
                ["__count"],
                order="opportunity_id",
            )
        )
        for lead in self:
            lead.kam_visit_count = counts.get(lead, 0)

    @api.depends("kam_visit_ids.cost", "kam_visit_ids.state")
    def _compute_kam_visit_cost(self):
        costs = dict(
            self.env["kam.visit"]._read_group(
                [("opportunity_id", "in", self.ids), ("state", "=", "done")],
                ["opportunity_id"],
                ["cost:sum"],
                order="opportunity_id",
            )
        )
        for lead in self:
            lead.kam_visit_cost = costs.get(lead, 0.0)

    def action_kam_view_visits(self):
        self.ensure_one()
        return self.env["kam.visit"]._action_for(
            _("Visits for %(opportunity)s", opportunity=self.name),
            [("opportunity_id", "=", self.id)],
            {
                "default_opportunity_id": self.id,
                "default_partner_id": self.partner_id.id,
                "default_company_id": (self.company_id or self.env.company).id,
                "search_default_not_cancelled": 1,
            },
        )

    # ------------------------------------------------------------------
    # Account plans
    # ------------------------------------------------------------------
    kam_plan_count = fields.Integer(
        string="Account plans", compute="_compute_kam_plan_count", groups="sales_team.group_sale_salesman"
    )

    def _compute_kam_plan_count(self):
        counts = self.env["kam.account.plan"]._plan_counts(self.partner_id.commercial_partner_id)
        for lead in self:
            lead.kam_plan_count = counts.get(lead.partner_id.commercial_partner_id.id, 0)

    def action_view_kam_plans(self):
        self.ensure_one()
        return self.env["kam.account.plan"]._action_for_account(self.partner_id.commercial_partner_id)

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    @api.depends("partner_id")
    def _compute_team_id(self):
        """An open opportunity of a customer whose tier's service level names a sales team gets
        that team as its default team (Odoo's heuristic keeps it when the salesperson belongs to it,
        or to no team), unless a team is given in ``default_team_id``."""
        if self.env.context.get("default_team_id"):
            return super()._compute_team_id()
        opportunities = self.filtered(
            lambda lead: lead.type == "opportunity" and lead.partner_id and lead.active and not lead.stage_id.is_won
        )
        opportunity_ids = set(opportunities._ids)
        level_teams = self.env["kam.service.level"]._teams_of_customers(
            (lead.partner_id.id, (lead.company_id or self.env.company).id) for lead in opportunities
        )
        by_team = defaultdict(list)
        for lead in self:
            key = (lead.partner_id.id, (lead.company_id or self.env.company).id)
            by_team[level_teams.get(key) if lead.id in opportunity_ids else False].append(lead.id)
        for team_id, ids in by_team.items():
            leads = self.browse(ids)
            if team_id:
                leads = leads.with_context(default_team_id=team_id)
            super(CrmLead, leads)._compute_team_id()
