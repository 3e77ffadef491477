from history.management.commands.import_attributes import Command as AttributesCommand
from history.models import SourceBatch


class Command(AttributesCommand):
    help = (
        "Import one signals.csv of the exchange format (signal_id, source, kind, occurred_on, latitude, "
        "longitude, business_id, value, description) for a data source. Checked like an API batch: a file "
        "with bad rows is refused whole, every problem listed; running it again changes nothing."
    )
    content = SourceBatch.Content.SIGNALS
