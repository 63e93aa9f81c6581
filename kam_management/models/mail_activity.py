from odoo import models


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
        return super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
