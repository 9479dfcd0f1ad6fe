from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("releasemgr", "0007_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="result",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
