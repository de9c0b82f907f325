"""E-Paiement pour un tiers: the domain shared by the three Lambda functions.

Money, invoices, payments and their state machine, the search cursor, the gateway adapters (pure) and the
stores (`adapters.dynamodb`, the only code that speaks DynamoDB).
"""
