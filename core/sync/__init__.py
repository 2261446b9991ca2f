"""Reading back from the shops: the reconciliation poll that finds the changes whose webhook
was lost (``poll``), and the dry run of what an order's current state would trigger
(``preview``)."""
