from odoo import models
from odoo.tools import html2plaintext


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Marking the to-do of an account plan's action done marks the action done too.

        The assignee may not be allowed to edit the plan (a salesperson who follows it): the
        activity being theirs to close is what allows it, as for the activity itself.
        """
        plan_activities = self.filtered(lambda activity: activity.res_model == "kam.account.plan")
        if plan_activities and not self.env.context.get("kam_action_from_activity"):
            actions = (
                self.env["kam.account.plan.action"]
                .sudo()
                .search([("activity_id", "in", plan_activities.ids), ("state", "=", "todo")])
            )
            actions.with_context(kam_action_from_activity=True).write({"state": "done"})
        # Customer surveys: marking the call back of a survey answer done closes its follow-up.
        if not self.env.context.get("kam_loop_from_activity"):
            answers = (
                self.env["survey.user_input"]
                .sudo()
                .search([("kam_activity_id", "in", self.ids), ("kam_loop_state", "=", "open")])
            )
            answers.with_context(kam_loop_from_activity=True)._kam_close_loops(
                feedback=html2plaintext(feedback) if feedback else None
            )
        return super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
