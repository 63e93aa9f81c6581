from odoo import _, api, fields, models
from odoo.tools import SQL

from ..const import TIERS
from ..tools.tier_rules import TIER_RANK


class KamReclassifyWizard(models.TransientModel):
    """Preview who would change tier, then run the reclassification."""

    _name = "kam.reclassify.wizard"
    _description = "Key account reclassification preview"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    run_date = fields.Date(string="Run date", required=True, default=fields.Date.context_today)
    line_ids = fields.One2many("kam.reclassify.wizard.line", "wizard_id", string="Changes")
    change_count = fields.Integer(compute="_compute_change_count")
    previewed = fields.Boolean(readonly=True, help="The preview was computed for this date.")
    run_id = fields.Many2one("kam.classification.run", readonly=True)

    @api.onchange("run_date")
    def _onchange_run_date(self):
        # Another date, another preview: the lines shown no longer answer it.
        self.previewed = False
        self.line_ids = [fields.Command.clear()]

    @api.depends("line_ids")
    def _compute_change_count(self):
        for wizard in self:
            wizard.change_count = len(wizard.line_ids)

    @api.model
    def action_open_for_company(self, company):
        wizard = self.create({"company_id": company.id})
        wizard.action_preview()
        return wizard._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Reclassification preview"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_preview(self):
        self.ensure_one()
        changes = self.env["kam.classification"]._compute_changes(self.company_id, self.run_date)
        moved = [c for c in changes if c["new_tier"] != c["old_tier"]]
        self.line_ids.unlink()
        self.previewed = True
        self.env["kam.reclassify.wizard.line"].create(
            [
                {
                    "wizard_id": self.id,
                    "partner_id": c["partner_id"],
                    "old_tier": c["old_tier"],
                    "new_tier": c["new_tier"],
                    "computed_tier": c["computed_tier"],
                    "revenue": c["revenue"],
                    "share": c["share"],
                    "cumulative_share": c["cumulative_share"] or 0.0,
                    "movement": "up" if TIER_RANK[c["new_tier"]] > TIER_RANK[c["old_tier"]] else "down",
                }
                for c in moved
            ]
        )
        self._preview_terms(moved)
        return self._reopen()

    def action_apply(self):
        self.ensure_one()
        run = self.env["kam.classification"]._run_company(self.company_id, self.run_date)
        return {
            "type": "ir.actions.act_window",
            "res_model": "kam.classification.run",
            "res_id": run.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Service levels: the terms the new tiers would change
    # ------------------------------------------------------------------
    term_line_ids = fields.One2many("kam.service.level.preview.line", "reclassify_wizard_id", string="Terms")

    def _preview_terms(self, moved):
        """List, per customer that changes tier, the terms its new tier's service level would change."""
        self.term_line_ids.unlink()
        if not moved:
            return
        source = SQL(
            "SELECT unnest(%s::int[]) AS partner_id, unnest(%s::varchar[]) AS tier, NULL::int AS history_id",
            [c["partner_id"] for c in moved],
            [c["new_tier"] or None for c in moved],
        )
        rows = self.env["kam.service.level"].sudo()._preview(self.company_id, source)
        self.env["kam.service.level.preview.line"].create([dict(row, reclassify_wizard_id=self.id) for row in rows])


class KamReclassifyWizardLine(models.TransientModel):
    _name = "kam.reclassify.wizard.line"
    _description = "Key account reclassification preview line"
    _order = "revenue desc, id"

    wizard_id = fields.Many2one("kam.reclassify.wizard", required=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    currency_id = fields.Many2one(related="wizard_id.company_id.currency_id")
    old_tier = fields.Selection(TIERS, string="Current tier", readonly=True)
    new_tier = fields.Selection(TIERS, string="New tier", readonly=True)
    computed_tier = fields.Selection(TIERS, string="Computed tier", readonly=True)
    revenue = fields.Monetary(readonly=True)
    share = fields.Float(string="Share (%)", readonly=True)
    cumulative_share = fields.Float(string="Cumulative share (%)", readonly=True)
    movement = fields.Selection([("up", "Promoted"), ("down", "Demoted")], readonly=True)
