import { registry } from "@web/core/registry";
import { formatFloat } from "@web/views/fields/formatters";
import { FloatField, floatField } from "@web/views/fields/float/float_field";

/**
 * A float that already is a percentage (5.88 means 5.88 %), shown with the "%" sign and one
 * decimal. Odoo's own "percentage" widget expects a ratio (0.0588) and would show 588 %.
 */
export class KamPercentField extends FloatField {
    get formattedValue() {
        if (!this.props.readonly) {
            return super.formattedValue;
        }
        const digits = this.props.digits || [16, 1];
        return `${formatFloat(this.value, { digits })} %`;
    }
}

registry.category("fields").add("kam_percent", { ...floatField, component: KamPercentField });
