/** @odoo-module **/

import { registry } from "@web/core/registry";

// A KAM opens the Pareto screen: ranked customers as bars, the cumulative line, the tier lines.
registry.category("web_tour.tours").add("kam_pareto_tour", {
    steps: () => [
        {
            trigger: ".o_kam_pareto .o_kam_pareto_summary:contains('3 customers with revenue, one per bar; every classified customer has revenue in the window.')",
            content: "The screen says what it charts",
        },
        {
            trigger: ".o_kam_pareto canvas",
            content: "The chart is drawn",
        },
        {
            trigger: ".o_kam_pareto .o_kam_pareto_window:contains(\" · \")",
            content: "The window of the figures is stated",
        },
    ],
});

// One customer with revenue and one without: the summary speaks of each in the singular.
registry.category("web_tour.tours").add("kam_pareto_singular_tour", {
    steps: () => [
        {
            trigger:
                ".o_kam_pareto .o_kam_pareto_summary:contains('One customer with revenue, one per bar; one classified customer without revenue in the window is not charted.')",
            content: "The summary agrees with its counts",
        },
        {
            trigger: ".o_kam_pareto canvas",
            content: "The chart is drawn",
        },
    ],
});
