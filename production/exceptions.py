"""Domain errors raised by the services; each surface turns them into its own kind of message."""


class OrderError(Exception):
    """A request the order domain refuses. Nothing has been written when it is raised."""

    def __init__(self, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def details(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


class InvalidOrder(OrderError):
    """The order as asked for cannot be made (inactive garment, size not offered, ...)."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        field, messages = next(iter(details.items()))
        super().__init__(messages[0], field=field)
        self._details = details

    @property
    def details(self) -> dict[str, list[str]]:
        return self._details


class IllegalTransition(OrderError):
    """A state, production status or priority move the state machine does not allow."""


class IdempotencyConflict(OrderError):
    """An Idempotency-Key reused for a different request."""


class ProofConflict(OrderError):
    """A decision on a proof revision that is no longer (or never was) the one waiting."""


class PaymentMismatch(OrderError):
    """A payment whose amount or currency is not what the order costs."""


class CheckoutUnavailable(Exception):
    """The payment provider could not start a checkout. Nothing was charged; the draft stays and
    a retry (same Idempotency-Key, same form) starts its checkout again."""


class InvalidAddress(InvalidOrder):
    """A shipping address its country's rules refuse; `details` names each field
    (`shipping.zip`, `shipping.stateCode`, ...) with why."""
