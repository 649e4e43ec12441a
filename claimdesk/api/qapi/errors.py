"""The one table from the services' refusals (DomainError) to Qoo10's result codes.

Each QAPI method belongs to a family whose result codes Qoo10 documents
together. A refusal answers the code of its DomainError `code`, else of its
`kind`, in the method's family, with the fixed English `ResultMsg` of that code;
the service's own message, in the key owner's language, goes to `ResultDetail`.
"""

from __future__ import annotations

from claimdesk.core.errors import DomainError

from .envelope import QapiError

#: (family, DomainError code or kind) -> Qoo10 result code.
RESULT_CODES: dict[tuple[str, str], int] = {
    # CertificationAPI.CreateCertificationKey
    ("certification", "not_found"): -10001,
    ("certification", "forbidden"): -10001,
    ("certification", "input"): -10001,
    ("certification", "state"): -10001,
    # GetShippingAndClaimInfoByOrderNo_V2, SetSendingInfo(Bulk)
    ("order", "not_found"): -10001,
    ("order", "input"): -10002,
    ("order", "forbidden"): -10003,
    ("order", "state"): -10004,
    # SetSellerCheckYN_V2, SetSellerCheckYNBulk
    ("check", "not_found"): -10001,
    ("check", "input"): -10001,
    ("check", "date_in_past"): -10018,
    ("check", "forbidden"): -10013,
    ("check", "state"): -10013,
    # Claim.SetCancelProcess, SetClaimAccept, SetClaimRedelivery
    ("claim", "input"): -10001,
    ("claim", "not_found"): -10002,
    ("claim", "forbidden"): -10003,
    ("claim", "state"): -10004,
    # ItemsLookup
    ("items", "not_found"): -10001,
    ("items", "input"): -10001,
}

#: (family, result code) -> the fixed English ResultMsg (Qoo10's wording where it documents one).
RESULT_MESSAGES: dict[tuple[str, int], str] = {
    ("certification", -10001): "Login ID, password or key is not correct.",
    ("order", -10001): "The order number is wrong or the order does not exist.",
    ("order", -10002): "A parameter is missing or not valid.",
    ("order", -10003): "You are not authorized for this.",
    ("order", -10004): "The order status does not allow this.",
    ("check", -10001): "The order number or a parameter is wrong.",
    ("check", -10011): "Over the limit: at most 500 orders per request.",
    ("check", -10012): "The order is already confirmed.",
    ("check", -10013): "The order is not in a status that allows this.",
    ("check", -10016): "EstShipDt is null",
    ("check", -10017): "The estimated ship date is beyond the allowed maximum.",
    ("check", -10018): "The estimated ship date must be today or later.",
    ("claim", -10001): "The order number or a parameter is wrong.",
    ("claim", -10002): "No order information.",
    ("claim", -10003): "Seller information is not correct.",
    ("claim", -10004): "The order status is not correct.",
    ("items", -10001): "Fail to find Item information with 'ItemCode','SellerCode'.",
}

#: (family, DomainError code) -> a fixed English ResultMsg more telling than its code's.
ERROR_MESSAGES: dict[tuple[str, str], str] = {
    ("claim", "notice_not_sent"): (
        "No cancel note was sent to the buyer: send one first, or confirm with "
        "ConfirmWithoutNotice=Y."
    ),
    ("claim", "claim_open"): "The order has an open claim: settle or withdraw it first.",
    ("claim", "return_address_missing"): (
        "The shop has no default return/exchange address: give seller_* or add one."
    ),
}

#: Answered when no row of the table matches: a refusal of the request as it stands.
FALLBACK_CODE = -10001


def refused(family: str, code: int, detail: object = "", *, message: str = "") -> QapiError:
    """Return the refusal `code` of `family` with its fixed English message (or `message`)."""
    return QapiError(code, message or RESULT_MESSAGES.get((family, code), ""), str(detail))


def refusal(error: DomainError, family: str) -> QapiError:
    """Return how the QAPI answers the services' refusal `error` in a method of `family`.

    Call with the key owner's language active: the detail is rendered then.
    """
    code = RESULT_CODES.get(
        (family, error.code), RESULT_CODES.get((family, error.kind), FALLBACK_CODE)
    )
    return refused(
        family, code, error.message, message=ERROR_MESSAGES.get((family, error.code), "")
    )
