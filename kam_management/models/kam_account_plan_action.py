from datetime import timedelta

from odoo import _, api, fields, models

ACTION_STATES = [("todo", "To do"), ("done", "Done"), ("cancel", "Cancelled")]


class KamAccountPlanAction(models.Model):
    """A step of an account plan's action plan.

    Each open step is mirrored by a to-do activity on the plan, assigned to the step's owner
    with its deadline, so that it shows in the owner's activities; marking either one done
    marks the other.
    """

    _name = "kam.account.plan.action"
    _description = "Account plan action"
    _order = "state desc, date_deadline, id"

    plan_id = fields.Many2one("kam.account.plan", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(related="plan_id.partner_id", string="Account")
    plan_state = fields.Selection(related="plan_id.state", string="Plan status")
    name = fields.Char(string="Action", required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
    )
    date_deadline = fields.Date(
        string="Deadline", required=True, default=lambda self: fields.Date.context_today(self) + timedelta(days=7)
    )
    state = fields.Selection(ACTION_STATES, required=True, default="todo")
    date_done = fields.Date(readonly=True, copy=False, string="Done on")
    note = fields.Text()
    activity_id = fields.Many2one(
        "mail.activity", readonly=True, copy=False, ondelete="set null", index="btree_not_null"
    )

    @api.model_create_multi
    def create(self, vals_list):
        actions = super().create(vals_list)
        actions._sync_activities()
        return actions

    def write(self, vals):
        if vals.get("state") == "done" and "date_done" not in vals:
            vals = {**vals, "date_done": fields.Date.context_today(self)}
        elif vals.get("state") in ("todo", "cancel"):
            vals = {**vals, "date_done": False}
        res = super().write(vals)
        if {"name", "user_id", "date_deadline", "state", "plan_id"} & vals.keys():
            self._sync_activities()
        return res

    def unlink(self):
        self.activity_id.unlink()
        return super().unlink()

    def action_done(self):
        self.filtered(lambda action: action.state == "todo").write({"state": "done"})

    def action_cancel(self):
        self.filtered(lambda action: action.state == "todo").write({"state": "cancel"})

    def action_reopen(self):
        self.filtered(lambda action: action.state != "todo").write({"state": "todo"})

    def _sync_activities(self):
        """Create, update, mark done or remove the to-do activity of each action."""
        if self.env.context.get("kam_action_from_activity"):
            return
        todo_type = self.env.ref("mail.mail_activity_data_todo")
        plan_model = self.env["ir.model"]._get_id("kam.account.plan")
        to_create, to_finish, to_remove = [], self.env["mail.activity"], self.env["mail.activity"]
        creating = self.browse()
        for action in self:
            activity = action.activity_id
            if action.state == "done":
                to_finish |= activity
                continue
            if action.state == "cancel":
                to_remove |= activity
                continue
            vals = {
                "res_model_id": plan_model,
                "res_id": action.plan_id.id,
                "activity_type_id": activity.activity_type_id.id or todo_type.id,
                "summary": action.name,
                "user_id": action.user_id.id,
                "date_deadline": action.date_deadline,
            }
            if not activity:
                to_create.append(vals)
                creating |= action
                continue
            changed = {key: value for key, value in vals.items() if _value(activity[key]) != value}
            if changed:
                activity.write(changed)
        if to_create:
            activities = self.env["mail.activity"].create(to_create)
            for action, activity in zip(creating, activities, strict=True):
                action.with_context(kam_action_from_activity=True).activity_id = activity
        if to_finish:
            to_finish.with_context(kam_action_from_activity=True).action_feedback(
                feedback=_("Action done in the account plan.")
            )
        to_remove.unlink()


def _value(value):
    """A field value as it is written: ids for records, empty texts as False."""
    if isinstance(value, models.BaseModel):
        return value.id
    return value or False
