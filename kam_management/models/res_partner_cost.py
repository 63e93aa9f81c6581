from odoo import _, api, fields, models

from .kam_classification_cost import MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS

KAM_GROUP = "kam_management.group_kam_manager"


class ResPartner(models.Model):
    _inherit = "res.partner"

    kam_invoiced_revenue = fields.Monetary(
        string="Invoiced revenue",
        currency_field="kam_currency_id",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
        help="Untaxed invoiced revenue over the company's trailing window, as of the last refresh of the cost figures.",
    )
    kam_cost_of_goods = fields.Monetary(
        string="Cost of goods", currency_field="kam_currency_id", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_gross_margin = fields.Monetary(
        string="Gross margin", currency_field="kam_currency_id", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_margin_source = fields.Selection(
        MARGIN_SOURCES,
        string="Cost of goods from",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
        help="Invoices made from sales orders take the cost on the order lines (sale margin); "
        "other invoice lines take the product's cost.",
    )
    kam_visit_cost = fields.Monetary(
        string="Cost of visits", currency_field="kam_currency_id", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_other_cost = fields.Monetary(
        string="Other costs to serve",
        currency_field="kam_currency_id",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
    )
    kam_cost_to_serve = fields.Monetary(
        string="Cost to serve",
        currency_field="kam_currency_id",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
        help="Visits done plus other costs to serve over the window, in company currency.",
    )
    kam_net_contribution = fields.Monetary(
        string="Net contribution",
        currency_field="kam_currency_id",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
        help="Gross margin minus cost to serve.",
    )
    kam_visit_count = fields.Integer(string="Visits done", compute="_compute_kam_cost_figures", groups=KAM_GROUP)
    kam_visit_hours = fields.Float(string="Hours spent", compute="_compute_kam_cost_figures", groups=KAM_GROUP)
    kam_cost_share = fields.Float(
        string="Cost to serve (% of revenue)", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_revenue_per_visit = fields.Monetary(
        string="Revenue per visit",
        currency_field="kam_currency_id",
        compute="_compute_kam_cost_figures",
        groups=KAM_GROUP,
    )
    kam_quadrant = fields.Selection(
        QUADRANTS, string="Value / effort", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_contribution_rank = fields.Integer(
        string="Contribution rank", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_ranking_flag = fields.Selection(
        RANKING_FLAGS, string="Ranking warning", compute="_compute_kam_cost_figures", groups=KAM_GROUP
    )
    kam_visit_record_count = fields.Integer(string="Visits", compute="_compute_kam_visit_record_count")
    kam_visit_record_cost = fields.Monetary(
        string="Cost of the visits done",
        currency_field="kam_currency_id",
        compute="_compute_kam_visit_record_cost",
        groups=KAM_GROUP,
    )

    @api.depends_context("company")
    def _compute_kam_cost_figures(self):
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search([("company_id", "=", self.env.company.id), ("partner_id", "in", self.commercial_partner_id.ids)])
        )
        by_partner = {row.partner_id.id: row for row in rows}
        empty = self.env["kam.classification"]
        for partner in self:
            row = by_partner.get(partner.commercial_partner_id.id, empty)
            partner.kam_invoiced_revenue = row.invoiced_revenue
            partner.kam_cost_of_goods = row.cost_of_goods
            partner.kam_gross_margin = row.gross_margin
            partner.kam_margin_source = row.margin_source
            partner.kam_visit_cost = row.visit_cost
            partner.kam_other_cost = row.other_cost
            partner.kam_cost_to_serve = row.cost_to_serve
            partner.kam_net_contribution = row.net_contribution
            partner.kam_visit_count = row.visit_count
            partner.kam_visit_hours = row.visit_hours
            partner.kam_cost_share = row.cost_share
            partner.kam_revenue_per_visit = row.revenue_per_visit
            partner.kam_quadrant = row.quadrant
            partner.kam_contribution_rank = row.contribution_rank
            partner.kam_ranking_flag = row.ranking_flag

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_kam_visit_record_count(self):
        counts = dict(
            self.env["kam.visit"]._read_group(
                [("commercial_partner_id", "in", self.commercial_partner_id.ids), ("state", "!=", "cancelled")],
                ["commercial_partner_id"],
                ["__count"],
                order="commercial_partner_id",
            )
        )
        for partner in self:
            partner.kam_visit_record_count = counts.get(partner.commercial_partner_id, 0)

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_kam_visit_record_cost(self):
        costs = dict(
            self.env["kam.visit"]._read_group(
                [("commercial_partner_id", "in", self.commercial_partner_id.ids), ("state", "=", "done")],
                ["commercial_partner_id"],
                ["cost:sum"],
                order="commercial_partner_id",
            )
        )
        for partner in self:
            partner.kam_visit_record_cost = costs.get(partner.commercial_partner_id, 0.0)

    def action_kam_view_visits(self):
        self.ensure_one()
        commercial = self.commercial_partner_id
        return self.env["kam.visit"]._action_for(
            _("Visits to %(customer)s", customer=commercial.display_name),
            [("commercial_partner_id", "=", commercial.id)],
            {"default_partner_id": self.id, "search_default_not_cancelled": 1},
        )
