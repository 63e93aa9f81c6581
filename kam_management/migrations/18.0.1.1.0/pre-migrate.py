"""Before the views are loaded: set aside the settings views that still show the company
fields moved to the service levels. Loading their parent view checks it together with its
active extensions, whose old arch names fields that no longer exist; the post-migration
script puts them back once their new arch is loaded."""

from odoo.tools import SQL

# The extensions whose old arch shows the contact intervals or survey cadences per tier.
STALE_VIEWS = (
    "res_config_settings_view_form_kam_kpi",
    "res_config_settings_view_form_kam_survey",
    "kam_settings_view_form_survey",
)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
            UPDATE ir_ui_view v
               SET active = false
              FROM ir_model_data d
             WHERE d.module = 'kam_management' AND d.model = 'ir.ui.view' AND d.name = ANY(%s)
               AND v.id = d.res_id
            """,
            list(STALE_VIEWS),
        )
    )
