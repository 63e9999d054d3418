from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_queryrun_os_user"),
    ]

    operations = [
        migrations.AddField(
            model_name="queryrun",
            name="query_id",
            field=models.CharField(
                blank=True, db_index=True, max_length=64, verbose_name="query id"
            ),
        ),
    ]
