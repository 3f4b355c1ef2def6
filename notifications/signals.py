"""What the notifications app announces to the apps above it (they listen; it never imports them).

``timers_tick``: one round of the embedded default's timer process (``manage.py run_timers``)
has run its sweep. Sent with ``now``. An app above that keeps work off the request (the stored
scores of ``scoring``) does it here when there is no Celery beat; a listener's failure is logged
and does not stop the timers (``send_robust``).
"""

from django.dispatch import Signal

timers_tick = Signal()
