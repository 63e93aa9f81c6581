from odoo import _, api, fields, models
from odoo.exceptions import UserError

SALESMAN_GROUP = "sales_team.group_sale_salesman"


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    kam_visit_ids = fields.One2many("kam.visit", "calendar_event_id", string="Visits", groups=SALESMAN_GROUP)
    kam_visit_id = fields.Many2one("kam.visit", string="Visit", compute="_compute_kam_visit_id", groups=SALESMAN_GROUP)

    @api.depends("kam_visit_ids")
    def _compute_kam_visit_id(self):
        for event in self:
            event.kam_visit_id = event.kam_visit_ids[:1]

    def action_kam_record_visit(self):
        """Record this meeting as a customer visit, or open the visit already recorded."""
        self.ensure_one()
        visit = self.kam_visit_ids[:1] or self.env["kam.visit"].create(self._kam_visit_values())
        return {
            "type": "ir.actions.act_window",
            "name": _("Visit"),
            "res_model": "kam.visit",
            "res_id": visit.id,
            "view_mode": "form",
            "views": [(self.env.ref("kam_management.kam_visit_view_form").id, "form")],
        }

    def _kam_visit_values(self):
        """What the meeting already says about the visit: customer, salesperson, times, opportunity."""
        self.ensure_one()
        customer = self.opportunity_id.partner_id or self._kam_customer_attendee()
        if not customer:
            raise UserError(
                _(
                    "The meeting “%(meeting)s” has no customer among its attendees: add the customer's "
                    "contact to the meeting, then record it as a visit.",
                    meeting=self.name,
                )
            )
        # The one recording it, if they took part; else the organizer.
        me = self.env.user
        if me.partner_id in self.partner_ids or self.user_id == me or not self.user_id or self.user_id.share:
            user = me
        else:
            user = self.user_id
        company = self.opportunity_id.company_id or self.env.company
        if self.videocall_location and not self.location:
            kind = "remote"
        else:
            kind = "visit"
        return {
            "name": self.name,
            "partner_id": customer.id,
            "user_id": user.id,
            "company_id": company.id,
            "kind": kind,
            "start": self.start,
            "duration": self.duration,
            "state": "done" if self.stop and self.stop <= fields.Datetime.now() else "planned",
            "calendar_event_id": self.id,
            "opportunity_id": self.opportunity_id.id,
        }

    def _kam_customer_attendee(self):
        """The first attendee that is not one of our own users (an external contact)."""
        internal = (
            self.env["res.users"].sudo().search([("partner_id", "in", self.partner_ids.ids), ("share", "=", False)])
        )
        outsiders = self.partner_ids - internal.partner_id
        return outsiders[:1]
