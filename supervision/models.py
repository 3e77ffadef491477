# Self-inspections, tasks, inspections and the rectification loop arrive with their issues.
