from collections import defaultdict
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..tools import health_rules

# What the plan score is, wherever it is shown: the plan form, the dashboard card, the snapshot.
WEIGHTED_SCORE_HELP = (
    "Each objective on track counts 1, at risk counts half and off track 0, over all the objectives "
    "of the plan: 4 on track and 2 at risk out of 6 score 83 %. The count of objectives on track "
    "is shown beside it."
)
PLAN_STATES = [("draft", "Draft"), ("active", "Active"), ("closed", "Closed"), ("cancelled", "Cancelled")]


def on_track_summary(env, on_track, total):
    """``"4 of 6 on track"``: what a plan's progress is, in words; empty without objectives."""
    if not total:
        return False
    return env._("%(on_track)s of %(total)s on track", on_track=on_track, total=total)


def next_period(date_start, date_end):
    """The period that follows ``[date_start, date_end]`` and lasts as long.

    Periods of whole months (a year, a quarter, a semester) are followed by as many whole
    months, so that a plan for 2026 renews into 2027 whatever the length of February.
    """
    new_start = date_end + timedelta(days=1)
    months = relativedelta(new_start, date_start)
    if date_start.day == 1 and new_start.day == 1:
        return new_start, new_start + relativedelta(months=months.years * 12 + months.months) - timedelta(days=1)
    return new_start, new_start + (date_end - date_start)


