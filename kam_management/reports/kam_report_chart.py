"""The 12-month chart of the Key Account Review, drawn as inline SVG on the server.

wkhtmltopdf runs an old WebKit without the JavaScript charting libraries need, so the chart
is plain SVG built here. It must read in black and white: revenue bars are solid dark grey,
gross margin bars are hatched, cost to serve is a dashed line with square markers, and the
legend and axes say in words what each one is. SVG patterns print black in that WebKit, so
the stripes are drawn line by line.

The cost to serve is a few percent of the revenue: on the revenue's scale its line would lie
flat on zero. It has its own scale on the right, whose gridlines are those of the left one.
"""

import math

from markupsafe import Markup, escape

# Layout, in SVG user units (pixels at the report's 96 dpi).
WIDTH = 700
HEIGHT = 250
MARGIN_LEFT = 58  # y-axis labels
MARGIN_RIGHT = 52  # y-axis labels of the cost to serve
MARGIN_TOP = 30  # legend
MARGIN_BOTTOM = 24  # month labels
BAR_WIDTH = 0.32  # of a month's slot, per bar
STRIPE_GAP = 3  # between the stripes of a gross margin bar
TICKS = 4  # wanted intervals on the y axis
FONT = "font-family='DejaVu Sans, Arial, sans-serif' font-size='10'"


def nice_step(span, intervals=TICKS):
    """A round step (1, 2, 2.5 or 5 times a power of ten) cutting ``span`` into about ``intervals``."""
    if span <= 0:
        return 1.0
    raw = span / intervals
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def evolution_svg(months, labels, fmt_value):
    """Return the chart as ``Markup``.

    ``months``: ``[(month label, revenue, gross margin, cost to serve)]``, oldest first;
    ``labels``: the translated ``revenue``, ``gross_margin``, ``cost_to_serve`` and ``empty``
    texts, and ``cost_axis`` (the legend of the cost line, saying its scale is the right one);
    ``fmt_value``: formats an axis value in the user's language.
    """
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    values = [value for _label, *figures in months for value in figures]
    bars = [value for _label, revenue, margin, _cost in months for value in (revenue, margin)]
    costs = [cost for *_figures, cost in months]
    high, low = max([0.0, *bars]), min([0.0, *bars])
    step = nice_step(high - low)
    top = math.ceil(high / step) * step if high > 0 else 0.0
    bottom = math.floor(low / step) * step if low < 0 else 0.0
    if top == bottom:
        top = step
    # The cost scale: as many intervals as the left one, each a round step, zero on zero.
    above, below = round(top / step), round(-bottom / step)
    cost_high, cost_low = max([0.0, *costs]), min([0.0, *costs])
    cost_step = max(
        nice_step(cost_high, max(above, 1)) if cost_high > 0 else 0.0,
        nice_step(-cost_low, below) if cost_low < 0 and below else 0.0,
    )
    cost_step = cost_step or step

    def y(value):
        return MARGIN_TOP + (top - value) / (top - bottom) * plot_h

    def y_cost(value):
        return y(value / cost_step * step)

    parts = [
        Markup(
            "<svg xmlns='http://www.w3.org/2000/svg' width='100%%' viewBox='0 0 %(w)s %(h)s' "
            "preserveAspectRatio='xMinYMin meet' class='o_kam_chart'>"
        )
        % {"w": WIDTH, "h": HEIGHT}
    ]
    # Grid and y-axis labels.
    tick = bottom
    while tick <= top + step / 2:
        ty = y(tick)
        parts.append(
            Markup(
                "<line x1='%s' y1='%.1f' x2='%s' y2='%.1f' stroke='%s' stroke-width='%s' %s/>"
                "<text x='%s' y='%.1f' text-anchor='end' %s>%s</text>"
                "<text x='%s' y='%.1f' text-anchor='start' %s>%s</text>"
            )
            % (
                MARGIN_LEFT,
                ty,
                WIDTH - MARGIN_RIGHT,
                ty,
                "#000000" if tick == 0 else "#b0b0b0",
                "1" if tick == 0 else "0.5",
                Markup("") if tick == 0 else Markup("stroke-dasharray='2,2'"),
                MARGIN_LEFT - 4,
                ty + 3,
                Markup(FONT),
                escape(fmt_value(tick)),
                WIDTH - MARGIN_RIGHT + 4,
                ty + 3,
                Markup(FONT),
                escape(fmt_value(tick / step * cost_step)),
            )
        )
        tick += step
    slot = plot_w / max(len(months), 1)
    line_points = []
    for index, (label, revenue, margin, cost) in enumerate(months):
        x0 = MARGIN_LEFT + index * slot
        for offset, value, striped in ((0.15, revenue, False), (0.15 + BAR_WIDTH, margin, True)):
            if value:
                y_top, y_bottom = y(max(value, 0.0)), y(min(value, 0.0))
                parts.append(_bar(x0 + offset * slot, y_top, BAR_WIDTH * slot, max(y_bottom - y_top, 0.5), striped))
        line_points.append((x0 + slot / 2, y_cost(cost)))
        parts.append(
            Markup("<text x='%.1f' y='%s' text-anchor='middle' %s>%s</text>")
            % (x0 + slot / 2, HEIGHT - 8, Markup(FONT), escape(label))
        )
    if line_points:
        parts.append(
            Markup("<polyline points='%s' fill='none' stroke='#000000' stroke-width='1.6' stroke-dasharray='5,3'/>")
            % " ".join(f"{px:.1f},{py:.1f}" for px, py in line_points)
        )
        for px, py in line_points:
            parts.append(
                Markup(
                    "<rect x='%.1f' y='%.1f' width='6' height='6' fill='#ffffff' stroke='#000000' stroke-width='1.2'/>"
                )
                % (px - 3, py - 3)
            )
    if not any(values):
        parts.append(
            Markup("<text x='%s' y='%s' text-anchor='middle' %s>%s</text>")
            % (MARGIN_LEFT + plot_w / 2, MARGIN_TOP + plot_h / 2, Markup(FONT), escape(labels["empty"]))
        )
    # Legend.
    x = MARGIN_LEFT
    for key in ("revenue", "gross_margin", "cost_to_serve"):
        label = labels.get("cost_axis", labels[key]) if key == "cost_to_serve" else labels[key]
        if key == "cost_to_serve":
            parts.append(
                Markup(
                    "<line x1='%s' y1='13' x2='%s' y2='13' stroke='#000000' stroke-width='1.6' stroke-dasharray='5,3'/>"
                    "<rect x='%s' y='10' width='6' height='6' fill='#ffffff' stroke='#000000' stroke-width='1.2'/>"
                )
                % (x, x + 20, x + 7)
            )
            text_x = x + 24
        else:
            parts.append(_bar(x, 7, 14, 11, key == "gross_margin"))
            text_x = x + 18
        parts.append(Markup("<text x='%s' y='17' %s>%s</text>") % (text_x, Markup(FONT), escape(label)))
        x = text_x + 12 + 6 * len(label)
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _bar(x, y, width, height, striped):
    """A solid dark bar, or a white bar with black horizontal stripes."""
    if not striped:
        return Markup(
            "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#404040' stroke='#000000' stroke-width='0.6'/>"
        ) % (x, y, width, height)
    stripes = [
        Markup("<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#000000' stroke-width='0.8'/>")
        % (x, y + offset, x + width, y + offset)
        for offset in range(STRIPE_GAP, int(height), STRIPE_GAP)
    ]
    return Markup(
        "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#ffffff' stroke='#000000' stroke-width='0.8'/>%s"
    ) % (x, y, width, height, Markup("").join(stripes))
