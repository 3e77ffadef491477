from django.db import models


class Row(models.Model):
    """Eleven fields (the id included) of the kinds a ranking row has: ints, floats, short texts,
    a date and a bool."""

    code = models.CharField(max_length=18)
    name = models.CharField(max_length=60)
    district = models.IntegerField()
    scene = models.CharField(max_length=20)
    tier = models.SmallIntegerField()
    risk = models.FloatField()
    credit_points = models.FloatField()
    open_orders = models.IntegerField()
    last_inspected_on = models.DateField(null=True)
    active = models.BooleanField()

    class Meta:
        # Serves the endpoint's query: one district, the riskiest first, the first 50.
        indexes = [models.Index(fields=["district", "-risk", "id"], name="row_district_risk")]

    def __str__(self):
        return self.code
