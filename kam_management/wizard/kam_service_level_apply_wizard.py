from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..models.kam_service_level import SERVICE_TIERS, TERM_ACTIONS

TERM_NAMES = [("pricelist", "Pricelist"), ("payment_term", "Payment terms")]


class KamServiceLevelApplyWizard(models.TransientModel):
    """Preview the terms that would change, then apply the service levels to existing customers.

    Three uses: the first adoption (every classified customer of the company), a changed
    level (the customers already in its tier), and a re-apply on demand (selected customers,
    their own terms included, but never those that keep their terms).
    """

    _name = "kam.service.level.apply.wizard"
    _description = "Apply key account service levels"

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    tier = fields.Selection(SERVICE_TIERS, readonly=True, help="Only the customers of this tier; empty: all.")
    partner_ids = fields.Many2many("res.partner", string="Customers", readonly=True)
    force = fields.Boolean(
        string="Re-apply",
        readonly=True,
        help="Replace the customers' own terms too (those that keep their terms stay as they are).",
    )
    line_ids = fields.One2many("kam.service.level.preview.line", "apply_wizard_id", string="Terms")
    line_count = fields.Integer(compute="_compute_line_count", string="Terms to change")

    @api.depends("line_ids")
    def _compute_line_count(self):
        for wizard in self:
            wizard.line_count = len(wizard.line_ids.filtered(lambda line: line.action == "apply"))

    @api.model
    def _open(self, company, tier=False, partners=None, force=False):
        self.env["kam.service.level"]._check_director()
        wizard = self.create(
            {
                "company_id": company.id,
                "tier": tier,
                "partner_ids": [(6, 0, partners.ids)] if partners else [],
                "force": force,
            }
        )
        wizard.action_preview()
        return {
            "type": "ir.actions.act_window",
            "name": _("Apply service levels"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    def _source(self):
        """The customers the wizard applies to, as ``_terms_sql`` wants them (no history line)."""
        self.ensure_one()
        conditions = [SQL("k.company_id = %s", self.company_id.id)]
        if self.tier:
            conditions.append(SQL("COALESCE(k.tier, 'none') = %s", self.tier))
        if self.partner_ids:
            conditions.append(SQL("k.partner_id = ANY(%s)", self.partner_ids.commercial_partner_id.ids))
        return SQL(
            "SELECT k.partner_id, k.tier, NULL::int AS history_id FROM kam_classification k WHERE %s",
            SQL(" AND ").join(conditions),
        )

    def action_preview(self):
        self.ensure_one()
        rows = self.env["kam.service.level"].sudo()._preview(self.company_id, self._source(), self.force)
        self.line_ids.unlink()
        self.env["kam.service.level.preview.line"].create([dict(row, apply_wizard_id=self.id) for row in rows])
        return True

    def action_apply(self):
        """Apply in one transaction, all customers or none; mark the levels applied."""
        self.ensure_one()
        Level = self.env["kam.service.level"]
        Level._check_director()
        levels = Level.search([("company_id", "=", self.company_id.id)])
        if not levels:
            raise UserError(
                _(
                    "%(company)s has no service level yet: create them under Key Accounts > Configuration "
                    "> Service levels first.",
                    company=self.company_id.name,
                )
            )
        with self.env.cr.savepoint():
            applied, kept = Level.sudo()._apply(self.company_id, self._source(), self.force)
            if not self.partner_ids:
                levels.filtered(lambda level: not self.tier or level.tier == self.tier).write({"to_apply": False})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Service levels applied"),
                "message": _("%(applied)s terms changed, %(kept)s kept by the customers.", applied=applied, kept=kept),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class KamServiceLevelPreviewLine(models.TransientModel):
    """A term that applying a service level would change, or that the customer keeps."""

    _name = "kam.service.level.preview.line"
    _description = "Key account service level preview line"
    _order = "partner_id, term"

    apply_wizard_id = fields.Many2one("kam.service.level.apply.wizard", ondelete="cascade", index=True)
    reclassify_wizard_id = fields.Many2one("kam.reclassify.wizard", ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    term = fields.Selection(TERM_NAMES, readonly=True)
    old_name = fields.Char(string="Now", readonly=True)
    new_name = fields.Char(string="Service level", readonly=True)
    action = fields.Selection(TERM_ACTIONS, readonly=True)
