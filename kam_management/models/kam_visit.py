from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..const import KAM_GROUP

VISIT_KINDS = [
    ("visit", "On-site visit"),
    ("remote", "Remote meeting"),
    ("call", "Call"),
    ("other", "Other"),
]
VISIT_STATES = [("planned", "Planned"), ("done", "Done"), ("cancelled", "Cancelled")]


class KamVisit(models.Model):
    """A visit or other interaction with a customer: the effort side of the cost to serve.

    Its cost is priced once, from the rate in force on its date (``kam.cost.rate``), and
    stored: a later change of rate does not rewrite the effort of the past.
    """

    _name = "kam.visit"
    _description = "Customer visit"
    _inherit = ["kam.customer.effort.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "start desc, id desc"

    name = fields.Char(string="Subject", tracking=True)
    user_id = fields.Many2one(required=True, tracking=True)
    kind = fields.Selection(VISIT_KINDS, required=True, default="visit", tracking=True)
    state = fields.Selection(
        VISIT_STATES, required=True, default="planned", index=True, tracking=True, group_expand="_expand_states"
    )
    start = fields.Datetime(required=True, default=lambda self: fields.Datetime.now().replace(second=0, microsecond=0))
    duration = fields.Float(default=1.0, help="Time spent with the customer, in hours.")
    stop = fields.Datetime(
        string="End",
        compute="_compute_stop",
        inverse="_inverse_stop",
        store=True,
        help="End of the visit: the start plus the duration; moving it changes the duration.",
    )
    date = fields.Date(
        compute="_compute_date",
        store=True,
        index=True,
        help="Day of the visit in the salesperson's time zone: it picks the rate and the period.",
    )
    travel_time = fields.Float(help="Hours spent travelling to and from the customer.", string="Travel time")
    distance = fields.Float(string="Distance (km)", help="Kilometres travelled for the visit, there and back.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    expenses = fields.Monetary(
        currency_field="currency_id",
        help="Out-of-pocket expenses of the visit (meals, parking, tolls), in company currency.",
    )
    outcome = fields.Html(string="Outcome notes")
    calendar_event_id = fields.Many2one("calendar.event", string="Meeting", index="btree_not_null", ondelete="set null")
    opportunity_id = fields.Many2one(
        "crm.lead",
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        domain="[('type', '=', 'opportunity')]",
    )
    hourly_rate = fields.Monetary(
        compute="_compute_cost",
        store=True,
        currency_field="currency_id",
        groups=KAM_GROUP,
        help="Hourly cost of the salesperson's time in force on the date of the visit.",
        string="Hourly rate",
    )
    km_rate = fields.Monetary(
        string="Rate per km", compute="_compute_cost", store=True, currency_field="currency_id", groups=KAM_GROUP
    )
    cost = fields.Monetary(
        compute="_compute_cost",
        store=True,
        currency_field="currency_id",
        aggregator="sum",
        groups=KAM_GROUP,
        help="(Duration + travel time) × hourly cost + distance × cost per km + expenses, "
        "with the rates in force on the date of the visit.",
    )
    color = fields.Integer(compute="_compute_color")

    @api.depends("start", "duration")
    def _compute_stop(self):
        for visit in self:
            visit.stop = visit.start and visit.start + timedelta(seconds=round((visit.duration or 0.0) * 3600))

    def _inverse_stop(self):
        for visit in self:
            if visit.start and visit.stop:
                visit.duration = visit._hours_between(visit.start, visit.stop)

    @api.depends("start", "user_id.tz")
    def _compute_date(self):
        for visit in self:
            if not visit.start:
                visit.date = False
                continue
            tz_env = visit.with_context(tz=visit.user_id.tz or self.env.context.get("tz") or "UTC")
            visit.date = fields.Datetime.context_timestamp(tz_env, visit.start).date()

    @api.depends("date", "user_id", "company_id", "duration", "travel_time", "distance", "expenses")
    def _compute_cost(self):
        rates = self.env["kam.cost.rate"]._lookup({visit._rate_key() for visit in self})
        for visit in self:
            hourly, per_km = rates[visit._rate_key()]
            visit.hourly_rate = hourly
            visit.km_rate = per_km
            visit.cost = visit.currency_id.round(
                ((visit.duration or 0.0) + (visit.travel_time or 0.0)) * hourly
                + (visit.distance or 0.0) * per_km
                + (visit.expenses or 0.0)
            )

    @api.depends("state")
    def _compute_color(self):
        colors = {"planned": 4, "done": 10, "cancelled": 1}
        for visit in self:
            visit.color = colors.get(visit.state, 0)

    @api.depends("name", "kind", "partner_id", "date")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for visit in self:
            visit.display_name = visit.name or _(
                "%(kind)s: %(customer)s", kind=kinds.get(visit.kind, ""), customer=visit.partner_id.display_name or ""
            )

    def _expand_states(self, states, domain):
        """Kanban columns in the order of the flow, even when empty."""
        return [state for state, _label in VISIT_STATES]

    @api.onchange("stop")
    def _onchange_stop(self):
        if self.start and self.stop:
            self.duration = self._hours_between(self.start, self.stop)

    @api.constrains("start", "stop", "duration")
    def _check_times(self):
        for visit in self:
            if visit.duration < 0 or (visit.start and visit.stop and visit.stop < visit.start):
                raise ValidationError(
                    _(
                        "The visit “%(visit)s” ends before it starts: set its end after its start, "
                        "or a duration of zero or more.",
                        visit=visit.display_name,
                    )
                )

    @api.constrains("travel_time", "distance", "expenses")
    def _check_effort(self):
        for visit in self:
            if visit.travel_time < 0:
                raise ValidationError(
                    _(
                        "The travel time of “%(visit)s” cannot be negative: enter 0 or more hours.",
                        visit=visit.display_name,
                    )
                )
            if visit.distance < 0:
                raise ValidationError(
                    _("The distance of “%(visit)s” cannot be negative: enter 0 or more km.", visit=visit.display_name)
                )
            if visit.expenses < 0:
                raise ValidationError(
                    _(
                        "The expenses of “%(visit)s” cannot be negative: enter what was spent, 0 or more.",
                        visit=visit.display_name,
                    )
                )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_done(self):
        self.write({"state": "done"})

    def action_cancel(self):
        self.write({"state": "cancelled"})

    def action_plan(self):
        self.write({"state": "planned"})

    def action_open_calendar_event(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "calendar.event",
            "res_id": self.calendar_event_id.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _hours_between(self, start, stop):
        return round((stop - start).total_seconds() / 3600.0, 4)

    def _rate_key(self):
        return (self.company_id.id, self.user_id.id or False, self.date)

    @api.model
    def _action_for(self, name, domain, context):
        """Window action on visits, used by the smart buttons of partners, opportunities and meetings."""
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "kam.visit",
            "view_mode": "list,calendar,kanban,form",
            "views": [
                (self.env.ref("kam_management.kam_visit_view_list").id, "list"),
                (self.env.ref("kam_management.kam_visit_view_calendar").id, "calendar"),
                (self.env.ref("kam_management.kam_visit_view_kanban").id, "kanban"),
                (self.env.ref("kam_management.kam_visit_view_form").id, "form"),
            ],
            "domain": domain,
            "context": context,
        }
