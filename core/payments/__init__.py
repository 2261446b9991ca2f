"""Payments of the buyers: bank statement files read (``camt``, ``mt940``, ``files``), each
transfer matched to what it pays (``matching``, decided) and booked (``booking``, stored),
and the payment block buyers pay from (``block``)."""
