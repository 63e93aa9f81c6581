import math

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import health_rules
from ..tools.health_rules import DEFAULT_WEIGHTS, SIGNAL_NAMES

# The company field holding the weight of each health signal.
WEIGHT_FIELDS = {name: f"kam_health_weight_{name}" for name in SIGNAL_NAMES}


class ResCompany(models.Model):
    """Settings of the daily KPI snapshots, the health score and its alerts."""

    _inherit = "res.company"

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
    kam_contact_interval_a = fields.Integer(
        string="Contact key accounts every (days)",
        default=30,
        help="A tier A account not contacted for longer gets a to-do for its KAM.",
    )
    kam_contact_interval_b = fields.Integer(
        string="Contact tier B accounts every (days)",
        default=90,
        help="A followed tier B account not contacted for longer gets a to-do for its KAM.",
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

    @api.constrains("kam_contact_interval_a", "kam_contact_interval_b")
    def _check_kam_contact_intervals(self):
        for company in self:
            if company.kam_contact_interval_a < 1 or company.kam_contact_interval_b < 1:
                raise ValidationError(
                    _(
                        "The contact intervals of %(company)s must be at least 1 day.",
                        company=company.name,
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
