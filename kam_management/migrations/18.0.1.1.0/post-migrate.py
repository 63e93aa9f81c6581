"""The contact intervals and survey cadences per tier moved from the company to the service
levels: copy each company's values onto its A, B and C levels (creating the missing ones),
then drop the company's columns, which Odoo leaves behind; and put back the settings views
that the pre-migration script set aside, now that their new arch is loaded."""

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

# The views pre-migrate.py set aside.
STALE_VIEWS = (
    "res_config_settings_view_form_kam_kpi",
    "res_config_settings_view_form_kam_survey",
    "kam_settings_view_form_survey",
)
# Column of res_company -> (tier, field of kam.service.level).
MOVED = {
    "kam_contact_interval_a": ("a", "contact_interval"),
    "kam_contact_interval_b": ("b", "contact_interval"),
    "kam_survey_months_a": ("a", "survey_months"),
    "kam_survey_months_b": ("b", "survey_months"),
    "kam_survey_months_c": ("c", "survey_months"),
}


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for name in STALE_VIEWS:
        view = env.ref(f"kam_management.{name}", raise_if_not_found=False)
        if view and not view.active:
            view.active = True
    columns = [column for column in MOVED if column_exists(cr, "res_company", column)]
    if not columns:
        return
    cr.execute(
        SQL(
            "SELECT id, %s FROM res_company ORDER BY id",
            SQL(", ").join(SQL.identifier(column) for column in columns),
        )
    )
    rules = {}
    for company_id, *values in cr.fetchall():
        by_tier = rules.setdefault(company_id, {})
        for column, value in zip(columns, values, strict=True):
            if value is not None:
                tier, field = MOVED[column]
                by_tier.setdefault(tier, {})[field] = value
    env["kam.service.level"]._adopt_tier_rules(rules)
    env.flush_all()
    for column in columns:
        cr.execute(SQL("ALTER TABLE res_company DROP COLUMN %s", SQL.identifier(column)))
