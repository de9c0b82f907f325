"""The payment gateway adapters: pure functions, no I/O, no clock, no randomness (time and nonces are parameters).

- `cmi` — CMI card payments on NestPay's "3D Pay Hosting" page: the HASH-signed form the browser posts, and the
  check and meaning of CMI's form-encoded callback.
- `m2t` — AmanPay (M2T) hosted checkout for CARD, TASHILAT and DIRECT_DEBIT: the HMAC-signed form, and the signed
  JSON notification.
- `fatourati` — the 12-digit reference paid from e-banking or m-banking: issuing it, and the signed inquiry and
  confirm requests of the bank channel with their answers.

`common` holds what they share: the checkout they are given, the redirect they build, the service's public
addresses, and the `t=…,v1=…` signed-body header of the M2T and Fatourati contracts (docs: gateways.md).
"""