class KamAccountPlan(models.Model):
    """The Key Account Manager's plan for one account over one period.

    It holds what the KAM knows of the account (business, strategy, SWOT), the objectives
    measured against Odoo's data, the action plan scheduled as activities, the map of the
    account's stakeholders, its opportunities and the business reviews held with it.
    """

    _name = "kam.account.plan"
    _description = "Account plan"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_start desc, id desc"

    def _default_date_start(self):
        return fields.Date.context_today(self).replace(month=1, day=1)

    def _default_date_end(self):
        return fields.Date.context_today(self).replace(month=12, day=31)

    name = fields.Char(compute="_compute_name", store=True, readonly=False, precompute=True, required=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Account",
        required=True,
        index=True,
        tracking=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
        help="The customer as a commercial entity: the company, not one of its contacts.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    kam_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        compute="_compute_kam_id",
        store=True,
        readonly=False,
        precompute=True,
        index=True,
        tracking=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    account_manager_id = fields.Many2one(
        "res.users",
        string="Account's KAM",
        compute="_compute_account_manager_id",
        search="_search_account_manager_id",
        help="The Key Account Manager assigned to the account in the plan's company.",
    )
    date_start = fields.Date(string="Start", required=True, default=_default_date_start, tracking=True)
    date_end = fields.Date(string="End", required=True, default=_default_date_end, tracking=True)
    state = fields.Selection(
        PLAN_STATES, required=True, default="draft", copy=False, index=True, tracking=True, group_expand=True
    )
    color = fields.Integer()
    # Understanding the account
    summary = fields.Html(string="Business and needs", help="What the customer does, how it buys and what it needs.")
    strategy = fields.Html(help="The strategy agreed for the account over the period.")
    swot_strengths = fields.Text(string="Strengths")
    swot_weaknesses = fields.Text(string="Weaknesses")
    swot_opportunities = fields.Text(string="Opportunities (SWOT)")
    swot_threats = fields.Text(string="Threats")
    # Lines
    objective_ids = fields.One2many("kam.account.plan.objective", "plan_id", string="Objectives", copy=True)
    action_ids = fields.One2many("kam.account.plan.action", "plan_id", string="Action plan")
    stakeholder_ids = fields.One2many("kam.account.plan.stakeholder", "plan_id", string="Stakeholders", copy=True)
    review_ids = fields.One2many("kam.account.review", "plan_id", string="Account reviews")
    # Summaries
    objective_count = fields.Integer(compute="_compute_objective_summary", string="Number of objectives")
    on_track_count = fields.Integer(string="On track", compute="_compute_objective_summary")
    at_risk_count = fields.Integer(string="At risk", compute="_compute_objective_summary")
    off_track_count = fields.Integer(string="Off track", compute="_compute_objective_summary")
    on_track_summary = fields.Char(
        string="On-track objectives",
        compute="_compute_objective_summary",
        help="How many of the plan's objectives are on track today, out of all of them.",
    )
    weighted_score = fields.Float(
        string="Weighted plan score (%)",
        compute="_compute_objective_summary",
        help=WEIGHTED_SCORE_HELP,
    )
    open_action_count = fields.Integer(compute="_compute_action_summary", string="Open actions")
    next_deadline = fields.Date(compute="_compute_action_summary", string="Next deadline")
    last_review_date = fields.Date(compute="_compute_review_summary", string="Last review")
    satisfaction_score = fields.Float(
        string="Satisfaction", compute="_compute_review_summary", help="Score of the latest account review."
    )
    opportunity_ids = fields.Many2many(
        "crm.lead",
        string="Opportunities",
        compute="_compute_opportunity_ids",
        context={"active_test": False},
        help="The account's open opportunities and those won or lost during the period.",
    )
    opportunity_count = fields.Integer(compute="_compute_opportunity_ids", string="Number of opportunities")
    previous_plan_id = fields.Many2one(
        "kam.account.plan", readonly=True, copy=False, index="btree_not_null", string="Previous plan"
    )
    next_plan_ids = fields.One2many("kam.account.plan", "previous_plan_id", readonly=True, string="Next plans")

    @api.depends("partner_id", "date_start", "date_end")
    def _compute_name(self):
        for plan in self:
            if not plan.partner_id:
                plan.name = plan.name or False
                continue
            plan.name = f"{plan.partner_id.commercial_partner_id.name} · {plan._period_label()}"

    @api.depends("partner_id", "company_id")
    def _compute_kam_id(self):
        managers = self._account_managers()
        for plan in self:
            if plan.partner_id and not plan.kam_id:
                plan.kam_id = managers.get(plan._account_key()) or self.env.user

    @api.depends("partner_id", "company_id")
    def _compute_account_manager_id(self):
        managers = self._account_managers()
        for plan in self:
            plan.account_manager_id = managers.get(plan._account_key(), False)

    def _search_account_manager_id(self, operator, value):
        """Plans whose account is managed, in the plan's company, by the given users.

        One sub-select joining plans to the classification rows; record rules use it.
        """
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(_("Search the account's KAM with =, !=, in or not in."))
        user_ids = [value] if operator in ("=", "!=") else list(value)
        positive = operator in ("=", "in")
        self.env["kam.classification"].flush_model(["manager_id", "partner_id", "company_id"])
        self.flush_model(["partner_id", "company_id"])
        condition = (
            SQL("k.manager_id = ANY(%s)", [uid for uid in user_ids if uid])
            if any(user_ids)
            else SQL("k.manager_id IS NOT NULL")
        )
        if not any(user_ids):
            positive = not positive
        plans = SQL(
            """
            (SELECT plan.id
               FROM kam_account_plan plan
               JOIN kam_classification k ON k.partner_id = plan.partner_id AND k.company_id = plan.company_id
              WHERE %s)
            """,
            condition,
        )
        return [("id", "in" if positive else "not in", plans)]

    @api.depends("objective_ids.status")
    @api.depends_context("kam_today")
    def _compute_objective_summary(self):
        for plan in self:
            statuses = plan.objective_ids.mapped("status")
            plan.objective_count = len(plan.objective_ids)
            plan.on_track_count = statuses.count("on_track")
            plan.at_risk_count = statuses.count("at_risk")
            plan.off_track_count = statuses.count("off_track")
            plan.on_track_summary = on_track_summary(plan.env, plan.on_track_count, plan.objective_count)
            plan.weighted_score = health_rules.plan_progress(statuses) or 0.0

    @api.depends("action_ids.state", "action_ids.date_deadline")
    def _compute_action_summary(self):
        for plan in self:
            open_actions = plan.action_ids.filtered(lambda action: action.state == "todo")
            plan.open_action_count = len(open_actions)
            plan.next_deadline = min(open_actions.mapped("date_deadline"), default=False)

    @api.depends("review_ids.date", "review_ids.satisfaction_score")
    def _compute_review_summary(self):
        for plan in self:
            latest = plan.review_ids.filtered("date").sorted(lambda r: (r.date, r._origin.id or 0))[-1:]
            plan.last_review_date = latest.date
            plan.satisfaction_score = latest.satisfaction_score

    @api.depends("partner_id", "company_id", "date_start", "date_end")
    def _compute_opportunity_ids(self):
        """The account's opportunities open today (created by the end of the period) and those won
        or lost during the period, in one search for all the plans."""
        plans = self.filtered(lambda p: p.partner_id and p.company_id and p.date_start and p.date_end)
        leads = self.env["crm.lead"]
        if plans:
            leads = leads.with_context(active_test=False).search(
                [
                    ("type", "=", "opportunity"),
                    ("company_id", "in", plans.company_id.ids),
                    ("partner_id.commercial_partner_id", "in", plans.partner_id.commercial_partner_id.ids),
                    "|",
                    "&",
                    "&",
                    ("active", "=", True),
                    ("stage_id.is_won", "=", False),
                    ("create_date", "<", max(plans.mapped("date_end")) + timedelta(days=1)),
                    "&",
                    ("date_closed", ">=", min(plans.mapped("date_start"))),
                    ("date_closed", "<", max(plans.mapped("date_end")) + timedelta(days=1)),
                ]
            )
        by_account = defaultdict(lambda: self.env["crm.lead"])
        for lead in leads:
            by_account[(lead.company_id.id, lead.partner_id.commercial_partner_id.id)] |= lead
        for plan in self:
            candidates = by_account[plan._account_key()] if plan in plans else leads.browse()
            selected = candidates.filtered(
                lambda lead, plan=plan: (
                    (lead.active and not lead.stage_id.is_won and lead.create_date.date() <= plan.date_end)
                    or (lead.date_closed and plan.date_start <= lead.date_closed.date() <= plan.date_end)
                )
            )
            plan.opportunity_ids = selected
            plan.opportunity_count = len(selected)

    @api.constrains("date_start", "date_end")
    def _check_period(self):
        for plan in self:
            if plan.date_start and plan.date_end and plan.date_end < plan.date_start:
                raise ValidationError(
                    _(
                        "The plan “%(plan)s” ends before it starts: its end date must be on or after %(start)s.",
                        plan=plan.name,
                        start=format_date(self.env, plan.date_start),
                    )
                )

    @api.constrains("partner_id")
    def _check_partner_is_commercial_entity(self):
        for plan in self:
            if plan.partner_id != plan.partner_id.commercial_partner_id:
                raise ValidationError(
                    _(
                        "An account plan is made for a customer as a whole: "
                        "choose %(company)s rather than its contact %(contact)s.",
                        company=plan.partner_id.commercial_partner_id.display_name,
                        contact=plan.partner_id.display_name,
                    )
                )

    @api.constrains("state", "partner_id", "company_id", "date_start", "date_end")
    def _check_one_active_plan(self):
        """At most one active plan per account and company over any day."""
        active = self.filtered(lambda plan: plan.state == "active")
        if not active:
            return
        others = self.sudo().search(
            [
                ("state", "=", "active"),
                ("partner_id", "in", active.partner_id.ids),
                ("company_id", "in", active.company_id.ids),
                ("date_start", "<=", max(active.mapped("date_end"))),
                ("date_end", ">=", min(active.mapped("date_start"))),
            ]
        )
        for plan in active:
            clash = others.filtered(
                lambda other, plan=plan: (
                    other.id != plan.id
                    and other.partner_id == plan.partner_id
                    and other.company_id == plan.company_id
                    and other.date_start <= plan.date_end
                    and other.date_end >= plan.date_start
                )
            )[:1]
            if clash:
                raise ValidationError(
                    _(
                        "%(account)s already has an active plan over these dates: “%(other)s” (%(period)s). "
                        "Close it or change the period before activating another one.",
                        account=plan.partner_id.display_name,
                        other=clash.name,
                        period=clash._period_label(),
                    )
                )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        plans._subscribe_managers()
        return plans

    def write(self, vals):
        res = super().write(vals)
        if "kam_id" in vals:
            self._subscribe_managers()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(plan.state not in ("draft", "cancelled") for plan in self):
            raise UserError(_("Only draft or cancelled plans can be deleted; close an active plan instead."))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_activate(self):
        for plan in self:
            if plan.state != "draft":
                raise UserError(_("Only a draft plan can be activated."))
        self.write({"state": "active"})

    def action_close(self):
        for plan in self:
            if plan.state != "active":
                raise UserError(_("Only an active plan can be closed."))
        self.write({"state": "closed"})

    def action_cancel(self):
        for plan in self:
            if plan.state not in ("draft", "active"):
                raise UserError(_("Only a draft or active plan can be cancelled."))
        self.action_ids.filtered(lambda action: action.state == "todo").write({"state": "cancel"})
        self.write({"state": "cancelled"})

    def action_reset_to_draft(self):
        for plan in self:
            if plan.state != "cancelled":
                raise UserError(_("Only a cancelled plan can be set back to draft."))
        self.write({"state": "draft"})

    def action_renew(self):
        """Open the next period's plan and close this one.

        The new plan is a draft over the following period with this plan's analysis, its
        objectives (targets set back to zero, last actual kept for reference) and stakeholders;
        the open actions move to it, activities included.
        """
        self.ensure_one()
        if self.state not in ("active", "closed"):
            raise UserError(_("Only an active or closed plan can be renewed."))
        if self.next_plan_ids:
            raise UserError(_("This plan was already renewed as “%(plan)s”.", plan=self.next_plan_ids[:1].name))
        date_start, date_end = next_period(self.date_start, self.date_end)
        new_plan = self.copy(
            {
                "date_start": date_start,
                "date_end": date_end,
                "previous_plan_id": self.id,
                "objective_ids": [
                    fields.Command.create(
                        {
                            "sequence": objective.sequence,
                            "measure": objective.measure,
                            "name": objective.name,
                            "target": 0.0,
                            "previous_actual": objective.actual,
                        }
                    )
                    for objective in self.objective_ids
                ],
            }
        )
        self.action_ids.filtered(lambda action: action.state == "todo").write({"plan_id": new_plan.id})
        if self.state == "active":
            self.action_close()
        self.message_post(body=_("Renewed as %(plan)s.", plan=new_plan._get_html_link()), subtype_xmlid="mail.mt_note")
        new_plan.message_post(
            body=_("Renewed from %(plan)s: set the new targets, then activate.", plan=self._get_html_link()),
            subtype_xmlid="mail.mt_note",
        )
        return new_plan._get_form_action()

    def action_view_opportunities(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Opportunities of %(plan)s", plan=self.name),
            "res_model": "crm.lead",
            "view_mode": "list,form,kanban",
            "domain": [("id", "in", self.opportunity_ids.ids)],
            "context": {
                "active_test": False,
                "default_partner_id": self.partner_id.id,
                "default_type": "opportunity",
                "default_user_id": self.kam_id.id,
            },
        }

    def action_open_previous_plan(self):
        self.ensure_one()
        return self.previous_plan_id._get_form_action()

    def action_open_next_plan(self):
        self.ensure_one()
        return self.next_plan_ids[:1]._get_form_action()

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def copy(self, default=None):
        default = dict(default or {})
        if "date_start" not in default:
            self.ensure_one()
            default["date_start"], default["date_end"] = next_period(self.date_start, self.date_end)
        return super().copy(default)

    @api.model
    def _plan_counts(self, accounts):
        """Number of plans the user may see for each account, as ``{account id: count}``."""
        if not accounts:
            return {}
        groups = self._read_group(
            [("partner_id", "in", accounts.ids)], groupby=["partner_id"], aggregates=["__count"], order="partner_id"
        )
        return {partner.id: count for partner, count in groups}

    @api.model
    def _action_for_account(self, account):
        action = self.env["ir.actions.act_window"]._for_xml_id("kam_management.kam_account_plan_action")
        action["domain"] = [("partner_id", "=", account.id)]
        action["context"] = {"default_partner_id": account.id}
        return action

    def _get_form_action(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def _account_key(self):
        return (self.company_id.id, self.partner_id.commercial_partner_id.id)

    def _account_managers(self):
        """The Key Account Manager of each (company, account) of these plans, in one search."""
        if not self.partner_id:
            return {}
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search(
                [
                    ("company_id", "in", self.company_id.ids),
                    ("partner_id", "in", self.partner_id.commercial_partner_id.ids),
                    ("manager_id", "!=", False),
                ]
            )
        )
        return {(row.company_id.id, row.partner_id.id): row.manager_id for row in rows}

    def _period_label(self):
        self.ensure_one()
        start, end = self.date_start, self.date_end
        if not start or not end:
            return ""
        if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
            return str(start.year)
        return f"{format_date(self.env, start)} – {format_date(self.env, end)}"

    def _subscribe_managers(self):
        """The plan's KAM follows it, so that its news and activities reach them."""
        for plan in self.filtered("kam_id"):
            plan.message_subscribe(partner_ids=plan.kam_id.partner_id.ids)

    # ------------------------------------------------------------------
    # Customer surveys
    # ------------------------------------------------------------------
    def action_kam_invite_survey(self):
        """Invite the stakeholders of the plan (its account's contacts) to the company's survey."""
        self.ensure_one()
        return self.env["kam.survey.invite.wizard"].action_open(self.partner_id.commercial_partner_id, self.company_id)
