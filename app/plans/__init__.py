"""Annual renewal plans: scheduling, projects, versions, the plan workbook and progress."""
