"""The refund task's former module path, kept for task rows queued under it.

The refund lifecycle belongs to the claims app (`claimdesk.claims.refunds`);
rows the database queue stored as `claimdesk.payments.tasks.process_refund`
must still run. `ClaimsConfig.ready` binds `process_refund` here to the claims
app's task, so that the payments app itself never imports the claims app.
"""

from __future__ import annotations

from typing import Any

from django.tasks import Task

#: Bound by `claimdesk.claims.apps.ClaimsConfig.ready` to `claims.refunds.process_refund`.
process_refund: Task[Any, Any]
