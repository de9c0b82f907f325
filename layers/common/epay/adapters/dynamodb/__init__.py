"""The only code that speaks DynamoDB: one store per aggregate, each behind its port (`epay.ports`).

- `invoices` — `DynamoInvoiceStore`: the unpaid listing, reads by id, the issuers' loads, moves off legacy ids; and
  the conditions a payment puts on its invoices (holds, settlement), shared as functions;
- `payments` — `DynamoPaymentStore`: payments, their holds and settlement, references, applied gateway events,
  callback evidence and unapplied funds;
- `counters` — `DynamoCounters`: the rate-limit table;
- `transactions` — failures translated to `StoreUnavailable`, and `TransactWriteItems` of tagged actions;
- `items` — keys, and each item kind to and from the domain (boto3's `TypeSerializer`/`TypeDeserializer`);
- `client` — the DynamoDB client they share.

Tables are template.yaml's; docs/data-model.md explains every item. `epay.runtime` imports each module when it first
builds its store: nothing here is imported at a function's cold start until a route needs it.
"""
