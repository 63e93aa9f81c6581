from markupsafe import Markup

from odoo import _, models


class KamClassificationRun(models.Model):
    _inherit = "kam.classification.run"

    def _ask_directors_to_assign(self, partner_ids):
        """Next to the to-do, say whom the team would suggest for each new key account."""
        res = super()._ask_directors_to_assign(partner_ids)
        Classification = self.env["kam.classification"]
        suggestions = Classification._suggest_managers(self.company_id)
        if not suggestions:
            return res
        rows = Classification.sudo().browse(list(suggestions)).filtered(lambda r: r.partner_id.id in partner_ids)
        if not rows:
            return res
        items = Markup().join(
            Markup("<li>%s → %s</li>") % (row.partner_id.display_name, suggestions[row.id].name) for row in rows[:200]
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul><p>%s</p>")
            % (
                _("Suggested Key Account Managers, by the room each has under the maximum:"),
                items,
                _("Assign them from Key Accounts › Team › Key accounts without KAM."),
            ),
            subtype_xmlid="mail.mt_note",
        )
        return res
