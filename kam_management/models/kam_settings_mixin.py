from odoo import fields, models

from ..const import KAM_GROUP


class KamSettingsMixin(models.AbstractModel):
    """The key-account settings of a company, declared once for both screens that edit them.

    Odoo's Settings page (``res.config.settings``) and the directors' screen (``kam.settings``)
    inherit these fields, related to the company's. ``res.company._kam_setting_fields`` reads
    the list from the Settings page, so a setting added here is also logged and writable by
    directors. What a tier gets (contact interval, survey cadence...) is no company setting:
    it lives on the tier's service level (``kam.service.level``).
    """

    _name = "kam.settings.mixin"
    _description = "Key-account settings of a company"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(related="company_id.currency_id")

    # ------------------------------------------------------------------
    # 80/20 classification
    # ------------------------------------------------------------------
    kam_threshold_a = fields.Float(related="company_id.kam_threshold_a", readonly=False)
    kam_threshold_b = fields.Float(related="company_id.kam_threshold_b", readonly=False)
    kam_window_months = fields.Integer(related="company_id.kam_window_months", readonly=False)
    kam_demotion_grace = fields.Integer(related="company_id.kam_demotion_grace", readonly=False)
    kam_revenue_source = fields.Selection(related="company_id.kam_revenue_source", readonly=False)

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    kam_hourly_cost = fields.Monetary(related="company_id.kam_hourly_cost", readonly=False, groups=KAM_GROUP)
    kam_km_cost = fields.Monetary(related="company_id.kam_km_cost", readonly=False, groups=KAM_GROUP)
    kam_value_line = fields.Float(related="company_id.kam_value_line", readonly=False)
    kam_effort_line = fields.Float(related="company_id.kam_effort_line", readonly=False)
    kam_rank_gap = fields.Float(related="company_id.kam_rank_gap", readonly=False)

    # ------------------------------------------------------------------
    # KPI snapshots, health score and alerts
    # ------------------------------------------------------------------
    kam_kpi_include_b = fields.Boolean(related="company_id.kam_kpi_include_b", readonly=False)
    kam_kpi_retention_days = fields.Integer(related="company_id.kam_kpi_retention_days", readonly=False)
    kam_health_weight_revenue_trend = fields.Float(related="company_id.kam_health_weight_revenue_trend", readonly=False)
    kam_health_weight_margin_trend = fields.Float(related="company_id.kam_health_weight_margin_trend", readonly=False)
    kam_health_weight_contact = fields.Float(related="company_id.kam_health_weight_contact", readonly=False)
    kam_health_weight_pipeline_cover = fields.Float(
        related="company_id.kam_health_weight_pipeline_cover", readonly=False
    )
    kam_health_weight_overdue = fields.Float(related="company_id.kam_health_weight_overdue", readonly=False)
    kam_health_weight_satisfaction = fields.Float(related="company_id.kam_health_weight_satisfaction", readonly=False)
    kam_health_weight_plan_progress = fields.Float(related="company_id.kam_health_weight_plan_progress", readonly=False)
    kam_health_healthy_from = fields.Float(related="company_id.kam_health_healthy_from", readonly=False)
    kam_health_risk_below = fields.Float(related="company_id.kam_health_risk_below", readonly=False)
    kam_health_drop_points = fields.Integer(related="company_id.kam_health_drop_points", readonly=False)

    # ------------------------------------------------------------------
    # KAM team
    # ------------------------------------------------------------------
    kam_max_key_accounts = fields.Integer(related="company_id.kam_max_key_accounts", readonly=False)
    kam_assignment_strategy = fields.Selection(related="company_id.kam_assignment_strategy", readonly=False)

    # ------------------------------------------------------------------
    # Customer surveys
    # ------------------------------------------------------------------
    kam_survey_id = fields.Many2one(related="company_id.kam_survey_id", readonly=False)
    kam_survey_reminder_days = fields.Integer(related="company_id.kam_survey_reminder_days", readonly=False)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_kam_preview_reclassification(self):
        self.ensure_one()
        return self.env["kam.reclassify.wizard"].action_open_for_company(self.company_id)

    def action_kam_open_cost_rates(self):
        self.ensure_one()
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_cost_rate_action")

    def action_kam_open_service_levels(self):
        """Per-tier rules (contact interval, survey cadence) are set on the service levels."""
        self.ensure_one()
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_service_level_action")
