import { LightningElement, api, wire } from 'lwc';
import getSummary from '@salesforce/apex/InvoiceService.getSummary';

export default class InvoiceSummary extends LightningElement {
    @api recordId;

    summary;
    error;

    @wire(getSummary, { accountId: '$recordId' })
    wiredSummary({ data, error }) {
        if (data) {
            this.summary = data;
            this.error = undefined;
        } else if (error) {
            this.summary = undefined;
            this.error = error.body ? error.body.message : error.message;
        }
    }

    get hasOverdue() {
        return Boolean(this.summary && this.summary.overdueCount > 0);
    }
}
