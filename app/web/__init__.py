"""The chat page, the session report page and the report's Markdown/JSON exports."""
