"""The alerts of the daily KPI snapshot: who gets one, and what it says.

Two alerts, each an activity for the account's KAM, raised by the day's statement
(``tools/kpi_statement.py``) only for a run with alerts (today's, not a backfill):

- **contact**: the account is past the contact interval of its tier's service level (or never
  contacted) and has a KAM, and no contact activity is open on it;
- **health**: the account's health alert (at risk, or a fall over the company's threshold in 30
  days) is new since its previous snapshot, and no health activity is open on it; the note
  also goes to the account's internal followers and its KAM.

``notify_sql`` decides in SQL, set-based; ``raise_alerts`` writes the activities and notes of
the rows it selected, in batches.
"""

import logging

from markupsafe import escape

from odoo.tools import SQL

from . import health_rules, kpi_explanation
from .health_rules import SIGNAL_NAMES

_logger = logging.getLogger(__name__)

# The columns of a row of ``final`` that ``raise_alerts`` reads.
ALERT_FIELDS = (
    "partner_id",
    "manager_id",
    "tier",
    "notify_contact",
    "notify_health",
    "health_score",
    "health_band",
    "health_change",
    "days_since_contact",
    "contact_interval",
    *(f"health_loss_{name}" for name in SIGNAL_NAMES),
)


def notify_sql(env, alerts):
    """``final``: the rows of ``alerted`` with ``notify_contact`` and ``notify_health``, the
    alerts to raise today (both false without ``alerts``)."""
    return SQL(
        """
        final AS (
            SELECT a.*,
                   (%(alerts)s AND a.contact_overdue AND a.manager_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM mail_activity act
                                     WHERE act.res_model = 'res.partner' AND act.res_id = a.partner_id
                                       AND act.activity_type_id = %(contact_type)s AND act.active))
                       AS notify_contact,
                   (%(alerts)s AND a.health_alert AND NOT COALESCE(a.previous_alert, false)
                    AND NOT EXISTS (SELECT 1 FROM mail_activity act
                                     WHERE act.res_model = 'res.partner' AND act.res_id = a.partner_id
                                       AND act.activity_type_id = %(health_type)s AND act.active))
                       AS notify_health
              FROM alerted a
        )
        """,
        alerts=bool(alerts),
        contact_type=env.ref("kam_management.mail_activity_type_kam_contact").id,
        health_type=env.ref("kam_management.mail_activity_type_kam_health").id,
    )


def raise_alerts(env, company, date, rows):
    """One activity per account and alert for its KAM, and a note to the followers of a falling
    account. ``rows``: the rows of ``final`` to notify, as dicts of ``ALERT_FIELDS``."""
    contact_type = env.ref("kam_management.mail_activity_type_kam_contact")
    health_type = env.ref("kam_management.mail_activity_type_kam_health")
    partners = env["res.partner"].browse([row["partner_id"] for row in rows])
    users = env["res.users"].sudo().browse({row["manager_id"] for row in rows if row["manager_id"]})
    partner_model = env["ir.model"]._get_id("res.partner")
    labels = kpi_explanation.signal_labels(env)
    band_labels = dict(env["kam.kpi.snapshot"]._fields["health_band"]._description_selection(env))
    # Activities of both kinds go in separate batches: a batch with two activities of the
    # same user on the same record subscribes them twice (mail.activity.create).
    activities = {contact_type: [], health_type: []}
    notes = {}
    for row in rows:
        partner = partners.browse(row["partner_id"])
        user = users.browse(row["manager_id"]) if row["manager_id"] else users.browse()
        lang = user.lang or env.lang
        if row["notify_contact"]:
            activities[contact_type].append(
                {
                    "res_model_id": partner_model,
                    "res_id": partner.id,
                    "activity_type_id": contact_type.id,
                    "user_id": user.id,
                    "date_deadline": date,
                    "summary": contact_type.with_context(lang=lang).summary,
                    "note": contact_note(env(context=dict(env.context, lang=lang)), row),
                }
            )
        if row["notify_health"]:
            losses = {name: row[f"health_loss_{name}"] for name in SIGNAL_NAMES}
            causes = ", ".join(labels[name] for name in health_rules.pulled_down_by(losses)[:3])
            body = health_note(env, row, band_labels, causes)
            notes[partner.id] = body
            if user:
                activities[health_type].append(
                    {
                        "res_model_id": partner_model,
                        "res_id": partner.id,
                        "activity_type_id": health_type.id,
                        "user_id": user.id,
                        "date_deadline": date,
                        "summary": health_type.with_context(lang=lang).summary,
                        "note": body,
                    }
                )
    Activity = env["mail.activity"].sudo().with_context(mail_activity_quick_update=True)
    for vals_list in activities.values():
        if vals_list:
            Activity.create(vals_list)
    if notes:
        for partner in partners.filtered(lambda p: p.id in notes):
            row = next(r for r in rows if r["partner_id"] == partner.id)
            recipients = partner.message_partner_ids.filtered(lambda p: not p.partner_share)
            if row["manager_id"]:
                recipients |= users.browse(row["manager_id"]).partner_id
            partner.sudo().message_post(
                body=notes[partner.id],
                subtype_xmlid="mail.mt_note",
                partner_ids=recipients.ids,
            )
    _logger.info(
        "KPI snapshot of %s on %s: %s contact and %s health alerts",
        company.name,
        date,
        sum(1 for row in rows if row["notify_contact"]),
        len(notes),
    )


def contact_note(env, row):
    """The note of a contact alert, in ``env``'s language."""
    if row["days_since_contact"] is None:
        return escape(env._("No contact with this key account is on record yet."))
    return escape(
        env._(
            "%(days)s days since the last contact; a tier %(tier)s account is contacted every %(interval)s days.",
            days=row["days_since_contact"],
            tier=(row["tier"] or "").upper(),
            interval=row["contact_interval"],
        )
    )


def health_note(env, row, band_labels, causes):
    """The note of a health alert, in ``env``'s language: score, band, fall and its causes."""
    if row["health_change"] is not None and row["health_change"] < 0:
        text = env._(
            "Key account health is %(score)s (%(band)s), %(change)s points in 30 days.",
            score=row["health_score"],
            band=band_labels.get(row["health_band"], ""),
            change=row["health_change"],
        )
    else:
        text = env._(
            "Key account health is %(score)s (%(band)s).",
            score=row["health_score"],
            band=band_labels.get(row["health_band"], ""),
        )
    if causes:
        text = env._("%(text)s Pulled down by: %(causes)s.", text=text, causes=causes)
    return escape(text)
