"""Server-rendered pages for store staff, planners and admins."""
