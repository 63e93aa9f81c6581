from odoo import api, fields, models
from odoo.tools import SQL

from .kam_classification_cost import COST_FIGURES, COST_RANKING, MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS


class KamTierHistory(models.Model):
    """A tier change keeps the cost figures of the customer as the run that made it saw them."""

    _inherit = "kam.tier.history"

    invoiced_revenue = fields.Monetary(readonly=True, currency_field="currency_id")
    cost_of_goods = fields.Monetary(string="Cost of goods", readonly=True, currency_field="currency_id")
    gross_margin = fields.Monetary(readonly=True, currency_field="currency_id")
    margin_source = fields.Selection(MARGIN_SOURCES, string="Cost of goods from", readonly=True)
    visit_cost = fields.Monetary(string="Cost of visits", readonly=True, currency_field="currency_id")
    other_cost = fields.Monetary(string="Other costs to serve", readonly=True, currency_field="currency_id")
    cost_to_serve = fields.Monetary(readonly=True, currency_field="currency_id")
    net_contribution = fields.Monetary(readonly=True, currency_field="currency_id")
    visit_count = fields.Integer(string="Visits done", readonly=True)
    visit_hours = fields.Float(string="Hours spent", readonly=True)
    cost_share = fields.Float(string="Cost to serve (% of revenue)", readonly=True)
    revenue_per_visit = fields.Monetary(readonly=True, currency_field="currency_id")
    quadrant = fields.Selection(QUADRANTS, readonly=True)
    contribution_rank = fields.Integer(readonly=True)
    ranking_flag = fields.Selection(RANKING_FLAGS, string="Ranking warning", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        """Rows written by hand (a tier lock) copy the figures of their classification row."""
        lines = super().create(vals_list)
        classified = lines.filtered("classification_id")
        if classified:
            self._copy_cost_figures(SQL("h.id = ANY(%s)", classified.ids))
        return lines

    @api.model
    def _engine_history_values(self):
        """A run's history lines keep the figures the run computed for the customer."""
        values = super()._engine_history_values()
        if self.env.context.get("kam_without_cost_figures"):
            return values
        values.update((name, SQL("m.%s", SQL.identifier(name))) for name in (*COST_FIGURES, *COST_RANKING))
        return values

    @api.model
    def _copy_cost_figures(self, where):
        self.env["kam.classification"].flush_model([*COST_FIGURES, *COST_RANKING])
        self.flush_model(["classification_id"])
        columns = (*COST_FIGURES, *COST_RANKING)
        self.env.cr.execute(
            SQL(
                "UPDATE kam_tier_history h SET %s FROM kam_classification k WHERE k.id = h.classification_id AND %s",
                SQL(", ").join(SQL("%s = k.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns),
                where,
            )
        )
        self.invalidate_model(list(columns))
