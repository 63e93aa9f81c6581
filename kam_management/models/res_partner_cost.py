from odoo import _, api, fields, models

from .kam_classification_cost import COST_FIGURES, COST_RANKING, MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS

KAM_GROUP = "kam_management.group_kam_manager"


def _figure(field_type, string, *args, **kwargs):
    """A cost figure of the partner: read from its classification row in the current company."""
    if field_type is fields.Monetary:
        kwargs["currency_field"] = "kam_currency_id"
    return field_type(*args, string=string, compute="_compute_kam_cost_figures", groups=KAM_GROUP, **kwargs)


class ResPartner(models.Model):
    _inherit = "res.partner"

    kam_invoiced_revenue = _figure(
        fields.Monetary,
        "Invoiced revenue",
        help="Untaxed invoiced revenue over the company's trailing window, as of the last refresh of the cost figures.",
    )
    kam_cost_of_goods = _figure(fields.Monetary, "Cost of goods")
    kam_gross_margin = _figure(fields.Monetary, "Gross margin")
    kam_margin_source = _figure(
        fields.Selection,
        "Cost of goods from",
        MARGIN_SOURCES,
        help="Invoices made from sales orders take the cost on the order lines (sale margin); "
        "other invoice lines take the product's cost.",
    )
    kam_visit_cost = _figure(fields.Monetary, "Cost of visits")
    kam_other_cost = _figure(fields.Monetary, "Other costs to serve")
    kam_cost_to_serve = _figure(
        fields.Monetary,
        "Cost to serve",
        help="Visits done plus other costs to serve over the window, in company currency.",
    )
    kam_net_contribution = _figure(fields.Monetary, "Net contribution", help="Gross margin minus cost to serve.")
    kam_visit_count = _figure(fields.Integer, "Visits done")
    kam_visit_hours = _figure(fields.Float, "Hours spent")
    kam_cost_share = _figure(fields.Float, "Cost to serve (% of revenue)")
    kam_revenue_per_visit = _figure(fields.Monetary, "Revenue per visit")
    kam_quadrant = _figure(fields.Selection, "Value / effort", QUADRANTS)
    kam_contribution_rank = _figure(fields.Integer, "Contribution rank")
    kam_ranking_flag = _figure(fields.Selection, "Ranking warning", RANKING_FLAGS)
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
            for name in (*COST_FIGURES, *COST_RANKING):
                partner[f"kam_{name}"] = row[name]

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
