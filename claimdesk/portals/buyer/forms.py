"""Buyer My page forms: shapes only; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from claimdesk.claims.models import NonReceiptDuty

MEMO = forms.Textarea(attrs={"rows": 3, "maxlength": 1000, "data-counter": "1000"})


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=32)
    memo = forms.CharField(
        label=_("Message to the shop"), required=False, widget=MEMO, max_length=5000
    )


class ReturnForm(ReasonForm):
    kind = forms.ChoiceField(
        label=_("What do you want?"),
        choices=[("return", _("Return")), ("exchange", _("Exchange"))],
        initial="return",
    )


class NonReceiptForm(forms.Form):
    duty = forms.ChoiceField(
        label=_("What happened?"), choices=NonReceiptDuty.choices, initial=NonReceiptDuty.SC
    )
    missing_quantity = forms.IntegerField(
        label=_("How many are missing?"), required=False, min_value=1
    )
    memo = forms.CharField(
        label=_("Message to the shop"), required=False, widget=MEMO, max_length=5000
    )


class WithdrawForm(forms.Form):
    memo = forms.CharField(
        label=_("Message to the shop"), required=False, widget=MEMO, max_length=5000
    )
