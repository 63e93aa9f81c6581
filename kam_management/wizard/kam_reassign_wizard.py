from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..const import KAM_GROUP
from ..models.kam_classification import group_id


class KamReassignWizard(models.TransientModel):
    """Move accounts to another Key Account Manager from a date, with their open work."""

    _name = "kam.reassign.wizard"
    _description = "Reassign key accounts"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    scope = fields.Selection(
        [("accounts", "Selected accounts"), ("manager", "All accounts of a KAM")],
        string="Move",
        required=True,
        default="accounts",
    )
    partner_ids = fields.Many2many("res.partner", string="Accounts")
    source_manager_id = fields.Many2one(
        "res.users", string="From KAM", domain="[('share', '=', False), ('company_ids', 'in', company_id)]"
    )
    target_manager_id = fields.Many2one(
        "res.users", string="To KAM", required=True, domain="[('id', 'in', allowed_manager_ids)]"
    )
    allowed_manager_ids = fields.Many2many("res.users", compute="_compute_allowed_manager_ids")
    date_from = fields.Date(
        string="From",
        required=True,
        default=fields.Date.context_today,
        help="The day the new KAM takes over. A later date plans the change; it is applied on that day.",
    )
    reason = fields.Char(help="Kept in the history of each account.")
    carry_activities = fields.Boolean(
        string="Open activities",
        default=True,
        help="Hand the previous KAM's open activities on the account, its contacts and its open "
        "account plans to the new KAM.",
    )
    carry_plans = fields.Boolean(
        string="Account plan ownership",
        default=True,
        help="Make the new KAM the owner of the previous KAM's open account plans of the account.",
    )
    carry_followers = fields.Boolean(
        string="Followership",
        default=True,
        help="Subscribe the new KAM to the account and its open plans; unsubscribe the previous KAM.",
    )
    account_count = fields.Integer(string="Accounts to move", compute="_compute_summary")
    key_account_count = fields.Integer(string="Key accounts to move", compute="_compute_summary")
    warning = fields.Char(compute="_compute_summary")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        ids = self.env.context.get("active_ids") or []
        if ids and model == "kam.classification" and "partner_ids" in fields_list:
            rows = self.env["kam.classification"].browse(ids)
            values["partner_ids"] = [Command.set(rows.partner_id.ids)]
            if len(rows.company_id) == 1:
                values["company_id"] = rows.company_id.id
        elif ids and model == "res.partner" and "partner_ids" in fields_list:
            partners = self.env["res.partner"].browse(ids).commercial_partner_id
            values["partner_ids"] = [Command.set(partners.ids)]
        return values

    @api.depends("company_id")
    def _compute_allowed_manager_ids(self):
        group = group_id(self.env, KAM_GROUP)
        for wizard in self:
            wizard.allowed_manager_ids = self.env["res.users"].search(
                [("groups_id", "in", group), ("share", "=", False), ("company_ids", "in", wizard.company_id.id)]
            )

    @api.depends("scope", "partner_ids", "source_manager_id", "target_manager_id", "company_id")
    def _compute_summary(self):
        Classification = self.env["kam.classification"]
        for wizard in self:
            rows = wizard._source_rows()
            moving = rows.filtered(lambda r, w=wizard: r.manager_id != w.target_manager_id)
            missing = (
                wizard.partner_ids._origin.commercial_partner_id - rows.partner_id
                if wizard.scope == "accounts"
                else self.env["res.partner"]
            )
            key_accounts = moving.filtered(lambda r: r.tier == "a")
            wizard.account_count = len(moving) + len(missing)
            wizard.key_account_count = len(key_accounts)
            wizard.warning = (
                wizard.target_manager_id
                and key_accounts
                and Classification._maximum_warning(wizard.target_manager_id, wizard.company_id, len(key_accounts))
            ) or False

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def action_open(self, partners=None, source_manager=None, company=None):
        context = {"default_company_id": (company or self.env.company).id}
        if source_manager:
            context.update(default_scope="manager", default_source_manager_id=source_manager.id)
        elif partners:
            context.update(default_scope="accounts", default_partner_ids=partners.commercial_partner_id.ids)
        return {
            "type": "ir.actions.act_window",
            "name": _("Reassign accounts"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": context,
        }

    def action_apply(self):
        self.ensure_one()
        Classification = self.env["kam.classification"]
        Classification.check_access("write")
        target = self.target_manager_id
        Classification._check_kam_users(target, self.company_id)
        if self.scope == "manager":
            if not self.source_manager_id:
                raise UserError(_("Choose the Key Account Manager whose accounts move."))
            if self.source_manager_id == target:
                raise UserError(
                    _("The accounts already belong to %(manager)s: choose another KAM.", manager=target.name)
                )
        rows = self._source_rows(create_missing=True).filtered(lambda r: r.manager_id != target)
        if not rows:
            raise UserError(
                _(
                    "There is no account to move to %(manager)s: select accounts it does not manage yet.",
                    manager=target.name,
                )
            )
        warning = self.warning
        if self.date_from > fields.Date.context_today(self):
            self._plan(rows)
            message = _(
                "%(count)s accounts will move to %(manager)s on %(date)s.",
                count=len(rows),
                manager=target.name,
                date=format_date(self.env, self.date_from),
            )
        else:
            rows._reassign_manager(
                target,
                date_from=self.date_from,
                reason=self.reason,
                carry_activities=self.carry_activities,
                carry_plans=self.carry_plans,
                carry_followers=self.carry_followers,
            )
            message = _("%(count)s accounts moved to %(manager)s.", count=len(rows), manager=target.name)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if warning else "success",
                "title": _("Accounts reassigned"),
                "message": f"{message} {warning}" if warning else message,
                "sticky": bool(warning),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _source_rows(self, create_missing=False):
        """The classification rows of the accounts to move, in the wizard's company."""
        self.ensure_one()
        Classification = self.env["kam.classification"]
        company = self.company_id._origin
        if not company:
            return Classification
        if self.scope == "manager":
            if not self.source_manager_id:
                return Classification
            return Classification.search(
                [("company_id", "=", company.id), ("manager_id", "=", self.source_manager_id._origin.id)]
            )
        partners = self.partner_ids._origin.commercial_partner_id
        rows = Classification.search([("company_id", "=", company.id), ("partner_id", "in", partners.ids)])
        missing = partners - rows.partner_id
        if create_missing and missing:
            rows |= Classification.create([{"company_id": company.id, "partner_id": p.id} for p in missing])
        return rows

    def _plan(self, rows):
        """Keep the reassignment as planned history rows; the daily cron applies them."""
        self.env["kam.manager.history"].sudo().create(
            [
                {
                    "classification_id": row.id,
                    "company_id": row.company_id.id,
                    "partner_id": row.partner_id.id,
                    "old_manager_id": row.manager_id.id,
                    "new_manager_id": self.target_manager_id.id,
                    "date": self.date_from,
                    "reason": self.reason,
                    "state": "planned",
                    "carry_activities": self.carry_activities,
                    "carry_plans": self.carry_plans,
                    "carry_followers": self.carry_followers,
                }
                for row in rows
            ]
        )
        note = _(
            "Key Account Manager for %(company)s will change to %(manager)s on %(date)s.",
            company=self.company_id.name,
            manager=self.target_manager_id.name,
            date=format_date(self.env, self.date_from),
        )
        for partner in rows.partner_id:
            partner.message_post(body=note, subtype_xmlid="mail.mt_note")
