from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

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
