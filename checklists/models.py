# Manuals and checklists (一业一册, 一业一单) arrive with the checklists issue.
