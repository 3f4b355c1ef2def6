"""What the cases app announces to the apps above it (they listen; cases never imports them).
Every signal here is sent after the change has committed (``transaction.on_commit``), in the
spirit of pretix's ``order_placed``: a listener never sees a change that was rolled back, and a
listener's failure cannot undo the change.

``case_changed``: a service changed a case and appended its ledger entry. Sent with ``action``
(the name in ``cases.actions.ACTIONS``, the same as the entry's), ``case`` (the case as it was
committed), ``actor`` (the user, or None for the system), ``payload`` (what the entry recorded)
and ``occurred_at``. ``notifications`` tells the people concerned in their inbox (a department
that was routed a case, the office a case was returned to, extension requests and decisions).

``due_dates_recomputed``: open cases' due dates were counted again on a changed working-day
calendar (a year entered or revised, or a provisional rule replaced). Sent after the change has
committed, with ``changes`` (a list of ``cases.services.RecomputedDue``) and ``year`` (the
calendar year entered, or None for a catch-up). ``notifications`` tells each affected
department in its inbox.

``after_bulk_import``: an import wrote cases in bulk (``cases.importing.bulk``), around
``Model.save``, so no ``post_save`` fired for them. Sent inside the import's transaction after
each batch, with ``cases`` (the batch's new cases, in file order), ``enterprises`` (id → (name,
credit code) of their enterprises as the batch leaves them) and ``renamed`` (ids of enterprises
on record before the batch whose name it changed). Whatever keeps a derived row per case (a
search index) listens here as well as to ``post_save``. Also sent with ``kept``: a dict of the
import's own, the same for every batch of one import, where a listener may gather what it writes
once for the whole import.

``bulk_import_starting``: a bulk import is about to write, inside its transaction, before its
first batch; sent with ``regions`` (the ids of the regions it creates cases in, each already
locked by the import) and the ``kept`` its batches will carry, for a listener to take, at once,
the locks it would otherwise take at the first batch — by then the import's connection is busy
writing the rows handed on, and a query waits for them.

``bulk_import_finishing``: the same import has written its last batch; sent inside its
transaction with the same ``kept``, for a listener to write what it gathered there.
"""

from django.dispatch import Signal

case_changed = Signal()
due_dates_recomputed = Signal()
bulk_import_starting = Signal()
after_bulk_import = Signal()
bulk_import_finishing = Signal()
