import math

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError
from odoo.tools.misc import format_amount, formatLang

from ..const import DIRECTOR_GROUP, KAM_GROUP
from ..tools import health_rules
from ..tools.health_rules import DEFAULT_WEIGHTS, SIGNAL_NAMES

# The company field holding the weight of each health signal.
WEIGHT_FIELDS = {name: f"kam_health_weight_{name}" for name in SIGNAL_NAMES}

ASSIGNMENT_STRATEGIES = [
    ("accounts", "Fewest key accounts"),
    ("revenue", "Least revenue under management"),
]


class ResCompany(models.Model):
    """Key-account settings of each company: classification, cost to serve, KPIs and health, team."""

    _inherit = "res.company"

    # ------------------------------------------------------------------
    # 80/20 classification
    # ------------------------------------------------------------------
    kam_threshold_a = fields.Float(
        string="Tier A threshold (%)",
        default=80.0,
        help="Customers are tier A while the revenue of the customers ranked above "
        "them is below this share of the total.",
    )
    kam_threshold_b = fields.Float(
        string="Tier B threshold (%)",
        default=95.0,
        help="Customers that are not A are tier B while the revenue of the customers "
        "ranked above them is below this share of the total; the rest are C.",
    )
    kam_window_months = fields.Integer(
        string="Revenue window (months)",
        default=12,
        help="Trailing number of months, ending on the run date, whose revenue ranks customers.",
    )
    kam_demotion_grace = fields.Integer(
        string="Demotion grace (runs)",
        default=2,
        help="A customer is demoted only after it has ranked below its tier in more than "
        "this number of consecutive runs; 0 demotes at once.",
    )
    kam_revenue_source = fields.Selection(
        [("invoice", "Posted invoices"), ("sale_order", "Confirmed sales orders")],
        string="Revenue source",
        default="invoice",
        required=True,
    )

    @api.constrains("kam_threshold_a", "kam_threshold_b")
    def _check_kam_thresholds(self):
        for company in self:
            a, b = company.kam_threshold_a, company.kam_threshold_b
            if not (0.0 <= a <= 100.0 and 0.0 <= b <= 100.0):
                raise ValidationError(
                    _(
                        "The tier thresholds of %(company)s must lie between 0 and 100 %%; "
                        "enter percentages such as 80 and 95.",
                        company=company.name,
                    )
                )
            if a >= b:
                raise ValidationError(
                    _(
                        "The tier A threshold of %(company)s (%(a)s %%) must be lower than the "
                        "tier B threshold (%(b)s %%).",
                        company=company.name,
                        a=a,
                        b=b,
                    )
                )

    @api.constrains("kam_window_months")
    def _check_kam_window_months(self):
        for company in self:
            if company.kam_window_months < 1:
                raise ValidationError(
                    _(
                        "The revenue window of %(company)s must be at least 1 month.",
                        company=company.name,
                    )
                )

    @api.constrains("kam_demotion_grace")
    def _check_kam_demotion_grace(self):
        for company in self:
            if company.kam_demotion_grace < 0:
                raise ValidationError(
                    _(
                        "The demotion grace of %(company)s cannot be negative; use 0 to demote at once.",
                        company=company.name,
                    )
                )

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    kam_hourly_cost = fields.Monetary(
        string="Hourly cost of a salesperson",
        currency_field="currency_id",
        compute="_compute_kam_rates",
        inverse="_inverse_kam_rates",
        groups=KAM_GROUP,
        help="Company default in force today. Changing it adds a rate from today on: visits "
        "dated before keep the cost they had.",
    )
    kam_km_cost = fields.Monetary(
        string="Cost per km",
        currency_field="currency_id",
        compute="_compute_kam_rates",
        inverse="_inverse_kam_rates",
        groups=KAM_GROUP,
    )
    kam_value_line = fields.Float(
        string="Value line (% of gross margin)",
        default=80.0,
        help="High-value customers are those that together make this share of the gross margin "
        "of the window, ranked from the largest; the customer that crosses the line is included.",
    )
    kam_effort_line = fields.Float(
        string="Effort line (% of revenue)",
        default=10.0,
        help="High-effort customers cost at least this share of their revenue to serve; a customer "
        "with costs to serve and no revenue is always high effort.",
    )
    kam_rank_gap = fields.Float(
        string="Ranking gap (%)",
        default=25.0,
        help="Warn when a customer's rank by net contribution and its rank by revenue are apart by "
        "at least this share of the ranked customers.",
    )

    def _compute_kam_rates(self):
        today = fields.Date.context_today(self)
        rates = self.env["kam.cost.rate"]._lookup({(company.id, False, today) for company in self})
        for company in self:
            company.kam_hourly_cost, company.kam_km_cost = rates[(company.id, False, today)]

    def _inverse_kam_rates(self):
        today = fields.Date.context_today(self)
        Rate = self.env["kam.cost.rate"]
        current = Rate._lookup({(company.id, False, today) for company in self})
        todays = Rate.search([("company_id", "in", self.ids), ("user_id", "=", False), ("date_from", "=", today)])
        todays_by_company = {rate.company_id.id: rate for rate in todays}
        for company in self:
            vals = {"hourly_rate": company.kam_hourly_cost, "km_rate": company.kam_km_cost}
            if current[(company.id, False, today)] == (vals["hourly_rate"], vals["km_rate"]):
                continue
            if company.id in todays_by_company:
                todays_by_company[company.id].write(vals)
            else:
                Rate.create({**vals, "company_id": company.id, "date_from": today})

    @api.constrains("kam_value_line", "kam_effort_line", "kam_rank_gap")
    def _check_kam_cost_lines(self):
        for company in self:
            if not 0.0 < company.kam_value_line <= 100.0:
                raise ValidationError(
                    _(
                        "The value line of %(company)s must lie above 0 and up to 100 %% of the gross "
                        "margin; 80 is a common choice.",
                        company=company.name,
                    )
                )
            if company.kam_effort_line < 0.0:
                raise ValidationError(
                    _(
                        "The effort line of %(company)s cannot be negative: enter the share of revenue, "
                        "such as 10, above which serving a customer is high effort.",
                        company=company.name,
                    )
                )
            if not 0.0 < company.kam_rank_gap <= 100.0:
                raise ValidationError(
                    _(
                        "The ranking gap of %(company)s must lie above 0 and up to 100 %% of the ranked customers.",
                        company=company.name,
                    )
                )

    # ------------------------------------------------------------------
    # KPI snapshots, health score and alerts
    # ------------------------------------------------------------------
    # Settings of the daily KPI snapshots, the health score and its alerts.
    kam_kpi_include_b = fields.Boolean(
        string="Follow tier B accounts too",
        help="Take the daily KPI snapshot of tier B accounts as well as key accounts (tier A).",
    )
    kam_kpi_retention_days = fields.Integer(
        string="Daily snapshots kept (days)",
        default=400,
        help="Daily snapshots older than this are thinned to the last one of each month. "
        "Keep at least the revenue window.",
    )
    kam_health_weight_revenue_trend = fields.Float(
        string="Weight: revenue trend", default=DEFAULT_WEIGHTS["revenue_trend"]
    )
    kam_health_weight_margin_trend = fields.Float(
        string="Weight: margin trend", default=DEFAULT_WEIGHTS["margin_trend"]
    )
    kam_health_weight_contact = fields.Float(string="Weight: contact", default=DEFAULT_WEIGHTS["contact"])
    kam_health_weight_pipeline_cover = fields.Float(
        string="Weight: pipeline cover", default=DEFAULT_WEIGHTS["pipeline_cover"]
    )
    kam_health_weight_overdue = fields.Float(string="Weight: overdue receivables", default=DEFAULT_WEIGHTS["overdue"])
    kam_health_weight_satisfaction = fields.Float(
        string="Weight: satisfaction", default=DEFAULT_WEIGHTS["satisfaction"]
    )
    kam_health_weight_plan_progress = fields.Float(
        string="Weight: plan progress", default=DEFAULT_WEIGHTS["plan_progress"]
    )
    kam_health_healthy_from = fields.Float(
        string="Healthy from (score)", default=80.0, help="Accounts scoring this or more are healthy."
    )
    kam_health_risk_below = fields.Float(
        string="At risk below (score)",
        default=50.0,
        help="Accounts scoring less are at risk; between the two bands, they are to watch.",
    )
    kam_health_drop_points = fields.Integer(
        string="Alert on a drop of more than (points)",
        default=15,
        help="A key account whose health score falls by more than this in 30 days gets a to-do for "
        "its KAM and a note to its followers, as one that falls into the at-risk band.",
    )

    @api.constrains(*WEIGHT_FIELDS.values())
    def _check_kam_health_weights(self):
        for company in self:
            problem = health_rules.check_weights(company._kam_health_weights())
            if problem == "negative":
                raise ValidationError(
                    _(
                        "The health weights of %(company)s cannot be negative: give each signal 0 (ignored) or more.",
                        company=company.name,
                    )
                )
            if problem == "zero":
                raise ValidationError(
                    _(
                        "The health weights of %(company)s add up to zero: give at least one signal a weight above 0.",
                        company=company.name,
                    )
                )

    @api.constrains("kam_health_healthy_from", "kam_health_risk_below")
    def _check_kam_health_bands(self):
        for company in self:
            healthy, risk = company.kam_health_healthy_from, company.kam_health_risk_below
            if not 0.0 < risk < healthy <= 100.0:
                raise ValidationError(
                    _(
                        "The health bands of %(company)s are out of order: the at-risk limit "
                        "(%(risk)s) must be above 0 and below the healthy limit (%(healthy)s), "
                        "which is at most 100.",
                        company=company.name,
                        risk=risk,
                        healthy=healthy,
                    )
                )

    @api.constrains("kam_kpi_retention_days", "kam_window_months")
    def _check_kam_kpi_retention_days(self):
        for company in self:
            minimum = company._kam_window_days()
            if company.kam_kpi_retention_days < minimum:
                raise ValidationError(
                    _(
                        "%(company)s keeps daily KPI snapshots for %(days)s days, less than its "
                        "revenue window of %(months)s months: keep them at least %(minimum)s days.",
                        company=company.name,
                        days=company.kam_kpi_retention_days,
                        months=company.kam_window_months,
                        minimum=minimum,
                    )
                )

    @api.constrains("kam_health_drop_points")
    def _check_kam_health_drop_points(self):
        for company in self:
            if not 1 <= company.kam_health_drop_points <= 100:
                raise ValidationError(
                    _(
                        "The health drop that raises an alert at %(company)s must be between 1 and 100 points.",
                        company=company.name,
                    )
                )

    def _kam_health_weights(self):
        self.ensure_one()
        return {name: self[field] for name, field in WEIGHT_FIELDS.items()}

    def _kam_window_days(self):
        """The longest the revenue window can last, in days (months of 365.25 / 12 days)."""
        self.ensure_one()
        return math.ceil(self.kam_window_months * 365.25 / 12)

    # ------------------------------------------------------------------
    # KAM team
    # ------------------------------------------------------------------
    # Settings of the key-account team: how many key accounts a KAM can carry, whom to suggest.
    kam_max_key_accounts = fields.Integer(
        string="Maximum key accounts per KAM",
        default=15,
        help="Suggestions never give a Key Account Manager more key accounts than this; "
        "a director may assign more, and is warned.",
    )
    kam_assignment_strategy = fields.Selection(
        ASSIGNMENT_STRATEGIES,
        string="Suggest the KAM with",
        default="accounts",
        required=True,
        help="Which Key Account Manager has the most room for a new key account: the one "
        "with the fewest key accounts, or the one with the least revenue under management.",
    )

    @api.constrains("kam_max_key_accounts")
    def _check_kam_max_key_accounts(self):
        for company in self:
            if company.kam_max_key_accounts < 1:
                raise ValidationError(
                    _(
                        "The maximum number of key accounts per Key Account Manager of %(company)s must be at least 1.",
                        company=company.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        # A new company starts with the competency framework, like the main company.
        self.env["kam.competency"].sudo()._create_default_framework(companies)
        return companies

    def write(self, vals):
        # Every change of a key-account setting is logged, whichever screen it comes from.
        logged = [fname for fname in self._kam_setting_fields() if fname in vals]
        if not logged:
            return super().write(vals)
        before = self._kam_settings_values(logged)
        result = super().write(vals)
        self._kam_log_settings(before, self._kam_settings_values(logged))
        return result

    # ------------------------------------------------------------------
    # Key-account settings: who may change them, and their log
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache()
    def _kam_setting_fields(self):
        """The company fields that are key-account settings: those the Settings page offers.

        Deriving them from the Settings page keeps one list: a setting added there is also
        logged and writable by directors."""
        prefix = "company_id.kam_"
        return tuple(
            field.related.removeprefix("company_id.")
            for field in self.env["res.config.settings"]._fields.values()
            if field.related and field.related.startswith(prefix) and not field.readonly
        )

    def _kam_write_settings(self, vals):
        """Write key-account settings of these companies for a Key Account Director.

        Directors are not administrators and cannot write companies: this writes, as
        superuser, exactly the key-account settings, of companies the user works in, and
        only the values that change. The company's constraints validate them, as on the
        Settings page."""
        if not self.env.su and not self.env.user.has_group(DIRECTOR_GROUP):
            raise AccessError(_("Only a Key Account Director can change the key-account settings."))
        others = set(vals) - set(self._kam_setting_fields())
        if others:
            raise AccessError(
                _(
                    "Only key-account settings can be changed here; these fields are not: %(fields)s.",
                    fields=", ".join(sorted(others)),
                )
            )
        foreign = self - self.env.companies
        if foreign and not self.env.su:
            raise AccessError(
                _(
                    "You can change the key-account settings of the companies you work in only, "
                    "not those of %(companies)s.",
                    companies=", ".join(foreign.sudo().mapped("name")),
                )
            )
        for company in self.sudo():
            changes = {}
            for fname, value in vals.items():
                field = company._fields[fname]
                if field.convert_to_record(field.convert_to_cache(value, company), company) != company[fname]:
                    changes[fname] = value
            if changes:
                company.write(changes)
        return True

    def _kam_settings_values(self, fnames):
        """``{company id: {field: value}}`` of the given key-account settings."""
        companies = self.sudo()
        return {company.id: {fname: company[fname] for fname in fnames} for company in companies}

    def _kam_log_settings(self, before, after):
        """Log each setting whose value went from ``before`` to ``after``, by the current user."""
        now = fields.Datetime.now()
        companies = self.sudo()
        vals_list = [
            {
                "company_id": company.id,
                "user_id": self.env.uid,
                "date": now,
                "setting": fname,
                "old_value": company._kam_setting_display(fname, old),
                "new_value": company._kam_setting_display(fname, after[company.id][fname]),
            }
            for company in companies
            for fname, old in before[company.id].items()
            if old != after[company.id][fname]
        ]
        if vals_list:
            self.env["kam.settings.log"].sudo().create(vals_list)

    def _kam_setting_display(self, fname, value):
        """A setting's value as the settings screens show it, in the user's language."""
        self.ensure_one()
        field = self._fields[fname]
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value, value or "")
        if field.type == "boolean":
            return _("Yes") if value else _("No")
        if field.type == "monetary":
            return format_amount(self.env, value, self.currency_id)
        if field.type == "float":
            return formatLang(self.env, value)
        if field.type == "many2one":
            return value.display_name or ""
        return str(value)

    # ------------------------------------------------------------------
    # Customer surveys
    # ------------------------------------------------------------------
    # Which survey asks the key accounts, and when non-respondents are reminded; how often each
    # tier is asked is the survey cadence of its service level (kam.service.level).
    kam_survey_id = fields.Many2one(
        "survey.survey",
        string="Key account survey",
        default=lambda self: self.env.ref("kam_management.survey_key_account_relationship", raise_if_not_found=False),
        help="The survey sent to the contacts of the accounts; its recommendation question makes the NPS.",
    )
    kam_survey_reminder_days = fields.Integer(
        string="Remind non-respondents after (days)",
        default=7,
        help="Contacts who have not answered get one reminder this many days after the invitation; 0: never.",
    )

    @api.constrains("kam_survey_id")
    def _check_kam_survey_id(self):
        self.kam_survey_id._kam_check_usable()

    @api.constrains("kam_survey_reminder_days")
    def _check_kam_survey_reminder_days(self):
        for company in self:
            if not 0 <= company.kam_survey_reminder_days <= 90:
                raise ValidationError(
                    _(
                        "The survey reminder of %(company)s must be from 0 (never) to 90 days after the invitation.",
                        company=company.name,
                    )
                )

    @api.model
    def _kam_set_default_survey(self):
        """Give the shipped survey to the companies that have none (on install)."""
        survey = self.env.ref("kam_management.survey_key_account_relationship", raise_if_not_found=False)
        if survey:
            self.sudo().with_context(active_test=False).search([("kam_survey_id", "=", False)]).kam_survey_id = survey
