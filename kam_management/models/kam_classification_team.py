from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

KAM_GROUP = "kam_management.group_kam_manager"
DIRECTOR_GROUP = "kam_management.group_kam_director"


def group_id(env, xmlid):
    """The id of a group, from the xml id cache: unlike ``env.ref`` it costs no query."""
    return env["ir.model.data"]._xmlid_to_res_id(xmlid)


def kam_team_sql(env):
    """``SELECT company_id, user_id``: the Key Account Managers of each company, active internal
    users of the manager group who are not directors (the portfolio and the competency gaps)."""
    return SQL(
        """
        SELECT cu.cid AS company_id, u.id AS user_id
          FROM res_users u
          JOIN res_company_users_rel cu ON cu.user_id = u.id
         WHERE u.active AND NOT u.share
           AND EXISTS (SELECT 1 FROM res_groups_users_rel g WHERE g.uid = u.id AND g.gid = %(kam)s)
           AND NOT EXISTS (SELECT 1 FROM res_groups_users_rel g WHERE g.uid = u.id AND g.gid = %(director)s)
        """,
        kam=group_id(env, KAM_GROUP),
        director=group_id(env, DIRECTOR_GROUP),
    )


class KamClassification(models.Model):
    """Who manages the account: assignment, reassignment, its history and the suggestion."""

    _inherit = "kam.classification"

    suggested_manager_id = fields.Many2one(
        "res.users",
        string="Suggested KAM",
        compute="_compute_suggested_manager_id",
        help="For a key account without a manager: the Key Account Manager with the most room, "
        "by the company's strategy, never past the maximum of key accounts per manager.",
    )
    manager_history_ids = fields.One2many("kam.manager.history", "classification_id", string="Manager history")

    @api.depends("tier", "manager_id", "company_id", "revenue")
    def _compute_suggested_manager_id(self):
        todo = self.filtered(lambda r: r.tier == "a" and not r.manager_id and r._origin.id)
        (self - todo).suggested_manager_id = False
        for company in todo.company_id:
            suggestions = self._suggest_managers(company)
            for rec in todo.filtered(lambda r, company=company: r.company_id == company):
                rec.suggested_manager_id = suggestions.get(rec._origin.id, False)

    @api.constrains("manager_id", "company_id")
    def _check_manager_is_kam(self):
        for company in self.company_id:
            rows = self.filtered(lambda r, company=company: r.company_id == company)
            self._check_kam_users(rows.manager_id, company)

    @api.onchange("manager_id")
    def _onchange_manager_id_maximum(self):
        """Warn, without blocking, when the new KAM goes past the maximum of key accounts."""
        if not self.manager_id or self.tier != "a" or self.manager_id == self._origin.manager_id:
            return None
        message = self._maximum_warning(self.manager_id, self.company_id, 1)
        if message:
            return {"warning": {"title": _("Over the maximum of key accounts"), "message": message}}
        return None

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        assigned = records.filtered("manager_id")
        if assigned:
            assigned._record_manager_history({})
        return records

    def write(self, vals):
        if "manager_id" not in vals:
            return super().write(vals)
        old_managers = {rec.id: rec.manager_id for rec in self}
        res = super().write(vals)
        changed = self.filtered(lambda r: r.manager_id != old_managers[r.id])
        if changed:
            changed._record_manager_history(old_managers)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_assign_suggested(self):
        """Give each selected key account its suggested manager; say which had none."""
        self.check_access("write")
        by_manager = defaultdict(lambda: self.browse())
        for row in self:
            if row.suggested_manager_id:
                by_manager[row.suggested_manager_id] |= row
        if not by_manager:
            raise UserError(
                _(
                    "There is nothing to suggest: the selected accounts already have a manager or are "
                    "not key accounts, or every Key Account Manager is at the maximum of key accounts. "
                    "Raise the maximum in the settings or assign a manager by hand."
                )
            )
        reason = _("Suggested: the Key Account Manager with the most room")
        for manager, rows in by_manager.items():
            rows._reassign_manager(manager, reason=reason)
        return True

    def action_open_reassign_wizard(self):
        return self.env["kam.reassign.wizard"].action_open(partners=self.partner_id)

    # ------------------------------------------------------------------
    # The team
    # ------------------------------------------------------------------
    @api.model
    def _kam_team(self, company):
        """The Key Account Managers of ``company`` who can take accounts: active internal
        members of the group who are not directors (directors lead the team; they can still
        be given accounts by hand)."""
        return (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("groups_id", "in", group_id(self.env, KAM_GROUP)),
                    ("groups_id", "not in", group_id(self.env, DIRECTOR_GROUP)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ],
                order="id",
            )
        )

    @api.model
    def _check_kam_users(self, users, company):
        """Raise unless every user of ``users`` may manage key accounts of ``company``."""
        if not users:
            return
        valid = (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("id", "in", users.ids),
                    ("groups_id", "in", group_id(self.env, KAM_GROUP)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ]
            )
        )
        invalid = users.sudo() - valid
        if invalid:
            raise ValidationError(
                _(
                    "%(users)s cannot manage the key accounts of %(company)s: a Key Account Manager "
                    "must be an active internal user of the Key Account Manager group with access to "
                    "the company. Choose another user, or add them to the group first.",
                    users=", ".join(invalid.mapped("name")),
                    company=company.name,
                )
            )

    @api.model
    def _manager_loads(self, company, users):
        """``{user_id: [key accounts, revenue under management]}`` in one query."""
        loads = {user.id: [0, 0.0] for user in users}
        groups = self.sudo()._read_group(
            [("company_id", "=", company.id), ("manager_id", "in", users.ids)],
            ["manager_id", "tier"],
            ["__count", "revenue:sum"],
        )
        for manager, tier, count, revenue in groups:
            load = loads[manager.id]
            if tier == "a":
                load[0] += count
            load[1] += revenue or 0.0
        return loads

    @api.model
    def _suggest_managers(self, company):
        """Suggest a manager for every key account of ``company`` that has none.

        Greedy, in rank order: each account goes to the manager with the most room by the
        company's strategy, and counts towards that manager's load before the next account,
        so a batch of new key accounts is spread over the team. Managers at the maximum get
        none; accounts left when everyone is full get no suggestion. Ties go to the lowest
        user id, so the suggestion is stable. Returns ``{classification_id: user}``.
        """
        kams = self._kam_team(company)
        if not kams:
            return {}
        unassigned = self.sudo().search_fetch(
            [("company_id", "=", company.id), ("tier", "=", "a"), ("manager_id", "=", False)],
            ["revenue"],
            order="rank, id",
        )
        if not unassigned:
            return {}
        loads = self._manager_loads(company, kams)
        maximum = company.kam_max_key_accounts
        if company.kam_assignment_strategy == "revenue":

            def room(uid):
                return (loads[uid][1], loads[uid][0], uid)
        else:

            def room(uid):
                return (loads[uid][0], loads[uid][1], uid)

        users = {user.id: user.with_env(self.env) for user in kams}
        suggestions = {}
        for row in unassigned:
            candidates = [uid for uid, load in loads.items() if load[0] < maximum]
            if not candidates:
                break
            uid = min(candidates, key=room)
            suggestions[row.id] = users[uid]
            loads[uid][0] += 1
            loads[uid][1] += row.revenue
        return suggestions

    @api.model
    def _maximum_warning(self, manager, company, added):
        """The warning to show when ``manager`` gets ``added`` more key accounts, or False."""
        current = self.sudo().search_count(
            [("company_id", "=", company.id), ("manager_id", "=", manager.id), ("tier", "=", "a")]
        )
        maximum = company.kam_max_key_accounts
        if current + added <= maximum:
            return False
        return _(
            "%(manager)s would manage %(count)s key accounts in %(company)s, more than the maximum "
            "of %(maximum)s. You may go ahead; the portfolio will show the manager as overloaded.",
            manager=manager.name,
            count=current + added,
            company=company.name,
            maximum=maximum,
        )

    # ------------------------------------------------------------------
    # Reassignment
    # ------------------------------------------------------------------
    def _reassign_manager(
        self,
        manager,
        date_from=None,
        reason=False,
        carry_activities=True,
        carry_plans=True,
        carry_followers=True,
    ):
        """Give these rows to ``manager`` and carry the previous managers' open work over.

        Writes only the rows whose manager changes; each of them gets a history row (and the
        chatter note of the base ``write``). Returns the rows that changed.
        """
        self.check_access("write")
        for company in self.company_id:
            self._check_kam_users(manager, company)
        rows = self.filtered(lambda r: r.manager_id != manager)
        if not rows:
            return rows
        old_by_row = {row.id: row.manager_id for row in rows}
        rows.with_context(kam_manager_date=date_from, kam_manager_reason=reason).write({"manager_id": manager.id})
        # Directors reassign work that belongs to other users: the carry-over runs as superuser
        # once the write above has proved the right to change the manager.
        as_root = rows.sudo()
        if carry_activities:
            as_root._carry_over_activities(old_by_row, manager)
        if carry_plans:
            as_root._carry_over_plans(old_by_row, manager)
        if carry_followers:
            as_root._carry_over_followers(old_by_row, manager)
        return rows

    def _record_manager_history(self, old_managers):
        """One history row per changed row; a planned row being applied is marked done instead."""
        context = self.env.context
        date = context.get("kam_manager_date") or fields.Date.context_today(self)
        reason = context.get("kam_manager_reason") or False
        planned = context.get("kam_manager_planned") or {}
        History = self.env["kam.manager.history"].sudo()
        no_manager = self.env["res.users"]
        vals_list = []
        for rec in self:
            old = old_managers.get(rec.id, no_manager)
            if rec.id in planned:
                History.browse(planned[rec.id]).write(
                    {"state": "done", "old_manager_id": old.id, "user_id": self.env.uid}
                )
                continue
            vals_list.append(
                {
                    "classification_id": rec.id,
                    "company_id": rec.company_id.id,
                    "partner_id": rec.partner_id.id,
                    "old_manager_id": old.id,
                    "new_manager_id": rec.manager_id.id,
                    "date": date,
                    "reason": reason,
                    "state": "done",
                }
            )
        History.create(vals_list)

    def _old_managers_by_partner(self, old_by_row):
        result = defaultdict(set)
        for row in self:
            old = old_by_row.get(row.id)
            if old:
                result[row.partner_id.id].add(old.id)
        return result

    def _open_plans(self):
        """Draft and active account plans of these accounts, in their companies."""
        return (
            self.env["kam.account.plan"]
            .sudo()
            .search(
                [
                    ("company_id", "in", self.company_id.ids),
                    ("partner_id", "in", self.partner_id.ids),
                    ("state", "in", ("draft", "active")),
                ]
            )
        )

    def _carry_over_activities(self, old_by_row, manager):
        """Hand the previous manager's open activities on the account (and its contacts and
        open plans) to the new manager."""
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        old_ids = set().union(*olds.values())
        contacts = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search_fetch([("id", "child_of", list(olds))], ["commercial_partner_id"])
        )
        account_of = {("res.partner", c.id): c.commercial_partner_id.id for c in contacts}
        account_of.update({("kam.account.plan", plan.id): plan.partner_id.id for plan in self._open_plans()})
        activities = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "in", list({model for model, _id in account_of})),
                    ("res_id", "in", list({res_id for _model, res_id in account_of})),
                    ("user_id", "in", list(old_ids)),
                ]
            )
        )
        moving = activities.filtered(lambda a: a.user_id.id in olds.get(account_of.get((a.res_model, a.res_id)), ()))
        if moving:
            # The new KAM finds them in their activities: no mail per activity.
            moving.with_context(mail_activity_quick_update=True).write({"user_id": manager.id})

    def _carry_over_plans(self, old_by_row, manager):
        """Make the new manager the owner of the previous manager's open plans of the account."""
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        plans = self._open_plans().filtered(lambda p: p.kam_id.id in olds.get(p.partner_id.id, ()))
        if plans:
            plans.write({"kam_id": manager.id})

    def _carry_over_followers(self, old_by_row, manager):
        """Subscribe the new manager to the account and its open plans; unsubscribe the previous
        one, unless they still manage the customer in another company or still own the plan."""
        partners = self.partner_id
        partners.message_subscribe(partner_ids=manager.partner_id.ids)
        plans = self._open_plans()
        if plans:
            plans.message_subscribe(partner_ids=manager.partner_id.ids)
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        old_ids = set().union(*olds.values())
        still_managed = {
            (row.partner_id.id, row.manager_id.id)
            for row in self.search_fetch(
                [("partner_id", "in", list(olds)), ("manager_id", "in", list(old_ids))],
                ["partner_id", "manager_id"],
            )
        }
        leaving = defaultdict(list)
        for partner_id, managers in olds.items():
            for old_id in managers:
                if (partner_id, old_id) not in still_managed:
                    leaving[old_id].append(partner_id)
        Users = self.env["res.users"]
        for old_id, partner_ids in leaving.items():
            old_partner = Users.browse(old_id).partner_id
            self.env["res.partner"].browse(partner_ids).message_unsubscribe(partner_ids=old_partner.ids)
            plans.filtered(
                lambda p, ids=set(partner_ids), old_id=old_id: p.partner_id.id in ids and p.kam_id.id != old_id
            ).message_unsubscribe(partner_ids=old_partner.ids)
