"""admin2_analytics."""
