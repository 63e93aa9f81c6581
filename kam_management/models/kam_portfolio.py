from odoo import _, api, fields, models
from odoo.tools import SQL

from .kam_classification import kam_team_sql

# Portfolio rows are keyed by (company, KAM); the id packs both so that it stays the same
# from one read to the next (a row number would shift when a KAM joins the team).
_ID_SHIFT = 2**31


class KamPortfolio(models.Model):
    """Per company and Key Account Manager: the accounts they carry and what they cost.

    Read-only, computed on the fly from the classification rows (tiers, revenue, cost to
    serve, visits and hours in the window). One row per member of the team, even without
    accounts (they have the most room), one per other user who still manages accounts,
    and one row without a manager for the classified accounts nobody manages.
    """

    _name = "kam.portfolio"
    _description = "Key Account Manager portfolio"
    _auto = False
    _order = "company_id, is_unassigned desc, key_account_count desc, revenue desc, id"
    _rec_name = "user_id"
    _depends = {
        "kam.classification": [
            "company_id",
            "manager_id",
            "tier",
            "revenue",
            "cost_to_serve",
            "visit_count",
            "visit_hours",
        ],
        "res.company": ["kam_max_key_accounts"],
        "res.users": ["active", "share", "groups_id", "company_ids"],
        "survey.user_input": ["kam_company_id", "kam_loop_user_id", "kam_loop_state", "kam_loop_days", "end_datetime"],
    }

    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    is_unassigned = fields.Boolean(string="Without KAM", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    key_account_count = fields.Integer(string="Key accounts", readonly=True, aggregator="sum")
    tier_b_count = fields.Integer(string="Tier B", readonly=True, aggregator="sum")
    tier_c_count = fields.Integer(string="Tier C", readonly=True, aggregator="sum")
    account_count = fields.Integer(string="Accounts", readonly=True, aggregator="sum")
    revenue = fields.Monetary(
        string="Revenue under management",
        currency_field="currency_id",
        readonly=True,
        aggregator="sum",
        help="Revenue of the accounts in the company's window, as of the last reclassification.",
    )
    cost_to_serve = fields.Monetary(
        string="Cost to serve", currency_field="currency_id", readonly=True, aggregator="sum"
    )
    visit_count = fields.Integer(string="Visits", readonly=True, aggregator="sum")
    visit_hours = fields.Float(string="Hours", readonly=True, aggregator="sum")
    max_key_accounts = fields.Integer(string="Maximum key accounts", readonly=True, aggregator="max")
    load = fields.Float(
        string="Load (%)",
        readonly=True,
        aggregator="avg",
        help="Key accounts as a share of the maximum per Key Account Manager.",
    )
    is_overloaded = fields.Boolean(string="Overloaded", readonly=True)
    # Customer surveys: how the KAM closes the loop with detractors and passives (12 months).
    survey_loop_count = fields.Integer(
        string="Survey follow-ups",
        readonly=True,
        aggregator="sum",
        help="Detractor and passive answers of the last 12 months.",
    )
    survey_closed_loop_rate = fields.Float(
        string="Closed-loop rate (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the survey follow-ups of the last 12 months whose loop the KAM has closed.",
    )
    survey_time_to_close = fields.Float(
        string="Time to close (days)",
        readonly=True,
        aggregator="avg",
        help="Average days from a detractor's or passive's answer to the closing of its follow-up.",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            WITH team AS (
                %(team)s
            ),
            accounts AS (
                SELECT company_id, manager_id AS user_id,
                       COUNT(*) FILTER (WHERE tier = 'a') AS key_account_count,
                       COUNT(*) FILTER (WHERE tier = 'b') AS tier_b_count,
                       COUNT(*) FILTER (WHERE tier = 'c') AS tier_c_count,
                       COUNT(*) AS account_count,
                       COALESCE(SUM(revenue), 0) AS revenue,
                       COALESCE(SUM(cost_to_serve), 0) AS cost_to_serve,
                       COALESCE(SUM(visit_count), 0) AS visit_count,
                       COALESCE(SUM(visit_hours), 0) AS visit_hours
                  FROM kam_classification
                 WHERE manager_id IS NOT NULL OR tier IS NOT NULL
                 GROUP BY company_id, manager_id
            ),
            loops AS (
                SELECT kam_company_id AS company_id, kam_loop_user_id AS user_id,
                       COUNT(*) AS loop_count,
                       COUNT(*) FILTER (WHERE kam_loop_state = 'closed') AS closed_count,
                       AVG(kam_loop_days) FILTER (WHERE kam_loop_state = 'closed') AS days
                  FROM survey_user_input
                 WHERE kam_loop_user_id IS NOT NULL AND kam_loop_state IS NOT NULL
                   AND end_datetime >= (now() AT TIME ZONE 'UTC') - interval '12 months'
                 GROUP BY 1, 2
            ),
            rows AS (
                SELECT COALESCE(a.company_id, t.company_id) AS company_id,
                       COALESCE(a.user_id, t.user_id) AS user_id,
                       COALESCE(a.key_account_count, 0) AS key_account_count,
                       COALESCE(a.tier_b_count, 0) AS tier_b_count,
                       COALESCE(a.tier_c_count, 0) AS tier_c_count,
                       COALESCE(a.account_count, 0) AS account_count,
                       COALESCE(a.revenue, 0) AS revenue,
                       COALESCE(a.cost_to_serve, 0) AS cost_to_serve,
                       COALESCE(a.visit_count, 0) AS visit_count,
                       COALESCE(a.visit_hours, 0) AS visit_hours
                  FROM accounts a
                  FULL OUTER JOIN team t ON t.company_id = a.company_id AND t.user_id = a.user_id
            )
            SELECT r.company_id::bigint * %(shift)s + COALESCE(r.user_id, 0) AS id,
                   r.company_id, r.user_id, r.user_id IS NULL AS is_unassigned,
                   r.key_account_count, r.tier_b_count, r.tier_c_count, r.account_count,
                   r.revenue, r.cost_to_serve, r.visit_count, r.visit_hours::float8 AS visit_hours,
                   -- The accounts without a KAM have no maximum and no load: nobody carries them.
                   CASE WHEN r.user_id IS NOT NULL THEN c.kam_max_key_accounts END AS max_key_accounts,
                   CASE WHEN r.user_id IS NULL THEN NULL
                        WHEN COALESCE(c.kam_max_key_accounts, 0) < 1 THEN 0
                        ELSE r.key_account_count * 100.0 / c.kam_max_key_accounts END::float8 AS load,
                   r.user_id IS NOT NULL AND r.key_account_count > c.kam_max_key_accounts AS is_overloaded,
                   COALESCE(lp.loop_count, 0)::int AS survey_loop_count,
                   (lp.closed_count * 100.0 / NULLIF(lp.loop_count, 0))::float8 AS survey_closed_loop_rate,
                   lp.days::float8 AS survey_time_to_close
              FROM rows r
              JOIN res_company c ON c.id = r.company_id
              LEFT JOIN loops lp ON lp.company_id = r.company_id AND lp.user_id = r.user_id
            """,
            team=kam_team_sql(self.env),
            shift=_ID_SHIFT,
        )

    @api.depends("user_id", "is_unassigned")
    def _compute_display_name(self):
        for row in self:
            row.display_name = row.user_id.name if row.user_id else _("Without KAM")

    def _classification_domain(self):
        self.ensure_one()
        domain = [("company_id", "=", self.company_id.id)]
        if self.user_id:
            return [*domain, ("manager_id", "=", self.user_id.id)]
        return [*domain, ("manager_id", "=", False), ("tier", "!=", False)]

    def action_open_accounts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("kam_management.kam_classification_action")
        action.update(
            name=_("Accounts of %(manager)s", manager=self.display_name),
            domain=self._classification_domain(),
            context={"search_default_classified": 0},
        )
        return action

    def action_reassign(self):
        self.ensure_one()
        Wizard = self.env["kam.reassign.wizard"]
        if self.user_id:
            return Wizard.action_open(source_manager=self.user_id, company=self.company_id)
        accounts = self.env["kam.classification"].search(self._classification_domain())
        return Wizard.action_open(partners=accounts.partner_id, company=self.company_id)
