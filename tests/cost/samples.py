"""Sample prompts for token-count tests: English, Arabic, code and JSON (written for these tests)."""

from __future__ import annotations

import json

ENGLISH = (
    "You are reviewing a supplier agreement for a mid-sized logistics company. Summarise the obligations "
    "of each party in plain language, flag any clause that shifts liability for lost or damaged goods onto "
    "the buyer, and list the termination rights with their notice periods. The agreement renews "
    "automatically every twelve months unless either party gives ninety days' written notice. Payment is "
    "due within thirty days of invoice; late payments accrue interest at one and a half percent per month. "
    "Finally, suggest two questions the buyer's counsel should raise before signing, and explain why each "
    "question matters for a company that ships perishable goods across several countries."
)

ARABIC = (
    "أنت مساعد قانوني تراجع عقد توريد لشركة لوجستية متوسطة الحجم في الرياض. لخّص التزامات كل طرف بلغة "
    "واضحة، وحدّد أي بند ينقل المسؤولية عن البضائع المفقودة أو التالفة إلى المشتري، ثم اذكر حقوق إنهاء "
    "العقد ومدد الإشعار المطلوبة. يتجدد العقد تلقائياً كل اثني عشر شهراً ما لم يرسل أحد الطرفين إشعاراً "
    "كتابياً قبل تسعين يوماً. يستحق الدفع خلال ثلاثين يوماً من تاريخ الفاتورة، وتُحتسب فائدة على "
    "المدفوعات المتأخرة. وأخيراً، اقترح سؤالين ينبغي أن يطرحهما محامي المشتري قبل التوقيع، واشرح أهمية "
    "كل سؤال لشركة تنقل بضائع سريعة التلف بين عدة دول في منطقة الخليج."
)

CODE = '''
def settle(invoices: list[dict[str, float]], *, rate: float = 0.015) -> dict[str, float]:
    """Total owed per customer, with monthly interest on overdue invoices."""
    totals: dict[str, float] = {}
    for invoice in invoices:
        months_late = max(0, int(invoice["days_overdue"] // 30))
        amount = invoice["amount"] * (1 + rate) ** months_late
        totals[invoice["customer"]] = totals.get(invoice["customer"], 0.0) + round(amount, 2)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


if __name__ == "__main__":
    print(settle([{"customer": "acme", "amount": 120.0, "days_overdue": 65}]))
'''

JSON = json.dumps(
    {
        "shipments": [
            {"id": f"SHP-{n:05d}", "origin": "RUH", "destination": ["DXB", "DOH", "BAH"][n % 3],
             "weight_kg": 12.5 * n, "perishable": n % 2 == 0, "status": "in_transit"}
            for n in range(1, 9)
        ],
        "generated_at": "2026-11-25T10:00:00Z",
    },
    indent=2,
)  # fmt: skip

ALL = {"english": ENGLISH, "arabic": ARABIC, "code": CODE, "json": JSON}
