import { LightningElement, api } from 'lwc';

const CLASSES = {
    Draft: 'slds-badge',
    Sent: 'slds-badge slds-badge_inverse',
    Overdue: 'slds-badge slds-theme_error',
    Paid: 'slds-badge slds-theme_success',
    Cancelled: 'slds-badge slds-badge_lightest'
};

export default class InvoiceStatusBadge extends LightningElement {
    @api status;
    @api count;

    get badgeClass() {
        return CLASSES[this.status] || 'slds-badge';
    }

    get label() {
        return this.count ? `${this.count} ${String(this.status).toLowerCase()}` : this.status;
    }
}
