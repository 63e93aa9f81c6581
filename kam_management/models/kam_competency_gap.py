from odoo import api, fields, models
from odoo.tools import SQL

from ..const import TIERS
from .kam_classification import kam_team_sql
from .kam_competency import COMPETENCY_CATEGORIES

# One row per (competency, KAM); a competency belongs to one company.
_ID_SHIFT = 2**31


class KamCompetencyGap(models.Model):
    """Key Account Manager × competency: the current level against the expected one.

    The expected level is the competency's level for the highest tier among the accounts
    the KAM manages in the competency's company; a KAM without classified accounts is held
    to the tier A level, the accounts the role exists for. A competency never assessed has
    no current level and its whole expected level as gap. Rows exist for the team (active
    internal KAMs who are not directors) and for anyone else who has been assessed.
    """

    _name = "kam.competency.gap"
    _description = "Key Account Manager competency gap"
    _auto = False
    _order = "gap desc, user_id, sequence, competency_id"
    _rec_name = "competency_id"
    _depends = {
        "kam.competency": [
            "company_id",
            "sequence",
            "category",
            "active",
            "expected_level_a",
            "expected_level_b",
            "expected_level_c",
        ],
        "kam.competency.assessment": ["user_id", "competency_id", "level", "date", "is_current"],
        "kam.classification": ["company_id", "manager_id", "tier"],
        "res.users": ["active", "share", "groups_id", "company_ids"],
    }

    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    competency_id = fields.Many2one("kam.competency", readonly=True)
    category = fields.Selection(COMPETENCY_CATEGORIES, readonly=True)
    sequence = fields.Integer(readonly=True)
    tier = fields.Selection(
        TIERS,
        string="Highest tier handled",
        readonly=True,
        help="The highest tier among the accounts the KAM handles; the expected level is the one of this tier.",
    )
    expected_level = fields.Integer(readonly=True, aggregator="avg", string="Expected level")
    current_level = fields.Integer(
        readonly=True, aggregator="avg", help="Empty when never assessed.", string="Current level"
    )
    # A group shows its largest gap: a sum would let a level above expectation in one competency
    # hide a need in another.
    gap = fields.Integer(
        readonly=True,
        aggregator="max",
        help="Expected level minus current level; above 0 is a training need. A group shows its largest gap.",
    )
    is_assessed = fields.Boolean(string="Assessed", readonly=True)
    assessment_id = fields.Many2one("kam.competency.assessment", string="Current assessment", readonly=True)
    assessment_date = fields.Date(string="Assessed on", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            WITH team AS (
                %(team)s
                 UNION
                SELECT a.company_id, a.user_id
                  FROM kam_competency_assessment a
                  JOIN res_users u ON u.id = a.user_id AND u.active
            ),
            handled AS (
                SELECT company_id, manager_id AS user_id, MIN(tier) AS tier
                  FROM kam_classification
                 WHERE manager_id IS NOT NULL AND tier IS NOT NULL
                 GROUP BY company_id, manager_id
            ),
            rows AS (
                SELECT t.company_id, t.user_id, c.id AS competency_id, c.category, c.sequence,
                       COALESCE(h.tier, 'a') AS tier,
                       CASE COALESCE(h.tier, 'a') WHEN 'a' THEN c.expected_level_a
                                                  WHEN 'b' THEN c.expected_level_b
                                                  ELSE c.expected_level_c END AS expected_level,
                       a.level AS current_level, a.id AS assessment_id, a.date AS assessment_date
                  FROM team t
                  JOIN kam_competency c ON c.company_id = t.company_id AND c.active
                  LEFT JOIN handled h ON h.company_id = t.company_id AND h.user_id = t.user_id
                  LEFT JOIN kam_competency_assessment a
                         ON a.user_id = t.user_id AND a.competency_id = c.id AND a.is_current
            )
            SELECT competency_id::bigint * %(shift)s + user_id AS id,
                   company_id, user_id, competency_id, category, sequence, tier,
                   expected_level, current_level,
                   expected_level - COALESCE(current_level, 0) AS gap,
                   current_level IS NOT NULL AS is_assessed,
                   assessment_id, assessment_date
              FROM rows
            """,
            team=kam_team_sql(self.env),
            shift=_ID_SHIFT,
        )

    @api.depends("user_id", "competency_id")
    def _compute_display_name(self):
        for row in self:
            row.display_name = f"{row.user_id.name} – {row.competency_id.name}"

    def action_assess(self):
        """Open a new assessment of this KAM in this competency (directors)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "kam.competency.assessment",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_user_id": self.user_id.id,
                "default_competency_id": self.competency_id.id,
                "default_level": self.current_level or 1,
            },
        }
