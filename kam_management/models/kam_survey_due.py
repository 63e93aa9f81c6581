from odoo import api, fields, models
from odoo.tools import SQL

from ..const import TIERS


class KamSurveyDue(models.Model):
    """The contacts of key accounts that the survey cadence invites next.

    A contact is due when the survey cadence of its account's tier in the company (the tier's
    ``kam.service.level``) is not "never", the company has a survey, and the contact has not
    been invited for that company within the cadence. The contacts of an account are the
    stakeholders of its plans in the company with an email; an account without any has its own
    contacts with an email. The daily job
    invites exactly these rows (``_kam_due_sql``), so this list is what it will do.
    """

    _name = "kam.survey.due"
    _description = "Key account contact due for a survey"
    _auto = False
    _order = "company_id, account_id, contact_id"
    _rec_name = "contact_id"

    company_id = fields.Many2one("res.company", readonly=True)
    survey_id = fields.Many2one("survey.survey", readonly=True)
    account_id = fields.Many2one("res.partner", string="Key account", readonly=True)
    contact_id = fields.Many2one("res.partner", readonly=True)
    tier = fields.Selection(TIERS, readonly=True)
    manager_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    cadence_months = fields.Integer(string="Every (months)", readonly=True)
    last_invited_on = fields.Date(string="Last invited", readonly=True)

    @property
    def _table_query(self):
        # The list reads what the cadence settings and invitations are now, written or not.
        self._kam_flush_due_sources()
        return SQL(
            "SELECT ROW_NUMBER() OVER (ORDER BY d.company_id, d.contact_id) AS id, d.* FROM (%s) d",
            self._kam_due_sql(fields.Date.context_today(self), detail=True),
        )

    @api.model
    def _kam_flush_due_sources(self):
        self.env["kam.classification"].flush_model(["company_id", "partner_id", "tier", "manager_id"])
        self.env["res.company"].flush_model(["kam_survey_id"])
        self.env["kam.service.level"].flush_model(["company_id", "tier", "survey_months"])
        self.env["kam.account.plan.stakeholder"].flush_model(["plan_id", "partner_id", "company_id"])
        self.env["kam.account.plan"].flush_model(["partner_id", "company_id", "state"])
        self.env["res.partner"].flush_model(["active", "email", "commercial_partner_id", "type"])
        self.env["survey.user_input"].flush_model(["kam_company_id", "partner_id", "create_date"])
        self.env["survey.survey"].flush_model(["active", "kam_recommendation_question_id"])

    @api.model
    def _kam_due_sql(self, today, detail=False, limit=None):
        """``(company_id, survey_id, contact_id)`` of every contact due on ``today``, in one statement
        for every company and account (plus account, tier, manager, cadence and last invitation
        when ``detail``). With ``limit``, the first ``limit`` of them, each row with the number
        of contacts due in all (``due_count``)."""
        columns = SQL("d.company_id, d.survey_id, d.contact_id")
        if limit is not None:
            columns = SQL("%s, COUNT(*) OVER () AS due_count", columns)
        if detail:
            columns = SQL(
                "%s, d.account_id, d.tier, d.manager_id, d.cadence_months, d.last_invited_on::date AS last_invited_on",
                columns,
            )
        return SQL(
            """
            WITH accounts AS MATERIALIZED (
                SELECT k.company_id, k.partner_id AS account_id, k.tier, k.manager_id, c.kam_survey_id AS survey_id,
                       r.survey_months AS cadence_months
                  FROM kam_classification k
                  JOIN res_company c ON c.id = k.company_id
                  JOIN (%(tier_rules)s) r ON r.company_id = k.company_id AND r.tier = k.tier
                  JOIN survey_survey s ON s.id = c.kam_survey_id
                 WHERE k.tier IS NOT NULL AND s.active AND s.kam_recommendation_question_id IS NOT NULL
            ),
            stakeholders AS (
                SELECT DISTINCT a.company_id, a.account_id, st.partner_id AS contact_id
                  FROM accounts a
                  JOIN kam_account_plan pl ON pl.partner_id = a.account_id AND pl.company_id = a.company_id
                                          AND pl.state != 'cancelled'
                  JOIN kam_account_plan_stakeholder st ON st.plan_id = pl.id
                  JOIN res_partner p ON p.id = st.partner_id
                 WHERE a.cadence_months > 0 AND p.active AND COALESCE(p.email, '') != ''
            ),
            contacts AS (
                SELECT company_id, account_id, contact_id FROM stakeholders
                UNION ALL
                SELECT a.company_id, a.account_id, p.id
                  FROM accounts a
                  JOIN res_partner p ON p.commercial_partner_id = a.account_id AND p.id != a.account_id
                 WHERE a.cadence_months > 0 AND p.active AND COALESCE(p.email, '') != '' AND p.type = 'contact'
                   AND NOT EXISTS (SELECT 1 FROM stakeholders st
                                    WHERE st.company_id = a.company_id AND st.account_id = a.account_id)
            ),
            d AS (
                SELECT a.company_id, a.survey_id, ct.contact_id, a.account_id, a.tier, a.manager_id,
                       a.cadence_months, last.invited AS last_invited_on
                  FROM contacts ct
                  JOIN accounts a ON a.company_id = ct.company_id AND a.account_id = ct.account_id
                  LEFT JOIN LATERAL (
                      SELECT MAX(ui.create_date) AS invited FROM survey_user_input ui
                       WHERE ui.partner_id = ct.contact_id AND ui.kam_company_id = ct.company_id
                  ) last ON true
                 WHERE last.invited IS NULL
                    OR last.invited::date <= (%(today)s::date - make_interval(months => a.cadence_months))::date
            )
            SELECT %(columns)s FROM d ORDER BY d.company_id, d.contact_id %(limit)s
            """,
            today=today,
            columns=columns,
            limit=SQL("LIMIT %s", limit) if limit is not None else SQL(),
            tier_rules=self.env["kam.service.level"]._tier_rules_sql(),
        )
