from django.shortcuts import render

ITEMS = [
    {"name": f"Item {n}", "amount": n * 17 % 23, "note": "checked" if n % 3 else "to check"}
    for n in range(10)
]


def page(request):
    return render(request, "rows/page.html", {"title": "Today", "items": ITEMS})
