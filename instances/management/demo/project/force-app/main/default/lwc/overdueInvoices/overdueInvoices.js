import { LightningElement, api, wire } from 'lwc';
import getOverdueInvoices from '@salesforce/apex/InvoiceService.getOverdueInvoices';

const COLUMNS = [
    { label: 'Invoice', fieldName: 'Name' },
    { label: 'Account', fieldName: 'accountName' },
    { label: 'Amount', fieldName: 'Amount__c', type: 'currency' },
    { label: 'Due', fieldName: 'Due_Date__c', type: 'date-local' }
];

export default class OverdueInvoices extends LightningElement {
    @api maxRows = 50;

    columns = COLUMNS;
    rows = [];
    error;

    @wire(getOverdueInvoices, { limitTo: '$maxRows' })
    wiredInvoices({ data, error }) {
        if (data) {
            this.rows = data.map((invoice) => ({
                ...invoice,
                accountName: invoice.Account__r ? invoice.Account__r.Name : ''
            }));
            this.error = undefined;
        } else if (error) {
            this.rows = [];
            this.error = error.body ? error.body.message : error.message;
        }
    }

    get isEmpty() {
        return !this.error && this.rows.length === 0;
    }
}
