"""Seller portal forms: shapes and formats only; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from claimdesk.claims.models import PickupMethod
from claimdesk.claims.reasons import Picker, ReasonKind, reason_choices
from claimdesk.orders.models import DelayType

MEMO_WIDGET = forms.Textarea(attrs={"rows": 3, "maxlength": 1000, "data-counter": "1000"})


def _reasons(kind: str, picker: str) -> list[tuple[str, str]]:
    return [(r.code, str(r.label)) for r in reason_choices(kind, picker)]


class ConfirmForm(forms.Form):
    est_ship_date = forms.DateField(
        label=_("Estimated ship date"), widget=forms.DateInput(attrs={"type": "date"})
    )


class DelayForm(forms.Form):
    est_ship_date = forms.DateField(
        label=_("New estimated ship date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    delay_type = forms.TypedChoiceField(
        label=_("Delay type"), choices=DelayType.choices, coerce=int
    )
    memo = forms.CharField(
        label=_("Memo for the buyer"), required=False, widget=MEMO_WIDGET, max_length=5000
    )


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=200)
    tracking_no = forms.CharField(label=_("Tracking no"), max_length=200)


class CancelPanelForm(forms.Form):
    """The 发货不可/取消处理 panel: cancel for a seller reason, or handle as a return."""

    MODE_CANCEL = "cancel"
    MODE_RETURN = "return"
    mode = forms.ChoiceField(
        label=_("Handling"),
        choices=[(MODE_CANCEL, _("Cancel / refund")), (MODE_RETURN, _("Return / refund"))],
        widget=forms.RadioSelect,
        initial=MODE_CANCEL,
    )
    reason = forms.CharField(label=_("Reason"), max_length=32)
    return_reason = forms.CharField(label=_("Return reason"), max_length=32, required=False)
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )
    confirm_without_notice = forms.BooleanField(required=False)
    grant_payment_fee = forms.BooleanField(
        label=_("Refund the payment fee (the shop bears it)"), required=False
    )

    @staticmethod
    def cancel_reasons(buyer_asked: bool) -> list[tuple[str, str]]:
        reasons = _reasons(ReasonKind.CANCEL, Picker.SELLER)
        if buyer_asked:
            reasons += _reasons(ReasonKind.CANCEL, Picker.BUYER_REQUEST)
        return reasons

    @staticmethod
    def return_reasons() -> list[tuple[str, str]]:
        return _reasons(ReasonKind.RETURN, Picker.SELLER)


class StartReturnForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Claim type"),
        choices=[("return", _("Return")), ("exchange", _("Exchange"))],
        initial="return",
    )
    reason = forms.CharField(label=_("Reason"), max_length=32)
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )
    pickup_method = forms.ChoiceField(
        label=_("Return collection"), choices=PickupMethod.choices, required=False
    )
    pickup_carrier = forms.CharField(label=_("Return carrier"), required=False, max_length=100)


class AcceptReturnForm(forms.Form):
    pickup_method = forms.ChoiceField(label=_("Return collection"), choices=PickupMethod.choices)
    pickup_carrier = forms.CharField(label=_("Return carrier"), required=False, max_length=100)
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class CompleteReturnForm(forms.Form):
    goods_received = forms.ChoiceField(
        label=_("Have you received the returned goods?"), choices=YES_NO, widget=forms.RadioSelect
    )
    confirmed = forms.ChoiceField(
        label=_("Do you confirm the return request?"), choices=YES_NO, widget=forms.RadioSelect
    )
    return_shipping_deduction = forms.IntegerField(
        label=_("Return shipping deducted from the refund"), min_value=0, initial=0, required=False
    )
    grant_payment_fee = forms.BooleanField(
        label=_("Refund the payment fee (the shop bears it)"), required=False
    )
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )


class MemoForm(forms.Form):
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )
    grant_payment_fee = forms.BooleanField(
        label=_("Refund the payment fee (the shop bears it)"), required=False
    )


class RedeliverForm(forms.Form):
    redelivery_date = forms.DateField(
        label=_("Re-delivery date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    carrier = forms.CharField(label=_("Carrier"), max_length=200)
    tracking_no = forms.CharField(label=_("Tracking no"), max_length=200)


class NonReceiptRefundForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Refund"),
        choices=[("full", _("Full refund")), ("partial", _("Partial refund"))],
        widget=forms.RadioSelect,
        initial="full",
    )
    amount = forms.IntegerField(label=_("Amount"), min_value=1, required=False)
    seller_memo = forms.CharField(
        label=_("Seller memo"), required=False, widget=MEMO_WIDGET, max_length=5000
    )


class ClaimSearchForm(forms.Form):
    status = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])
    period_kind = forms.ChoiceField(
        label=_("Period"),
        required=False,
        initial="request",
        choices=[
            ("order", _("Order date")),
            ("request", _("Request date")),
            ("complete", _("Completion date")),
        ],
    )
    date_from = forms.DateField(
        label=pgettext_lazy("period", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("period", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    search_kind = forms.ChoiceField(
        label=_("Detail search"),
        required=False,
        choices=[("order_no", _("Order no")), ("cart_no", _("Cart no"))],
    )
    search = forms.CharField(label=_("Number"), required=False, max_length=20)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        from claimdesk.claims.models import ClaimStatus

        self.fields["status"].choices = [("", _("All"))] + [(s.value, s.label) for s in ClaimStatus]  # type: ignore[attr-defined]


class BulkShipForm(forms.Form):
    sheet = forms.FileField(label=_("Sheet (.xlsx or .csv): order no, carrier, tracking no"))


class AddressForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    zip_code = forms.CharField(label=_("Postcode"), max_length=16)
    address_front = forms.CharField(label=_("Address"), max_length=200)
    address_back = forms.CharField(
        label=_("Address (building, room)"), max_length=200, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    is_default_return = forms.BooleanField(
        label=_("Default return/exchange address"), required=False
    )
