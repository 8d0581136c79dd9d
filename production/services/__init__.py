"""The only code that writes orders, one module per capability (as Zulip's `zerver/actions/`).

- `orders`: placing, paying, changing state, step and priority, cancelling an unpaid order.
- `proofs`: sending an artwork proof and deciding on it.
- `shipping`: shipments, corrections and local pickup.
- `messages`: customer messages and operators' notes.
- `changes`: the lock / change / save / record steps every write above shares.

The two payment workflows also come as `*_in_transaction` variants for the one caller that must
join them to its own write: the Stripe webhook, which logs the event id in the same transaction.
"""
