"""``manage.py send_reminders``: one run of the notifications' scheduled job (supervision/
notifications/schedule.py): deadline reminders, overdue orders, the regulators' digest, results
about to go public, manuals to acknowledge, silent data sources, then the outbox sweep.

Run it every 15 minutes (a systemd timer or cron, docs/DEPLOY.md). Idempotent: a second run on the
same local day tells nobody anything twice. ``--enqueue`` hands the run to the task workers."""

import json

from django.core.management.base import BaseCommand

from supervision.notifications.schedule import notifications_tick, schedule_run


class Command(BaseCommand):
    help = "Compute reminders and digests for the local day and send what is due in the outbox."

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="run it in a task worker instead of here")
        parser.add_argument("--no-sweep", action="store_true", help="write the notifications, send nothing")

    def handle(self, *args, enqueue: bool = False, no_sweep: bool = False, **options):
        if enqueue:
            result = notifications_tick.enqueue()
            self.stdout.write(f"enqueued {result.id}")
            return
        done = schedule_run(sweep=not no_sweep)
        self.stdout.write(json.dumps(done, sort_keys=True))
