"""Competency categories became areas that gather several competencies.

Up to 18.0.1.0.0 each shipped competency had a category of its own, named like it, so the
category column of the matrix and of the training needs repeated the competency. The old
values are mapped to the area they belong to, on the competencies and on the category kept
on their assessments; a value the addon never shipped becomes "other".
"""

from odoo.tools import SQL

OLD_TO_NEW = {
    "negotiation": "commercial",
    "product_market": "commercial",
    "strategic_planning": "strategy",
    "financial_acumen": "strategy",
    "relationship": "relationship",
    "crm_data": "execution",
}
CATEGORIES = ("commercial", "strategy", "relationship", "execution", "other")


def migrate(cr, version):
    if not version:
        return
    for table in ("kam_competency", "kam_competency_assessment"):
        cr.execute(
            SQL(
                """
                UPDATE %(table)s t
                   SET category = COALESCE(m.new, 'other')
                  FROM %(table)s o
                  LEFT JOIN (SELECT * FROM unnest(%(old)s::varchar[], %(new)s::varchar[]) AS m(old, new)) m
                         ON m.old = o.category
                 WHERE t.id = o.id
                   AND t.category IS NOT NULL
                   AND t.category != ALL(%(categories)s::varchar[])
                """,
                table=SQL.identifier(table),
                old=list(OLD_TO_NEW),
                new=list(OLD_TO_NEW.values()),
                categories=list(CATEGORIES),
            )
        )
