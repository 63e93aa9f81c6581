from odoo import fields, models

from ..const import KAM_GROUP


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # ------------------------------------------------------------------
    # 80/20 classification
    # ------------------------------------------------------------------
    kam_threshold_a = fields.Float(related="company_id.kam_threshold_a", readonly=False)
    kam_threshold_b = fields.Float(related="company_id.kam_threshold_b", readonly=False)
    kam_window_months = fields.Integer(related="company_id.kam_window_months", readonly=False)
    kam_demotion_grace = fields.Integer(related="company_id.kam_demotion_grace", readonly=False)
    kam_revenue_source = fields.Selection(related="company_id.kam_revenue_source", readonly=False)

    def action_kam_preview_reclassification(self):
        self.ensure_one()
        return self.env["kam.reclassify.wizard"].action_open_for_company(self.company_id)

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    kam_hourly_cost = fields.Monetary(related="company_id.kam_hourly_cost", readonly=False, groups=KAM_GROUP)
    kam_km_cost = fields.Monetary(related="company_id.kam_km_cost", readonly=False, groups=KAM_GROUP)
    kam_value_line = fields.Float(related="company_id.kam_value_line", readonly=False)
    kam_effort_line = fields.Float(related="company_id.kam_effort_line", readonly=False)
    kam_rank_gap = fields.Float(related="company_id.kam_rank_gap", readonly=False)

    def action_kam_open_cost_rates(self):
        self.ensure_one()
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_cost_rate_action")

    # ------------------------------------------------------------------
    # KPI snapshots, health score and alerts
    # ------------------------------------------------------------------
    kam_kpi_include_b = fields.Boolean(related="company_id.kam_kpi_include_b", readonly=False)
    kam_kpi_retention_days = fields.Integer(related="company_id.kam_kpi_retention_days", readonly=False)
    kam_contact_interval_a = fields.Integer(related="company_id.kam_contact_interval_a", readonly=False)
    kam_contact_interval_b = fields.Integer(related="company_id.kam_contact_interval_b", readonly=False)
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
    kam_survey_months_a = fields.Integer(related="company_id.kam_survey_months_a", readonly=False)
    kam_survey_months_b = fields.Integer(related="company_id.kam_survey_months_b", readonly=False)
    kam_survey_months_c = fields.Integer(related="company_id.kam_survey_months_c", readonly=False)
    kam_survey_reminder_days = fields.Integer(related="company_id.kam_survey_reminder_days", readonly=False)
