from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# The areas a competency belongs to: each gathers several competencies, so that training needs
# can be planned by area (a course on commercial skills serves negotiation and market knowledge).
COMPETENCY_CATEGORIES = [
    ("commercial", "Commercial skills"),
    ("strategy", "Strategy and business acumen"),
    ("relationship", "Relationship management"),
    ("execution", "Tools and execution"),
    ("other", "Other"),
]
LEVEL_MIN, LEVEL_MAX = 1, 5


class KamCompetency(models.Model):
    """One competency of the company's framework, with the level expected of a Key Account
    Manager by the highest tier of the accounts they handle."""

    _name = "kam.competency"
    _description = "Key Account Manager competency"
    _order = "company_id, sequence, id"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, ondelete="cascade"
    )
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)
    category = fields.Selection(
        COMPETENCY_CATEGORIES,
        required=True,
        default="other",
        index=True,
        help="The area the competency belongs to; training needs can be grouped and planned by area.",
    )
    expected_level_a = fields.Integer(
        string="Expected level, tier A", default=4, help="Level expected of a KAM handling key accounts (1 to 5)."
    )
    expected_level_b = fields.Integer(
        string="Expected level, tier B", default=3, help="Level expected of a KAM whose best accounts are B (1 to 5)."
    )
    expected_level_c = fields.Integer(
        string="Expected level, tier C", default=2, help="Level expected of a KAM handling only C accounts (1 to 5)."
    )
    active = fields.Boolean(default=True)
    assessment_ids = fields.One2many("kam.competency.assessment", "competency_id", string="Assessments")

    @api.constrains("expected_level_a", "expected_level_b", "expected_level_c")
    def _check_expected_levels(self):
        for competency in self:
            levels = (competency.expected_level_a, competency.expected_level_b, competency.expected_level_c)
            if any(not LEVEL_MIN <= level <= LEVEL_MAX for level in levels):
                raise ValidationError(
                    _(
                        "The expected levels of “%(competency)s” must lie between %(min)s and %(max)s.",
                        competency=competency.name,
                        min=LEVEL_MIN,
                        max=LEVEL_MAX,
                    )
                )

    @api.model
    def _default_framework(self):
        """The competencies shipped with the addon (data/kam_competency_data.xml)."""
        data = (
            self.env["ir.model.data"]
            .sudo()
            .search_fetch([("module", "=", "kam_management"), ("model", "=", self._name)], ["res_id"])
        )
        return self.browse(data.mapped("res_id")).exists()

    @api.model
    def _create_default_framework(self, companies):
        """Give each company that has no competency yet a copy of the shipped framework.

        The copies carry the translations and the levels of the shipped records as they stand,
        so a group that tuned its framework in the main company starts new companies from it.
        """
        template = self.with_context(active_test=False)._default_framework()
        if not template:
            return self
        has_framework = set(
            self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).mapped("company_id").ids
        )
        copies = self
        for company in companies:
            if company.id in has_framework or company in template.company_id:
                continue
            copies |= template.filtered("active").copy({"company_id": company.id})
        return copies

    @api.model
    def _create_default_framework_all(self):
        """At install: give every existing company the framework (the data file fills the main one)."""
        return self._create_default_framework(self.env["res.company"].search([]))
