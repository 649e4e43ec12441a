"""Bulk cancellation: upload a sheet, check the dry run, confirm, watch it run, get the results."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from claimdesk.claims.bulk import (
    HEADER,
    MAX_BULK_CANCEL_ROWS,
    WILL_ACT,
    access_bulk_job_for_seller,
    bulk_cancel_confirm,
    bulk_cancel_counts,
    bulk_cancel_preview,
    bulk_cancel_result_rows,
    bulk_previous_run,
)
from claimdesk.claims.models import BulkCancelJob, BulkJobStatus
from claimdesk.claims.reasons import CANCEL_REASONS
from claimdesk.claims.selectors import (
    bulk_job_needs_notice,
    bulk_job_plan_counts,
    bulk_job_rows,
    shop_bulk_jobs,
)
from claimdesk.core.sheets import xlsx_stream
from claimdesk.portals.common import is_htmx, role_required

from .views import _form_error, _user

seller_required = role_required("seller", "seller:login")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows of a sheet shown per page (a sheet may have MAX_BULK_CANCEL_ROWS).
ROWS_PAGE_SIZE = 500
SELLER_REASONS = ("OUT_OF_STOCK", "SHIPPING_DELAY", "UNDELIVERABLE_REGION", "CUSTOMER_REQUEST")


class BulkCancelForm(forms.Form):
    sheet = forms.FileField(label=gettext_lazy("Sheet (.xlsx or .csv)"))


def _reasons() -> list[tuple[str, str]]:
    return [(code, str(CANCEL_REASONS[code].label)) for code in SELLER_REASONS]


@seller_required
@require_http_methods(["GET", "POST"])
def bulk_cancel(request: HttpRequest) -> HttpResponseBase:
    """The upload form, the accepted reasons and the shop's recent sheets."""
    user = _user(request)
    form = BulkCancelForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            raise _form_error(form)
        upload = form.cleaned_data["sheet"]
        job = bulk_cancel_preview(actor=user, upload=upload, filename=upload.name)
        return redirect("seller:bulk_cancel_job", job.pk)
    jobs = shop_bulk_jobs(user.shop_id or 0)
    return render(
        request,
        "seller/bulk_cancel.html",
        {"form": form, "jobs": jobs, "reasons": _reasons(), "max_rows": MAX_BULK_CANCEL_ROWS},
    )


@seller_required
def bulk_cancel_template(request: HttpRequest) -> StreamingHttpResponse:
    """A blank sheet with the three columns to fill in."""
    response = StreamingHttpResponse(xlsx_stream(HEADER, []), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="bulk-cancel-template.xlsx"'
    return response


def _job_context(job: BulkCancelJob) -> dict[str, object]:
    counts = bulk_cancel_counts(job)
    percent = job.processed * 100 // job.total if job.total else 100
    return {
        "job": job,
        "counts": counts,
        "percent": percent,
        "running": job.status in (BulkJobStatus.QUEUED, BulkJobStatus.RUNNING),
        "done": job.status == BulkJobStatus.DONE,
    }


@seller_required
def bulk_cancel_job(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The dry run of a sheet (with the confirm button), or its progress and results.

    A sheet may have 10,000 rows: the page shows how many rows have each plan,
    then the rows a page at a time (or only those not cancelled).
    """
    job = access_bulk_job_for_seller(_user(request), job_id)
    only_bad = request.GET.get("rows") == "bad"
    rows = bulk_job_rows(job, only_bad=only_bad)
    page = Paginator(rows, ROWS_PAGE_SIZE).get_page(request.GET.get("page"))
    plans = bulk_job_plan_counts(job)
    context = _job_context(job) | {
        "page": page,
        "rows": page.object_list,
        "only_bad": only_bad,
        "pager_query": "rows=bad" if only_bad else "",
        "plans": [(plan, n, plan in WILL_ACT) for plan, n in plans],
        "will_act": WILL_ACT,
        "needs_notice": bulk_job_needs_notice(job),
        "preview": job.status == BulkJobStatus.PREVIEW,
        "previous": bulk_previous_run(job) if job.status == BulkJobStatus.PREVIEW else None,
    }
    return render(request, "seller/bulk_cancel_job.html", context)


@seller_required
@require_POST
def bulk_cancel_start(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """Confirm the dry run: the rows are cancelled in the background."""
    user = _user(request)
    job = access_bulk_job_for_seller(user, job_id)
    bulk_cancel_confirm(
        actor=user, job=job, confirm_without_notice=bool(request.POST.get("confirm_without_notice"))
    )
    messages.success(request, _("The sheet is being processed; the progress is shown below."))
    return redirect("seller:bulk_cancel_job", job.pk)


@seller_required
def bulk_cancel_progress(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """The progress bar partial that htmx polls while the job runs."""
    job = access_bulk_job_for_seller(_user(request), job_id)
    context = _job_context(job)
    if not is_htmx(request):
        return redirect("seller:bulk_cancel_job", job.pk)
    response = render(request, "seller/bulk_cancel_progress.html", context)
    if context["done"]:
        response["HX-Refresh"] = "true"  # show the per-row results
    return response


@seller_required
def bulk_cancel_result(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    """The result sheet: one line per uploaded row."""
    job = access_bulk_job_for_seller(_user(request), job_id)
    header = [
        _("Row"),
        _("Order no"),
        _("Reason"),
        _("Memo"),
        _("Dry run"),
        _("Result"),
        _("Message"),
    ]
    response = StreamingHttpResponse(
        xlsx_stream(header, bulk_cancel_result_rows(job)), content_type=XLSX
    )
    response["Content-Disposition"] = f'attachment; filename="bulk-cancel-{job.pk}-result.xlsx"'
    return response
