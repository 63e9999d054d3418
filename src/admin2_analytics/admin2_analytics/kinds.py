"""The small vocabularies analytics code shares: where a query came from, export formats."""

from __future__ import annotations

from django.db import models


class Source(models.TextChoices):
    WEB = "web", "web"
    TASK = "task", "task"
    CLI = "cli", "cli"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    TSV = "tsv", "TSV"
    JSONL = "jsonl", "JSON lines"
    XLSX = "xlsx", "XLSX"
