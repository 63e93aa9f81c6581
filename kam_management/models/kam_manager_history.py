import logging
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

_logger = logging.getLogger(__name__)


class KamManagerHistory(models.Model):
    """One row per change of an account's Key Account Manager in a company.

    Every write of ``kam.classification.manager_id`` adds a row, whether it comes from the
    reassignment wizard, the partner form or a suggestion. A reassignment dated in the
    future is kept here as *planned* and applied by a daily cron on its date.
    """

    _name = "kam.manager.history"
    _description = "Key Account Manager history"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    classification_id = fields.Many2one("kam.classification", index=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, ondelete="cascade")
    old_manager_id = fields.Many2one("res.users", string="Previous KAM", index=True)
    new_manager_id = fields.Many2one("res.users", string="New KAM", index=True)
    date = fields.Date(string="From", required=True, default=fields.Date.context_today, index=True)
    user_id = fields.Many2one("res.users", string="Changed by", default=lambda self: self.env.user)
    reason = fields.Char()
    state = fields.Selection(
        [("planned", "Planned"), ("done", "Done"), ("cancelled", "Cancelled")],
        required=True,
        default="done",
        index=True,
    )
    carry_activities = fields.Boolean(string="Carry over activities")
    carry_plans = fields.Boolean(string="Carry over account plans")
    carry_followers = fields.Boolean(string="Carry over followership")

    def action_cancel(self):
        if not self.env.user.has_group("kam_management.group_kam_director"):
            raise UserError(_("Only a Key Account Director can cancel a planned reassignment."))
        if self.filtered(lambda h: h.state != "planned"):
            raise UserError(_("Only planned reassignments can be cancelled; what is done stays in the history."))
        self.sudo().state = "cancelled"

    # ------------------------------------------------------------------
    # Planned reassignments
    # ------------------------------------------------------------------
    @api.model
    def _cron_apply_planned(self):
        self._apply_planned(fields.Date.context_today(self))

    @api.model
    def _apply_planned(self, date):
        """Apply the planned reassignments due on ``date``: one reassignment per wizard batch."""
        planned = self.sudo().search([("state", "=", "planned"), ("date", "<=", date)], order="date, id")
        batches = defaultdict(lambda: self.sudo().browse())
        for line in planned:
            key = (
                line.company_id,
                line.new_manager_id,
                line.date,
                line.reason or False,
                line.carry_activities,
                line.carry_plans,
                line.carry_followers,
            )
            batches[key] |= line
        for (company, manager, line_date, reason, activities, plans, followers), lines in batches.items():
            rows = lines.classification_id.with_env(self.env)
            try:
                with self.env.cr.savepoint():
                    rows.with_context(
                        kam_manager_planned={line.classification_id.id: line.id for line in lines}
                    )._reassign_manager(
                        manager,
                        date_from=line_date,
                        reason=reason,
                        carry_activities=activities,
                        carry_plans=plans,
                        carry_followers=followers,
                    )
            except ValidationError as error:
                _logger.warning("Planned reassignment to %s cancelled: %s", manager.name, error)
                lines.state = "cancelled"
                for partner in lines.partner_id:
                    partner.message_post(
                        body=_(
                            "Planned reassignment to %(manager)s in %(company)s cancelled: %(error)s",
                            manager=manager.name,
                            company=company.name,
                            error=error.args[0],
                        ),
                        subtype_xmlid="mail.mt_note",
                    )
                continue
            # Accounts that already had the new KAM needed no change.
            lines.filtered(lambda line: line.state == "planned").state = "cancelled"
