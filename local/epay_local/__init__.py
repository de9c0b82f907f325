"""The local stack: `epay serve` (HTTP API emulation, embedded DynamoDB, simulators) and `epay load-invoices`."""
