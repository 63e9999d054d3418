"""admin2_tasks."""
