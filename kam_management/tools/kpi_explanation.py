"""Why a key account has its health score: the "Why this score" table of a KPI snapshot.

One line per signal of the health score (``tools/health_rules.py``), the heaviest loss first:
its label, the points it took off the score and what the snapshot's figures behind it say,
in words, in the reader's language. ``signal_labels`` also names the causes in the health
alerts (``tools/kpi_alerts.py``) and the snapshot's "Pulled down by".
"""

from markupsafe import Markup

from odoo.tools import format_amount, format_date

from .health_rules import SIGNAL_NAMES

# A loss of at least this many points is shown in red.
HEAVY_LOSS = 5


def signal_labels(env):
    """``{signal name: label}`` in ``env``'s language."""
    return {
        "revenue_trend": env._("Revenue trend"),
        "margin_trend": env._("Margin trend"),
        "contact": env._("Contact"),
        "pipeline_cover": env._("Pipeline cover"),
        "overdue": env._("Overdue receivables"),
        "satisfaction": env._("Satisfaction"),
        "plan_progress": env._("Weighted plan score"),
    }


def health_losses(snapshot):
    """``{signal name: points lost}`` of one snapshot."""
    snapshot.ensure_one()
    return {name: snapshot[f"health_loss_{name}"] for name in SIGNAL_NAMES}


def render_explanation(snapshot, losses, labels):
    """The table of one snapshot (``False`` without a health score)."""
    if not snapshot.health_band:
        return False
    rows = [
        Markup("<tr><td>%s</td><td class='text-end %s'>%s</td><td class='text-muted'>%s</td></tr>")
        % (
            labels[name],
            "text-danger fw-bold" if losses[name] >= HEAVY_LOSS else "",
            f"−{losses[name]:.1f}" if losses[name] >= 0.05 else "0",
            signal_detail(snapshot, name),
        )
        for name in sorted(SIGNAL_NAMES, key=lambda n: -losses[n])
    ]
    env = snapshot.env
    return Markup(
        "<table class='table table-sm o_kam_health_explanation'><thead><tr><th>%s</th>"
        "<th class='text-end'>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
    ) % (env._("Signal"), env._("Points lost"), env._("Why"), Markup("").join(rows))


def signal_detail(snapshot, name):
    """What the figures behind the signal ``name`` say, in words."""
    snapshot.ensure_one()
    return _DETAILS[name](snapshot, snapshot.env)


# ----------------------------------------------------------------------------------------
# One sentence per signal
# ----------------------------------------------------------------------------------------
def _revenue_trend(snapshot, env):
    if not snapshot.revenue_prev > 0:
        return env._("No revenue a year earlier: not counted.")
    trend = format(snapshot.revenue_trend, "+.0f")
    return env._("%(trend)s %% against the same months a year earlier.", trend=trend)


def _margin_trend(snapshot, env):
    if not (snapshot.revenue > 0 and snapshot.revenue_prev > 0):
        return env._("No revenue to compare margins with: not counted.")
    return env._(
        "Gross margin %(rate)s %%, %(change)s points against a year earlier.",
        rate=format(snapshot.margin_rate, ".1f"),
        change=format(snapshot.margin_trend, "+.1f"),
    )


def _contact(snapshot, env):
    if not snapshot.last_contact_date:
        return env._("No contact on record.")
    if not snapshot.contact_interval:
        return env._(
            "%(days)s days since the last contact (%(date)s); the service level of its tier sets no contact interval.",
            days=snapshot.days_since_contact,
            date=format_date(env, snapshot.last_contact_date),
        )
    return env._(
        "%(days)s days since the last contact (%(date)s); expected every %(interval)s days.",
        days=snapshot.days_since_contact,
        date=format_date(env, snapshot.last_contact_date),
        interval=snapshot.contact_interval,
    )


def _pipeline_cover(snapshot, env):
    if not (snapshot.revenue > 0 or snapshot.pipeline_weighted > 0):
        return env._("No revenue and no pipeline: not counted.")
    return env._(
        "Weighted pipeline %(amount)s covers %(cover)s %% of three months of revenue.",
        amount=format_amount(env, snapshot.pipeline_weighted, snapshot.currency_id),
        cover=format(snapshot.pipeline_cover, ".0f"),
    )


def _overdue(snapshot, env):
    if not snapshot.overdue_amount:
        return env._("Nothing overdue.")
    return env._(
        "%(amount)s overdue, %(share)s %% of a month's revenue.",
        amount=format_amount(env, snapshot.overdue_amount, snapshot.currency_id),
        share=format(snapshot.overdue_share, ".0f"),
    )


def _satisfaction(snapshot, env):
    if snapshot.satisfaction_source == "customer":
        return env._(
            "%(score)s/10 from the customer's %(count)s survey answers of the last 12 months "
            "(it replaces the KAM's assessment).",
            score=format(snapshot.satisfaction, ".1f"),
            count=snapshot.survey_answer_count,
        )
    if not snapshot.review_date:
        return env._("No account review yet: not counted.")
    return env._(
        "%(score)s/10 at the review of %(date)s.",
        score=format(snapshot.satisfaction, ".1f"),
        date=format_date(env, snapshot.review_date),
    )


def _plan_progress(snapshot, env):
    if not snapshot.plan_id:
        return env._("No active account plan: not counted.")
    if not snapshot.plan_objective_count:
        return env._("The active account plan has no objective: not counted.")
    return env._(
        "%(on_track)s of %(total)s objectives on track; at risk counts half: %(score)s %%.",
        on_track=snapshot.plan_on_track_count,
        total=snapshot.plan_objective_count,
        score=format(snapshot.plan_progress, ".0f"),
    )


_DETAILS = {
    "revenue_trend": _revenue_trend,
    "margin_trend": _margin_trend,
    "contact": _contact,
    "pipeline_cover": _pipeline_cover,
    "overdue": _overdue,
    "satisfaction": _satisfaction,
    "plan_progress": _plan_progress,
}
