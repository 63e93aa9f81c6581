from odoo import api, fields, models

from ..const import KAM_GROUP


class KamSettings(models.TransientModel):
    """Key-account settings of the current company, for Key Account Directors.

    Odoo's Settings page needs Administration rights; directors configure the key accounts
    here instead. The fields are those of the Settings page, related to the company; saving
    hands them to ``res.company._kam_write_settings``, which checks the user, the company and
    the fields, and lets the company's constraints validate the values.
    """

    _name = "kam.settings"
    _description = "Key account settings"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company, ondelete="cascade"
    )
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

    @api.model_create_multi
    def create(self, vals_list):
        # The settings go to the company through its checked path, never through the related
        # fields' inverse, which would write the company as the user.
        settings = [self._pop_settings(vals) for vals in vals_list]
        records = super().create(vals_list)
        for record, values in zip(records, settings, strict=True):
            record.company_id._kam_write_settings(values)
        return records

    def write(self, vals):
        vals = dict(vals)
        settings = self._pop_settings(vals)
        result = super().write(vals) if vals else True
        if settings:
            self.company_id._kam_write_settings(settings)
        return result

    @api.model
    def _pop_settings(self, vals):
        setting_fields = self.env["res.company"]._kam_setting_fields()
        return {fname: vals.pop(fname) for fname in list(vals) if fname in setting_fields}

    def execute(self):
        """Called by the settings screen once it has saved the record, which wrote the company.

        Nothing else to do (no module to install, no menu that changes, unlike Odoo's Settings
        page, which reloads the web client): the screen then shows the values read again."""
        self.ensure_one()
        return True

    def cancel(self):
        """Discarded: open the screen again with the saved values."""
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_settings_action")

    def action_kam_preview_reclassification(self):
        self.ensure_one()
        return self.env["kam.reclassify.wizard"].action_open_for_company(self.company_id)

    def action_kam_open_cost_rates(self):
        self.ensure_one()
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_cost_rate_action")
